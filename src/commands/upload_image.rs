//! `upload-image`: push the images of a build to their final registry
//! under the temporary tag `<prefix><tag>` (or the final tags when
//! promotion is off), the `upload-docker-image` / `upload-container-image`
//! roles. From the buildset registry with zuul-image's registry client
//! when one is known (the whole index, byte-exact: the tested digest is
//! what ships), else from the engine's local storage.

use super::connect::{Connections, copy_with_status};
use super::context::Context;
use crate::engine::buildah::Buildah;
use crate::engine::docker::{Docker, DockerHost};
use crate::engine::podman::Podman;
use crate::engine::{Engine, RegistryAuth};
use crate::host::dockerd::DEFAULT_SOCKET;
use crate::registry::copy::{CopyRequest, Endpoint};
use crate::zuul::inputs::family::Family;
use crate::zuul::inputs::publish::{FinalImage, FinalRegistry, ImageFlags};
use crate::zuul::inputs::upload::{
    ContainerCommand, Upload, UploadFlags, UploadPush, UploadSource,
};
use crate::zuul::registries::{BUILDSET_REGISTRY, BuildsetRegistry};
use crate::zuul::results::ReturnData;
use anyhow::Context as _;

/// Push images to their final registry under the temporary tag
/// (`change_<N>_<tag>`, or `<pipeline>_<tag>` without a change).
///
/// Reads `docker_images` with `docker_registry` and `docker_credentials`
/// (docker family), or `container_images` with
/// `container_registry_credentials[<registry>]` and `container_command`
/// (container family); `upload_docker_image_promote` /
/// `upload_container_image_promote` false pushes the final tags instead,
/// and `promote_container_image_method: intermediate-registry` pushes
/// nothing. Every repository must match its credentials' `repository`
/// pattern before anything is pushed. Images come from the buildset
/// registry (`buildset_registry`, or this job's results file) when one is
/// known, else from the engine's local storage.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub images: ImageArgs,
    /// The docker daemon to push from when there is no buildset registry
    /// (`unix:///PATH`; default: /var/run/docker.sock).
    #[arg(long, value_name = "URL")]
    pub docker_host: Option<String>,
    /// Blob transfers at once per registry.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

/// Which images, for `upload-image` and `promote-image`.
#[derive(Debug, clap::Args)]
pub struct ImageArgs {
    /// Which roles' variables apply: `docker` (`docker_images`, ...) or
    /// `container` (`container_images`, ...). Default: the list given.
    #[arg(long, value_enum)]
    pub family: Option<Family>,
    /// This repository instead of the image list in the variables.
    #[arg(long, value_name = "REPO")]
    pub repository: Option<String>,
    /// A tag of --repository (repeatable; default `latest`).
    #[arg(long = "tag", value_name = "TAG", requires = "repository")]
    pub tags: Vec<String>,
}

impl ImageArgs {
    pub fn flags(self) -> ImageFlags {
        ImageFlags {
            family: self.family,
            repository: self.repository,
            tags: self.tags,
        }
    }
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let flags = UploadFlags {
        images: args.images.flags(),
        docker_host: args.docker_host,
    };
    let push = match Upload::resolve(&ctx.sources(), &flags)? {
        Upload::Skip(why) => {
            ctx.printer.status(why);
            return ctx.emit(&ReturnData::default());
        }
        Upload::Push(push) => *push,
    };
    match &push.source {
        UploadSource::Buildset(buildset) => {
            from_buildset(ctx, &push, buildset, args.jobs.into()).await?
        }
        UploadSource::Engine { command, docker } => {
            from_engine(ctx, &push, *command, docker.clone()).await?
        }
    }
    ctx.emit(&ReturnData::default())
}

/// Copy `<buildset>/<repository without docker.io/>:<tag>` to
/// `<final>/<path>:<prefix><tag>`, every platform.
async fn from_buildset(
    ctx: &Context,
    push: &UploadPush,
    buildset: &BuildsetRegistry,
    jobs: usize,
) -> anyhow::Result<()> {
    let publish = &push.publish;
    let mut connections = Connections::new(jobs, &ctx.env);
    let source = connections.buildset(buildset, BUILDSET_REGISTRY)?;
    let mut requests = Vec::new();
    for image in &publish.images {
        let destination = connections.final_registry(publish.registry_of(image))?;
        for tag in &image.spec.tags {
            requests.push(CopyRequest {
                image: format!("{}:{tag}", image.spec.repository),
                source: Endpoint::new(&source, image.spec.buildset_path(), tag.clone()),
                destination: Endpoint::new(
                    &destination,
                    image.path.clone(),
                    format!("{}{tag}", push.prefix),
                ),
            });
        }
    }
    copy_with_status(
        &ctx.printer,
        &requests,
        "uploading",
        "uploaded",
        "failed to upload from the buildset registry",
    )
    .await?;
    Ok(())
}

/// Push `<local>:<prefix><tag>` from the engine's storage (a manifest
/// list with every image in it), after checking that every one exists.
async fn from_engine(
    ctx: &Context,
    push: &UploadPush,
    command: ContainerCommand,
    docker: Option<DockerHost>,
) -> anyhow::Result<()> {
    let publish = &push.publish;
    let names = |image: &FinalImage| {
        image
            .spec
            .tags
            .iter()
            .map(|tag| format!("{}:{}{tag}", image.local, push.prefix))
            .collect::<Vec<_>>()
    };
    let mut engines = Vec::new();
    for registry in &publish.registries {
        engines.push(open_engine(ctx, command, docker.clone(), registry)?);
    }
    // Every local image first: nothing is pushed when one is missing.
    for image in &publish.images {
        let (engine, _) = &engines[image.registry];
        for name in names(image) {
            let found = engine.exists(&name).await.with_context(|| {
                format!("failed to look for `{name}` in {}'s storage", engine.name())
            })?;
            if !found {
                anyhow::bail!(
                    "`{name}` ({}) is not in {}'s local storage and there is no buildset registry: build it first (`build-image`)",
                    image.key,
                    engine.name()
                );
            }
        }
    }
    for image in &publish.images {
        let registry = publish.registry_of(image);
        let (engine, _) = &engines[image.registry];
        let auth = registry.login.as_ref().map(|login| RegistryAuth {
            registry: registry.address.clone(),
            username: login.username.clone(),
            password: login.password.clone(),
        });
        for name in names(image) {
            ctx.printer
                .status(format!("pushing `{name}` with {}", engine.name()));
            engine
                .push(&name, auth.as_ref())
                .await
                .with_context(|| format!("failed to push `{name}` to `{}`", registry.address))?;
        }
    }
    ctx.printer.status(format!(
        "pushed {} tag(s)",
        publish
            .images
            .iter()
            .map(|image| image.spec.tags.len())
            .sum::<usize>()
    ));
    Ok(())
}

/// The engine that pushes to `registry`, trusting its certificate (podman
/// and buildah through a private `--cert-dir`, kept alive with it).
fn open_engine(
    ctx: &Context,
    command: ContainerCommand,
    docker: Option<DockerHost>,
    registry: &FinalRegistry,
) -> anyhow::Result<(Box<dyn Engine>, Option<tempfile::TempDir>)> {
    let cert_dir = match &registry.cert {
        Some((_, pem)) if command != ContainerCommand::Docker => {
            let dir = tempfile::Builder::new()
                .prefix("zuul-image-certs-")
                .tempdir()
                .context("failed to create a certificate directory")?;
            crate::fs::write_atomic(&dir.path().join("ca.crt"), pem.as_bytes(), 0o644)?;
            Some(dir)
        }
        Some((origin, _)) => {
            ctx.printer.warn(format!(
                "docker pushes to `{}` trust what the daemon trusts (`/etc/docker/certs.d/{}/ca.crt`), not `{origin}`",
                registry.address, registry.address
            ));
            None
        }
        None => None,
    };
    let engine: Box<dyn Engine> = match command {
        ContainerCommand::Docker => Box::new(Docker::new(
            docker.unwrap_or_else(|| DockerHost::from_path(DEFAULT_SOCKET)),
        )),
        ContainerCommand::Podman => {
            let mut podman = Podman::new(Vec::<String>::new());
            podman.storage.cert_dir = cert_dir.as_ref().map(|dir| dir.path().to_owned());
            Box::new(podman)
        }
        ContainerCommand::Buildah => {
            let mut buildah = Buildah::new(Vec::<String>::new());
            buildah.storage.cert_dir = cert_dir.as_ref().map(|dir| dir.path().to_owned());
            Box::new(buildah)
        }
    };
    Ok((engine, cert_dir))
}
