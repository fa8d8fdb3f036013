//! Keeping a registry alive after the command that started it has exited:
//! detaching a supervisor into its own session, the supervisor's restart
//! loop, and stopping it again. Where systemd is PID 1 the registry runs as
//! a transient `systemd-run` unit with `Restart=always` instead. Detection,
//! spawning, signals and waits are [`crate::host::services`]'s.
//!
//! The supervisor is this binary (`registry supervise`, hidden): it calls
//! `setsid`, records its pid in `<run>/supervisor.pid`, runs `registry serve
//! --config FILE --status-file <run>/status.json` and restarts it with
//! backoff when it dies; SIGTERM stops both. A server that never got to
//! listen (its status says `failed`: port in use, bad config) is not
//! restarted when no server of this supervisor has listened yet — the same
//! start would fail the same way; the supervisor exits and the status tells
//! the waiting `run-buildset-registry` why. Secrets reach the server only
//! through the 0600 config file, never through argv or the environment. No
//! registry protocol here.

use super::status::{self, ServeStatus};
use crate::host::Host;
use crate::host::services::{self, Detach, Systemd};
use anyhow::{Context, Result, bail};
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Files of a supervised registry under its run directory.
pub struct RunDir {
    pub dir: PathBuf,
}

impl RunDir {
    pub fn new(dir: &Path) -> RunDir {
        RunDir {
            dir: dir.to_path_buf(),
        }
    }

    pub fn pidfile(&self) -> PathBuf {
        self.dir.join("supervisor.pid")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("registry.log")
    }

    pub fn unit_file(&self) -> PathBuf {
        self.dir.join("systemd-unit")
    }

    /// The server's start status ([`super::status`]).
    pub fn status_file(&self) -> PathBuf {
        self.dir.join("status.json")
    }

    /// The last lines of the registry log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// The running supervisor's pid, if its pidfile names a live supervisor.
    pub fn running_pid(&self) -> Option<i32> {
        let pid = services::live_pid(&self.pidfile())?;
        let ours =
            services::cmdline(pid).is_ok_and(|argv| argv.iter().any(|arg| arg == "supervise"));
        ours.then_some(pid)
    }

    /// The systemd unit running the registry, if it was started that way.
    pub fn unit(&self) -> Option<String> {
        std::fs::read_to_string(self.unit_file())
            .ok()
            .map(|unit| unit.trim().to_owned())
            .filter(|unit| !unit.is_empty())
    }
}

/// systemd, when it manages this machine and can run transient units.
fn systemd() -> Option<Systemd> {
    Systemd::of(&Host::new("/")).filter(Systemd::can_run_transient)
}

/// How a detached registry was started.
pub enum Started {
    /// Our supervisor, with its pid (to notice an early death).
    Supervisor(u32),
    Systemd(String),
}

/// Start `registry serve --config CONFIG` detached and supervised.
pub fn start(config: &Path, run: &RunDir, unit: &str) -> Result<Started> {
    std::fs::create_dir_all(&run.dir)
        .with_context(|| format!("failed to create `{}`", run.dir.display()))?;
    let exe = std::env::current_exe().context("failed to find the zuul-image binary")?;
    let exe = exe.display().to_string();
    let config = config.display().to_string();
    status::clear(&run.status_file());
    if let Some(systemd) = systemd() {
        let argv = [
            exe,
            "registry".into(),
            "serve".into(),
            "--config".into(),
            config,
            "--status-file".into(),
            run.status_file().display().to_string(),
        ];
        systemd.run_transient(unit, &["Restart=always", "RestartSec=1"], &argv)?;
        crate::fs::write_atomic(&run.unit_file(), unit.as_bytes(), crate::fs::PUBLIC)?;
        return Ok(Started::Systemd(unit.to_owned()));
    }
    let argv = [
        exe,
        "registry".into(),
        "supervise".into(),
        "--config".into(),
        config,
        "--run-dir".into(),
        run.dir.display().to_string(),
    ];
    let pid = services::spawn_detached(&argv, &run.log(), Detach::SelfDetaching)
        .context("failed to start the registry supervisor")?;
    Ok(Started::Supervisor(pid))
}

/// The supervisor's main loop (`registry supervise`).
pub async fn supervise(config: &Path, run: &RunDir) -> Result<()> {
    // Our own session: no controlling terminal, not in the caller's process
    // group, so the end of an Ansible task does not take us with it.
    let _ = nix::unistd::setsid();
    let me = std::process::id().to_string();
    crate::fs::write_atomic(&run.pidfile(), me.as_bytes(), crate::fs::PUBLIC)?;
    let exe = std::env::current_exe().context("failed to find the zuul-image binary")?;
    let mut backoff = Duration::from_millis(100);
    let shutdown = super::listen::shutdown_signal();
    tokio::pin!(shutdown);
    let status_file = run.status_file();
    let mut listened = false;
    loop {
        let started = Instant::now();
        status::clear(&status_file);
        let mut child = tokio::process::Command::new(&exe)
            .args(["registry", "serve", "--config"])
            .arg(config)
            .arg("--status-file")
            .arg(&status_file)
            .stdin(Stdio::null())
            .kill_on_drop(false)
            .spawn()
            .context("failed to start `registry serve`")?;
        tokio::select! {
            status = child.wait() => {
                let status = status?;
                match status::read(&status_file) {
                    Some(ServeStatus::Listening { .. }) => listened = true,
                    Some(ServeStatus::Failed { message, .. }) if !listened => {
                        let _ = std::fs::remove_file(run.pidfile());
                        bail!("the registry could not start, not restarting it: {message}");
                    }
                    _ => {}
                }
                tracing::warn!("registry exited with {status}; restarting in {backoff:?}");
                if started.elapsed() > Duration::from_secs(30) {
                    backoff = Duration::from_millis(100);
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut shutdown => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            () = &mut shutdown => {
                if let Some(pid) = child.id() {
                    let _ = services::send(pid as i32, Signal::SIGTERM);
                }
                if tokio::time::timeout(Duration::from_secs(25), child.wait()).await.is_err() {
                    let _ = child.kill().await;
                }
                break;
            }
        }
    }
    let _ = std::fs::remove_file(run.pidfile());
    Ok(())
}

/// Stop a supervised registry; `false` when none was running.
pub fn stop(run: &RunDir) -> Result<bool> {
    if let Some(unit) = run.unit() {
        let stopped = Systemd.run(&["stop", &unit]);
        let _ = std::fs::remove_file(run.unit_file());
        if let Err(err) = &stopped {
            tracing::warn!("{err}");
        }
        return Ok(stopped.is_ok());
    }
    let Some(pid) = run.running_pid() else {
        let _ = std::fs::remove_file(run.pidfile());
        return Ok(false);
    };
    services::terminate(pid, Duration::from_secs(30))
        .with_context(|| format!("failed to stop the registry supervisor (pid {pid})"))?;
    let _ = std::fs::remove_file(run.pidfile());
    Ok(true)
}
