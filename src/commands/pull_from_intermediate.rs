//! `pull-from-intermediate`: copy the container images that the changes
//! ahead pushed to the intermediate registry into this buildset's registry,
//! under their original `repository:tag` (the
//! `pull-from-intermediate-registry` role, without skopeo, socat or a
//! temporary docker config).

use super::connect::{Connections, summary};
use super::context::Context;
use crate::registry::copy::{CopyRequest, Endpoint, copy_images};
use crate::registry::progress::PrinterObserver;
use crate::zuul::inputs::intermediate::Pull;
use crate::zuul::registries::BUILDSET_REGISTRY;
use crate::zuul::results::ReturnData;
use anyhow::Context as _;
use std::sync::Arc;

/// Copy the `container_image` artifacts of the changes ahead into the
/// buildset registry.
///
/// Reads `buildset_registry` (or this job's results file),
/// `intermediate_registry`, and the artifacts from `zuul_artifacts`, else
/// `zuul.artifacts`. Artifacts are applied in Zuul's order, so when several
/// changes built the same `repository:tag` the nearest change wins.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Blob transfers at once per registry.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let Pull {
        images,
        var,
        buildset,
        intermediate,
    } = Pull::resolve(&ctx.sources())?;
    if images.is_empty() {
        ctx.printer.status(format!(
            "no container image artifacts in `{var}`: nothing to pull"
        ));
        return ctx.emit(&ReturnData::default());
    }

    let mut connections = Connections::new(args.jobs.into(), &ctx.env);
    let destination = connections.buildset(&buildset, BUILDSET_REGISTRY)?;
    let mut requests = Vec::new();
    for image in &images {
        let source_registry = if image.source.registry == intermediate.address() {
            connections.intermediate(&intermediate)?
        } else {
            connections.other(&image.source.registry)?
        };
        requests.push(CopyRequest {
            image: image.name.clone(),
            source: Endpoint::new(
                &source_registry,
                image.source.path.clone(),
                image.source.manifest_ref(),
            ),
            destination: Endpoint::new(&destination, image.buildset_path(), image.tag.clone()),
        });
        ctx.printer.status(format!(
            "pulling {} from `{}`",
            image.name,
            requests[requests.len() - 1].source
        ));
    }
    let observer = Arc::new(PrinterObserver::new(&ctx.printer));
    let report = copy_images(&requests, observer).await.with_context(|| {
        format!(
            "failed to pull from the intermediate registry into the buildset registry `{}`",
            buildset.address()
        )
    })?;
    ctx.printer.status(format!(
        "pulled {} artifact(s): {}",
        images.len(),
        summary(&report)
    ));
    // Nothing to return; the empty envelope keeps stdout valid JSON.
    ctx.emit(&ReturnData::default())
}
