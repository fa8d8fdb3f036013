//! `ensure-docker`: bad input stops it before anything changes; with a
//! real dockerd owned by the test, it starts a stopped daemon, leaves a
//! running and configured one alone, reloads for a new mirror (containers
//! keep running) and writes the small-MTU setting.

use crate::support::own_dockerd::OwnDockerd;
use crate::support::{fixtures::tree, run, zuul_image};
use std::time::Duration;

fn rejects(extra: &[&str], files: &[(&str, &str)], expected: &str) {
    let root = tempfile::tempdir().unwrap();
    for (path, text) in files {
        crate::support::write(root.path(), path, text);
    }
    let before = tree(root.path());
    let socket = root.path().join("none.sock");
    let output = zuul_image()
        .args(extra)
        .arg("ensure-docker")
        .arg("--root")
        .arg(root.path())
        .arg(format!("--docker-host=unix://{}", socket.display()))
        .assert()
        .code(2);
    crate::support::stderr_containing(&output, expected);
    assert_eq!(tree(root.path()), before, "files were written");
}

#[test]
fn bad_input_changes_nothing() {
    rejects(
        &[],
        &[("etc/docker/daemon.json", "{\n  \"mtu\": 1400,,\n}\n")],
        "failed to parse `/etc/docker/daemon.json` at line 2",
    );
    rejects(
        &["-e", "mirror_info={\"dockerhub\": {\"host\": \"m\"}}"],
        &[],
        "`mirror_info.dockerhub.url`",
    );
    rejects(
        &["-e", "docker_userland_proxy=[1]"],
        &[],
        "`docker_userland_proxy`",
    );
    rejects(
        &["-e", "docker_insecure_registries=\"m:1\""],
        &[],
        "`docker_insecure_registries`",
    );
}

fn ensure(dockerd: &OwnDockerd, vars: &[&str]) -> String {
    let output = zuul_image()
        .env_remove("DOCKER_HOST")
        .args(vars)
        .args(dockerd.ensure_docker_args())
        .timeout(Duration::from_secs(180))
        .assert()
        .success();
    crate::support::stderr(&output)
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn starts_a_stopped_daemon_and_leaves_a_running_one_alone() {
    let dockerd = OwnDockerd::new();
    // A cloud with a small MTU, and a site key in daemon.json.
    crate::support::write(
        dockerd.root.path(),
        "proc/net/route",
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n\
         ens3\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
    );
    crate::support::write(dockerd.root.path(), "sys/class/net/ens3/mtu", "1450\n");
    crate::support::write(
        dockerd.root.path(),
        "etc/docker/daemon.json",
        "{\"labels\": [\"site=kept\"]}\n",
    );
    assert!(!dockerd.is_up());

    let stderr = ensure(&dockerd, &[]);
    assert!(stderr.contains("started docker"), "{stderr}");
    assert!(dockerd.is_up());
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dockerd.path("etc/docker/daemon.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        config,
        serde_json::json!({"labels": ["site=kept"], "mtu": 1400})
    );
    let info = run(dockerd.cli().args(["info", "--format", "{{json .Labels}}"]));
    assert!(
        info.contains("site=kept"),
        "the daemon did not read its config: {info}"
    );
    let pid = dockerd.pid().expect("a pidfile");

    // Running and configured: nothing changes, nothing restarts.
    let files = tree(dockerd.root.path().join("etc").as_path());
    let stderr = ensure(&dockerd, &[]);
    assert!(stderr.contains("nothing to do"), "{stderr}");
    assert_eq!(dockerd.pid(), Some(pid));
    assert_eq!(tree(dockerd.root.path().join("etc").as_path()), files);

    // A new mirror is a reload: a running container keeps running.
    let container = dockerd.run_sleeper();
    let stderr = ensure(
        &dockerd,
        &["-e", "docker_mirror=http://mirror.example:8082"],
    );
    assert!(stderr.contains("reloaded dockerd"), "{stderr}");
    assert_eq!(dockerd.pid(), Some(pid), "dockerd was restarted");
    let mirrors = run(dockerd
        .cli()
        .args(["info", "--format", "{{json .RegistryConfig.Mirrors}}"]));
    assert!(mirrors.contains("http://mirror.example:8082/"), "{mirrors}");
    assert!(dockerd.is_running(&container), "the container was stopped");

    // Stopped: it is started again, with its configuration.
    dockerd.stop();
    assert!(!dockerd.is_up());
    let stderr = ensure(
        &dockerd,
        &["-e", "docker_mirror=http://mirror.example:8082"],
    );
    assert!(stderr.contains("started docker"), "{stderr}");
    let mirrors = run(dockerd
        .cli()
        .args(["info", "--format", "{{json .RegistryConfig.Mirrors}}"]));
    assert!(mirrors.contains("http://mirror.example:8082/"), "{mirrors}");
}
