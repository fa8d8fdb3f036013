//! Running host commands and managing processes, the one process stack of
//! the tool: the place that spawns `systemctl`, `systemd-run`,
//! `update-ca-certificates` and friends (argv logged at debug level; no
//! secret is ever passed on a command line), tells whether systemd manages
//! the machine, knows unit state, pidfiles, signals and exits, and starts
//! daemons detached from this process. `ensure-docker`'s dockerd and the
//! buildset registry's supervisor both go through it. Knows nothing about
//! which files were edited or why.

use super::Host;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use thiserror::Error;

/// A host command or process operation failed (exit 1).
#[derive(Debug, Error)]
pub enum Error {
    #[error("failed to run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}){}", if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("failed to send {signal} to pid {pid}")]
    Signal {
        pid: i32,
        signal: String,
        #[source]
        source: nix::Error,
    },
    #[error("pid {pid} did not exit within {seconds} s after SIGTERM")]
    NoExit { pid: i32, seconds: u64 },
    #[error("cannot read the command line of pid {pid} to restart it")]
    Cmdline { pid: i32 },
    #[error("failed to open the log file `{path}`")]
    Log {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn show(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run a command to completion; its stdout on success.
pub fn run(program: &str, args: &[&str]) -> Result<String, Error> {
    run_env(program, args, &[])
}

/// [`run`] with extra environment variables for the child.
pub fn run_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String, Error> {
    let command = show(program, args);
    tracing::debug!("running `{command}`");
    let output = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            command: command.clone(),
            source,
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(Error::Failed {
            command,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// Run a command where only success matters (`systemctl is-active`).
pub fn succeeds(program: &str, args: &[&str]) -> bool {
    tracing::debug!("running `{}`", show(program, args));
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// systemd, when it manages the host.
pub struct Systemd;

impl Systemd {
    /// systemd on the real machine; `None` under another root or without
    /// systemd (a container, a CI sandbox): `/run/systemd/system` exists
    /// and PID 1 is systemd.
    pub fn of(host: &Host) -> Option<Systemd> {
        let pid1 =
            || std::fs::read_to_string("/proc/1/comm").is_ok_and(|comm| comm.trim() == "systemd");
        (host.is_real() && host.has_systemd() && pid1()).then_some(Systemd)
    }

    /// Whether `systemd-run` (transient units) is installed and runs.
    pub fn can_run_transient(&self) -> bool {
        succeeds("systemd-run", &["--version"])
    }

    /// Run `argv` as the transient service `unit` with unit `properties`
    /// (`Restart=always`, …); the unit is collected once it stops.
    pub fn run_transient(
        &self,
        unit: &str,
        properties: &[&str],
        argv: &[String],
    ) -> Result<(), Error> {
        let mut args = vec![format!("--unit={unit}")];
        args.extend(properties.iter().map(|p| format!("--property={p}")));
        args.extend(["--quiet".to_owned(), "--collect".to_owned()]);
        args.extend(argv.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("systemd-run", &args).map(|_| ())
    }

    pub fn is_active(&self, unit: &str) -> bool {
        succeeds("systemctl", &["is-active", "--quiet", unit])
    }

    /// Whether the unit file exists (`LoadState` is not `not-found`).
    pub fn is_known(&self, unit: &str) -> bool {
        run(
            "systemctl",
            &["show", "--property=LoadState", "--value", unit],
        )
        .is_ok_and(|state| state.trim() != "not-found" && !state.trim().is_empty())
    }

    pub fn run(&self, args: &[&str]) -> Result<(), Error> {
        run("systemctl", args).map(|_| ())
    }
}

/// The live process named by a pidfile under the host root.
pub fn pid_from_file(host: &Host, pidfile: &str) -> Option<i32> {
    live_pid(&host.path(pidfile))
}

/// The live process named by the pidfile `path`.
pub fn live_pid(path: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    is_alive(pid).then_some(pid)
}

/// Whether a process with `pid` exists (and is not a zombie).
pub fn is_alive(pid: i32) -> bool {
    if pid <= 0 || signal::kill(Pid::from_raw(pid), None).is_err() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3, after the parenthesised name, is the state.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_none_or(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => true,
    }
}

pub fn send(pid: i32, sig: Signal) -> Result<(), Error> {
    tracing::debug!("sending {sig} to pid {pid}");
    signal::kill(Pid::from_raw(pid), sig).map_err(|source| Error::Signal {
        pid,
        signal: sig.to_string(),
        source,
    })
}

/// Wait until `pid` has exited (a zombie counts as gone), up to `limit`.
pub fn wait_exit(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while is_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Send SIGTERM to `pid` and wait up to `limit` for it to exit.
pub fn terminate(pid: i32, limit: Duration) -> Result<(), Error> {
    send(pid, Signal::SIGTERM)?;
    if wait_exit(pid, limit) {
        Ok(())
    } else {
        Err(Error::NoExit {
            pid,
            seconds: limit.as_secs(),
        })
    }
}

/// The argv a process was started with.
pub fn cmdline(pid: i32) -> Result<Vec<String>, Error> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).map_err(|_| Error::Cmdline { pid })?;
    let argv: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|part| !part.is_empty())
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect();
    if argv.is_empty() {
        return Err(Error::Cmdline { pid });
    }
    Ok(argv)
}

/// How a detached child leaves this process's job control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detach {
    /// In a process group of its own (a daemon such as dockerd).
    OwnGroup,
    /// Left where it is because it calls `setsid` itself, which a process
    /// group leader may not (the registry supervisor).
    SelfDetaching,
}

/// Start `argv` detached from this process (stdin closed, stdout and
/// stderr appended to `log`, not waited for); returns its pid. Whether it
/// is alive is [`is_alive`]'s business: an early exit leaves a zombie that
/// counts as gone.
pub fn spawn_detached(argv: &[String], log: &Path, detach: Detach) -> Result<u32, Error> {
    use std::os::unix::process::CommandExt;
    let command = argv.join(" ");
    if let Some(dir) = log.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|source| Error::Log {
                path: log.display().to_string(),
                source,
            })
    };
    let (out, err) = (open()?, open()?);
    tracing::debug!("starting `{command}` detached, log `{}`", log.display());
    let mut child = Command::new(&argv[0]);
    child
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if detach == Detach::OwnGroup {
        child.process_group(0);
    }
    let child = child
        .spawn()
        .map_err(|source| Error::Spawn { command, source })?;
    Ok(child.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_command() {
        let err = run("sh", &["-c", "echo oops >&2; exit 3"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`sh -c echo oops >&2; exit 3` failed (exit status: 3): oops"
        );
        assert!(run("/nonexistent/tool", &[]).is_err());
        assert!(succeeds("true", &[]));
    }

    #[test]
    fn detached_process_lifecycle() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log/sleep.log");
        let pid =
            spawn_detached(&["sleep".into(), "30".into()], &log, Detach::OwnGroup).unwrap() as i32;
        assert!(is_alive(pid));
        // Until the child has exec'd, /proc shows the parent's command line.
        let deadline = Instant::now() + Duration::from_secs(5);
        // (and reads can come back empty while the exec is under way).
        while cmdline(pid).ok().as_deref() != Some(&["sleep".to_owned(), "30".to_owned()][..]) {
            assert!(Instant::now() < deadline, "{:?}", cmdline(pid));
            std::thread::sleep(Duration::from_millis(10));
        }
        std::fs::write(dir.path().join("p.pid"), format!("{pid}\n")).unwrap();
        let host = Host::new(dir.path());
        assert_eq!(pid_from_file(&host, "/p.pid"), Some(pid));
        send(pid, Signal::SIGTERM).unwrap();
        // The child is ours until reaped; reap it so it is not a zombie.
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
        assert!(wait_exit(pid, Duration::from_secs(5)));
        assert_eq!(pid_from_file(&host, "/p.pid"), None);
    }
}
