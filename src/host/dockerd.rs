//! The Docker daemon as a service: is it running, reload it (SIGHUP or
//! `systemctl reload docker`: registry mirrors and insecure registries
//! apply without stopping containers), restart it when a setting needs it,
//! and start it (systemd, or `dockerd` detached with a pidfile and a log)
//! and wait until its API answers. Paths are host paths under the root;
//! the API socket is the real one given by `--docker-host`.

use super::Host;
use super::services::{self, Detach, Systemd};
use crate::engine::docker::DockerHost;
use crate::zuul::inputs::DockerTarget;
use anyhow::{Result, bail};
use nix::sys::signal::Signal;
use std::time::Duration;

pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
pub const DEFAULT_PIDFILE: &str = "/var/run/docker.pid";
pub const CONFIG_FILE: &str = "/etc/docker/daemon.json";
pub const LOG_FILE: &str = "/var/log/dockerd.log";

/// One `systemctl` call; `required: false` means its failure is ignored
/// (docker.socket may not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemctlCall {
    pub args: &'static [&'static str],
    pub required: bool,
}

const fn call(args: &'static [&'static str], required: bool) -> SystemctlCall {
    SystemctlCall { args, required }
}

/// Under systemd, a reload: mirrors and insecure registries apply without
/// stopping containers.
pub const SYSTEMD_RELOAD: &[SystemctlCall] = &[call(&["reload", "docker.service"], true)];
/// Under systemd, a restart as the role does it: the socket unit first, so
/// the service restart does not race socket activation.
pub const SYSTEMD_RESTART: &[SystemctlCall] = &[
    call(&["stop", "docker.socket"], false),
    call(&["restart", "docker.service"], true),
    call(&["enable", "--now", "docker.socket"], false),
];
/// Under systemd, a start (enabled for the next boot too).
pub const SYSTEMD_START: &[SystemctlCall] = &[
    call(&["enable", "--now", "docker.service"], true),
    call(&["enable", "--now", "docker.socket"], false),
];

fn run_calls(systemd: &Systemd, calls: &[SystemctlCall]) -> Result<()> {
    for call in calls {
        match systemd.run(call.args) {
            Err(err) if call.required => return Err(err.into()),
            Err(err) => tracing::debug!("ignored: {err}"),
            Ok(()) => {}
        }
    }
    Ok(())
}

/// How long a starting daemon may take to answer.
const START_LIMIT: Duration = Duration::from_secs(90);

/// One Docker daemon on the host.
#[derive(Debug, Clone)]
pub struct Dockerd {
    pub host: Host,
    pub api: DockerHost,
    /// Host path of the pidfile (`/var/run/docker.pid`).
    pub pidfile: String,
    /// Extra `dockerd` arguments when this tool starts it detached.
    pub extra_args: Vec<String>,
    /// Group owning the API socket.
    pub group: String,
}

/// What a reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reloaded {
    Systemd,
    Signal(i32),
    /// No daemon runs: it reads the file when it starts.
    NotRunning,
}

impl Dockerd {
    /// The daemon `target` names on `host`: `--docker-host`, else the
    /// default socket under the root; group `docker`, no extra arguments.
    pub fn new(host: &Host, target: &DockerTarget) -> Dockerd {
        Dockerd {
            host: host.clone(),
            api: target
                .api
                .clone()
                .unwrap_or_else(|| DockerHost::from_path(host.path(DEFAULT_SOCKET))),
            pidfile: target.pidfile.clone(),
            extra_args: Vec::new(),
            group: "docker".into(),
        }
    }

    pub fn systemd(&self) -> Option<Systemd> {
        Systemd::of(&self.host).filter(|systemd| systemd.is_known("docker.service"))
    }

    pub async fn is_up(&self) -> bool {
        self.api.ping(Duration::from_secs(5)).await
    }

    /// The pid of the running daemon from its pidfile.
    pub fn pid(&self) -> Option<i32> {
        services::pid_from_file(&self.host, &self.pidfile)
    }

    /// Reload the configuration without stopping containers.
    pub async fn reload(&self) -> Result<Reloaded> {
        if !self.is_up().await {
            return Ok(Reloaded::NotRunning);
        }
        if let Some(systemd) = self.systemd().filter(|s| s.is_active("docker.service")) {
            run_calls(&systemd, SYSTEMD_RELOAD)?;
            return Ok(Reloaded::Systemd);
        }
        let Some(pid) = self.pid() else {
            bail!(
                "dockerd answers on `{}` but `{}` names no running process; cannot reload it",
                self.api.socket().display(),
                self.host.path(&self.pidfile).display()
            );
        };
        services::send(pid, Signal::SIGHUP)?;
        Ok(Reloaded::Signal(pid))
    }

    /// Wait until the running daemon reports `mirror` first among its
    /// registry mirrors (a reload is applied asynchronously).
    pub async fn wait_for_mirror(&self, mirror: &str, limit: Duration) -> Result<bool> {
        let want = mirror.trim_end_matches('/');
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mirrors = self.api.mirrors().await?;
            if mirrors
                .first()
                .is_some_and(|first| first.trim_end_matches('/') == want)
            {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Restart the daemon (containers without live-restore stop).
    pub async fn restart(&self) -> Result<()> {
        if let Some(systemd) = self.systemd() {
            run_calls(&systemd, SYSTEMD_RESTART)?;
            return self.wait_up(None).await;
        }
        match self.pid() {
            Some(pid) => {
                let mut argv = services::cmdline(pid)?;
                let config = self.host.path(CONFIG_FILE);
                let has_config = argv.iter().any(|arg| arg.starts_with("--config-file"));
                if !self.host.is_real() && !has_config && config.exists() {
                    // Started before the file existed: it must read it now.
                    argv.push(format!("--config-file={}", config.display()));
                }
                services::terminate(pid, Duration::from_secs(60))?;
                let pid =
                    services::spawn_detached(&argv, &self.host.path(LOG_FILE), Detach::OwnGroup)?;
                self.wait_up(Some(pid)).await
            }
            None => self.start().await,
        }
    }

    /// The command line this tool starts dockerd with when systemd does not
    /// manage it.
    pub fn command(&self) -> Vec<String> {
        let mut argv = vec!["dockerd".to_owned()];
        // dockerd refuses a `--config-file` that does not exist; its default
        // (`/etc/docker/daemon.json`) may be missing.
        let config = self.host.path(CONFIG_FILE);
        if config.exists() {
            argv.push(format!("--config-file={}", config.display()));
        }
        argv.extend([
            format!("--pidfile={}", self.host.path(&self.pidfile).display()),
            format!("--host={}", self.api.url()),
            format!("--group={}", self.group),
        ]);
        argv.extend(self.extra_args.iter().cloned());
        argv
    }

    /// Start the daemon and wait until it answers.
    pub async fn start(&self) -> Result<()> {
        if let Some(systemd) = self.systemd() {
            run_calls(&systemd, SYSTEMD_START)?;
            return self.wait_up(None).await;
        }
        let config = self.host.path(CONFIG_FILE);
        if !self.host.is_real() && !config.exists() {
            // Under another root the daemon must not fall back to the
            // machine's own `/etc/docker/daemon.json`.
            crate::fs::write_atomic(&config, b"{}\n", crate::fs::PUBLIC)?;
        }
        let pid =
            services::spawn_detached(&self.command(), &self.host.path(LOG_FILE), Detach::OwnGroup)?;
        self.wait_up(Some(pid)).await
    }

    /// Wait until the API answers; give up early when the process we
    /// started (`pid`) has exited.
    async fn wait_up(&self, pid: Option<u32>) -> Result<()> {
        let log = self.host.path(LOG_FILE);
        let deadline = tokio::time::Instant::now() + START_LIMIT;
        loop {
            if self.api.ping(Duration::from_secs(2)).await {
                return Ok(());
            }
            if let Some(pid) = pid {
                if !services::is_alive(pid as i32) {
                    let tail = std::fs::read_to_string(&log).unwrap_or_default();
                    let last = tail.lines().last().unwrap_or("").to_owned();
                    bail!(
                        "dockerd exited before answering on `{}`: {last} (log `{}`)",
                        self.api.socket().display(),
                        log.display()
                    );
                }
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "dockerd did not answer on `{}` within {} s (log `{}`, or `journalctl -u docker` under systemd)",
                    self.api.socket().display(),
                    START_LIMIT.as_secs(),
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required(calls: &[SystemctlCall]) -> Vec<&[&str]> {
        calls
            .iter()
            .filter(|c| c.required)
            .map(|c| c.args)
            .collect()
    }

    #[test]
    fn systemd_calls() {
        // Only the service's own call can fail the operation.
        assert_eq!(
            required(SYSTEMD_RELOAD),
            [&["reload", "docker.service"][..]]
        );
        assert_eq!(
            required(SYSTEMD_RESTART),
            [&["restart", "docker.service"][..]]
        );
        assert_eq!(
            required(SYSTEMD_START),
            [&["enable", "--now", "docker.service"][..]]
        );
        // The socket unit stops before the service restarts and comes back.
        assert_eq!(SYSTEMD_RESTART[0].args, ["stop", "docker.socket"]);
        assert_eq!(
            SYSTEMD_RESTART[2].args,
            ["enable", "--now", "docker.socket"]
        );
    }
}
