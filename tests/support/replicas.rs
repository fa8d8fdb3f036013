//! Several `zuul-image registry serve` replicas on one S3 bucket and
//! prefix, behind [`Haproxy`] (TLS at the load balancer, plain HTTP to the
//! replicas, `public-url` pointing at the load balancer), sharing users
//! and a `token-key` as the README says a site must. Each replica logs to
//! its own file (with `ZUUL_IMAGE_LOG=trace`, so tests can check that no
//! key ever reaches a log line) and can be SIGKILLed and started again.

use super::haproxy::Haproxy;
use super::seaweedfs::{ACCESS_KEY, SECRET_KEY, Seaweed};
use super::tls::{TestCerts, server_certs};
use super::{TestRegistry, free_port};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const USER: &str = "zuul";

/// The token signing key every replica shares.
pub const TOKEN_KEY: &str = "replicas-share-this-token-signing-key";

pub struct Replicas {
    dir: tempfile::TempDir,
    children: Vec<Option<Child>>,
    pub ports: Vec<u16>,
    pub password: String,
    pub certs: TestCerts,
    pub lb: Haproxy,
}

impl Replicas {
    /// `count` replicas on `bucket` of `weed` under `prefix`.
    pub fn start(weed: &Seaweed, bucket: &str, prefix: &str, count: usize) -> Replicas {
        let dir = tempfile::tempdir().unwrap();
        let certs = server_certs(&[]);
        let ports: Vec<u16> = (0..count).map(|_| free_port()).collect();
        let lb = Haproxy::round_robin(&ports, &certs);
        let password = super::seaweedfs::SECRET_KEY
            .chars()
            .rev()
            .collect::<String>();
        std::fs::create_dir_all(dir.path().join("trust")).unwrap();
        std::fs::write(dir.path().join("trust/ca.crt"), &certs.ca_pem).unwrap();
        for (index, port) in ports.iter().enumerate() {
            let config = format!(
                "listen: 127.0.0.1:{port}\n\
                 public-url: https://{lb}\n\
                 token-key: {TOKEN_KEY}\n\
                 anonymous-read: false\n\
                 users:\n  - name: {USER}\n    password: \"{password}\"\n    access: write\n\
                 storage:\n  s3:\n    endpoint: {endpoint}\n    bucket: {bucket}\n    prefix: {prefix}\n    access-key: {ACCESS_KEY}\n\
                 limits:\n  upload-expiry: 10m\n",
                lb = lb.address(),
                endpoint = weed.endpoint(),
            );
            let path = dir.path().join(format!("r{index}.yaml"));
            std::fs::write(&path, config).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let mut replicas = Replicas {
            dir,
            children: (0..count).map(|_| None).collect(),
            ports,
            password,
            certs,
            lb,
        };
        for index in 0..count {
            replicas.start_one(index);
        }
        replicas.wait_for_lb();
        replicas
    }

    /// Wait until the load balancer has every replica up: as many answers
    /// from replicas in a row as there are replicas, twice.
    pub fn wait_for_lb(&self) {
        let mut in_a_row = 0;
        super::wait_until(
            "haproxy to see the replicas",
            Duration::from_secs(30),
            || {
                let status = Command::new("curl")
                    .args([
                        "-s",
                        "-o",
                        "/dev/null",
                        "-m",
                        "2",
                        "-w",
                        "%{http_code}",
                        "--cacert",
                    ])
                    .arg(self.dir.path().join("trust/ca.crt"))
                    .arg(format!("https://{}/v2/", self.lb.address()))
                    .output()
                    .map(|output| output.stdout == b"401")
                    .unwrap_or(false);
                in_a_row = if status { in_a_row + 1 } else { 0 };
                in_a_row >= 2 * self.ports.len()
            },
        );
    }

    /// The config file of replica `index` (for `registry prune --config`).
    pub fn config(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("r{index}.yaml"))
    }

    fn log_path(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("r{index}.log"))
    }

    /// Start replica `index` and wait until it answers.
    pub fn start_one(&mut self, index: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(index))
            .unwrap();
        // The secret key only from the environment, as a site may do.
        let child = Command::new(env!("CARGO_BIN_EXE_zuul-image"))
            .args(["registry", "serve", "--config"])
            .arg(self.config(index))
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("ZUUL_IMAGE_LOG", "trace")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[index] = Some(child);
        let port = self.ports[index];
        // (The load balancer notices within its check interval.)
        super::wait_until(&format!("replica {index}"), Duration::from_secs(30), || {
            let answered = Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}"])
                .arg(format!("http://127.0.0.1:{port}/v2/"))
                .output()
                .map(|output| output.stdout == b"401")
                .unwrap_or(false);
            answered || self.exited(index)
        });
        assert!(
            !self.exited(index),
            "replica {index} exited:\n{}",
            self.log(index)
        );
    }

    fn exited(&mut self, index: usize) -> bool {
        match &mut self.children[index] {
            Some(child) => child.try_wait().ok().flatten().is_some(),
            None => true,
        }
    }

    /// SIGKILL replica `index`.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.children[index].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pid(&self, index: usize) -> Option<u32> {
        self.children[index].as_ref().map(Child::id)
    }

    pub fn log(&self, index: usize) -> String {
        std::fs::read_to_string(self.log_path(index)).unwrap_or_default()
    }

    /// Every replica's log.
    pub fn logs(&self) -> String {
        (0..self.ports.len())
            .map(|index| format!("--- replica {index} ---\n{}", self.log(index)))
            .collect()
    }

    /// Basic credentials for curl, in a config file (never in argv).
    pub fn curl_config(&self) -> PathBuf {
        let path = self.dir.path().join("curlrc");
        std::fs::write(
            &path,
            format!(
                "user = \"{USER}:{}\"\ncacert = \"{}\"\n",
                self.password,
                self.dir.path().join("trust/ca.crt").display()
            ),
        )
        .unwrap();
        path
    }

    /// The `intermediate_registry` variable for the load balancer.
    pub fn intermediate_registry_var(&self) -> serde_json::Value {
        serde_json::json!({
            "host": "127.0.0.1",
            "port": self.lb.port,
            "username": USER,
            "password": self.password,
            "cert": self.certs.ca_pem,
        })
    }
}

impl TestRegistry for Replicas {
    fn address(&self) -> String {
        self.lb.address()
    }

    fn cert_dir(&self) -> PathBuf {
        self.dir.path().join("trust")
    }

    fn auth_file(&self) -> PathBuf {
        use base64::Engine;
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join("auth.json");
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{}", self.password));
        let body = serde_json::json!({"auths": {self.address(): {"auth": token}}});
        // Written aside and renamed: skopeos running at once each ask for
        // it, and one must never read it half written.
        let aside = self.dir.path().join(format!(
            "auth.json.{}.{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&aside, body.to_string()).unwrap();
        std::fs::set_permissions(&aside, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::rename(&aside, &path).unwrap();
        path
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for index in 0..self.children.len() {
            self.kill(index);
        }
    }
}
