//! `pause`: tell Zuul to pause this job when it runs the buildset registry,
//! so its children can use it (the `pause-buildset-registry` role).

use super::context::Context;
use crate::zuul::inputs::run_registry::Pause;
use crate::zuul::results::ReturnData;

/// Return `zuul.pause: true` unless `buildset_registry` is already defined.
///
/// A job that started the buildset registry (it is in this job's results
/// file, not a variable) pauses so child jobs can use the registry. When a
/// parent job passed `buildset_registry` down, that parent runs the registry,
/// so this job returns nothing and is not paused.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Context) -> anyhow::Result<()> {
    let inputs = Pause::resolve(&ctx.vars)?;
    let mut data = ReturnData::default();
    if inputs.parent.is_some() {
        ctx.printer
            .status("buildset_registry is defined: a parent job runs the registry, not pausing");
    } else {
        data.set_zuul("pause", serde_json::Value::Bool(true));
        ctx.printer
            .status("pausing this job so its children can use the buildset registry");
    }
    ctx.emit(&data)
}
