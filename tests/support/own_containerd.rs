//! A containerd that one test owns (the one Debian's docker.io ships): its
//! own config, `--root`, `--state`, socket and `opt` directory in a temp
//! dir, the CRI plugin off, so it never touches the machine's containerd.
//! [`OwnContainerd::ctr`] is a `ctr` talking to it. Dropping it stops the
//! daemon and removes everything.

use super::wait_until;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct OwnContainerd {
    child: Child,
    pub dir: tempfile::TempDir,
}

impl OwnContainerd {
    pub fn start() -> OwnContainerd {
        // Short paths: unix socket paths are limited to 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("zic")
            .tempdir_in("/tmp")
            .unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let config = format!(
            "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\n\
             [grpc]\n  address = \"{socket}\"\n\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{opt}\"\n",
            root = path("root"),
            state = path("state"),
            socket = path("c.sock"),
            opt = path("opt"),
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd is installed (Debian's docker.io ships it)");
        let mut containerd = OwnContainerd { child, dir };
        wait_until("containerd to answer", Duration::from_secs(30), || {
            if let Ok(Some(status)) = containerd.child.try_wait() {
                panic!("containerd exited ({status}):\n{}", containerd.log());
            }
            containerd
                .ctr()
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
        containerd
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    /// A `ctr` command for this daemon.
    pub fn ctr(&self) -> Command {
        let mut command = Command::new("ctr");
        command.arg("--address").arg(self.socket());
        command
    }

    /// `ctr images pull` of `reference` with registry hosts from
    /// `hosts_dir` (the `native` snapshotter: no mounts needed).
    pub fn pull(&self, hosts_dir: &Path, reference: &str) -> std::process::Output {
        self.ctr()
            .args(["images", "pull", "--snapshotter", "native", "--hosts-dir"])
            .arg(hosts_dir)
            .arg(reference)
            .output()
            .expect("ctr is installed (Debian's docker.io ships it)")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }
}

impl Drop for OwnContainerd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while matches!(self.child.try_wait(), Ok(None)) {
            if std::time::Instant::now() >= deadline {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.wait();
    }
}
