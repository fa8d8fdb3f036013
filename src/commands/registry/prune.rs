//! `registry prune`: remove untagged, unreferenced manifests, blobs and
//! abandoned uploads older than an age from a registry's storage, and say
//! what went (or would go, with `--dry-run`).

use crate::commands::Error;
use crate::commands::context::Context;
use crate::server::config::StorageConfig;
use crate::server::listen::open_storage;
use crate::server::prune;
use crate::server::storage::s3::settings::EnvKeys;
use anyhow::Context as _;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Storage directory of the registry.
    #[arg(long, value_name = "DIR", required_unless_present = "config")]
    pub root: Option<PathBuf>,
    /// The registry's config file, for storage it names (`storage.s3`);
    /// safe while its servers serve.
    #[arg(long, value_name = "FILE", conflicts_with = "root")]
    pub config: Option<PathBuf>,
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
    let config = match (args.root, &args.config) {
        (Some(root), _) => {
            if !root.is_dir() {
                return Err(Error::NotADirectory {
                    flag: "--root",
                    path: root,
                }
                .into());
            }
            StorageConfig::Filesystem(root)
        }
        (None, Some(file)) => StorageConfig::from_file(file, &EnvKeys::from_env())?,
        (None, None) => unreachable!("clap requires `--root` or `--config`"),
    };
    let storage = open_storage(&config).await?;
    let report = prune::prune(&storage, args.older_than, args.dry_run)
        .await
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
