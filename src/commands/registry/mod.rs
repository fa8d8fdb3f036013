//! `registry`: the embedded OCI registry's own commands — `serve` in the
//! foreground, `prune` of old unreferenced content, and `stop` of a registry
//! started by `run-buildset-registry`. Turns flags into `server` calls.
//!
//! One naming across them: `--root DIR` is always a buildset registry's
//! root (`buildset_registry_root`: `conf/`, `tls/`, `storage/`, `run/`),
//! `--storage DIR` a registry's storage directory (`blobs/`,
//! `repositories/`, `uploads/`).

mod prune;
mod serve;

use super::context::Context;
use crate::server::buildset::Layout;
use crate::server::supervisor::{self, RunDir};
use clap::Subcommand;
pub use prune::PruneArgs;
pub use serve::ServeArgs;
use std::path::PathBuf;

/// The embedded OCI registry.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: RegistryCommand,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Run the OCI registry in the foreground until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Remove untagged, unreferenced manifests, blobs and abandoned uploads
    /// older than an age, from `--storage DIR` or the buildset registry of
    /// `--root DIR`.
    Prune(PruneArgs),
    /// Stop a registry started by `run-buildset-registry`.
    Stop(StopArgs),
    /// Run and restart a registry (started by `run-buildset-registry`).
    #[command(hide = true)]
    Supervise(SuperviseArgs),
}

#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// The `buildset_registry_root` the registry was started with.
    #[arg(long, value_name = "DIR", value_parser = crate::cli::dir_arg)]
    pub root: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct SuperviseArgs {
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        RegistryCommand::Serve(args) => serve::run(args, ctx).await,
        RegistryCommand::Prune(args) => prune::run(args, ctx).await,
        RegistryCommand::Stop(args) => {
            let run = Layout::new(&args.root).run();
            stop(&run, ctx)
        }
        RegistryCommand::Supervise(args) => {
            supervisor::supervise(&args.config, &RunDir::new(&args.run_dir)).await
        }
    }
}

/// Stop the registry whose run directory is `run`.
pub fn stop(run: &RunDir, ctx: &Context) -> anyhow::Result<()> {
    // The run directory sits in the registry's root; name the root, which
    // is what the user passed.
    let root = run.dir.parent().unwrap_or(&run.dir).display();
    if supervisor::stop(run)? {
        ctx.printer
            .status(format!("stopped the registry running from `{root}`"));
    } else {
        ctx.printer
            .status(format!("no registry is running from `{root}`"));
    }
    Ok(())
}
