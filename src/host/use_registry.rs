//! The host operation behind `use-buildset-registry` (and `ensure-docker`
//! with `docker_use_buildset_registry`): apply the [`buildset::plan`],
//! reload dockerd when its mirrors changed (restarting only when a reload
//! does not take), and nudge the services that must re-read their
//! configuration. Says what it did through the printer.

use super::Host;
use super::buildset;
use super::containerd::ConfigPath;
use super::dockerd::{Dockerd, Reloaded};
use super::nudge::Nudge;
use super::services::{self, Systemd};
use crate::output::Printer;
use crate::zuul::inputs::DockerTarget;
use crate::zuul::inputs::use_registry::ClientSetup;
use anyhow::{Context as _, Result};
use std::time::Duration;

/// Point every container client on `host` at the buildset registry.
pub async fn apply(
    host: &Host,
    setup: &ClientSetup,
    docker: &DockerTarget,
    printer: &Printer,
) -> Result<()> {
    let planned = buildset::plan(host, setup)?;
    let applied = planned.plan.apply(host)?;
    for edit in &planned.plan.files {
        if applied.changed(&edit.path) {
            printer.status(format!("updated `{}`", edit.path));
        } else {
            tracing::debug!("`{}` already up to date", edit.path);
        }
    }
    for link in &planned.plan.links {
        if applied.changed(&link.path) {
            printer.status(format!("linked `{}` to `{}`", link.path, link.target));
        }
    }

    let dockerd = Dockerd::new(host, docker);
    let changed = applied.changed(buildset::DAEMON_JSON);
    reload_docker(&dockerd, &planned.docker_mirror, changed, printer).await?;

    if planned.containerd == Some(ConfigPath::Legacy) {
        printer.warn(format!(
            "`{}` configures the legacy CRI `registry.mirrors`; containerd's CRI plugin will not read the buildset registry's `hosts.toml` files",
            buildset::CONTAINERD_CONFIG
        ));
    }
    let systemd = Systemd::of(host);
    for nudge in planned.nudges(&applied) {
        carry_out(nudge, host, systemd.as_ref(), printer)?;
    }
    Ok(())
}

/// Reload dockerd when its mirrors changed, or when the file is right but
/// the running daemon has not loaded it; check that the mirror took.
async fn reload_docker(
    dockerd: &Dockerd,
    mirror: &str,
    changed: bool,
    printer: &Printer,
) -> Result<()> {
    if !dockerd.is_up().await {
        if changed {
            printer.status(format!(
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
        Reloaded::Systemd => printer.status("reloaded docker (systemctl reload)"),
        Reloaded::Signal(pid) => printer.status(format!("reloaded dockerd (SIGHUP to pid {pid})")),
    }
    if dockerd
        .wait_for_mirror(mirror, Duration::from_secs(20))
        .await?
    {
        return Ok(());
    }
    // Only when a reload could not apply it: a restart stops containers
    // that have no restart policy and no live-restore.
    printer.warn(format!(
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
    printer.status("restarted docker");
    Ok(())
}

/// Run the command of `nudge` on the real machine when its service runs
/// there; otherwise say why not.
fn carry_out(
    nudge: Nudge,
    host: &Host,
    systemd: Option<&Systemd>,
    printer: &Printer,
) -> Result<()> {
    let argv = nudge.argv();
    let shown = argv.join(" ");
    if !host.is_real() {
        printer.status(format!("not running `{shown}`: `--root` is not `/`"));
        return Ok(());
    }
    if let Some(unit) = nudge.unit() {
        if !systemd.is_some_and(|s| s.is_active(unit)) {
            printer.warn(format!(
                "{unit} is not running under systemd here; it will {} when it starts",
                nudge.purpose()
            ));
            return Ok(());
        }
    }
    services::run(argv[0], &argv[1..])
        .with_context(|| format!("failed to run `{shown}` to {}", nudge.purpose()))?;
    printer.status(format!("ran `{shown}` to {}", nudge.purpose()));
    Ok(())
}
