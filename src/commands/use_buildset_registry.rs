//! `use-buildset-registry`: point docker, podman/buildah/skopeo/cri-o,
//! containerd and buildkit at the buildset registry (the role of the same
//! name), then reload what must re-read its configuration.

use super::context::Context;
use crate::engine::docker::DockerHost;
use crate::exit::UsageError;
use crate::host::Host;
use crate::host::buildset::{self, Inputs, Namespace};
use crate::host::containerd::ConfigPath;
use crate::host::dockerd::{self, Dockerd, Reloaded};
use crate::host::nudge::Nudge;
use crate::host::services::{self, Systemd};
use crate::zuul;
use anyhow::{Context as _, Result};
use serde::Deserialize;
use std::time::Duration;

/// Point every container client on this machine at the buildset registry.
///
/// Reads `buildset_registry` (a variable, or `secret_data` of this job's
/// results file), `buildset_registry_namespaces` (default docker.io,
/// quay.io, gcr.io, registry.k8s.io), `buildset_registry_unqualified_registries`
/// (default docker.io) and `buildset_registry_docker_user`. Writes the
/// `/etc/hosts` alias, the CA, `daemon.json` mirrors (then reloads dockerd:
/// running containers keep running), `registries.conf`, `buildkitd.toml`,
/// containerd's `hosts.toml` files (microk8s's too, then restarts it) and
/// the registry credentials, each only when its bytes change.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub host: crate::cli::HostArgs,
    /// A registry namespace to mirror (repeatable); replaces
    /// `buildset_registry_namespaces`.
    #[arg(long = "namespace", value_name = "REGISTRY")]
    pub namespaces: Vec<String>,
    /// Whose `~/.docker/config.json` gets the credentials; wins over
    /// `buildset_registry_docker_user` (default: the user running this).
    #[arg(long, value_name = "USER")]
    pub docker_user: Option<String>,
    /// The Docker API socket to reload through (default:
    /// `/var/run/docker.sock` under `--root`).
    #[arg(long, value_name = "unix://PATH", env = "DOCKER_HOST")]
    pub docker_host: Option<String>,
    /// dockerd's pidfile, a host path under `--root`.
    #[arg(long, value_name = "PATH", default_value = dockerd::DEFAULT_PIDFILE)]
    pub docker_pidfile: String,
}

const COMMAND: &str = "use-buildset-registry";

/// `buildset_registry_namespaces` entries: a name, or `[name, upstream_url]`
/// as the role takes them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NamespaceVar {
    Name(String),
    Pair(String, String),
}

fn namespaces(args: &Args, ctx: &Context) -> Result<Vec<Namespace>> {
    if !args.namespaces.is_empty() {
        return Ok(args
            .namespaces
            .iter()
            .map(|n| Namespace::named(n))
            .collect());
    }
    let given: Option<Vec<NamespaceVar>> = ctx.vars.typed("buildset_registry_namespaces")?;
    Ok(match given {
        None => buildset::default_namespaces(),
        Some(list) => list
            .into_iter()
            .map(|ns| match ns {
                NamespaceVar::Name(name) => Namespace::named(&name),
                NamespaceVar::Pair(name, upstream) => Namespace { name, upstream },
            })
            .collect(),
    })
}

/// Resolve every input before touching anything.
fn inputs(args: &Args, ctx: &Context) -> Result<Inputs> {
    let registry = ctx.require_buildset_registry(COMMAND)?;
    let cert = registry.cert.clone().ok_or_else(|| zuul::Error::Invalid {
        path: "buildset_registry.cert".into(),
        origin: ctx.vars.origin("buildset_registry").map(str::to_owned),
        message: "missing: clients need the registry's CA certificate (PEM) to trust it".into(),
    })?;
    let unqualified: Vec<String> = ctx
        .vars
        .typed("buildset_registry_unqualified_registries")?
        .unwrap_or_else(|| vec!["docker.io".to_owned()]);
    let docker_user = match &args.docker_user {
        Some(user) => Some(user.clone()),
        None => ctx.vars.typed("buildset_registry_docker_user")?,
    };
    Ok(Inputs {
        namespaces: namespaces(args, ctx)?,
        registry,
        cert,
        unqualified,
        docker_user,
        uid: nix::unistd::getuid().as_raw(),
    })
}

pub fn docker_api(host: &Host, given: Option<&str>) -> Result<DockerHost> {
    match given {
        Some(text) => DockerHost::parse(text).map_err(|err| UsageError(err.to_string()).into()),
        None => Ok(DockerHost::from_path(host.path(dockerd::DEFAULT_SOCKET))),
    }
}

pub async fn run(args: Args, ctx: &Context) -> Result<()> {
    crate::host::privilege::require_root(COMMAND, &args.host.host())?;
    apply(args, ctx).await?;
    ctx.emit(&zuul::results::ReturnData::default())
}

/// Configure the host; `ensure-docker` calls this too when
/// `docker_use_buildset_registry` is set.
pub async fn apply(args: Args, ctx: &Context) -> Result<()> {
    let host = args.host.host();
    let inputs = inputs(&args, ctx)?;
    let api = docker_api(&host, args.docker_host.as_deref())?;
    let planned = buildset::plan(&host, &inputs)?;
    let applied = planned.plan.apply(&host)?;
    for edit in &planned.plan.files {
        if applied.changed(&edit.path) {
            ctx.printer.status(format!("updated `{}`", edit.path));
        } else {
            tracing::debug!("`{}` already up to date", edit.path);
        }
    }
    for link in &planned.plan.links {
        if applied.changed(&link.path) {
            ctx.printer
                .status(format!("linked `{}` to `{}`", link.path, link.target));
        }
    }

    let dockerd = Dockerd {
        host: host.clone(),
        api,
        pidfile: args.docker_pidfile.clone(),
        extra_args: Vec::new(),
        group: "docker".into(),
    };
    reload_docker(
        &dockerd,
        &planned.docker_mirror,
        applied.changed(buildset::DAEMON_JSON),
        ctx,
    )
    .await?;

    if planned.containerd == Some(ConfigPath::Legacy) {
        ctx.printer.warn(format!(
            "`{}` configures the legacy CRI `registry.mirrors`; containerd's CRI plugin will not read the buildset registry's `hosts.toml` files",
            buildset::CONTAINERD_CONFIG
        ));
    }
    let systemd = Systemd::of(&host);
    for nudge in planned.nudges(&applied) {
        carry_out(nudge, &host, systemd.as_ref(), ctx)?;
    }
    Ok(())
}

/// Reload dockerd when its mirrors changed, or when the file is right but
/// the running daemon has not loaded it; check that the mirror took.
async fn reload_docker(
    dockerd: &Dockerd,
    mirror: &str,
    changed: bool,
    ctx: &Context,
) -> Result<()> {
    let up = dockerd.is_up().await;
    if !up {
        if changed {
            ctx.printer.status(format!(
                "docker is not running; it reads `{}` when it starts",
                buildset::DAEMON_JSON
            ));
        }
        return Ok(());
    }
    let loaded = dockerd.api.mirrors().await?;
    let current = loaded
        .first()
        .is_some_and(|first| first.trim_end_matches('/') == mirror.trim_end_matches('/'));
    if current {
        return Ok(());
    }
    match dockerd.reload().await? {
        Reloaded::NotRunning => return Ok(()),
        Reloaded::Systemd => ctx.printer.status("reloaded docker (systemctl reload)"),
        Reloaded::Signal(pid) => ctx
            .printer
            .status(format!("reloaded dockerd (SIGHUP to pid {pid})")),
    }
    if dockerd
        .wait_for_mirror(mirror, Duration::from_secs(20))
        .await?
    {
        return Ok(());
    }
    // Only when a reload could not apply it: a restart stops containers
    // that have no restart policy and no live-restore.
    ctx.printer.warn(format!(
        "dockerd did not take `{mirror}` on reload; restarting it"
    ));
    dockerd.restart().await?;
    if !dockerd
        .wait_for_mirror(mirror, Duration::from_secs(20))
        .await?
    {
        anyhow::bail!(
            "dockerd does not use `{mirror}` as its first registry mirror even after a restart"
        );
    }
    ctx.printer.status("restarted docker");
    Ok(())
}

/// Run the command of `nudge` on the real machine when its service runs
/// there; otherwise say why not.
fn carry_out(nudge: Nudge, host: &Host, systemd: Option<&Systemd>, ctx: &Context) -> Result<()> {
    let argv = nudge.argv();
    let shown = argv.join(" ");
    if !host.is_real() {
        ctx.printer
            .status(format!("not running `{shown}`: `--root` is not `/`"));
        return Ok(());
    }
    if let Some(unit) = nudge.unit() {
        if !systemd.is_some_and(|s| s.is_active(unit)) {
            ctx.printer.warn(format!(
                "{unit} is not running under systemd here; it will {} when it starts",
                nudge.purpose()
            ));
            return Ok(());
        }
    }
    services::run(argv[0], &argv[1..])
        .with_context(|| format!("failed to run `{shown}` to {}", nudge.purpose()))?;
    ctx.printer
        .status(format!("ran `{shown}` to {}", nudge.purpose()));
    Ok(())
}
