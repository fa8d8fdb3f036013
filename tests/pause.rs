//! `pause`: `zuul.pause` only when this job runs the buildset registry.

use crate::support::{write, zuul_image};
use serde_json::{Value, json};

fn stdout_json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

#[test]
fn pauses_when_no_buildset_registry_is_defined() {
    let output = zuul_image().arg("pause").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        stdout_json(&output),
        json!({"data": {"zuul": {"pause": true}}, "secret_data": {}})
    );
}

#[test]
fn returns_nothing_when_a_parent_runs_the_registry() {
    let output = zuul_image()
        .args([
            "pause",
            "-e",
            r#"buildset_registry={"host":"10.0.0.1","port":5000}"#,
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(stdout_json(&output), json!({"data": {}, "secret_data": {}}));
}

#[test]
fn registry_started_in_this_job_still_pauses() {
    // run-buildset-registry earlier in this job left the registry in the
    // results file, not in the variables: this job runs it, so it pauses.
    let dir = tempfile::tempdir().unwrap();
    let results = write(
        dir.path(),
        "results.json",
        r#"{"data":{},"secret_data":{"buildset_registry":{"host":"10.0.0.1","port":"5000","username":"zuul","password":"pw"}}}"#,
    );
    zuul_image()
        .args(["pause", "--results", &results])
        .assert()
        .success()
        .stdout("");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    assert_eq!(stored["data"], json!({"zuul": {"pause": true}}));
    assert_eq!(
        stored["secret_data"]["buildset_registry"]["password"],
        json!("pw")
    );
}

#[test]
fn nothing_to_return_leaves_the_results_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let results = write(dir.path(), "results.json", "");
    zuul_image()
        .args(["pause", "--results", &results, "-e"])
        .arg(r#"buildset_registry={"host":"10.0.0.1","port":"5000"}"#)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&results).unwrap(), "");
}
