//! `run-buildset-registry`: starts the embedded registry detached and
//! supervised, returns its connection data, reuses it on a second run,
//! restarts it when it dies, stops on request, and does nothing when a
//! parent job already runs one. Needs only the zuul-image binary.

use crate::support::buildset::BuildsetRegistry;
use crate::support::{wait_until, zuul_image};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

fn probe(registry: &BuildsetRegistry) -> Option<u16> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(zuul_image::server::buildset::probe(
            registry.port,
            &registry.ca_pem,
        ))
        .ok()
}

fn supervisor_pid(registry: &BuildsetRegistry) -> Option<i32> {
    std::fs::read_to_string(registry.root.path().join("run/supervisor.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// SIGKILL the `registry serve` process under the supervisor; returns
/// the pids of both.
pub(crate) fn kill_server(registry: &BuildsetRegistry) -> (i32, i32) {
    let supervisor = supervisor_pid(registry).expect("supervisor pidfile");
    let server = children(supervisor)[0];
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    (supervisor, server)
}

fn cmdline(pid: i32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
        .replace('\0', " ")
}

#[test]
fn returns_connection_data_and_reuses_the_running_registry() {
    let registry = BuildsetRegistry::start();
    assert_eq!(registry.value["host"], "127.0.0.1");
    assert_eq!(registry.value["port"], registry.port);
    assert_eq!(registry.username, "zuul");
    assert!(registry.password.len() >= 20);
    assert!(registry.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    // The CA verifies the server: a TLS request is answered (401: auth on).
    assert_eq!(probe(&registry), Some(401));

    for private in ["conf/registry.yaml", "tls/cert.key"] {
        let mode = std::fs::metadata(registry.root.path().join(private))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{private}");
    }
    // The password is on no command line.
    let supervisor = supervisor_pid(&registry).expect("supervisor pidfile");
    let mut processes = vec![supervisor];
    processes.extend(children(supervisor));
    assert_eq!(processes.len(), 2, "supervisor and its registry");
    for pid in processes {
        let line = cmdline(pid);
        assert!(line.contains("zuul-image registry"), "{line}");
        assert!(!line.contains(&registry.password));
    }

    // A second run reuses it and returns the same data.
    let again = zuul_image()
        .args(["run-buildset-registry", "--host", "127.0.0.1", "--port"])
        .arg(registry.port.to_string())
        .arg("--root")
        .arg(registry.root.path())
        .output()
        .unwrap();
    assert!(again.status.success());
    let envelope: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(envelope["secret_data"]["buildset_registry"], registry.value);
    assert_eq!(envelope["data"], serde_json::json!({}));
    assert_eq!(supervisor_pid(&registry), Some(supervisor), "not restarted");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already running"));
    // Another host on the same root is refused, not silently reused.
    let other = zuul_image()
        .args(["run-buildset-registry", "--host", "::1", "--port"])
        .arg(registry.port.to_string())
        .arg("--root")
        .arg(registry.root.path())
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stderr).contains("registry stop --root"));
}

#[test]
fn a_killed_registry_is_restarted_and_stop_ends_it() {
    let registry = BuildsetRegistry::start();
    let (supervisor, server) = kill_server(&registry);
    wait_until("a new registry process", Duration::from_secs(10), || {
        children(supervisor)
            .first()
            .is_some_and(|&pid| pid != server)
    });
    wait_until("the restarted registry", Duration::from_secs(10), || {
        probe(&registry).is_some()
    });

    let stop = zuul_image()
        .args(["run-buildset-registry", "--stop", "--root"])
        .arg(registry.root.path())
        .output()
        .unwrap();
    assert!(stop.status.success());
    assert!(String::from_utf8_lossy(&stop.stderr).contains("stopped"));
    assert_eq!(probe(&registry), None);
    assert!(supervisor_pid(&registry).is_none());
    assert!(
        !std::path::Path::new(&format!("/proc/{supervisor}/cmdline")).exists()
            || cmdline(supervisor).is_empty()
    );
    // Stopping again is fine.
    zuul_image()
        .args(["registry", "stop", "--root"])
        .arg(registry.root.path())
        .assert()
        .success();
}

#[test]
fn does_nothing_when_buildset_registry_is_defined() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let output = zuul_image()
        .args([
            "run-buildset-registry",
            "-e",
            r#"buildset_registry={"host":"10.0.0.1","port":5000}"#,
            "--root",
        ])
        .arg(&root)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        r#"{"data":{},"secret_data":{}}"#
    );
    assert!(!root.exists());
}

#[test]
fn results_file_gets_secret_data_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let results = dir.path().join("results.json");
    let port = crate::support::free_port();
    zuul_image()
        .args(["run-buildset-registry", "--results"])
        .arg(&results)
        .args(["-e", "buildset_registry_host=127.0.0.1", "-e"])
        .arg(format!("buildset_registry_port=\"{port}\""))
        .arg("-e")
        .arg(format!("buildset_registry_root={}", root.display()))
        .assert()
        .success()
        .stdout("");
    let mode = std::fs::metadata(&results).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    assert_eq!(value["secret_data"]["buildset_registry"]["port"], port);
    assert_eq!(value["data"], serde_json::json!({}));
    zuul_image()
        .args(["registry", "stop", "--root"])
        .arg(&root)
        .assert()
        .success();
}

#[test]
fn bad_variables_exit_2_naming_them() {
    for (var, name) in [
        ("buildset_registry_port=http", "buildset_registry_port"),
        ("buildset_registry_port=70000", "buildset_registry_port"),
        ("buildset_registry_host=bad host", "buildset_registry_host"),
    ] {
        let output = zuul_image()
            .args([
                "run-buildset-registry",
                "--root",
                "/nonexistent/x",
                "-e",
                var,
            ])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{var}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(name),
            "{var}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
