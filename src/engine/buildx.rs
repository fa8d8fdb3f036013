//! The buildx builder of a docker multi-platform build: a
//! `docker-container` builder on the host network, running the builder
//! image, configured by a `buildkitd.toml` (`--config`: the buildset
//! registry as mirror, its CA, which buildx copies into the builder), and,
//! when the buildset registry's host is an IP, the registry's alias in the
//! builder's `/etc/hosts`. [`Builder::create`] fails clearly where buildx
//! is not installed (Debian's docker.io has none) and removes a builder it
//! could not bring up; [`Builder::remove`] takes it down after the builds.
//!
//! Runs the docker CLI through the [`Runner`] seam only, so the exact
//! commands are unit-tested with [`super::fake::Script`]. Writes nothing
//! but the edited hosts file, in the caller's scratch directory.

use super::Error;
use super::cli::Runner;
use crate::host::etc_hosts;
use std::path::{Path, PathBuf};

/// A name to resolve inside the builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsAlias {
    pub ip: String,
    pub alias: String,
}

/// How to make the builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuilderSetup {
    /// The builder's name (`--builder` of the builds).
    pub name: String,
    /// The BuildKit image the builder container runs.
    pub image: String,
    /// The `buildkitd.toml` it reads.
    pub config: PathBuf,
    pub hosts_alias: Option<HostsAlias>,
}

/// A builder that exists; remove it with [`Builder::remove`].
#[derive(Debug)]
pub struct Builder {
    name: String,
}

fn strings<const N: usize>(args: [&str; N]) -> Vec<String> {
    args.map(str::to_owned).to_vec()
}

impl Builder {
    /// Create the builder and start it; on any failure after it was
    /// created it is removed again.
    pub async fn create(
        runner: &dyn Runner,
        setup: &BuilderSetup,
        scratch: &Path,
    ) -> Result<Builder, Error> {
        if runner.run(&strings(["buildx", "version"])).await.is_err() {
            return Err(Error::Unsupported {
                engine: "docker",
                what: "build for several platforms here: the buildx plugin is not installed (`docker buildx version` failed)".into(),
            });
        }
        let builder = Builder {
            name: setup.name.clone(),
        };
        let config = setup.config.display().to_string();
        let create = strings([
            "buildx",
            "create",
            "--name",
            &setup.name,
            "--node",
            &builder.node(),
            "--driver",
            "docker-container",
            "--driver-opt",
            &format!("image={}", setup.image),
            "--driver-opt",
            "network=host",
            "--config",
            &config,
        ]);
        runner.run(&create).await?;
        match builder.start(runner, setup, scratch).await {
            Ok(()) => Ok(builder),
            Err(err) => {
                if let Err(removal) = builder.remove(runner).await {
                    tracing::warn!("failed to remove the builder `{}`: {removal}", setup.name);
                }
                Err(err)
            }
        }
    }

    async fn start(
        &self,
        runner: &dyn Runner,
        setup: &BuilderSetup,
        scratch: &Path,
    ) -> Result<(), Error> {
        let bootstrap = strings(["buildx", "inspect", "--bootstrap", &self.name]);
        runner.run(&bootstrap).await?;
        let Some(alias) = &setup.hosts_alias else {
            return Ok(());
        };
        // The container's /etc/hosts is a bind mount: written in place
        // (`cp` onto it), never replaced.
        let container = self.container();
        let current = runner
            .run(&strings(["exec", &container, "cat", "/etc/hosts"]))
            .await?;
        let wanted = etc_hosts::add_alias(Some(&current), &alias.ip, &alias.alias);
        if wanted == current {
            return Ok(());
        }
        let file = scratch.join("builder-hosts");
        crate::fs::write_atomic(&file, wanted.as_bytes(), crate::fs::PUBLIC)?;
        let copy = strings([
            "cp",
            &file.display().to_string(),
            &format!("{container}:/etc/zuul-image-hosts"),
        ]);
        runner.run(&copy).await?;
        let install = strings([
            "exec",
            &container,
            "cp",
            "/etc/zuul-image-hosts",
            "/etc/hosts",
        ]);
        runner.run(&install).await?;
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The builder's one node.
    fn node(&self) -> String {
        format!("{}0", self.name)
    }

    /// The container buildx runs the node in.
    pub fn container(&self) -> String {
        format!("buildx_buildkit_{}", self.node())
    }

    /// Remove the builder and its container.
    pub async fn remove(&self, runner: &dyn Runner) -> Result<(), Error> {
        runner
            .run(&strings(["buildx", "rm", &self.name]))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::Script;
    use super::*;

    fn setup(alias: Option<HostsAlias>) -> BuilderSetup {
        BuilderSetup {
            name: "zuul-image-42".into(),
            image: "quay.io/opendevmirror/buildkit:buildx-stable-1".into(),
            config: "/tmp/b/buildkitd.toml".into(),
            hosts_alias: alias,
        }
    }

    #[tokio::test]
    async fn creates_bootstraps_and_adds_the_alias_in_the_builder() {
        let scratch = tempfile::tempdir().unwrap();
        let script = Script::new().answer(
            &["exec", "buildx_buildkit_zuul-image-420", "cat"],
            "127.0.0.1\tlocalhost\n",
        );
        let alias = HostsAlias {
            ip: "10.0.0.5".into(),
            alias: "zuul-jobs.buildset-registry".into(),
        };
        let builder = Builder::create(&script, &setup(Some(alias)), scratch.path())
            .await
            .unwrap();
        assert_eq!(builder.name(), "zuul-image-42");
        builder.remove(&script).await.unwrap();
        let hosts = scratch.path().join("builder-hosts").display().to_string();
        assert_eq!(
            script.commands(),
            [
                "buildx version",
                "buildx create --name zuul-image-42 --node zuul-image-420 --driver docker-container --driver-opt image=quay.io/opendevmirror/buildkit:buildx-stable-1 --driver-opt network=host --config /tmp/b/buildkitd.toml",
                "buildx inspect --bootstrap zuul-image-42",
                "exec buildx_buildkit_zuul-image-420 cat /etc/hosts",
                &format!("cp {hosts} buildx_buildkit_zuul-image-420:/etc/zuul-image-hosts"),
                "exec buildx_buildkit_zuul-image-420 cp /etc/zuul-image-hosts /etc/hosts",
                "buildx rm zuul-image-42",
            ]
        );
        assert_eq!(
            std::fs::read_to_string(&hosts).unwrap(),
            "127.0.0.1\tlocalhost\n10.0.0.5\tzuul-jobs.buildset-registry\n"
        );
    }

    #[tokio::test]
    async fn an_alias_already_there_and_no_alias_touch_nothing() {
        let scratch = tempfile::tempdir().unwrap();
        let script = Script::new().answer(&["exec"], "10.0.0.5\tzuul-jobs.buildset-registry\n");
        let alias = HostsAlias {
            ip: "10.0.0.5".into(),
            alias: "zuul-jobs.buildset-registry".into(),
        };
        Builder::create(&script, &setup(Some(alias)), scratch.path())
            .await
            .unwrap();
        assert_eq!(script.commands().len(), 4, "{:?}", script.commands());
        let plain = Script::new();
        Builder::create(&plain, &setup(None), scratch.path())
            .await
            .unwrap();
        assert_eq!(plain.commands().len(), 3);
    }

    #[tokio::test]
    async fn no_buildx_is_a_clear_error_and_a_failed_start_removes_the_builder() {
        let scratch = tempfile::tempdir().unwrap();
        let none = Script::new().failing(&["buildx", "version"]);
        let err = Builder::create(&none, &setup(None), scratch.path())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("buildx plugin is not installed"),
            "{err}"
        );
        assert_eq!(none.commands(), ["buildx version"]);

        let broken = Script::new().failing(&["buildx", "inspect"]);
        let err = Builder::create(&broken, &setup(None), scratch.path())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("buildx inspect"), "{err}");
        assert_eq!(
            broken.commands().last().map(String::as_str),
            Some("buildx rm zuul-image-42")
        );
    }
}
