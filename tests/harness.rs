//! The real components the suite relies on, shown working: the private
//! dockerd builds and runs a FROM-scratch image and pushes it to a TLS +
//! htpasswd distribution registry; skopeo pushes an OCI layout (single and
//! two-platform) to it with credentials from an auth file.

use crate::support::distribution::Distribution;
use crate::support::docker::PrivateDocker;
use crate::support::images::{self, Image};
use crate::support::{REAL, run};
use std::process::Command;

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn private_dockerd_builds_runs_and_pushes_a_scratch_image() {
    let _ = REAL;
    let docker = PrivateDocker::get();
    let dir = tempfile::tempdir().unwrap();
    let context = images::busybox_context(&dir.path().join("ctx"));
    run(docker
        .cli()
        .args(["build", "-q", "-t", "example/harness:latest"])
        .arg(&context));
    let out =
        run(docker
            .cli()
            .args(["run", "--rm", "--network", "none", "example/harness:latest"]));
    assert_eq!(out.trim(), "hello");

    let mut registry = Distribution::start();
    registry.trust_in_docker();
    let target = format!("{}/example/harness:latest", registry.address());
    run(docker
        .cli()
        .args(["tag", "example/harness:latest", &target]));
    // Unauthenticated push is refused by htpasswd.
    let refused = docker.cli().args(["push", &target]).output().unwrap();
    assert!(
        !refused.status.success(),
        "push without credentials succeeded"
    );
    // Log in with the password on stdin, in a throw-away client config.
    let config = dir.path().join("docker-config");
    let mut login = docker.cli();
    login
        .env("DOCKER_CONFIG", &config)
        .args([
            "login",
            "--username",
            &registry.username,
            "--password-stdin",
            &registry.address(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null());
    let mut child = login.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(registry.password.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "docker login failed");
    run(docker
        .cli()
        .env("DOCKER_CONFIG", &config)
        .args(["push", &target]));
    run(docker
        .cli()
        .args(["rmi", &target, "example/harness:latest"]));
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn distribution_accepts_an_authenticated_skopeo_push() {
    let registry = Distribution::start();
    let dir = tempfile::tempdir().unwrap();
    let image = Image::busybox();
    let layout = images::image_layout(&dir.path().join("single"), &image);
    // Without credentials: refused.
    let refused = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-cert-dir"])
        .arg(registry.cert_dir())
        .arg(format!("oci:{}", layout.display()))
        .arg(format!(
            "docker://{}/example/single:latest",
            registry.address()
        ))
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "push without credentials succeeded"
    );
    images::skopeo_push(
        &layout,
        &format!("{}/example/single:latest", registry.address()),
        &registry.cert_dir(),
        Some(&registry.auth_file()),
    );
    let index_layout = dir.path().join("multi");
    let index = images::two_platform_layout(&index_layout);
    images::skopeo_push(
        &index_layout,
        &format!("{}/example/multi:latest", registry.address()),
        &registry.cert_dir(),
        Some(&registry.auth_file()),
    );
    // The index arrives byte-exact: its digest is the one we made.
    let inspect = run(Command::new("skopeo")
        .args(["inspect", "--raw", "--cert-dir"])
        .arg(registry.cert_dir())
        .arg("--authfile")
        .arg(registry.auth_file())
        .arg(format!(
            "docker://{}/example/multi:latest",
            registry.address()
        )));
    assert_eq!(images::sha256(inspect.as_bytes()), images::sha256(&index));
    assert_eq!(image.digest(), images::sha256(&image.manifest));
}
