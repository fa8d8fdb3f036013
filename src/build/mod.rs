//! The build operation behind `build-image`: for a resolved
//! [`Build`] plan, check every image before anything happens ([`check`]),
//! then per image stage its siblings, build it with an [`Engine`] under
//! all its local tags, remove the siblings (also on failure), and, when a
//! buildset registry is known, tag and push every tag to it (pushes
//! retried as the roles do: 3 more times, 5 s apart).
//!
//! A multi-platform image stays local as a manifest list where the engine
//! keeps lists (podman, buildah): it is tagged and pushed whole. Docker
//! keeps one platform: its buildx build pushes the whole index straight to
//! the buildset registry, then a second, cached build loads the native
//! platform under the local tags. The builder that needs is made by
//! [`builder`].
//!
//! Decides no names (the plan carries every reference) and reads no
//! variables; talks to engines only through the trait.

pub mod builder;
pub mod siblings;

use crate::engine::{self, BuildSpec, Engine, RegistryAuth};
use crate::output::Printer;
use crate::zuul::inputs::build::{Build, ImageBuild};
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// Why a build run stopped. The checks before any build are input errors
/// (exit 2, nothing built); the rest are operation failures (exit 1).
#[derive(Debug, Error)]
pub enum Error {
    #[error("the build context `{}` of `{image}` ({origin}) is not a directory", path.display())]
    NoContext {
        image: String,
        origin: String,
        path: PathBuf,
    },
    #[error("`{}` is left over from an earlier build of `{image}` ({origin}); remove it and run again (nothing was built)", path.display())]
    LeftoverSiblings {
        image: String,
        origin: String,
        path: PathBuf,
    },
    #[error("sibling `{sibling}` of `{image}` ({origin}) is not checked out at `{}`: list it in the job's required-projects", path.display())]
    SiblingMissing {
        image: String,
        origin: String,
        sibling: String,
        path: PathBuf,
    },
    #[error(
        "`{image}` ({origin}) has siblings, but HOME is not set, so there is no `~/src` to take them from"
    )]
    NoSources { image: String, origin: String },
    #[error("failed to stage the siblings of `{image}`")]
    Stage {
        image: String,
        #[source]
        source: crate::fs::Error,
    },
    #[error("failed to build `{image}` ({origin})")]
    Build {
        image: String,
        origin: String,
        #[source]
        source: Box<engine::Error>,
    },
    #[error("failed to tag `{from}` as `{to}`")]
    Tag {
        from: String,
        to: String,
        #[source]
        source: Box<engine::Error>,
    },
    #[error("failed to push `{reference}` to the buildset registry")]
    Push {
        reference: String,
        #[source]
        source: Box<engine::Error>,
    },
    #[error("failed to set up the buildx builder of a multi-platform docker build")]
    Builder {
        #[source]
        source: Box<engine::Error>,
    },
    #[error("failed to write the buildx builder's configuration")]
    Scratch {
        #[source]
        source: crate::fs::Error,
    },
    /// The node's `buildkitd.toml` cannot be used as it is.
    #[error(transparent)]
    HostConfig(#[from] crate::host::Error),
}

impl crate::exit::Classify for Error {
    fn is_input(&self) -> bool {
        matches!(
            self,
            Error::NoContext { .. }
                | Error::LeftoverSiblings { .. }
                | Error::SiblingMissing { .. }
                | Error::NoSources { .. }
                | Error::HostConfig(_)
        )
    }
}

/// Every message of an error's chain, joined by `: `.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut messages = vec![err.to_string()];
    let mut cause = err.source();
    while let Some(err) = cause {
        messages.push(err.to_string());
        cause = err.source();
    }
    messages.join(": ")
}

/// [`chain`], lowercased, to look for causes by.
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    chain(err).to_lowercase()
}

/// Whether a push failure will fail again the same way.
fn permanent(err: &engine::Error) -> bool {
    let text = chain_text(err);
    [
        "unauthorized",
        "denied",
        "authentication required",
        "x509",
        "certificate",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

impl Error {
    /// What the user can do about it, when we can tell.
    pub fn hint(&self, engine: &str, registry: Option<&str>) -> Option<String> {
        let registry = registry.unwrap_or("the buildset registry");
        match self {
            Error::Push { source, .. } => {
                let text = chain_text(source);
                if text.contains("x509") || text.contains("certificate") {
                    Some(format!(
                        "{engine} does not trust `{registry}`: run `zuul-image use-buildset-registry` first (it installs the registry's CA for docker, podman and buildah)"
                    ))
                } else if text.contains("no such host") || text.contains("lookup") {
                    Some(format!(
                        "`{registry}` does not resolve: run `zuul-image use-buildset-registry` first (it adds the registry's alias to /etc/hosts)"
                    ))
                } else if text.contains("connection refused") || text.contains("timeout") {
                    Some(format!("is the buildset registry at `{registry}` running and reachable from this node?"))
                } else if text.contains("unauthorized") || text.contains("denied") {
                    Some("the buildset registry refused `buildset_registry.username`/`password`".into())
                } else {
                    None
                }
            }
            Error::Build { source, .. } | Error::Builder { source } => match source.as_ref() {
                engine::Error::Command(crate::host::services::Error::Spawn { .. }) => Some(format!(
                    "is {engine} installed? Set `container_command` (`--engine`) to an engine this node has"
                )),
                engine::Error::Unsupported { .. } => Some(
                    "install the buildx plugin (`docker-buildx` on Debian/Ubuntu, `docker-buildx-plugin` from Docker's repository), or build with podman or buildah (`--family container`, `container_command: podman`)".into(),
                ),
                _ => None,
            },
            _ => None,
        }
    }
}

/// How pushes to the buildset registry are retried.
#[derive(Debug, Clone, Copy)]
pub struct PushPolicy {
    /// Attempts in total.
    pub attempts: u32,
    pub delay: Duration,
}

impl Default for PushPolicy {
    /// The roles' `retries: 3` with the default 5 s delay.
    fn default() -> PushPolicy {
        PushPolicy {
            attempts: 4,
            delay: Duration::from_secs(5),
        }
    }
}

/// Check every image of the plan before anything is built.
pub fn check(plan: &Build) -> Result<(), Error> {
    for image in &plan.images {
        siblings::check(image, plan.sources.as_deref())?;
    }
    Ok(())
}

/// The platform of this machine, as a platform list names it.
pub fn native_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    format!("linux/{arch}")
}

/// Build every image of `plan` with `engine`; see the module docs.
pub async fn build_all(
    engine: &dyn Engine,
    plan: &Build,
    printer: &Printer,
    policy: PushPolicy,
) -> Result<(), Error> {
    let auth = plan.buildset.as_ref().and_then(|registry| {
        (!registry.password.is_empty()).then(|| RegistryAuth {
            registry: registry.alias_address(),
            username: registry.username.clone(),
            password: registry.password.clone(),
        })
    });
    if plan.buildset.is_none() {
        printer.status("no buildset registry is known: building local images only");
    }
    for image in &plan.images {
        printer.status(format!(
            "building `{}` ({}) in `{}` with {}",
            image.repository,
            image.origin,
            image.context.display(),
            engine.name()
        ));
        let staged = siblings::stage(image, plan.sources.as_deref())?;
        let built = build_one(engine, plan, image, auth.as_ref(), printer).await;
        let removed = staged.remove();
        built?;
        removed.map_err(|source| Error::Stage {
            image: image.repository.clone(),
            source,
        })?;
        publish(engine, image, auth.as_ref(), printer, policy).await?;
        printer.status(format!(
            "built `{}`: {}",
            image.repository,
            image
                .local_tags()
                .iter()
                .chain(image.buildset_tags().iter())
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

fn spec(plan: &Build, image: &ImageBuild, tags: Vec<String>, platforms: Vec<String>) -> BuildSpec {
    BuildSpec {
        context: image.context.clone(),
        dockerfile: image.dockerfile.as_ref().map(PathBuf::from),
        path: image.path.as_ref().map(PathBuf::from).unwrap_or_default(),
        target: image.target.clone(),
        build_args: image.build_args.clone(),
        labels: image.labels.clone(),
        tags,
        platforms,
        env: plan.env.clone(),
        push: false,
        auths: Vec::new(),
    }
}

/// The build of one image under its local tags (and, for a docker
/// multi-platform image, the push of the whole index).
async fn build_one(
    engine: &dyn Engine,
    plan: &Build,
    image: &ImageBuild,
    auth: Option<&RegistryAuth>,
    printer: &Printer,
) -> Result<(), Error> {
    let log = |line: &str| printer.status(line);
    let failed = |source| Error::Build {
        image: image.repository.clone(),
        origin: image.origin.clone(),
        source: Box::new(source),
    };
    if image.platforms.is_empty() || engine.keeps_manifest_lists() {
        let spec = spec(plan, image, image.local_tags(), image.platforms.clone());
        engine.build(&spec, &log).await.map_err(failed)?;
        return Ok(());
    }
    let pushed = image.buildset_tags();
    if pushed.is_empty() {
        printer.warn(format!(
            "no buildset registry: only one platform of `{}` is kept ({} keeps no manifest lists)",
            image.repository,
            engine.name()
        ));
    } else {
        let mut all = spec(plan, image, pushed, image.platforms.clone());
        all.push = true;
        all.auths = auth.into_iter().cloned().collect();
        engine.build(&all, &log).await.map_err(failed)?;
    }
    let native = native_platform();
    let one = if image.platforms.contains(&native) {
        native
    } else {
        image.platforms[0].clone()
    };
    let local = spec(plan, image, image.local_tags(), vec![one]);
    engine.build(&local, &log).await.map_err(failed)?;
    Ok(())
}

/// Tag and push every buildset registry reference of a built image (a
/// docker multi-platform image was pushed by its build).
async fn publish(
    engine: &dyn Engine,
    image: &ImageBuild,
    auth: Option<&RegistryAuth>,
    printer: &Printer,
    policy: PushPolicy,
) -> Result<(), Error> {
    if !image.platforms.is_empty() && !engine.keeps_manifest_lists() {
        return Ok(());
    }
    let mut pushes = Vec::new();
    for tag in &image.tags {
        let (Some(remote), Some(local)) = (&tag.buildset, tag.local.first()) else {
            continue;
        };
        engine
            .tag(local, remote)
            .await
            .map_err(|source| Error::Tag {
                from: local.clone(),
                to: remote.clone(),
                source: Box::new(source),
            })?;
        pushes.push(push(engine, remote, auth, printer, policy));
    }
    for result in futures_util::future::join_all(pushes).await {
        result?;
    }
    Ok(())
}

async fn push(
    engine: &dyn Engine,
    reference: &str,
    auth: Option<&RegistryAuth>,
    printer: &Printer,
    policy: PushPolicy,
) -> Result<(), Error> {
    let mut attempt = 1;
    loop {
        match engine.push(reference, auth).await {
            Ok(()) => {
                printer.status(format!("pushed `{reference}`"));
                return Ok(());
            }
            Err(err) if attempt < policy.attempts && !permanent(&err) => {
                printer.warn(format!(
                    "push of `{reference}` failed (attempt {attempt} of {}), retrying in {} s: {}",
                    policy.attempts,
                    policy.delay.as_secs(),
                    chain(&err)
                ));
                tokio::time::sleep(policy.delay).await;
                attempt += 1;
            }
            Err(source) => {
                return Err(Error::Push {
                    reference: reference.to_owned(),
                    source: Box::new(source),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
