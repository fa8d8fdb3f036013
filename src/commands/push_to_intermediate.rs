//! `push-to-intermediate`: copy this buildset's images from the buildset
//! registry to the intermediate registry as `<repository>:<zuul.build>_<tag>`
//! and return one `zuul.artifacts` entry per tag (the
//! `push-to-intermediate-registry` role).

use super::connect::{Connections, summary};
use super::context::Context;
use crate::registry::copy::{CopyRequest, Endpoint, copy_images};
use crate::registry::progress::PrinterObserver;
use crate::zuul::Error;
use crate::zuul::images::{ImageSpec, Images};
use crate::zuul::naming;
use crate::zuul::registries::IntermediateRegistry;
use crate::zuul::results::ReturnData;
use anyhow::Context as _;
use serde_json::{Value, json};
use std::sync::Arc;

const COMMAND: &str = "push-to-intermediate";

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

/// `zuul_success` as Ansible's `bool` filter reads it; absent means true.
fn zuul_success(ctx: &Context) -> Result<bool, Error> {
    let invalid = |found: &Value| {
        ctx.vars.invalid(
            "zuul_success",
            "zuul_success",
            format!("expected true or false, found `{found}`"),
        )
    };
    match ctx.vars.get("zuul_success") {
        None => Ok(true),
        Some(Value::Bool(value)) => Ok(*value),
        Some(Value::Number(n)) => Ok(n.as_f64() != Some(0.0)),
        Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "y" | "t" => Ok(true),
            "false" | "no" | "off" | "0" | "n" | "f" | "" => Ok(false),
            _ => Err(invalid(&Value::String(text.clone()))),
        },
        Some(other) => Err(invalid(other)),
    }
}

/// The images to push: the flags, else the variables.
fn images(args: &Args, ctx: &Context) -> anyhow::Result<Option<Vec<ImageSpec>>> {
    let Some(repository) = &args.repository else {
        return Ok(Images::from_vars(&ctx.vars)?.map(|images| images.images));
    };
    let tags = if args.tags.is_empty() {
        vec!["latest".to_owned()]
    } else {
        args.tags.clone()
    };
    let spec: ImageSpec = serde_json::from_value(json!({"repository": repository, "tags": tags}))
        .map_err(|err| Error::Flag {
        flag: "--repository/--tag".into(),
        message: err.to_string(),
    })?;
    spec.validate().map_err(|(field, message)| {
        let flag = if field.starts_with("tags") {
            "--tag"
        } else {
            "--repository"
        };
        Error::Flag {
            flag: flag.into(),
            message,
        }
    })?;
    Ok(Some(vec![spec]))
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    if !zuul_success(ctx)? {
        ctx.printer
            .status("zuul_success is false: the run phase failed, nothing is pushed");
        return ctx.emit(&ReturnData::default());
    }
    let Some(images) = images(&args, ctx)? else {
        ctx.printer
            .status("neither `docker_images` nor `container_images` is defined: nothing to push");
        return ctx.emit(&ReturnData::default());
    };
    let intermediate = IntermediateRegistry::from_vars(&ctx.vars, COMMAND)?;
    let buildset = ctx.require_buildset_registry(COMMAND)?;
    let build = match &args.build {
        Some(build) => build.clone(),
        None => ctx.zuul.build.clone().ok_or_else(|| Error::Missing {
            name: "zuul.build".into(),
            command: COMMAND.into(),
        })?,
    };
    crate::reference::validate_tag(&naming::intermediate_tag(&build, "x")).map_err(|_| {
        ctx.vars.invalid(
            "zuul",
            "zuul.build",
            format!("`{build}` cannot be part of a tag"),
        )
    })?;

    let mut connections = Connections::new(args.jobs.into());
    let source = connections.buildset(&buildset, "buildset_registry")?;
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
