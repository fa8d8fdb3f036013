//! `registry serve`: run the embedded OCI registry in the foreground until
//! SIGTERM or SIGINT. Turns flags into a `server::config` and calls
//! `server::listen`.

use crate::commands::context::Context;
use crate::server::config::{Flags, ServerConfig};
use crate::server::listen;
use crate::server::storage::s3::settings::EnvKeys;
use std::path::PathBuf;

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
}

pub async fn run(args: ServeArgs, ctx: &Context) -> anyhow::Result<()> {
    let config = ServerConfig::resolve(&Flags {
        listen: args.listen,
        root: args.root,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        htpasswd: args.htpasswd,
        config: args.config,
        no_anonymous_read: args.no_anonymous_read,
        public_url: args.public_url,
        env_keys: EnvKeys::from_env(),
    })?;
    listen::serve(config, &ctx.printer).await
}
