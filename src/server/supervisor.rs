//! Keeping a registry alive after the command that started it has exited:
//! detaching a supervisor into its own session, the supervisor's restart
//! loop, and stopping it again. Where systemd is PID 1 the registry runs as
//! a transient `systemd-run` unit with `Restart=always` instead.
//!
//! The supervisor is this binary (`registry supervise`, hidden): it calls
//! `setsid`, records its pid in `<run>/supervisor.pid`, runs `registry serve
//! --config FILE` and restarts it with backoff when it dies; SIGTERM stops
//! both. Secrets reach the server only through the 0600 config file, never
//! through argv or the environment. No registry protocol here.

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

    /// The last lines of the registry log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// The running supervisor's pid, if its pidfile names a live supervisor.
    pub fn running_pid(&self) -> Option<Pid> {
        let text = std::fs::read_to_string(self.pidfile()).ok()?;
        let pid = Pid::from_raw(text.trim().parse().ok()?);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let ours = String::from_utf8_lossy(&cmdline).contains("supervise");
        (ours && kill(pid, None).is_ok()).then_some(pid)
    }

    /// The systemd unit running the registry, if it was started that way.
    pub fn unit(&self) -> Option<String> {
        std::fs::read_to_string(self.unit_file())
            .ok()
            .map(|unit| unit.trim().to_owned())
            .filter(|unit| !unit.is_empty())
    }
}

/// Whether systemd manages this machine (PID 1) and `systemd-run` exists.
pub fn systemd_available() -> bool {
    Path::new("/run/systemd/system").is_dir()
        && std::fs::read_to_string("/proc/1/comm").is_ok_and(|comm| comm.trim() == "systemd")
        && Command::new("systemd-run")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

/// How a detached registry was started.
pub enum Started {
    /// Our supervisor; the handle lets the caller notice an early death.
    Supervisor(Child),
    Systemd(String),
}

/// Start `registry serve --config CONFIG` detached and supervised.
pub fn start(config: &Path, run: &RunDir, unit: &str) -> Result<Started> {
    std::fs::create_dir_all(&run.dir)
        .with_context(|| format!("failed to create `{}`", run.dir.display()))?;
    let exe = std::env::current_exe().context("failed to find the zuul-image binary")?;
    if systemd_available() {
        let status = Command::new("systemd-run")
            .arg(format!("--unit={unit}"))
            .args([
                "--property=Restart=always",
                "--property=RestartSec=1",
                "--quiet",
                "--collect",
            ])
            .arg(&exe)
            .args(["registry", "serve", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .status()
            .context("failed to run `systemd-run`")?;
        if !status.success() {
            bail!("`systemd-run --unit={unit}` failed with {status}");
        }
        crate::fs::write_atomic(&run.unit_file(), unit.as_bytes(), crate::fs::PUBLIC)?;
        return Ok(Started::Systemd(unit.to_owned()));
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.log())
        .with_context(|| format!("failed to open `{}`", run.log().display()))?;
    let child = Command::new(exe)
        .args(["registry", "supervise", "--config"])
        .arg(config)
        .arg("--run-dir")
        .arg(&run.dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("failed to start the registry supervisor")?;
    Ok(Started::Supervisor(child))
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
    loop {
        let started = Instant::now();
        let mut child = tokio::process::Command::new(&exe)
            .args(["registry", "serve", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .kill_on_drop(false)
            .spawn()
            .context("failed to start `registry serve`")?;
        tokio::select! {
            status = child.wait() => {
                let status = status?;
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
                    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
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
        let status = Command::new("systemctl")
            .args(["stop", &unit])
            .status()
            .context("failed to run `systemctl stop`")?;
        let _ = std::fs::remove_file(run.unit_file());
        return Ok(status.success());
    }
    let Some(pid) = run.running_pid() else {
        let _ = std::fs::remove_file(run.pidfile());
        return Ok(false);
    };
    kill(pid, Signal::SIGTERM)
        .with_context(|| format!("failed to signal the supervisor (pid {pid})"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while kill(pid, None).is_ok() && Instant::now() < deadline {
        // A zombie of our own child counts as gone.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if state.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if kill(pid, None).is_ok() && Instant::now() >= deadline {
        bail!("the registry supervisor (pid {pid}) did not stop within 30s");
    }
    let _ = std::fs::remove_file(run.pidfile());
    Ok(true)
}
