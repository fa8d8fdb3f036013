//! Commands that change the machine say they must run as root, before
//! doing anything, when an unprivileged user runs them (a Zuul node logged
//! in as `zuul` without `become`).

use std::path::Path;
use std::process::{Command, Output};

/// Run zuul-image as an unprivileged user: as `nobody` through `setpriv`
/// when the tests run as root, else as the user running the tests.
fn as_unprivileged(args: &[&str]) -> Output {
    let bin = assert_cmd::cargo::cargo_bin("zuul-image");
    let mut command = if nix::unistd::geteuid().is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin);
        c
    } else {
        Command::new(bin)
    };
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env("HOME", "/nonexistent")
        .current_dir("/");
    command.output().expect("zuul-image starts")
}

fn assert_needs_root(output: &Output, command: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
    assert!(
        stderr.contains(&format!("`{command}` must run as root"))
            && stderr.contains("`become: true`"),
        "{command}: {stderr}"
    );
    assert!(output.stdout.is_empty(), "{command} printed data");
}

#[test]
fn ensure_docker_says_to_run_as_root() {
    assert_needs_root(&as_unprivileged(&["ensure-docker"]), "ensure-docker");
}

#[test]
fn use_buildset_registry_says_to_run_as_root() {
    let output = as_unprivileged(&[
        "use-buildset-registry",
        "-e",
        r#"buildset_registry={"host":"10.0.0.1","port":5000,"password":"pw"}"#,
    ]);
    assert_needs_root(&output, "use-buildset-registry");
}

#[test]
fn run_buildset_registry_on_a_privileged_port_says_to_run_as_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("registry");
    let root_arg = root.display().to_string();
    let output = as_unprivileged(&[
        "run-buildset-registry",
        "--host",
        "127.0.0.1",
        "--port",
        "443",
        "--root",
        &root_arg,
    ]);
    assert_needs_root(&output, "run-buildset-registry");
    assert!(!Path::new(&root).exists(), "something was written");
}

/// Under `--root DIR` the files are the caller's own: no root needed.
#[test]
fn another_root_needs_no_privilege() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let output = as_unprivileged(&[
        "use-buildset-registry",
        "--root",
        &root,
        "-e",
        r#"buildset_registry={"host":"10.0.0.1","port":5000,"password":"pw"}"#,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("must run as root"), "{stderr}");
    assert!(stderr.contains("`buildset_registry.cert`"), "{stderr}");
}
