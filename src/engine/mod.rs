//! Container engines behind one seam, the [`Engine`] trait: build an image
//! from a [`BuildSpec`], tag it, push it, inspect it, tell whether it
//! exists. Implementations: [`docker::Docker`] (the Engine API through
//! bollard for inspect, tag and push; the `docker build` or `docker buildx
//! build` CLI for builds, buildx detected and optional), [`podman::Podman`]
//! and [`buildah::Buildah`] (their CLIs; `--platform … --manifest` for
//! multi-platform builds), and [`fake::Recording`] for unit tests of the
//! commands that drive an engine. A docker multi-platform build needs a
//! `docker-container` builder: [`buildx::Builder`] creates and removes
//! one through the [`cli::Runner`] seam (tested with [`fake::Script`]).
//!
//! The engines' CLIs own `.dockerignore`, BuildKit and multi-arch; this
//! module only turns a spec into their arguments and their answers into
//! types. It decides no names (commands pass full references) and reads no
//! Zuul variables. Secrets never go on a child's command line: pushes
//! authenticate through the Engine API's auth header or a private auth file
//! ([`authfile`]) that is removed afterwards.

pub mod authfile;
pub mod buildah;
pub mod buildx;
pub mod cli;
pub mod docker;
#[cfg(test)]
pub mod fake;
pub mod podman;
pub mod storage;

use crate::host::services;
use crate::reference;
use crate::secret::Secret;
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;
use std::path::PathBuf;
use thiserror::Error;

/// What to build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSpec {
    /// The directory the build runs in (the roles' `context`).
    pub context: PathBuf,
    /// `-f`, relative to `context`; `None` lets the engine pick
    /// (`Dockerfile`; `Containerfile`, then `Dockerfile` for podman).
    pub dockerfile: Option<PathBuf>,
    /// The build path argument, relative to `context` (`.` when empty).
    pub path: PathBuf,
    /// `--target` of a multi-stage build.
    pub target: Option<String>,
    /// `--build-arg` values, `KEY=VALUE` each.
    pub build_args: Vec<String>,
    /// `--label` values, `key=value` each.
    pub labels: Vec<String>,
    /// Full references to tag the result with (the first names a
    /// multi-platform manifest list).
    pub tags: Vec<String>,
    /// Platforms (`linux/amd64`, …) of a multi-platform build; empty: the
    /// engine's own platform.
    pub platforms: Vec<String>,
    /// Extra environment for the build command (`container_build_extra_env`).
    pub env: Vec<(String, String)>,
    /// Push every tag to its registry as part of the build. A docker
    /// multi-platform build needs it (buildx cannot load an index into the
    /// daemon); other engines build, then push each tag.
    pub push: bool,
    /// Credentials for the registries the tags name, used when `push` is set.
    pub auths: Vec<RegistryAuth>,
}

impl BuildSpec {
    /// The build flags every engine's CLI shares: `-f`, `--target`,
    /// `--build-arg`, `--label`; tags are the caller's (multi-platform
    /// builds name a manifest instead).
    fn common_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(file) = &self.dockerfile {
            args.extend(["-f".to_owned(), file.display().to_string()]);
        }
        if let Some(target) = &self.target {
            args.extend(["--target".to_owned(), target.clone()]);
        }
        for arg in &self.build_args {
            args.extend(["--build-arg".to_owned(), arg.clone()]);
        }
        for label in &self.labels {
            args.extend(["--label".to_owned(), label.clone()]);
        }
        args
    }

    /// `--tag` for each tag.
    fn tag_args(&self) -> Vec<String> {
        self.tags
            .iter()
            .flat_map(|tag| ["--tag".to_owned(), tag.clone()])
            .collect()
    }

    /// The build path argument.
    fn path_arg(&self) -> String {
        if self.path.as_os_str().is_empty() {
            ".".to_owned()
        } else {
            self.path.display().to_string()
        }
    }
}

/// Credentials for one registry (`host:port`, or `docker.io`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    pub registry: String,
    pub username: String,
    pub password: Secret,
}

/// What a build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The image id, or the manifest list's for a multi-platform build;
    /// `None` when the result was only pushed (docker buildx).
    pub id: Option<String>,
}

/// What an engine knows about a local image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageInfo {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    pub os: Option<String>,
    pub architecture: Option<String>,
    /// The platforms of a manifest list (`linux/arm64`, …); empty for a
    /// single image.
    pub platforms: Vec<String>,
}

/// Where build output goes, one line at a time, as the build runs.
pub trait BuildLog: Send + Sync {
    fn line(&self, line: &str);
}

impl<F: Fn(&str) + Send + Sync> BuildLog for F {
    fn line(&self, line: &str) {
        self(line)
    }
}

/// Why an engine operation failed. Messages name the engine command or
/// the image; they never carry credentials.
#[derive(Debug, Error)]
pub enum Error {
    /// An engine command could not start, or failed.
    #[error(transparent)]
    Command(#[from] services::Error),
    /// A build failed; `tail` holds the last lines of its output.
    #[error("`{command}` failed ({status}); its last lines:\n{tail}")]
    BuildFailed {
        command: String,
        status: String,
        tail: String,
    },
    #[error("{engine} cannot {what}")]
    Unsupported { engine: &'static str, what: String },
    #[error("`{command}` answered something unexpected: {message}")]
    Output { command: String, message: String },
    #[error("failed to write a private auth file")]
    AuthFile {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Docker(#[from] docker::Error),
    /// A scratch file of an engine step could not be written.
    #[error(transparent)]
    File(#[from] crate::fs::Error),
}

/// What an engine method answers, some time later.
pub type Answer<'a, T> = BoxFuture<'a, Result<T, Error>>;

/// A container engine. Every method takes full references
/// (`registry/path:tag`); see the module documentation.
pub trait Engine: Send + Sync {
    /// `docker`, `podman`, `buildah` (for messages).
    fn name(&self) -> &'static str;

    /// Build `spec`, streaming the engine's output to `log`.
    fn build<'a>(&'a self, spec: &'a BuildSpec, log: &'a dyn BuildLog) -> Answer<'a, Built>;

    /// Give the local image (or manifest list) `source` the name `target`.
    fn tag<'a>(&'a self, source: &'a str, target: &'a str) -> Answer<'a, ()>;

    /// Push the local `image` to the registry its name points at; a
    /// manifest list goes with every image in it.
    fn push<'a>(&'a self, image: &'a str, auth: Option<&'a RegistryAuth>) -> Answer<'a, ()>;

    /// What the engine knows of the local `image`; `None` when there is
    /// no such image.
    fn inspect<'a>(&'a self, image: &'a str) -> Answer<'a, Option<ImageInfo>>;

    /// Whether the local `image` exists.
    fn exists<'a>(&'a self, image: &'a str) -> Answer<'a, bool> {
        Box::pin(async move { Ok(self.inspect(image).await?.is_some()) })
    }

    /// Whether a multi-platform build stays in local storage as a manifest
    /// list (podman, buildah). Docker's daemon keeps one platform only: a
    /// docker multi-platform build must push the list as it builds it.
    fn keeps_manifest_lists(&self) -> bool {
        true
    }
}

/// The credentials in `auths` for the registry `image` names.
pub fn auth_for<'a>(auths: &'a [RegistryAuth], image: &str) -> Option<&'a RegistryAuth> {
    let registry = registry_of(image);
    auths.iter().find(|auth| auth.registry == registry)
}

/// The registry part of a full reference (`docker.io` when there is none,
/// by docker's rule).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if reference::is_registry_host(first) => first,
        _ => reference::DOCKER_HUB,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_args_in_order() {
        let spec = BuildSpec {
            context: "/ctx".into(),
            dockerfile: Some("images/Dockerfile".into()),
            path: "src".into(),
            target: Some("final".into()),
            build_args: vec!["A=1".into(), "ZUUL_SIBLINGS=x y".into()],
            labels: vec!["org.zuul-ci.change=3".into()],
            tags: vec!["r/a:1".into(), "r/a:change_3_1".into()],
            ..BuildSpec::default()
        };
        assert_eq!(
            spec.common_args(),
            [
                "-f",
                "images/Dockerfile",
                "--target",
                "final",
                "--build-arg",
                "A=1",
                "--build-arg",
                "ZUUL_SIBLINGS=x y",
                "--label",
                "org.zuul-ci.change=3"
            ]
        );
        assert_eq!(
            spec.tag_args(),
            ["--tag", "r/a:1", "--tag", "r/a:change_3_1"]
        );
        assert_eq!(spec.path_arg(), "src");
        assert_eq!(BuildSpec::default().path_arg(), ".");
        assert!(BuildSpec::default().common_args().is_empty());
    }

    #[test]
    fn registries_of_references() {
        assert_eq!(registry_of("example/app:1"), "docker.io");
        assert_eq!(registry_of("app"), "docker.io");
        assert_eq!(registry_of("quay.io/org/app:1"), "quay.io");
        assert_eq!(registry_of("127.0.0.1:5000/org/app:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/app"), "localhost");
        let auths = vec![RegistryAuth {
            registry: "127.0.0.1:5000".into(),
            username: "zuul".into(),
            password: Secret::new("pw"),
        }];
        assert!(auth_for(&auths, "127.0.0.1:5000/org/app:1").is_some());
        assert!(auth_for(&auths, "org/app:1").is_none());
    }
}
