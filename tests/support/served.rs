//! `zuul-image registry serve` as a fixture for the reliability suite: TLS
//! (a generated CA), a `write` user with a random password in the 0600
//! config file, a fixed port on 127.0.0.1 so the server can be SIGKILLed
//! and started again on the same root and address, and an async HTTP client
//! that trusts it. Killed on drop.

use super::{free_port, wait_until};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const USER: &str = "pusher";

pub struct Served {
    child: Option<Child>,
    pub port: u16,
    pub password: String,
    pub ca_pem: String,
    pub dir: tempfile::TempDir,
    config: PathBuf,
    /// Where the storage root lives (the config's `root`).
    pub root: PathBuf,
    starts: usize,
}

impl Served {
    /// On a fresh temp dir, storage in `<dir>/storage`; `extra` is more
    /// YAML for the config file (top-level keys, e.g. a `limits:` block).
    pub fn start(extra: &str) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("storage");
        Served::start_on(dir, root, extra)
    }

    /// Like [`Served::start`], with the storage root at `root` (a tmpfs,
    /// say).
    pub fn start_on(dir: tempfile::TempDir, root: PathBuf, extra: &str) -> Served {
        let generated = zuul_image::server::tls::generate(&["127.0.0.1".into()]).unwrap();
        std::fs::write(dir.path().join("cert.pem"), &generated.cert_pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), &generated.key_pem).unwrap();
        let password = random_password();
        let port = free_port();
        let config = dir.path().join("registry.yaml");
        std::fs::write(
            &config,
            format!(
                "listen: 127.0.0.1:{port}\nroot: {}\ntls-cert: cert.pem\ntls-key: key.pem\n\
                 anonymous-read: false\nusers:\n  - name: {USER}\n    password: {password}\n    access: write\n{extra}",
                root.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut served = Served {
            child: None,
            port,
            password,
            ca_pem: generated.ca_pem,
            dir,
            config,
            root,
            starts: 0,
        };
        served.restart();
        served
    }

    /// (Re)start the server on the same config; waits until it listens.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(assert_cmd::cargo::cargo_bin("zuul-image"))
            .args(["registry", "serve", "--config"])
            .arg(&self.config)
            .env_remove("ZUUL_IMAGE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.starts += 1;
        let port = self.port;
        wait_until("registry serve to listen", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// SIGKILL the server and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// How many times the server was started.
    pub fn starts(&self) -> usize {
        self.starts
    }

    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("serve.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A directory with `ca.crt` (for skopeo, curl, openssl).
    pub fn ca_file(&self) -> PathBuf {
        let path = self.dir.path().join("ca.crt");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }

    /// An HTTP client trusting the server's CA, its user's Basic
    /// credentials on every request, at most `per_host` idle connections.
    pub fn client(&self) -> super::load::Client {
        super::load::Client::new(&self.base(), &self.ca_pem, Some((USER, &self.password)))
    }

    /// Peak RSS (VmHWM) of the running server, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        peak_rss_kib(self.pid())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}

/// VmHWM of `pid` in KiB (0 when it is gone).
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// 24 letters and digits.
pub fn random_password() -> String {
    use rand::Rng;
    use rand::distributions::Alphanumeric;
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

/// Whether `path` is on a file system of its own (a mount point).
pub fn is_mount_point(path: &Path) -> bool {
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .any(|line| line.split_whitespace().nth(1) == Some(&path.display().to_string()))
}
