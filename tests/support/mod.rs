//! Test harness shared by every integration test module.
//!
//! - [`zuul_image`] runs the binary with a clean environment;
//! - [`distribution::Distribution`] is a real distribution registry (TLS,
//!   htpasswd) on 127.0.0.1 or `[::1]`;
//! - [`docker::PrivateDocker`] is the run's private dockerd (started by
//!   `tests/run-all.sh`); [`own_dockerd::OwnDockerd`] and
//!   [`own_containerd::OwnContainerd`] are daemons one test owns;
//! - [`real_host`] holds the test's changes to the machine's own files and
//!   undoes them on drop;
//! - [`images`] makes FROM-scratch images: OCI layouts for skopeo, build
//!   contexts for docker;
//! - [`seaweedfs::Seaweed`] is a real S3 store (one `weed mini`, or a
//!   replicated cluster), [`haproxy::Haproxy`] a real load balancer, and
//!   [`replicas::Replicas`] several `registry serve` on one bucket behind it.
//! - [`web_apis`] stands in for Docker Hub's and Quay's web APIs in front
//!   of a real distribution.

#![allow(dead_code)]

pub mod ansible;
pub mod buildset;
pub mod distribution;
pub mod docker;
pub mod fixtures;
pub mod haproxy;
pub mod images;
pub mod load;
pub mod own_containerd;
pub mod own_dockerd;
pub mod proxy;
pub mod real_host;
pub mod replicas;
pub mod seaweedfs;
pub mod served;
pub mod tls;
pub mod web_apis;

use assert_cmd::Command;
use std::path::Path;

/// What tests need of any registry fixture (distribution or the embedded
/// buildset registry) to drive it with skopeo.
pub trait TestRegistry {
    /// `127.0.0.1:<port>` (or `[::1]:<port>`).
    fn address(&self) -> String;
    /// A directory holding only the CA as `ca.crt`.
    fn cert_dir(&self) -> std::path::PathBuf;
    /// An auth file (0600) with a user that may write.
    fn auth_file(&self) -> std::path::PathBuf;
}

impl TestRegistry for distribution::Distribution {
    fn address(&self) -> String {
        distribution::Distribution::address(self)
    }
    fn cert_dir(&self) -> std::path::PathBuf {
        distribution::Distribution::cert_dir(self)
    }
    fn auth_file(&self) -> std::path::PathBuf {
        distribution::Distribution::auth_file(self)
    }
}

impl TestRegistry for buildset::BuildsetRegistry {
    fn address(&self) -> String {
        buildset::BuildsetRegistry::address(self)
    }
    fn cert_dir(&self) -> std::path::PathBuf {
        buildset::BuildsetRegistry::cert_dir(self)
    }
    fn auth_file(&self) -> std::path::PathBuf {
        buildset::BuildsetRegistry::auth_file(self)
    }
}

/// Every command of the CLI contract (design.md).
pub const COMMANDS: [&str; 11] = [
    "ensure-docker",
    "run-buildset-registry",
    "use-buildset-registry",
    "pull-from-intermediate",
    "push-to-intermediate",
    "build-image",
    "upload-image",
    "promote-image",
    "pause",
    "registry",
    "completions",
];

/// The reason on every test that needs real components.
pub const REAL: &str = "needs real components: run tests/run-all.sh";

/// The zuul-image binary, with `ZUUL_IMAGE_*` and `DOCKER_*` variables of
/// the test process removed so tests see only what they set.
pub fn zuul_image() -> Command {
    let mut command = Command::cargo_bin("zuul-image").expect("the zuul-image binary is built");
    command.env_remove("ZUUL_IMAGE_LOG").env("NO_COLOR", "1");
    command
}

/// skopeo, kept away from any auth file of the machine.
pub fn skopeo() -> std::process::Command {
    let mut command = std::process::Command::new("skopeo");
    command.env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json");
    command
}

/// Write `contents` to `dir/name` and return the path as a string.
pub fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

/// Write an `/etc/passwd` holding only root under `root`, as a fresh
/// machine has for the host commands that look users up.
pub fn write_passwd(root: &Path) {
    write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
}

/// What a finished zuul-image run printed on stderr.
pub fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// [`stderr`], which must contain `expected`.
pub fn stderr_containing(assert: &assert_cmd::assert::Assert, expected: &str) -> String {
    let stderr = stderr(assert);
    assert!(
        stderr.contains(expected),
        "expected `{expected}` in:\n{stderr}"
    );
    stderr
}

/// Run a command, panicking with its output when it fails.
pub fn run(command: &mut std::process::Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("failed to start {command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests
/// that start their server right away).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Poll `ready` every 50 ms until it is true or `timeout` passes.
pub fn wait_until(what: &str, timeout: std::time::Duration, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
