//! What podman and buildah share: both keep images in containers-storage,
//! take the same build flags (`--platform a,b --manifest LIST` for a
//! multi-platform build), tag lists like images, push with `--authfile`
//! and `--cert-dir`, and push a list with `manifest push --all`. The two
//! engines ([`super::podman`], [`super::buildah`]) differ only in how they
//! are called and how they answer inspect: each is a [`StorageTool`], and
//! every `StorageTool` is an [`Engine`].

use super::authfile::AuthFile;
use super::cli::Cli;
use super::{Answer, BuildLog, BuildSpec, Built, Engine, Error, ImageInfo, RegistryAuth, auth_for};
use crate::host::services;
use serde::Deserialize;
use std::path::PathBuf;

/// What podman and buildah do their own way.
pub trait StorageTool: Send + Sync {
    fn storage(&self) -> &StorageCli;
    /// The local image's id, labels and platform (a list's native image
    /// for a list); `None` when there is no such image.
    fn inspect_image<'a>(&'a self, image: &'a str) -> Answer<'a, Option<ImageInfo>>;
    fn image_exists<'a>(&'a self, image: &'a str) -> Answer<'a, bool> {
        Box::pin(async move { Ok(self.inspect_image(image).await?.is_some()) })
    }
}

impl<T: StorageTool> Engine for T {
    fn name(&self) -> &'static str {
        self.storage().name
    }

    fn build<'a>(&'a self, spec: &'a BuildSpec, log: &'a dyn BuildLog) -> Answer<'a, Built> {
        Box::pin(self.storage().build(spec, log))
    }

    fn tag<'a>(&'a self, source: &'a str, target: &'a str) -> Answer<'a, ()> {
        Box::pin(self.storage().tag(source, target))
    }

    fn push<'a>(&'a self, image: &'a str, auth: Option<&'a RegistryAuth>) -> Answer<'a, ()> {
        Box::pin(self.storage().push(image, auth))
    }

    /// The image, with the platforms of a manifest list.
    fn inspect<'a>(&'a self, image: &'a str) -> Answer<'a, Option<ImageInfo>> {
        Box::pin(async move {
            let Some(mut info) = self.inspect_image(image).await? else {
                return Ok(None);
            };
            if self.storage().is_list(image).await? {
                info.platforms = self.storage().platforms(image).await?;
            }
            Ok(Some(info))
        })
    }

    fn exists<'a>(&'a self, image: &'a str) -> Answer<'a, bool> {
        self.image_exists(image)
    }
}

/// A containers-storage CLI (`podman` or `buildah`) and its settings.
#[derive(Debug, Clone)]
pub struct StorageCli {
    /// `podman` or `buildah`.
    pub name: &'static str,
    pub cli: Cli,
    /// Flags for every build (`--isolation chroot`).
    pub build_flags: Vec<String>,
    /// A directory of CA certificates (`ca.crt`) to trust when pushing;
    /// `None`: `/etc/containers/certs.d`.
    pub cert_dir: Option<PathBuf>,
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

impl StorageCli {
    /// `name`'s CLI (`podman`, `buildah`) with `global` flags.
    pub fn new(
        name: &'static str,
        global: impl IntoIterator<Item = impl Into<String>>,
    ) -> StorageCli {
        StorageCli {
            name,
            cli: Cli::new(name).global_args(global),
            build_flags: Vec::new(),
            cert_dir: None,
        }
    }

    /// The arguments of `build` for `spec`, `iidfile` receiving the id.
    pub fn build_args(&self, spec: &BuildSpec, iidfile: &std::path::Path) -> Vec<String> {
        let mut args = vec!["build".to_owned()];
        args.extend(self.build_flags.iter().cloned());
        args.extend(spec.common_args());
        match spec.tags.first() {
            Some(list) if !spec.platforms.is_empty() => args.extend([
                "--platform".to_owned(),
                spec.platforms.join(","),
                "--manifest".to_owned(),
                list.clone(),
            ]),
            _ => {
                args.extend(spec.tag_args());
                args.extend(["--iidfile".to_owned(), iidfile.display().to_string()]);
            }
        }
        args.push(spec.path_arg());
        args
    }

    pub async fn build(&self, spec: &BuildSpec, log: &dyn BuildLog) -> Result<Built, Error> {
        let multi = !spec.platforms.is_empty();
        if multi {
            let Some(list) = spec.tags.first() else {
                return Err(Error::Unsupported {
                    engine: "a multi-platform build",
                    what: "do without a tag to name its manifest list".into(),
                });
            };
            // `--manifest` adds to a list that exists: start a fresh one.
            if self.is_list(list).await? {
                self.cli.output(&strings(&["manifest", "rm", list])).await?;
            }
        }
        let scratch = tempfile::tempdir().map_err(|source| {
            Error::Command(services::Error::Spawn {
                command: format!("{} build", self.cli.program()),
                source,
            })
        })?;
        let iidfile = scratch.path().join("iid");
        let args = self.build_args(spec, &iidfile);
        self.cli
            .stream(&args, &spec.context, &spec.env, log)
            .await?;
        let id = if multi {
            for tag in &spec.tags[1..] {
                self.tag(&spec.tags[0], tag).await?;
            }
            None
        } else {
            std::fs::read_to_string(&iidfile)
                .ok()
                .map(|id| id.trim().to_owned())
        };
        if spec.push {
            for tag in &spec.tags {
                self.push(tag, auth_for(&spec.auths, tag)).await?;
            }
        }
        Ok(Built { id })
    }

    pub async fn tag(&self, source: &str, target: &str) -> Result<(), Error> {
        self.cli
            .output(&strings(&["tag", source, target]))
            .await
            .map(drop)
    }

    /// Whether `image` is a manifest list in local storage (an image that
    /// is not a list, and no image at all, are both `false`).
    pub async fn is_list(&self, image: &str) -> Result<bool, Error> {
        self.cli
            .check(&strings(&["manifest", "exists", image]), &[1, 125])
            .await
    }

    /// The arguments of the push of `image` (a list with every image in
    /// it), authenticated by `authfile`.
    pub fn push_args(&self, image: &str, list: bool, authfile: Option<&AuthFile>) -> Vec<String> {
        let mut args = if list {
            strings(&["manifest", "push", "--all"])
        } else {
            strings(&["push"])
        };
        if let Some(file) = authfile {
            args.extend(["--authfile".to_owned(), file.path().display().to_string()]);
        }
        if let Some(dir) = &self.cert_dir {
            args.extend(["--cert-dir".to_owned(), dir.display().to_string()]);
        }
        args.extend([image.to_owned(), format!("docker://{image}")]);
        args
    }

    pub async fn push(&self, image: &str, auth: Option<&RegistryAuth>) -> Result<(), Error> {
        let list = self.is_list(image).await?;
        let authfile = auth.map(|auth| AuthFile::write(std::slice::from_ref(auth)));
        let authfile = authfile.transpose()?;
        let args = self.push_args(image, list, authfile.as_ref());
        self.cli.output(&args).await.map(drop)
    }

    /// The platforms of the local manifest list `image`.
    pub async fn platforms(&self, image: &str) -> Result<Vec<String>, Error> {
        let args = strings(&["manifest", "inspect", image]);
        let text = self.cli.output(&args).await?;
        let list: List = serde_json::from_str(&text).map_err(|err| Error::Output {
            command: format!("{} manifest inspect", self.cli.program()),
            message: err.to_string(),
        })?;
        Ok(list
            .manifests
            .into_iter()
            .filter_map(|entry| entry.platform)
            .map(|p| match p.variant {
                Some(variant) => format!("{}/{}/{variant}", p.os, p.architecture),
                None => format!("{}/{}", p.os, p.architecture),
            })
            .collect())
    }
}

/// The fields of an image podman (`image inspect`, capitalised) and
/// buildah (`inspect`'s `OCIv1`) both show.
#[derive(Deserialize, Default)]
pub struct ImageFields {
    #[serde(alias = "Architecture", default)]
    architecture: Option<String>,
    #[serde(alias = "Os", default)]
    os: Option<String>,
    #[serde(alias = "Config", default)]
    config: Option<ImageConfig>,
}

#[derive(Deserialize, Default)]
struct ImageConfig {
    #[serde(rename = "Labels", default)]
    labels: Option<std::collections::BTreeMap<String, String>>,
}

impl ImageFields {
    /// What the engine said of the image `id`.
    pub fn info(self, id: String) -> ImageInfo {
        ImageInfo {
            id,
            labels: self.config.and_then(|c| c.labels).unwrap_or_default(),
            os: self.os,
            architecture: self.architecture,
            platforms: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct List {
    #[serde(default)]
    manifests: Vec<ListEntry>,
}

#[derive(Deserialize)]
struct ListEntry {
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    architecture: String,
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::path::Path;

    fn spec() -> BuildSpec {
        BuildSpec {
            context: "/ctx".into(),
            labels: vec!["a=b".into()],
            tags: vec!["r/app:1".into(), "r/app:change_1_1".into()],
            ..BuildSpec::default()
        }
    }

    #[test]
    fn single_and_multi_platform_build_args() {
        let mut storage = StorageCli::new("buildah", Vec::<String>::new());
        storage.build_flags = strings(&["--isolation", "chroot"]);
        let iid = Path::new("/tmp/iid");
        assert_eq!(
            storage.build_args(&spec(), iid),
            [
                "build",
                "--isolation",
                "chroot",
                "--label",
                "a=b",
                "--tag",
                "r/app:1",
                "--tag",
                "r/app:change_1_1",
                "--iidfile",
                "/tmp/iid",
                "."
            ]
        );
        let multi = BuildSpec {
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            ..spec()
        };
        assert_eq!(
            storage.build_args(&multi, iid),
            [
                "build",
                "--isolation",
                "chroot",
                "--label",
                "a=b",
                "--platform",
                "linux/amd64,linux/arm64",
                "--manifest",
                "r/app:1",
                "."
            ]
        );
    }

    #[test]
    fn pushes_carry_an_auth_file_never_the_password() {
        let mut storage = StorageCli::new("podman", Vec::<String>::new());
        storage.cert_dir = Some("/certs".into());
        let auth = RegistryAuth {
            registry: "127.0.0.1:5000".into(),
            username: "zuul".into(),
            password: Secret::new("s3cret-pw"),
        };
        let file = AuthFile::write(std::slice::from_ref(&auth)).unwrap();
        let image = "127.0.0.1:5000/org/app:1";
        let args = storage.push_args(image, false, Some(&file));
        let path = file.path().display().to_string();
        assert_eq!(
            args,
            [
                "push",
                "--authfile",
                path.as_str(),
                "--cert-dir",
                "/certs",
                image,
                "docker://127.0.0.1:5000/org/app:1"
            ]
        );
        assert!(args.iter().all(|arg| !arg.contains("s3cret-pw")));
        let list = storage.push_args(image, true, None);
        assert_eq!(&list[..3], ["manifest", "push", "--all"]);
    }
}
