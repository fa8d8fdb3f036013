//! `registry`: the embedded OCI registry's own commands (`serve`, `prune`,
//! `stop`). Not built yet; the registry issue fills this file.

use super::context::Context;
use clap::Subcommand;

/// The embedded OCI registry.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: RegistryCommand,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Run the OCI registry in the foreground.
    Serve,
}

pub async fn run(args: Args, _ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        RegistryCommand::Serve => super::not_implemented("registry serve"),
    }
}
