//! The global command-line contract: help and version, exit statuses, and
//! every bad-input case of the foundation issue (each exits 2, names the
//! file or key path, and writes nothing).

use crate::support::{COMMANDS, write, zuul_image};
use predicates::str::contains;

#[test]
fn help_lists_every_command_and_global_option() {
    let assert = zuul_image().arg("--help").assert().success();
    let help = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for command in COMMANDS {
        assert!(help.contains(command), "--help lacks `{command}`");
    }
    for option in [
        "--vars",
        "--extra-var",
        "--results",
        "--quiet",
        "--verbose",
        "--color",
    ] {
        assert!(help.contains(option), "--help lacks `{option}`");
    }
    for command in COMMANDS {
        zuul_image().args([command, "--help"]).assert().success();
    }
}

#[test]
fn version() {
    zuul_image()
        .arg("--version")
        .assert()
        .success()
        .stdout(contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn unknown_command_and_flag_are_usage_errors() {
    zuul_image().arg("frobnicate").assert().code(2);
    zuul_image()
        .args(["pause", "--frobnicate"])
        .assert()
        .code(2);
    zuul_image().assert().code(2);
}

/// Run `pause` with `args`; expect exit 2, an empty stdout, stderr holding
/// every needle, and the results file untouched.
fn bad_input(args: &[&str], needles: &[&str]) {
    bad_input_to("pause", args, needles);
}

/// Like [`bad_input`] for `command`, one that reads the variable at fault.
fn bad_input_to(command: &str, args: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let results = write(dir.path(), "results.json", "");
    let mut assert = zuul_image()
        .args([command, "--results", &results])
        .args(args)
        .assert()
        .code(2)
        .stdout("");
    for needle in needles {
        assert = assert.stderr(contains(*needle));
    }
    assert_eq!(
        std::fs::read_to_string(&results).unwrap(),
        "",
        "the results file was written"
    );
}

#[test]
fn malformed_json_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let vars = write(
        dir.path(),
        "vars.json",
        "{\n  \"zuul\": {\n    \"build\": 12,,\n  }\n}\n",
    );
    bad_input(&["--vars", &vars], &["vars.json", "line 3", "invalid JSON"]);
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let vars = write(
        dir.path(),
        "vars.yaml",
        "zuul:\n  build: abc\n docker_images: [\n",
    );
    bad_input(&["--vars", &vars], &["vars.yaml", "line 3", "invalid YAML"]);
}

#[test]
fn vars_file_that_is_not_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let vars = write(dir.path(), "vars.yaml", "- one\n- two\n");
    bad_input(
        &["--vars", &vars],
        &["vars.yaml", "must hold a mapping", "not a list"],
    );
}

#[test]
fn missing_vars_file() {
    bad_input(
        &["--vars", "/nonexistent/vars.yaml"],
        &["/nonexistent/vars.yaml"],
    );
}

#[test]
fn docker_images_not_a_list() {
    bad_input_to(
        "push-to-intermediate",
        &["-e", r#"docker_images={"repository":"org/app"}"#],
        &["`docker_images`", "expected a list"],
    );
}

#[test]
fn image_entry_without_repository() {
    let dir = tempfile::tempdir().unwrap();
    let vars = write(
        dir.path(),
        "images.yaml",
        "docker_images:\n  - context: .\n    repository: org/app\n  - context: other\n",
    );
    bad_input_to(
        "push-to-intermediate",
        &["--vars", &vars],
        &[
            "`docker_images[1]`",
            "images.yaml",
            "missing field `repository`",
        ],
    );
}

#[test]
fn tag_that_is_not_a_valid_tag() {
    bad_input_to(
        "push-to-intermediate",
        &[
            "-e",
            r#"container_images=[{"repository":"quay.io/org/app","tags":["ok","not valid"]}]"#,
        ],
        &["`container_images[0].tags[1]`", "invalid tag `not valid`"],
    );
}

#[test]
fn artifact_without_url() {
    bad_input_to(
        "pull-from-intermediate",
        &[
            "-e",
            r#"zuul={"artifacts":[{"name":"org/app:latest","metadata":{"type":"container_image"}}]}"#,
        ],
        &["`zuul.artifacts[0]`", "missing field `url`"],
    );
}

#[test]
fn extra_var_without_equals() {
    bad_input(
        &["-e", "buildset_registry"],
        &["`-e buildset_registry` is not KEY=VALUE"],
    );
}

#[test]
fn buildset_registry_with_a_bad_port() {
    bad_input(
        &[
            "-e",
            r#"buildset_registry={"host":"10.0.0.1","port":"http"}"#,
        ],
        &["`buildset_registry.port`", "not a port number"],
    );
}

/// Issue 8: a command validates only the variables it reads. A malformed
/// `docker_images` does not fail `pause` or `run-buildset-registry --stop`,
/// and fails `push-to-intermediate`, which reads it, naming the key path.
#[test]
fn an_unrelated_malformed_variable_fails_only_the_commands_that_read_it() {
    let malformed = r#"docker_images=[{"repository":"org/app","tags":"latest"}]"#;
    zuul_image()
        .args(["pause", "-e", malformed])
        .assert()
        .success()
        .stdout(contains(r#""pause":true"#));
    let dir = tempfile::tempdir().unwrap();
    zuul_image()
        .args(["run-buildset-registry", "--stop", "--root"])
        .arg(dir.path())
        .args(["-e", malformed])
        .assert()
        .success()
        .stderr(contains("no registry is running"));
    zuul_image()
        .args(["run-buildset-registry", "-e", malformed, "-e"])
        .arg(r#"buildset_registry={"host":"10.0.0.1","port":5000}"#)
        .assert()
        .success()
        .stdout(r#"{"data":{},"secret_data":{}}"#.to_owned() + "\n");
    zuul_image()
        .args(["push-to-intermediate", "-e", malformed])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("`docker_images[0].tags` (from -e)"));
}

#[test]
fn missing_required_variable_for_a_command() {
    zuul_image()
        .args([
            "push-to-intermediate",
            "-e",
            r#"docker_images=[{"repository":"org/app"}]"#,
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr(contains("missing variable `intermediate_registry`"))
        .stderr(contains("push-to-intermediate"));
}

#[test]
fn vars_from_stdin_and_later_sources_win() {
    // YAML on stdin sets buildset_registry; `-e` then removes it (null is
    // undefined), so the job pauses.
    zuul_image()
        .args(["pause", "--vars", "-", "-e", "buildset_registry=null"])
        .write_stdin("buildset_registry:\n  host: 10.0.0.1\n  port: 5000\n")
        .assert()
        .success()
        .stdout(contains(r#""pause":true"#));
    zuul_image()
        .args(["pause", "--vars", "-"])
        .write_stdin("{\"buildset_registry\": {\"host\": \"10.0.0.1\", \"port\": \"5000\"}}")
        .assert()
        .success()
        .stdout(r#"{"data":{},"secret_data":{}}"#.to_owned() + "\n");
}

#[test]
fn secrets_never_reach_stderr() {
    let assert = zuul_image()
        .args(["push-to-intermediate", "-v", "-e"])
        .arg(r#"buildset_registry={"host":"10.0.0.1","port":"http","password":"hunter2-secret"}"#)
        .assert()
        .code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");
}

/// Issue 9: a regular file given as `--root` (or `--storage`) was exit 1
/// once a command tried to write under it, or exit 0 for `--stop`. Every
/// command that takes one refuses it as bad input and leaves it alone.
#[test]
fn issue_9_a_file_as_root_is_exit_2_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "not-a-dir", "data\n");
    let registry = r#"buildset_registry={"host":"10.0.0.1","port":5000,"cert":"x"}"#;
    let cases: [(&[&str], &str); 9] = [
        (
            &[
                "run-buildset-registry",
                "--host",
                "127.0.0.1",
                "--root",
                &file,
            ],
            "--root",
        ),
        (
            &["run-buildset-registry", "--stop", "--root", &file],
            "--root",
        ),
        (&["registry", "stop", "--root", &file], "--root"),
        (
            &["registry", "prune", "--older-than", "1h", "--root", &file],
            "--root",
        ),
        (
            &[
                "registry",
                "prune",
                "--older-than",
                "1h",
                "--storage",
                &file,
            ],
            "--storage",
        ),
        (&["registry", "serve", "--storage", &file], "--storage"),
        (&["ensure-docker", "--root", &file], "--root"),
        (
            &["use-buildset-registry", "-e", registry, "--root", &file],
            "--root",
        ),
        (
            &[
                "run-buildset-registry",
                "--stop",
                "-e",
                &format!("buildset_registry_root={file}"),
            ],
            "`buildset_registry_root`",
        ),
    ];
    for (args, named) in cases {
        let output = zuul_image().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
        assert!(stderr.contains("is not a directory"), "{args:?}: {stderr}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "data\n");
    }
}

/// Issue 9: a missing `buildset_registry` did not say that the results
/// file was looked in too, nor how to pass the variable; `-e zuul.build=x`
/// was refused as "not KEY=VALUE".
#[test]
fn issue_9_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("host");
    std::fs::create_dir(&host).unwrap();
    let use_registry = || {
        let mut command = zuul_image();
        command
            .arg("use-buildset-registry")
            .arg("--root")
            .arg(&host);
        command
    };
    use_registry()
        .assert()
        .code(2)
        .stderr(contains("missing variable `buildset_registry`"))
        .stderr(contains("no results file was given to look in"))
        .stderr(contains("`--vars FILE` (`buildset_registry: {host, port"))
        .stderr(contains("run-buildset-registry --results FILE"));
    let results = write(dir.path(), "results.json", r#"{"data": {"other": 1}}"#);
    use_registry()
        .args(["--results", &results])
        .assert()
        .code(2)
        .stderr(contains(format!(
            "nor in `secret_data` of the results file `{results}`"
        )));
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), 0);

    bad_input(
        &["-e", "zuul.build=x"],
        &[
            "`-e zuul.build=…`: `-e` sets top-level variables",
            r#"-e 'zuul={"build":"x"}'"#,
            "--vars FILE",
        ],
    );
}
