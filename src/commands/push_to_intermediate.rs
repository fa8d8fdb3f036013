//! `push-to-intermediate`: copy this buildset's images from the buildset
//! registry to the intermediate registry as `<repository>:<zuul.build>_<tag>`
//! and return one `zuul.artifacts` entry per tag (the
//! `push-to-intermediate-registry` role).

use super::connect::{Connections, summary};
use super::context::Context;
use crate::registry::copy::{CopyRequest, Endpoint, copy_images};
use crate::registry::progress::PrinterObserver;
use crate::zuul::inputs::intermediate::{Push, PushCopy, PushFlags};
use crate::zuul::naming;
use crate::zuul::registries::BUILDSET_REGISTRY;
use crate::zuul::results::ReturnData;
use anyhow::Context as _;
use std::sync::Arc;

/// Copy this buildset's images to the intermediate registry and return
/// them as `zuul.artifacts`.
///
/// Reads `buildset_registry` (or this job's results file),
/// `intermediate_registry`, `zuul.build` and the images from
/// `docker_images`, else `container_images`. Does nothing when
/// `zuul_success` is false (the run phase failed) or no image list is
/// defined.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Push this repository instead of the image list in the variables.
    #[arg(long, value_name = "REPO")]
    pub repository: Option<String>,
    /// A tag of --repository (repeatable; default `latest`).
    #[arg(long = "tag", value_name = "TAG", requires = "repository")]
    pub tags: Vec<String>,
    /// The build id used in intermediate tags (default: `zuul.build`).
    #[arg(long, value_name = "ID")]
    pub build: Option<String>,
    /// Blob transfers at once per registry.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let flags = PushFlags {
        repository: args.repository,
        tags: args.tags,
        build: args.build,
    };
    let PushCopy {
        images,
        intermediate,
        buildset,
        build,
    } = match Push::resolve(&ctx.sources(), &flags)? {
        Push::Skip(why) => {
            ctx.printer.status(why);
            return ctx.emit(&ReturnData::default());
        }
        Push::Copy(copy) => *copy,
    };

    let mut connections = Connections::new(args.jobs.into(), &ctx.env);
    let source = connections.buildset(&buildset, BUILDSET_REGISTRY)?;
    let destination = connections.intermediate(&intermediate)?;
    let mut requests = Vec::new();
    let mut artifacts = Vec::new();
    for image in &images {
        for tag in &image.tags {
            requests.push(CopyRequest {
                image: format!("{}:{tag}", image.repository),
                source: Endpoint::new(&source, image.buildset_path(), tag.clone()),
                destination: Endpoint::new(
                    &destination,
                    image.repository.clone(),
                    naming::intermediate_tag(&build, tag),
                ),
            });
            artifacts.push(naming::intermediate_artifact(
                &intermediate,
                &image.repository,
                &build,
                tag,
            ));
        }
    }
    for request in &requests {
        ctx.printer.status(format!(
            "pushing {} to `{}`",
            request.image, request.destination
        ));
    }
    let observer = Arc::new(PrinterObserver::new(&ctx.printer));
    let report = copy_images(&requests, observer).await.with_context(|| {
        format!(
            "failed to push to the intermediate registry `{}`",
            intermediate.address()
        )
    })?;
    ctx.printer.status(format!(
        "pushed {} tag(s): {}",
        requests.len(),
        summary(&report)
    ));
    let mut data = ReturnData::default();
    data.set_zuul("artifacts", serde_json::to_value(&artifacts)?);
    ctx.emit(&data)
}
