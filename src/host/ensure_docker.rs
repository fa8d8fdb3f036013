//! The host operation behind `ensure-docker`: install Docker when it is
//! missing (distribution packages or docker's repository), merge
//! `daemon.json`, create the docker group and add the user, start, reload
//! or restart the daemon as [`docker_setup::daemon_action`] decides, give
//! the API socket to the group, install docker-compose when asked, and
//! point Docker at the buildset registry when asked (the same
//! [`use_registry::apply`] as `use-buildset-registry`). Package managers
//! and group tools run only on the real machine (`--root /`).

use super::docker_setup::{self, DaemonAction};
use super::dockerd::{self, Dockerd, Reloaded};
use super::packages::{self, Family, Manager};
use super::plan::Plan;
use super::services;
use super::{Error, Host, network, use_registry};
use crate::output::Printer;
use crate::zuul::inputs::Env;
use crate::zuul::inputs::ensure_docker::{DaemonSettings, EnsureDocker, Install};
use anyhow::{Context as _, Result};

/// Install (if missing), configure and start Docker on `host`.
pub async fn ensure(
    host: &Host,
    inputs: &EnsureDocker,
    env: &Env,
    printer: &Printer,
) -> Result<()> {
    let dockerd = Dockerd {
        extra_args: inputs.dockerd_args.clone(),
        group: inputs.group.clone(),
        ..Dockerd::new(host, &inputs.docker)
    };
    let daemon = DaemonSettings {
        mtu: inputs.daemon.mtu.or_else(|| network::default_mtu(host)),
        ..inputs.daemon.clone()
    };

    // Parse before acting: a broken daemon.json stops everything (exit 2).
    let text = crate::fs::read_optional(&host.path(dockerd::CONFIG_FILE))?;
    let (new, changed) =
        docker_setup::edit_daemon_json(dockerd::CONFIG_FILE, text.as_deref(), &daemon)?;

    let running = dockerd.is_up().await;
    if !running && !env.on_path("dockerd") {
        install(host, &inputs.install, printer)?;
    }
    let mut plan = Plan::default();
    if text.is_some() || !changed.is_empty() {
        plan.file(dockerd::CONFIG_FILE, new);
    }
    if plan.apply(host)?.changed(dockerd::CONFIG_FILE) {
        printer.status(format!(
            "updated `{}` ({})",
            dockerd::CONFIG_FILE,
            changed.join(", ")
        ));
    }
    ensure_group(host, &inputs.group, inputs.user.as_deref(), printer)?;

    let socket_down = running
        && dockerd.systemd().is_some_and(|systemd| {
            systemd.is_known("docker.socket") && !systemd.is_active("docker.socket")
        });
    match docker_setup::daemon_action(running, &changed, socket_down) {
        DaemonAction::Restart => {
            dockerd.restart().await?;
            printer.status("restarted docker to apply its settings");
        }
        DaemonAction::Reload => match dockerd.reload().await? {
            Reloaded::Systemd => printer.status("reloaded docker (systemctl reload)"),
            Reloaded::Signal(pid) => {
                printer.status(format!("reloaded dockerd (SIGHUP to pid {pid})"))
            }
            Reloaded::NotRunning => {}
        },
        DaemonAction::Nothing => printer.status("docker is running and configured; nothing to do"),
        DaemonAction::Start => {
            dockerd.start().await?;
            printer.status(format!(
                "started docker; it answers on `{}`",
                dockerd.api.socket().display()
            ));
        }
    }
    socket_group(&dockerd)?;

    if inputs.compose_install && !env.on_path("docker-compose") {
        let manager = real_manager(host, "install docker-compose")?;
        manager.install(&["docker-compose".to_owned()])?;
        printer.status("installed docker-compose");
    }

    if let Some(setup) = &inputs.buildset_registry {
        let docker = crate::zuul::inputs::DockerTarget {
            api: Some(dockerd.api.clone()),
            pidfile: dockerd.pidfile.clone(),
        };
        use_registry::apply(host, setup, &docker, printer).await?;
    }
    Ok(())
}

/// The package manager, when this is the real machine and it has one.
fn real_manager(host: &Host, action: &str) -> Result<Manager> {
    if !host.is_real() {
        return Err(Error::NotRealRoot {
            action: action.to_owned(),
            root: host.root().to_owned(),
        }
        .into());
    }
    Manager::detect(host).context("no apt-get, dnf or yum on this machine")
}

/// Install Docker from the distribution or from docker's repository.
fn install(host: &Host, settings: &Install, printer: &Printer) -> Result<()> {
    let manager = real_manager(host, "install docker")?;
    let os = packages::Os::read(host);
    let family = os.family();
    let upstream = settings.use_upstream && family != Some(Family::Suse);
    let or_default = |given: &Option<Vec<String>>, default: fn(Family) -> Vec<String>| {
        given
            .clone()
            .unwrap_or_else(|| family.map(default).unwrap_or_default())
    };
    let known = |list: Vec<String>, what, fix| match list.is_empty() {
        true => Err(Error::NoPackages {
            what,
            os: os.id.clone(),
            fix,
        }),
        false => Ok(list),
    };
    if !upstream {
        let list = or_default(&settings.distro_packages, packages::distro_packages);
        let list = known(list, "docker", "`docker_distro_packages`")?;
        manager.update()?;
        manager.install(&list)?;
        printer.status(format!("installed {}", list.join(" ")));
        return Ok(());
    }
    let list = known(
        or_default(&settings.upstream_packages, packages::upstream_packages),
        "upstream docker",
        "`docker_upstream_distro_packages` or `use_upstream_docker: false`",
    )?;
    let base = settings.mirror_base_url.clone().unwrap_or_else(|| {
        format!(
            "https://{}/linux/{}",
            settings.download_fqdn,
            os.upstream_dir()
        )
    });
    if base.is_empty() {
        return Err(Error::EmptyMirrorBaseUrl.into());
    }
    manager.update()?;
    manager.install(&or_default(
        &settings.upstream_required,
        packages::upstream_required,
    ))?;
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
    manager.remove(&or_default(
        &settings.upstream_remove,
        packages::upstream_remove,
    ))?;
    manager.update()?;
    manager.install(&list)?;
    printer.status(format!("installed {} from `{base}`", list.join(" ")));
    Ok(())
}

/// Create the docker group and add the user to it (real machine only).
fn ensure_group(host: &Host, group: &str, user: Option<&str>, printer: &Printer) -> Result<()> {
    if !host.is_real() {
        tracing::debug!("not changing groups: `--root` is not `/`");
        return Ok(());
    }
    let existing = nix::unistd::Group::from_name(group)
        .with_context(|| format!("failed to look up group `{group}`"))?;
    if existing.is_none() {
        services::run("groupadd", &["--system", group])?;
        printer.status(format!("created group `{group}`"));
    }
    if let Some(user) = user.filter(|u| *u != "root") {
        let members = nix::unistd::Group::from_name(group)
            .ok()
            .flatten()
            .map(|g| g.mem)
            .unwrap_or_default();
        if !members.iter().any(|m| m == user) {
            services::run("usermod", &["--append", "--groups", group, user])?;
            printer.status(format!(
                "added `{user}` to group `{group}` (effective at its next login)"
            ));
        }
    }
    Ok(())
}

/// Give the API socket to the docker group, as the role's handler does.
fn socket_group(dockerd: &Dockerd) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(Some(group)) = nix::unistd::Group::from_name(&dockerd.group) else {
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
