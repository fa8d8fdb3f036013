//! `build-image`: build the images of `docker_images` / `container_images`
//! (or one image from flags), tag them, and push them to the buildset
//! registry (the `build-docker-image` and `build-container-image` roles).
//! Resolves the inputs, picks and sets up the engine, and hands the plan to
//! [`crate::build`].

use super::context::Context;
use crate::build::{self, PushPolicy, builder};
use crate::engine::Engine;
use crate::engine::buildah::Buildah;
use crate::engine::docker::{Docker, DockerHost};
use crate::engine::podman::Podman;
use crate::output::Hint;
use crate::zuul::inputs::build::{Build, BuildFlags, EngineKind, ImageFlags};
use crate::zuul::inputs::family::Family;
use crate::zuul::results::ReturnData;
use anyhow::{Context as _, Result};
use std::path::PathBuf;

/// What `build-image --help` says after the options: what it reads and
/// what exists after a build (the contract `upload-image` relies on).
const AFTER_HELP: &str = "\
Images come from `docker_images` (`--family docker`: built with docker, local tags prefixed with \
`docker_registry/`, `-f` from `docker_dockerfile`, default `Dockerfile`) or `container_images` \
(`--family container`: built with `container_command`, default podman, buildah where podman is \
absent, docker allowed; `container_filename`, `container_build_extra_env`); without --family the \
list that is given decides. --repository builds one image from flags instead. Contexts are \
relative to `zuul_work_dir` (default `zuul.project.src_dir`, relative to HOME). `siblings` are \
copied from `~/src` into `<context>/.zuul-siblings` (build arg `ZUUL_SIBLINGS`) and removed \
afterwards; a `.zuul-siblings` left over from an earlier run stops the build. Labels \
`org.zuul-ci.change` and `org.zuul-ci.change_url` are added when Zuul defines them.

After a build, every image exists in the engine's local storage as `<repo>:<tag>` and \
`<repo>:<prefix><tag>` for each of its tags (prefix `change_<N>_`, or `<pipeline>_` without a \
change; none when Zuul gives neither), in the docker family with `docker_registry/` in front. An \
image with `arch` is a local manifest list with podman and buildah; docker keeps its native \
platform. When a buildset registry is known (`buildset_registry`, or this job's results file), \
every tag is also in it as `<alias>:<port>/<repo without docker.io/>:<tag>`, a multi-platform \
image as the whole index (docker: built by a buildx `docker-container` builder configured with \
the registry's mirrors and CA). Run `use-buildset-registry` first, so the engine takes base \
images from the buildset registry and trusts it. Returns no data.";

/// Build images, tag them, and push them to the buildset registry.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// Which role family's variables apply (default: the image list that
    /// is defined).
    #[arg(long, value_enum)]
    pub family: Option<Family>,
    /// Build this repository instead of the image list in the variables.
    #[arg(long, value_name = "REPO")]
    pub repository: Option<String>,
    /// The build context of --repository, relative to the work directory.
    #[arg(long, value_name = "DIR", requires = "repository")]
    pub context: Option<String>,
    /// A tag of --repository (repeatable; default `latest`).
    #[arg(long = "tag", value_name = "TAG", requires = "repository")]
    pub tags: Vec<String>,
    /// The Dockerfile/Containerfile of --repository, relative to its
    /// context.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        requires = "repository"
    )]
    pub file: Option<String>,
    /// The build path argument of --repository, relative to its context.
    #[arg(long, value_name = "PATH", requires = "repository")]
    pub path: Option<String>,
    /// The stage of a multi-stage build to build (--repository).
    #[arg(long, value_name = "STAGE", requires = "repository")]
    pub target: Option<String>,
    /// A build argument of --repository (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE", requires = "repository")]
    pub build_args: Vec<String>,
    /// A label of --repository (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE", requires = "repository")]
    pub labels: Vec<String>,
    /// A project under `~/src` to stage for --repository (repeatable).
    #[arg(long = "sibling", value_name = "PROJECT", requires = "repository")]
    pub siblings: Vec<String>,
    /// A platform of --repository (repeatable): a multi-platform build.
    #[arg(long = "arch", value_name = "OS/ARCH", requires = "repository")]
    pub arch: Vec<String>,
    /// The engine of the container family: docker, podman or buildah;
    /// wins over `container_command`.
    #[arg(long, value_name = "ENGINE")]
    pub engine: Option<String>,
    /// The directory contexts are relative to; wins over `zuul_work_dir`.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// The BuildKit image of a docker multi-platform builder; wins over
    /// `docker_builder_image` / `container_builder_image`.
    #[arg(long, value_name = "IMAGE")]
    pub builder_image: Option<String>,
    /// The Docker API socket (docker builds).
    #[arg(
        long,
        value_name = "unix://PATH",
        env = "DOCKER_HOST",
        default_value = "unix:///var/run/docker.sock"
    )]
    pub docker_host: String,
}

impl Args {
    fn flags(&self) -> BuildFlags {
        BuildFlags {
            family: self.family,
            image: self.repository.as_ref().map(|repository| ImageFlags {
                repository: repository.clone(),
                context: self.context.clone(),
                tags: self.tags.clone(),
                file: self.file.clone(),
                path: self.path.clone(),
                target: self.target.clone(),
                build_args: self.build_args.clone(),
                labels: self.labels.clone(),
                siblings: self.siblings.clone(),
                arch: self.arch.clone(),
            }),
            engine: self.engine.clone(),
            work_dir: self.work_dir.clone(),
            builder_image: self.builder_image.clone(),
        }
    }
}

pub async fn run(args: Args, ctx: &Context) -> Result<()> {
    let plan = Build::resolve(&ctx.sources(), &args.flags())?;
    if let Some(why) = &plan.engine.fallback {
        ctx.printer.status(why);
    }
    build::check(&plan)?;
    let registry = plan.buildset.as_ref().map(|r| r.alias_address());
    let with_hint = |err: build::Error| {
        let hint = err.hint(plan.engine.kind.name(), registry.as_deref());
        let err = anyhow::Error::new(err);
        match hint {
            Some(hint) => err.context(Hint(hint)),
            None => err,
        }
    };
    let policy = PushPolicy::default();
    match plan.engine.kind {
        EngineKind::Docker => {
            let host = DockerHost::parse(&args.docker_host).context("invalid `--docker-host`")?;
            let mut docker = Docker::new(host);
            if let Some(dir) = docker_config_dir(ctx) {
                docker = docker.config_dir(dir);
            }
            let mut prepared = None;
            if plan.multiarch() {
                let existing =
                    crate::fs::read_optional(std::path::Path::new(builder::HOST_CONFIG))?;
                let ready = builder::prepare(docker.cli(), &plan, existing.as_deref())
                    .await
                    .map_err(with_hint)?;
                docker = docker.builder(ready.builder.name());
                prepared = Some(ready);
            }
            let built = build::build_all(&docker, &plan, &ctx.printer, policy).await;
            if let Some(ready) = prepared {
                if let Err(err) = ready.builder.remove(docker.cli()).await {
                    ctx.printer.warn(format!(
                        "failed to remove the buildx builder `{}`: {err}",
                        ready.builder.name()
                    ));
                }
            }
            built.map_err(with_hint)?;
        }
        EngineKind::Podman | EngineKind::Buildah => {
            // Pushes trust the registry through its CA from the variables.
            let trust = match plan.buildset.as_ref().and_then(|r| r.cert.as_ref()) {
                Some(pem) => Some(cert_dir(pem)?),
                None => None,
            };
            let cert_dir = trust.as_ref().map(|dir| dir.path().to_owned());
            let engine: Box<dyn Engine> = if plan.engine.kind == EngineKind::Podman {
                let mut podman = Podman::new(Vec::<String>::new());
                podman.storage.cert_dir = cert_dir;
                Box::new(podman)
            } else {
                let mut buildah = Buildah::new(Vec::<String>::new());
                buildah.storage.cert_dir = cert_dir;
                Box::new(buildah)
            };
            build::build_all(engine.as_ref(), &plan, &ctx.printer, policy)
                .await
                .map_err(with_hint)?;
        }
    }
    ctx.emit(&ReturnData::default())
}

/// docker's client config directory: `DOCKER_CONFIG`, else `~/.docker`
/// (where buildx keeps its builders).
fn docker_config_dir(ctx: &Context) -> Option<PathBuf> {
    ctx.env
        .docker_config
        .clone()
        .or_else(|| ctx.env.home.as_ref().map(|home| home.join(".docker")))
}

/// A private directory holding the buildset registry's CA as `ca.crt`.
fn cert_dir(pem: &str) -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("zuul-image-trust-")
        .tempdir()
        .context("failed to create a directory for the buildset registry's CA")?;
    crate::fs::write_atomic(
        &dir.path().join("ca.crt"),
        pem.as_bytes(),
        crate::fs::PUBLIC,
    )?;
    Ok(dir)
}
