//! `ensure-docker`: install (if missing), configure and start Docker, with
//! the role's variables and defaults; a running daemon whose configuration
//! already matches is left alone. Turns flags into typed inputs and calls
//! [`crate::host::ensure_docker::ensure`].

use super::context::Context;
use crate::host::dockerd;
use crate::host::ensure_docker;
use crate::zuul::inputs::ensure_docker::{EnsureDocker, EnsureDockerFlags};
use crate::zuul::results::ReturnData;
use anyhow::Result;

/// Install (if missing), configure and start Docker (the `ensure-docker`
/// role).
///
/// Reads the role's variables: `use_upstream_docker` (default true),
/// `docker_group` (docker), `docker_mirror` / `mirror_info` /
/// `zuul_site_mirror_info` / `mirror_fqdn`, `docker_insecure_registries`,
/// `docker_userland_proxy`, `docker_compose_install`,
/// `docker_use_buildset_registry`, the package lists and repository
/// settings. A daemon that answers is not reinstalled; `daemon.json` is
/// merged (site keys kept) and the daemon is reloaded, or restarted only
/// when a changed setting needs it. Without systemd, `dockerd` is started
/// detached with a pidfile and a log.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub host: crate::cli::HostArgs,
    /// The Docker API socket (default: `/var/run/docker.sock` under `--root`).
    #[arg(long, value_name = "unix://PATH", env = "DOCKER_HOST")]
    pub docker_host: Option<String>,
    /// dockerd's pidfile, a host path under `--root`.
    #[arg(long, value_name = "PATH", default_value = dockerd::DEFAULT_PIDFILE)]
    pub docker_pidfile: String,
    /// An extra argument for `dockerd` when this command starts it without
    /// systemd (repeatable), e.g. `--dockerd-arg=--data-root=/srv/docker`.
    #[arg(long = "dockerd-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub dockerd_args: Vec<String>,
    /// The user to add to the docker group (default: `ansible_user`, else
    /// `SUDO_USER`).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
}

pub async fn run(args: Args, ctx: &Context) -> Result<()> {
    crate::host::privilege::require_root("ensure-docker", &args.host.host())?;
    let flags = EnsureDockerFlags {
        user: args.user,
        docker_host: args.docker_host,
        docker_pidfile: args.docker_pidfile,
        dockerd_args: args.dockerd_args,
    };
    let inputs = EnsureDocker::resolve(&ctx.sources(), &flags)?;
    ensure_docker::ensure(&args.host.host(), &inputs, &ctx.env, &ctx.printer).await?;
    ctx.emit(&ReturnData::default())
}
