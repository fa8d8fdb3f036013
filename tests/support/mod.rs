//! Test harness shared by every integration test module.
//!
//! - [`zuul_image`] runs the binary with a clean environment;
//! - [`distribution::Distribution`] is a real distribution registry (TLS,
//!   htpasswd) on 127.0.0.1;
//! - [`docker::PrivateDocker`] is the run's private dockerd (started by
//!   `tests/run-all.sh`);
//! - [`images`] makes FROM-scratch images: OCI layouts for skopeo, build
//!   contexts for docker.

#![allow(dead_code)]

pub mod buildset;
pub mod distribution;
pub mod docker;
pub mod images;
pub mod tls;

use assert_cmd::Command;
use std::path::Path;

/// The reason on every test that needs real components.
pub const REAL: &str = "needs real components: run tests/run-all.sh";

/// The zuul-image binary, with `ZUUL_IMAGE_*` and `DOCKER_*` variables of
/// the test process removed so tests see only what they set.
pub fn zuul_image() -> Command {
    let mut command = Command::cargo_bin("zuul-image").expect("the zuul-image binary is built");
    command.env_remove("ZUUL_IMAGE_LOG").env("NO_COLOR", "1");
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
