//! `registry prune`: remove untagged, unreferenced manifests, blobs and
//! abandoned uploads older than an age from a registry's storage, and say
//! what went (or would go, with `--dry-run`).

use crate::commands::Error;
use crate::commands::context::Context;
use crate::server::prune;
use crate::server::storage::Storage;
use anyhow::Context as _;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Storage directory of the registry.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Only remove what is older than this (e.g. `1h`, `7days`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Duration,
    /// Say what would be removed without removing it.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("`{text}`: {err}"))
}

pub async fn run(args: PruneArgs, ctx: &Context) -> anyhow::Result<()> {
    if !args.root.is_dir() {
        return Err(Error::NotADirectory {
            flag: "--root",
            path: args.root,
        }
        .into());
    }
    let storage = Storage::open(&args.root)
        .with_context(|| format!("failed to open storage `{}`", args.root.display()))?;
    let report =
        tokio::task::spawn_blocking(move || prune::prune(&storage, args.older_than, args.dry_run))
            .await?
            .context("failed to prune")?;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for (name, digest) in &report.manifests {
        ctx.printer
            .status(format!("{verb} manifest {name}@{digest}"));
    }
    ctx.printer.status(format!(
        "{verb} {} manifests, {} blobs and {} uploads ({} bytes)",
        report.manifests.len(),
        report.blobs.len(),
        report.uploads.len(),
        report.bytes
    ));
    Ok(())
}
