//! `--results`: return data merged into a results file with zuul_return's
//! rules, atomically and with mode 0600; bad files are never touched.

use crate::support::{write, zuul_image};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;

fn read(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn two_successive_merges() {
    let dir = tempfile::tempdir().unwrap();
    // The executor pre-creates an empty file; earlier calls left data.
    let results = write(
        dir.path(),
        "results.json",
        r#"{"data":{"zuul":{"artifacts":[{"name":"old","url":"u0"}],"child_jobs":["a","b"]},"keep":1},"secret_data":{}}"#,
    );
    std::fs::set_permissions(&results, std::fs::Permissions::from_mode(0o644)).unwrap();
    zuul_image()
        .args(["pause", "--results", &results])
        .assert()
        .success();
    zuul_image()
        .args(["pause", "--results", &results])
        .assert()
        .success();
    let stored = read(&results);
    assert_eq!(
        stored,
        json!({"data": {"zuul": {"artifacts": [{"name": "old", "url": "u0"}], "child_jobs": ["a", "b"], "pause": true}, "keep": 1}, "secret_data": {}})
    );
    let mode = std::fs::metadata(&results).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "results hold secrets and must be 0600");
}

#[test]
fn a_missing_results_file_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("work/results.json").display().to_string();
    zuul_image()
        .args(["pause", "--results", &results])
        .assert()
        .success();
    assert_eq!(read(&results)["data"]["zuul"]["pause"], json!(true));
}

#[test]
fn invalid_results_json_is_an_input_error_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let results = write(dir.path(), "results.json", "{\"data\": {\n  oops\n");
    zuul_image()
        .args(["pause", "--results", &results])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("results.json"))
        .stderr(predicates::str::contains("line 2"));
    assert_eq!(
        std::fs::read_to_string(&results).unwrap(),
        "{\"data\": {\n  oops\n"
    );
}

#[test]
fn a_results_file_that_is_not_an_envelope_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let results = write(
        dir.path(),
        "results.json",
        r#"{"data": [], "secret_data": {}}"#,
    );
    zuul_image()
        .args(["pause", "--results", &results])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("`data` must be an object"));
    assert_eq!(
        std::fs::read_to_string(&results).unwrap(),
        r#"{"data": [], "secret_data": {}}"#
    );
}
