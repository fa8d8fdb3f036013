//! `registry serve`: run the embedded OCI registry in the foreground until
//! SIGTERM or SIGINT. Turns flags into a `server::config` and calls
//! `server::listen`; under a supervisor it also leaves its start status
//! (`server::status`).

use crate::commands::context::Context;
use crate::server::config::{self, Flags, ServerConfig};
use crate::server::listen::{self, BindError};
use crate::server::status::{self, Cause, ServeStatus};
use crate::server::storage::s3::settings::EnvKeys;
use std::cell::Cell;
use std::path::{Path, PathBuf};

/// Serve the OCI distribution API. Passwords come only from files
/// (`--htpasswd`, `--config`); with no users the registry is open.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on; `[::]` also accepts IPv4 clients.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Storage directory (`blobs/`, `repositories/`, `uploads/`; made when
    /// missing).
    #[arg(long, value_name = "DIR", value_parser = crate::cli::dir_arg)]
    pub storage: Option<PathBuf>,
    /// Renamed `--storage`: in the registry commands `--root` names a
    /// buildset registry's root.
    #[arg(long, value_name = "DIR", hide = true)]
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
    /// YAML config: `listen`, `root` or `storage: {s3: {endpoint, bucket,
    /// region, prefix, access-key, secret-key}}`, `token-key`, `tls-cert`,
    /// `tls-key`, `htpasswd`, `anonymous-read`, `public-url`, `token-ttl`,
    /// and `users` (`name`, `password` or `password-hash`, `access:
    /// read|write`). Flags win. S3 keys may also come from
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Refuse anonymous pulls (they are allowed by default).
    #[arg(long)]
    pub no_anonymous_read: bool,
    /// Base URL clients reach the registry at, for the token realm
    /// (default: taken from each request's Host).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Where to record whether it listens or why it could not start (for
    /// the supervisor `run-buildset-registry` starts).
    #[arg(long, value_name = "FILE", hide = true)]
    pub status_file: Option<PathBuf>,
}

pub async fn run(args: ServeArgs, ctx: &Context) -> anyhow::Result<()> {
    let status_file = args.status_file.clone();
    let listened = Cell::new(false);
    let result = serve(args, ctx, |address| {
        listened.set(true);
        if let Some(path) = &status_file {
            record(
                path,
                ServeStatus::Listening {
                    address: address.to_string(),
                },
            );
        }
    })
    .await;
    if let (Err(err), Some(path), false) = (&result, &status_file, listened.get()) {
        record(
            path,
            ServeStatus::Failed {
                message: format!("{err:#}"),
                cause: match err.downcast_ref() {
                    Some(BindError::InUse { .. }) => Cause::PortInUse,
                    Some(BindError::NotLocal { .. }) => Cause::NotLocal,
                    _ => Cause::Other,
                },
            },
        );
    }
    result
}

fn record(path: &Path, state: ServeStatus) {
    if let Err(err) = status::write(path, &state) {
        tracing::warn!("{err}");
    }
}

async fn serve(
    args: ServeArgs,
    ctx: &Context,
    listening: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<()> {
    if let Some(root) = &args.root {
        return Err(crate::commands::Error::Renamed {
            old: format!("registry serve --root {}", root.display()),
            new: format!("registry serve --storage {}", root.display()),
        }
        .into());
    }
    if let Some(warning) = args
        .config
        .as_deref()
        .and_then(config::readable_passwords_warning)
    {
        ctx.printer.warn(warning);
    }
    let config = ServerConfig::resolve(&Flags {
        listen: args.listen,
        root: args.storage,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        htpasswd: args.htpasswd,
        config: args.config,
        no_anonymous_read: args.no_anonymous_read,
        public_url: args.public_url,
        env_keys: EnvKeys::from_env(),
    })?;
    listen::serve(config, &ctx.printer, listening).await
}
