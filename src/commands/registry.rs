//! `registry`: the embedded OCI registry's own commands — `serve` in the
//! foreground, `prune` of old unreferenced content, and `stop` of a registry
//! started by `run-buildset-registry`. Turns flags into `server` calls.

use super::context::Context;
use crate::server::buildset::Layout;
use crate::server::config::{Flags, ServerConfig};
use crate::server::storage::Storage;
use crate::server::supervisor::{self, RunDir};
use crate::server::{listen, prune};
use anyhow::Context as _;
use clap::Subcommand;
use std::path::PathBuf;
use std::time::Duration;

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
    /// older than an age.
    Prune(PruneArgs),
    /// Stop a registry started by `run-buildset-registry`.
    Stop(StopArgs),
    /// Run and restart a registry (started by `run-buildset-registry`).
    #[command(hide = true)]
    Supervise(SuperviseArgs),
}

/// Serve the OCI distribution API. Passwords come only from files
/// (`--htpasswd`, `--config`); with no users the registry is open.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on; `[::]` also accepts IPv4 clients.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Storage directory.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Users with write access, as bcrypt lines (`htpasswd -B`).
    #[arg(long, value_name = "FILE")]
    pub htpasswd: Option<PathBuf>,
    /// YAML config: `listen`, `root`, `tls-cert`, `tls-key`, `htpasswd`,
    /// `anonymous-read`, `public-url`, `token-ttl`, and `users` (`name`,
    /// `password` or `password-hash`, `access: read|write`). Flags win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Refuse anonymous pulls (they are allowed by default).
    #[arg(long)]
    pub no_anonymous_read: bool,
    /// Base URL clients reach the registry at, for the token realm
    /// (default: taken from each request's Host).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

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

#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// The `buildset_registry_root` the registry was started with.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct SuperviseArgs {
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    #[arg(long, value_name = "DIR")]
    pub run_dir: PathBuf,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("`{text}`: {err}"))
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        RegistryCommand::Serve(args) => {
            let config = ServerConfig::resolve(&Flags {
                listen: args.listen,
                root: args.root,
                tls_cert: args.tls_cert,
                tls_key: args.tls_key,
                htpasswd: args.htpasswd,
                config: args.config,
                no_anonymous_read: args.no_anonymous_read,
                public_url: args.public_url,
            })?;
            listen::serve(config, &ctx.printer).await
        }
        RegistryCommand::Prune(args) => {
            if !args.root.is_dir() {
                return Err(super::Error::NotADirectory {
                    flag: "--root",
                    path: args.root,
                }
                .into());
            }
            let storage = Storage::open(&args.root)
                .with_context(|| format!("failed to open storage `{}`", args.root.display()))?;
            let report = tokio::task::spawn_blocking(move || {
                prune::prune(&storage, args.older_than, args.dry_run)
            })
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
