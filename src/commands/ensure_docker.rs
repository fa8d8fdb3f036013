//! `ensure-docker`: install (if missing), configure and start Docker, with
//! the role's variables and defaults; a running daemon whose configuration
//! already matches is left alone.

use super::context::Context;
use super::use_buildset_registry;
use crate::host::docker_setup::{self, DaemonAction, DaemonSettings, MirrorVars};
use crate::host::dockerd::{self, Dockerd, Reloaded};
use crate::host::packages::{self, Family, Manager};
use crate::host::plan::Plan;
use crate::host::services;
use crate::host::{Host, network};
use crate::zuul;
use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

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

/// The role's variables, resolved once.
#[derive(Debug)]
struct Settings {
    use_upstream: bool,
    group: String,
    use_buildset_registry: bool,
    compose_install: bool,
    channel: String,
    download_fqdn: String,
    mirror_base_url: Option<String>,
    distro_packages: Option<Vec<String>>,
    upstream_required: Option<Vec<String>>,
    upstream_packages: Option<Vec<String>>,
    upstream_remove: Option<Vec<String>>,
    daemon: DaemonSettings,
    user: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DefaultIpv4 {
    #[serde(default)]
    mtu: Option<u32>,
}

fn settings(args: &Args, ctx: &Context, host: &Host) -> Result<Settings> {
    let vars = &ctx.vars;
    let mirror = docker_setup::resolve_mirror(&MirrorVars {
        docker_mirror: vars.typed("docker_mirror")?,
        mirror_info: vars.get("mirror_info").cloned(),
        zuul_site_mirror_info: vars.get("zuul_site_mirror_info").cloned(),
        mirror_fqdn: vars.typed("mirror_fqdn")?,
        zuul_site_mirror_fqdn: vars.typed("zuul_site_mirror_fqdn")?,
    })?;
    let mtu = match vars.typed::<DefaultIpv4>("ansible_default_ipv4")? {
        Some(DefaultIpv4 { mtu: Some(mtu) }) => Some(mtu),
        _ => network::default_mtu(host),
    };
    let user = match &args.user {
        Some(user) => Some(user.clone()),
        None => vars
            .typed::<String>("ansible_user")?
            .or_else(|| std::env::var("SUDO_USER").ok()),
    };
    Ok(Settings {
        use_upstream: vars.typed("use_upstream_docker")?.unwrap_or(true),
        group: vars
            .typed("docker_group")?
            .unwrap_or_else(|| "docker".to_owned()),
        use_buildset_registry: vars.typed("docker_use_buildset_registry")?.unwrap_or(false),
        compose_install: vars.typed("docker_compose_install")?.unwrap_or(false),
        channel: vars
            .typed("docker_update_channel")?
            .unwrap_or_else(|| "stable".to_owned()),
        download_fqdn: vars
            .typed("docker_download_fqdn")?
            .unwrap_or_else(|| "download.docker.com".to_owned()),
        mirror_base_url: vars.typed("docker_mirror_base_url")?,
        distro_packages: vars.typed("docker_distro_packages")?,
        upstream_required: vars.typed("docker_upstream_distro_required_packages")?,
        upstream_packages: vars.typed("docker_upstream_distro_packages")?,
        upstream_remove: vars.typed("docker_upstream_distro_remove_packages")?,
        daemon: DaemonSettings {
            mirror,
            insecure_registries: vars
                .typed("docker_insecure_registries")?
                .unwrap_or_default(),
            userland_proxy: vars.typed("docker_userland_proxy")?,
            mtu,
        },
        user,
    })
}

/// Whether `program` is on `PATH` (the real machine's: binaries run from
/// there whatever `--root` is).
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

pub async fn run(args: Args, ctx: &Context) -> Result<()> {
    let host = args.host.host();
    crate::host::privilege::require_root("ensure-docker", &host)?;
    let settings = settings(&args, ctx, &host)?;
    let api = use_buildset_registry::docker_api(&host, args.docker_host.as_deref())?;
    let dockerd = Dockerd {
        host: host.clone(),
        api,
        pidfile: args.docker_pidfile.clone(),
        extra_args: args.dockerd_args.clone(),
        group: settings.group.clone(),
    };

    // Parse before acting: a broken daemon.json stops everything (exit 2).
    let text = crate::fs::read_optional(&host.path(dockerd::CONFIG_FILE))?;
    let (new, changed) =
        docker_setup::edit_daemon_json(dockerd::CONFIG_FILE, text.as_deref(), &settings.daemon)?;

    let running = dockerd.is_up().await;
    if !running && !on_path("dockerd") {
        install(&host, &settings, ctx)?;
    }
    let mut plan = Plan::default();
    if text.is_some() || !changed.is_empty() {
        plan.file(dockerd::CONFIG_FILE, new);
    }
    if plan.apply(&host)?.changed(dockerd::CONFIG_FILE) {
        ctx.printer.status(format!(
            "updated `{}` ({})",
            dockerd::CONFIG_FILE,
            changed.join(", ")
        ));
    }
    ensure_group(&host, &settings, ctx)?;

    let socket_down = running
        && dockerd.systemd().is_some_and(|systemd| {
            systemd.is_known("docker.socket") && !systemd.is_active("docker.socket")
        });
    match docker_setup::daemon_action(running, &changed, socket_down) {
        DaemonAction::Restart => {
            dockerd.restart().await?;
            ctx.printer.status("restarted docker to apply its settings");
        }
        DaemonAction::Reload => match dockerd.reload().await? {
            Reloaded::Systemd => ctx.printer.status("reloaded docker (systemctl reload)"),
            Reloaded::Signal(pid) => ctx
                .printer
                .status(format!("reloaded dockerd (SIGHUP to pid {pid})")),
            Reloaded::NotRunning => {}
        },
        DaemonAction::Nothing => ctx
            .printer
            .status("docker is running and configured; nothing to do"),
        DaemonAction::Start => {
            dockerd.start().await?;
            ctx.printer.status(format!(
                "started docker; it answers on `{}`",
                dockerd.api.socket().display()
            ));
        }
    }
    socket_group(&dockerd, &settings.group)?;

    if settings.compose_install && !on_path("docker-compose") {
        require_real(&host, "install docker-compose")?;
        let manager = Manager::detect(&host).context("no apt-get, dnf or yum on this machine")?;
        manager.install(&["docker-compose".to_owned()])?;
        ctx.printer.status("installed docker-compose");
    }

    if settings.use_buildset_registry {
        let args = use_buildset_registry::Args {
            host: args.host.clone(),
            namespaces: Vec::new(),
            docker_user: Some("root".to_owned()),
            docker_host: Some(dockerd.api.url()),
            docker_pidfile: args.docker_pidfile.clone(),
        };
        use_buildset_registry::apply(args, ctx).await?;
    }
    ctx.emit(&zuul::results::ReturnData::default())
}

fn require_real(host: &Host, what: &str) -> Result<()> {
    if !host.is_real() {
        bail!(crate::exit::UsageError(format!(
            "cannot {what} with `--root {}`: package managers act on `/`",
            host.root().display()
        )));
    }
    Ok(())
}

/// Install Docker from the distribution or from docker's repository.
fn install(host: &Host, settings: &Settings, ctx: &Context) -> Result<()> {
    require_real(host, "install docker")?;
    let os = packages::Os::read(host);
    let family = os.family();
    let manager = Manager::detect(host).context("no apt-get, dnf or yum on this machine")?;
    let upstream = settings.use_upstream && family != Some(Family::Suse);
    let default = |f: fn(Family) -> Vec<String>| family.map(f).unwrap_or_default();
    if !upstream {
        let list = settings
            .distro_packages
            .clone()
            .unwrap_or_else(|| default(packages::distro_packages));
        if list.is_empty() {
            bail!(crate::exit::UsageError(format!(
                "no docker packages known for `{}`: set `docker_distro_packages`",
                os.id
            )));
        }
        manager.update()?;
        manager.install(&list)?;
        ctx.printer.status(format!("installed {}", list.join(" ")));
        return Ok(());
    }
    let list = settings
        .upstream_packages
        .clone()
        .unwrap_or_else(|| default(packages::upstream_packages));
    if list.is_empty() {
        bail!(crate::exit::UsageError(format!(
            "no upstream docker packages known for `{}`: set `docker_upstream_distro_packages` or `use_upstream_docker: false`",
            os.id
        )));
    }
    let base = settings.mirror_base_url.clone().unwrap_or_else(|| {
        format!(
            "https://{}/linux/{}",
            settings.download_fqdn,
            os.upstream_dir()
        )
    });
    if base.is_empty() {
        bail!(crate::exit::UsageError(
            "`docker_mirror_base_url` is empty while `use_upstream_docker` is true".into()
        ));
    }
    manager.update()?;
    manager.install(
        &settings
            .upstream_required
            .clone()
            .unwrap_or_else(|| default(packages::upstream_required)),
    )?;
    let arch = if manager == Manager::Apt {
        services::run("dpkg", &["--print-architecture"])?
            .trim()
            .to_owned()
    } else {
        String::new()
    };
    if manager == Manager::Apt {
        crate::fs::create_dir(&host.path("/etc/apt/keyrings"), 0o755, None)?;
        let key = host.path(packages::APT_KEY);
        let key = key.to_string_lossy();
        services::run("curl", &["-fsSL", "-o", &key, &format!("{base}/gpg")])
            .context("failed to fetch the docker repository's signing key")?;
    }
    let (path, contents) = packages::upstream_repo(manager, &os, &base, &settings.channel, &arch);
    let mut plan = Plan::default();
    plan.file(&path, contents);
    plan.apply(host)?;
    manager.remove(
        &settings
            .upstream_remove
            .clone()
            .unwrap_or_else(|| default(packages::upstream_remove)),
    )?;
    manager.update()?;
    manager.install(&list)?;
    ctx.printer
        .status(format!("installed {} from `{base}`", list.join(" ")));
    Ok(())
}

/// Create the docker group and add the user to it (real machine only).
fn ensure_group(host: &Host, settings: &Settings, ctx: &Context) -> Result<()> {
    if !host.is_real() {
        tracing::debug!("not changing groups: `--root` is not `/`");
        return Ok(());
    }
    let group = &settings.group;
    let existing = nix::unistd::Group::from_name(group)
        .with_context(|| format!("failed to look up group `{group}`"))?;
    if existing.is_none() {
        services::run("groupadd", &["--system", group])?;
        ctx.printer.status(format!("created group `{group}`"));
    }
    if let Some(user) = settings.user.as_deref().filter(|u| *u != "root") {
        let members = nix::unistd::Group::from_name(group)
            .ok()
            .flatten()
            .map(|g| g.mem)
            .unwrap_or_default();
        if !members.iter().any(|m| m == user) {
            services::run("usermod", &["--append", "--groups", group, user])?;
            ctx.printer.status(format!(
                "added `{user}` to group `{group}` (effective at its next login)"
            ));
        }
    }
    Ok(())
}

/// Give the API socket to the docker group, as the role's handler does.
fn socket_group(dockerd: &Dockerd, group: &str) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(Some(group)) = nix::unistd::Group::from_name(group) else {
        return Ok(());
    };
    let socket = dockerd.api.socket();
    let Ok(meta) = std::fs::metadata(socket) else {
        return Ok(());
    };
    if meta.gid() != group.gid.as_raw() {
        std::os::unix::fs::chown(socket, None, Some(group.gid.as_raw())).with_context(|| {
            format!(
                "failed to give `{}` to group `{}`",
                socket.display(),
                group.name
            )
        })?;
    }
    Ok(())
}
