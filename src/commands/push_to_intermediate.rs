//! `push-to-intermediate`: copy this buildset's images to the intermediate
//! registry and return them as artifacts. The copy engine is not built yet
//! (its issue fills this file); the inputs are already resolved and checked.

use super::context::Context;
use crate::zuul::images::Images;
use crate::zuul::registries::IntermediateRegistry;

const COMMAND: &str = "push-to-intermediate";

/// Copy each image's tags from the buildset registry to the intermediate
/// registry as `<repository>:<zuul.build>_<tag>` and return one
/// `zuul.artifacts` entry per tag.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, ctx: &Context) -> anyhow::Result<()> {
    Images::from_vars(&ctx.vars)?.ok_or_else(|| crate::zuul::Error::Missing {
        name: "docker_images` or `container_images".into(),
        command: COMMAND.into(),
    })?;
    IntermediateRegistry::from_vars(&ctx.vars, COMMAND)?;
    ctx.require_buildset_registry(COMMAND)?;
    super::not_implemented(COMMAND)
}
