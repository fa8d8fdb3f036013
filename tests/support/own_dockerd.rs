//! A dockerd that one test owns, started through `zuul-image ensure-docker`
//! under a temp `--root` (config file, pidfile and log under the root; data
//! and exec roots and the socket beside them), so a test may reload, stop
//! and restart it without disturbing the run's shared private dockerd.
//! Dropping it stops the daemon and removes everything.

use super::run;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct OwnDockerd {
    pub root: tempfile::TempDir,
}

impl OwnDockerd {
    /// A root for a daemon that is not started yet.
    pub fn new() -> OwnDockerd {
        // Short paths: containerd's sockets live under the exec root and
        // unix socket paths are limited to 108 bytes.
        let root = tempfile::Builder::new()
            .prefix("zid")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        OwnDockerd { root }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel.trim_start_matches('/'))
    }

    pub fn socket(&self) -> PathBuf {
        self.path("d.sock")
    }

    /// `unix://…/d.sock`
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The `ensure-docker` flags that make the daemon private to this root.
    pub fn ensure_docker_args(&self) -> Vec<String> {
        let mut args = vec![
            "ensure-docker".to_owned(),
            "--root".to_owned(),
            self.root.path().display().to_string(),
        ];
        let tail = [
            format!("--docker-host={}", self.host()),
            format!("--dockerd-arg=--data-root={}", self.path("data").display()),
            format!("--dockerd-arg=--exec-root={}", self.path("x").display()),
            "--dockerd-arg=--bridge=none".to_owned(),
            "--dockerd-arg=--iptables=false".to_owned(),
            "--dockerd-arg=--ip6tables=false".to_owned(),
            "--dockerd-arg=--storage-driver=vfs".to_owned(),
        ];
        args.extend(tail);
        args
    }

    /// The daemon's pid from its pidfile.
    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.path("var/run/docker.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// A docker CLI command for this daemon.
    pub fn cli(&self) -> Command {
        let mut command = Command::new("docker");
        command.env("DOCKER_HOST", self.host());
        command
    }

    /// Whether the daemon answers.
    pub fn is_up(&self) -> bool {
        self.cli()
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Build the FROM-scratch busybox image as `tag` (classic builder).
    pub fn build_busybox(&self, tag: &str) {
        let context = super::images::busybox_context(&self.path("ctx"));
        run(self
            .cli()
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", tag])
            .arg(&context));
    }

    /// Start a container that sleeps for ten minutes (from the busybox
    /// image, no network) and return its id: the one a reload must not stop.
    pub fn run_sleeper(&self) -> String {
        self.build_busybox("zuul-image-test/busybox");
        run(self.cli().args([
            "run",
            "-d",
            "--network",
            "none",
            "zuul-image-test/busybox",
            "/bin/busybox",
            "sleep",
            "600",
        ]))
        .trim()
        .to_owned()
    }

    /// Whether `container` is running.
    pub fn is_running(&self, container: &str) -> bool {
        run(self
            .cli()
            .args(["inspect", "--format", "{{.State.Running}}", container]))
        .trim()
            == "true"
    }

    /// Stop the daemon (SIGTERM) and wait until it is gone.
    pub fn stop(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            super::wait_until("dockerd to stop", Duration::from_secs(60), || {
                !Path::new(&format!("/proc/{pid}")).exists()
                    || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .is_ok_and(|s| s.contains(") Z"))
            });
        }
    }
}

impl Drop for OwnDockerd {
    fn drop(&mut self) {
        if self.is_up() {
            let _ = self
                .cli()
                .args(["rm", "-f", "--volumes"])
                .args(
                    String::from_utf8_lossy(
                        &self
                            .cli()
                            .args(["ps", "-aq"])
                            .output()
                            .map(|o| o.stdout)
                            .unwrap_or_default(),
                    )
                    .split_whitespace(),
                )
                .output();
        }
        self.stop();
        let root = self.root.path().display().to_string();
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        let mut points: Vec<&str> = mounts
            .lines()
            .filter_map(|line| line.split_whitespace().nth(1))
            .filter(|point| point.starts_with(&root))
            .collect();
        points.sort_unstable_by(|a, b| b.cmp(a));
        for point in points {
            let _ = Command::new("umount").args(["-l", point]).status();
        }
    }
}
