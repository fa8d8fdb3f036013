//! `push-to-intermediate`: not built yet; its issue fills this file.

use super::context::Context;

/// Not implemented yet.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, _ctx: &Context) -> anyhow::Result<()> {
    super::not_implemented("push-to-intermediate")
}
