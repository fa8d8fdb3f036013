//! Docker: the Engine API through bollard, on a unix socket only (no TCP,
//! no TLS provider compiled in), and [`Docker`], the [`Engine`] on top of
//! it. [`DockerHost::ping`] tells whether a daemon answers, `mirrors` reads
//! the `registry-mirrors` it runs with (whether a reload took effect);
//! inspect, tag and push go through the API (a push's credentials travel
//! in its `X-Registry-Auth` header, never on a command line). Builds run
//! the `docker build` CLI (the classic builder: Debian's docker.io has no
//! buildx) or `docker buildx build` where buildx is installed, which
//! multi-platform builds need. Must not start, stop or configure the daemon.

use super::authfile::AuthFile;
use super::cli::Cli;
use super::{Answer, BuildLog, BuildSpec, Built, Engine, ImageInfo, RegistryAuth, auth_for};
use crate::host::services;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{PushImageOptionsBuilder, TagImageOptionsBuilder};
use bollard::{ClientVersion, Docker as Api};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::OnceCell;

/// API 1.41 (Docker 20.10): every daemon still in use speaks it, and the
/// fields read here exist in it. Docker 25+ refuses clients below 1.24.
const API_VERSION: &ClientVersion = &ClientVersion {
    major_version: 1,
    minor_version: 41,
};

#[derive(Debug, Error)]
pub enum Error {
    #[error("unsupported docker host `{0}`: only `unix://` sockets are supported")]
    Scheme(String),
    #[error("docker daemon at `{socket}` did not answer")]
    Api {
        socket: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("docker daemon at `{socket}` failed to {what}")]
    Request {
        socket: String,
        what: String,
        #[source]
        source: bollard::errors::Error,
    },
}

/// A Docker daemon's API socket.
#[derive(Debug, Clone)]
pub struct DockerHost {
    socket: PathBuf,
}

impl DockerHost {
    /// From `unix:///path` or a plain path.
    pub fn parse(text: &str) -> Result<DockerHost, Error> {
        if let Some(path) = text.strip_prefix("unix://") {
            return Ok(DockerHost {
                socket: PathBuf::from(path),
            });
        }
        if text.contains("://") {
            return Err(Error::Scheme(text.to_owned()));
        }
        Ok(DockerHost {
            socket: PathBuf::from(text),
        })
    }

    pub fn from_path(path: impl Into<PathBuf>) -> DockerHost {
        DockerHost {
            socket: path.into(),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `unix://<socket>`, as dockerd's `-H` takes it.
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn client(&self, timeout: Duration) -> Result<Api, Error> {
        Api::connect_with_unix(
            &self.socket.to_string_lossy(),
            timeout.as_secs().max(1),
            API_VERSION,
        )
        .map_err(|source| self.api(source))
    }

    fn api(&self, source: bollard::errors::Error) -> Error {
        Error::Api {
            socket: self.socket.display().to_string(),
            source,
        }
    }

    /// Whether a daemon answers `GET /_ping` within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> bool {
        if !self.socket.exists() {
            return false;
        }
        let Ok(client) = self.client(timeout) else {
            return false;
        };
        matches!(
            tokio::time::timeout(timeout, client.ping()).await,
            Ok(Ok(_))
        )
    }

    /// Wait until the daemon answers, up to `limit`.
    pub async fn wait_until_up(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.ping(Duration::from_secs(2)).await {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn request(&self, what: String) -> impl FnOnce(bollard::errors::Error) -> Error + '_ {
        move |source| Error::Request {
            socket: self.socket.display().to_string(),
            what,
            source,
        }
    }

    /// The local image `image`, `None` when the daemon has none.
    pub async fn inspect(&self, image: &str) -> Result<Option<ImageInfo>, Error> {
        let client = self.client(Duration::from_secs(60))?;
        let found = match client.inspect_image(image).await {
            Ok(found) => found,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(None),
            Err(err) => return Err(self.request(format!("inspect `{image}`"))(err)),
        };
        Ok(Some(ImageInfo {
            id: found.id.unwrap_or_default(),
            labels: found
                .config
                .and_then(|config| config.labels)
                .unwrap_or_default()
                .into_iter()
                .collect(),
            os: found.os,
            architecture: found.architecture,
            platforms: Vec::new(),
        }))
    }

    /// Name the local image `source` also `target`.
    pub async fn tag(&self, source: &str, target: &str) -> Result<(), Error> {
        let client = self.client(Duration::from_secs(60))?;
        let (repo, tag) = split_tag(target);
        let options = TagImageOptionsBuilder::new().repo(repo).tag(tag).build();
        client
            .tag_image(source, Some(options))
            .await
            .map_err(self.request(format!("tag `{source}` as `{target}`")))
    }

    /// Push the local `image` to its registry; the daemon reports failures
    /// in the progress stream, which is read to its end.
    pub async fn push(&self, image: &str, auth: Option<&RegistryAuth>) -> Result<(), Error> {
        // Pushing large layers takes long; the API call has no own timeout.
        let client = self.client(Duration::from_secs(3600))?;
        let (repo, tag) = split_tag(image);
        let options = PushImageOptionsBuilder::new().tag(tag).build();
        let credentials = auth.map(|auth| DockerCredentials {
            username: Some(auth.username.clone()),
            password: Some(auth.password.expose().to_owned()),
            serveraddress: Some(auth.registry.clone()),
            ..DockerCredentials::default()
        });
        let mut progress = client.push_image(repo, Some(options), credentials);
        while let Some(item) = progress.next().await {
            let info = item.map_err(self.request(format!("push `{image}`")))?;
            if let Some(status) = info.status {
                tracing::debug!("push `{image}`: {status}");
            }
        }
        Ok(())
    }

    /// The registry mirrors the running daemon uses.
    pub async fn mirrors(&self) -> Result<Vec<String>, Error> {
        let client = self.client(Duration::from_secs(10))?;
        let info = client.info().await.map_err(|source| self.api(source))?;
        Ok(info
            .registry_config
            .and_then(|config| config.mirrors)
            .unwrap_or_default())
    }
}

/// `repo` and `tag` of `name:tag` (`latest` without one); a `:` in the
/// registry's port is not a tag.
fn split_tag(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (reference, "latest"),
    }
}

/// Docker as an [`Engine`]: the daemon at `api`, its CLI for builds.
#[derive(Debug)]
pub struct Docker {
    api: DockerHost,
    cli: Cli,
    /// The user's docker client config directory (`DOCKER_CONFIG`,
    /// `~/.docker`): where buildx keeps its builders.
    config_dir: Option<PathBuf>,
    /// `--builder` of buildx builds (a `docker-container` builder for
    /// multi-platform builds); setting it asks for buildx.
    builder: Option<String>,
    buildx: OnceCell<bool>,
}

impl Docker {
    pub fn new(api: DockerHost) -> Docker {
        Docker {
            cli: Cli::new("docker").env("DOCKER_HOST", api.url()),
            api,
            config_dir: None,
            builder: None,
            buildx: OnceCell::new(),
        }
    }

    /// Where the user's docker client config lives.
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Docker {
        self.config_dir = Some(dir.into());
        self
    }

    /// Build with `docker buildx build --builder NAME`.
    pub fn builder(mut self, name: impl Into<String>) -> Docker {
        self.builder = Some(name.into());
        self
    }

    pub fn host(&self) -> &DockerHost {
        &self.api
    }

    /// The docker CLI this engine runs (`DOCKER_HOST` set to its daemon).
    pub fn cli(&self) -> &Cli {
        &self.cli
    }

    /// Whether the buildx plugin is installed (asked once).
    pub async fn has_buildx(&self) -> bool {
        *self
            .buildx
            .get_or_init(|| async {
                let args = ["buildx", "version"].map(String::from);
                self.cli.output(&args).await.is_ok()
            })
            .await
    }

    /// The arguments of a classic `docker build`.
    fn classic_args(spec: &BuildSpec, iidfile: &Path) -> Vec<String> {
        let mut args = vec!["build".to_owned()];
        args.extend(spec.common_args());
        args.extend(spec.tag_args());
        args.extend(["--iidfile".to_owned(), iidfile.display().to_string()]);
        args.push(spec.path_arg());
        args
    }

    /// The arguments of `docker buildx build`: loaded into the daemon, or
    /// pushed (a multi-platform build cannot be loaded).
    fn buildx_args(&self, spec: &BuildSpec, iidfile: &Path) -> Result<Vec<String>, super::Error> {
        let mut args = vec!["buildx".to_owned(), "build".to_owned()];
        if let Some(builder) = &self.builder {
            args.extend(["--builder".to_owned(), builder.clone()]);
        }
        args.extend(spec.common_args());
        args.extend(spec.tag_args());
        if !spec.platforms.is_empty() {
            args.extend(["--platform".to_owned(), spec.platforms.join(",")]);
        }
        match (spec.push, spec.platforms.len() > 1) {
            (true, _) => args.push("--push".to_owned()),
            (false, false) => args.push("--load".to_owned()),
            (false, true) => {
                return Err(super::Error::Unsupported {
                    engine: "docker",
                    what: "keep a multi-platform build in the daemon: it must be pushed".into(),
                });
            }
        }
        args.extend(["--iidfile".to_owned(), iidfile.display().to_string()]);
        args.push(spec.path_arg());
        Ok(args)
    }

    /// A client config directory holding `auths` for a buildx push, with
    /// the user's builders and plugins linked in.
    fn push_config(&self, auths: &[RegistryAuth]) -> Result<AuthFile, super::Error> {
        let file = AuthFile::write(auths)?;
        if let Some(dir) = &self.config_dir {
            for shared in ["buildx", "cli-plugins"] {
                let target = dir.join(shared);
                if target.exists() {
                    crate::fs::symlink_if_changed(&file.dir().join(shared), &target)
                        .map_err(|err| super::Error::AuthFile { source: err.into() })?;
                }
            }
        }
        Ok(file)
    }

    async fn build_spec(
        &self,
        spec: &BuildSpec,
        log: &dyn BuildLog,
    ) -> Result<Built, super::Error> {
        let scratch = tempfile::tempdir().map_err(|source| {
            super::Error::Command(services::Error::Spawn {
                command: "docker build".into(),
                source,
            })
        })?;
        let iidfile = scratch.path().join("iid");
        let buildx = !spec.platforms.is_empty() || self.builder.is_some();
        if buildx && !self.has_buildx().await {
            return Err(super::Error::Unsupported {
                engine: "docker",
                what: "build for a platform list or with a builder without the buildx plugin"
                    .into(),
            });
        }
        let mut env = spec.env.clone();
        let pushed = if buildx {
            let args = self.buildx_args(spec, &iidfile)?;
            let config = match spec.push {
                true => Some(self.push_config(&spec.auths)?),
                false => None,
            };
            if let Some(config) = &config {
                env.push(("DOCKER_CONFIG".into(), config.dir().display().to_string()));
            }
            self.cli.stream(&args, &spec.context, &env, log).await?;
            spec.push
        } else {
            // Without this the CLI wants buildx and fails.
            env.push(("DOCKER_BUILDKIT".into(), "0".into()));
            let args = Docker::classic_args(spec, &iidfile);
            self.cli.stream(&args, &spec.context, &env, log).await?;
            false
        };
        if spec.push && !pushed {
            for tag in &spec.tags {
                self.api.push(tag, auth_for(&spec.auths, tag)).await?;
            }
        }
        let id = std::fs::read_to_string(&iidfile)
            .ok()
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty());
        Ok(Built { id })
    }
}

impl Engine for Docker {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn build<'a>(&'a self, spec: &'a BuildSpec, log: &'a dyn BuildLog) -> Answer<'a, Built> {
        Box::pin(self.build_spec(spec, log))
    }

    fn tag<'a>(&'a self, source: &'a str, target: &'a str) -> Answer<'a, ()> {
        Box::pin(async move { Ok(self.api.tag(source, target).await?) })
    }

    fn push<'a>(&'a self, image: &'a str, auth: Option<&'a RegistryAuth>) -> Answer<'a, ()> {
        Box::pin(async move { Ok(self.api.push(image, auth).await?) })
    }

    fn inspect<'a>(&'a self, image: &'a str) -> Answer<'a, Option<ImageInfo>> {
        Box::pin(async move { Ok(self.api.inspect(image).await?) })
    }

    fn keeps_manifest_lists(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            DockerHost::parse("unix:///run/d.sock").unwrap().socket(),
            Path::new("/run/d.sock")
        );
        assert_eq!(
            DockerHost::parse("/run/d.sock").unwrap().url(),
            "unix:///run/d.sock"
        );
        assert!(DockerHost::parse("tcp://1.2.3.4:2375").is_err());
    }

    #[test]
    fn tags_split_from_their_repository() {
        assert_eq!(split_tag("org/app:v1"), ("org/app", "v1"));
        assert_eq!(split_tag("org/app"), ("org/app", "latest"));
        assert_eq!(
            split_tag("127.0.0.1:5000/org/app:v1"),
            ("127.0.0.1:5000/org/app", "v1")
        );
        assert_eq!(
            split_tag("127.0.0.1:5000/org/app"),
            ("127.0.0.1:5000/org/app", "latest")
        );
    }

    #[test]
    fn build_arguments() {
        let spec = BuildSpec {
            context: "/ctx".into(),
            dockerfile: Some("Dockerfile.alt".into()),
            tags: vec!["org/app:1".into()],
            ..BuildSpec::default()
        };
        let iid = Path::new("/tmp/iid");
        assert_eq!(
            Docker::classic_args(&spec, iid),
            [
                "build",
                "-f",
                "Dockerfile.alt",
                "--tag",
                "org/app:1",
                "--iidfile",
                "/tmp/iid",
                "."
            ]
        );
        let docker = Docker::new(DockerHost::from_path("/run/d.sock")).builder("zuul");
        let buildx = docker.buildx_args(&spec, iid).unwrap();
        assert_eq!(&buildx[..4], ["buildx", "build", "--builder", "zuul"]);
        assert!(buildx.contains(&"--load".to_owned()), "{buildx:?}");
        let multi = BuildSpec {
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            ..spec.clone()
        };
        assert!(matches!(
            docker.buildx_args(&multi, iid),
            Err(super::super::Error::Unsupported { .. })
        ));
        let pushed = docker
            .buildx_args(
                &BuildSpec {
                    push: true,
                    ..multi
                },
                iid,
            )
            .unwrap();
        let platform = pushed.iter().position(|a| a == "--platform").unwrap();
        assert_eq!(pushed[platform + 1], "linux/amd64,linux/arm64");
        assert!(pushed.contains(&"--push".to_owned()) && !pushed.contains(&"--load".to_owned()));
    }

    #[tokio::test]
    async fn no_socket_is_no_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let host = DockerHost::from_path(dir.path().join("none.sock"));
        assert!(!host.ping(Duration::from_millis(200)).await);
    }
}
