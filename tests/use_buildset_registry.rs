//! `use-buildset-registry`: fixture cases under `--root` (every file type:
//! site keys kept, existing mirrors, comments, unrelated `[[registry]]`, a
//! v1 registries.conf, an empty system; a second run changes no byte), bad
//! input (exit 2, nothing written), and real pulls through the mirror with
//! a private dockerd, podman and buildah.

use crate::support::fixtures::{assert_tree, case_dir, copy_tree, mtimes, tree};
use crate::support::zuul_image;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const COMMAND: &str = "use_buildset_registry";

fn vars_file(case: &Path) -> PathBuf {
    ["vars.json", "vars.yaml"]
        .iter()
        .map(|name| case.join(name))
        .find(|path| path.exists())
        .expect("a fixture case has vars.json or vars.yaml")
}

/// Run the command on a copy of `before/`, compare with `after/`, run it
/// again and check nothing changed; returns the root for more checks.
fn check_case(case: &str) -> tempfile::TempDir {
    let dir = case_dir(COMMAND, case);
    let root = tempfile::tempdir().unwrap();
    copy_tree(&dir.join("before"), root.path());
    let run = || {
        zuul_image()
            .env_remove("DOCKER_HOST")
            .arg("--root")
            .arg(root.path())
            .arg("--vars")
            .arg(vars_file(&dir))
            .arg("use-buildset-registry")
            .assert()
            .success()
    };
    let first = run();
    let stderr = String::from_utf8_lossy(&first.get_output().stderr).into_owned();
    assert!(!stderr.contains("buildset-password"), "{stderr}");
    assert_tree(root.path(), &dir.join("after"));
    let (files, times) = (tree(root.path()), mtimes(root.path()));
    let second = run();
    let stderr = String::from_utf8_lossy(&second.get_output().stderr).into_owned();
    assert!(
        !stderr.contains("updated"),
        "second run changed files:\n{stderr}"
    );
    assert_eq!(tree(root.path()), files, "second run changed bytes");
    assert_eq!(mtimes(root.path()), times, "second run touched files");
    root
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn empty_system() {
    let root = check_case("empty-system");
    assert_eq!(mode(&root.path().join("root/.docker/config.json")), 0o600);
    assert_eq!(mode(&root.path().join("root/.docker")), 0o700);
    assert_eq!(mode(&root.path().join("run/containers/0/auth.json")), 0o600);
    assert_eq!(mode(&root.path().join("etc/docker/daemon.json")), 0o644);
}

#[test]
fn site_config_is_kept() {
    let root = check_case("site-config");
    let config = root.path().join("home/zuul/.docker/config.json");
    assert_eq!(mode(&config), 0o600);
    let meta = std::fs::metadata(&config).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
    let auth = root.path().join("run/user/1000/containers/auth.json");
    assert_eq!(std::fs::metadata(auth).unwrap().uid(), 1000);
}

#[test]
fn v1_registries_conf_is_converted() {
    check_case("v1-registries-conf");
}

/// Bad input: exit 2, a message naming the problem, and no file written.
fn rejects(vars: serde_json::Value, files: &[(&str, &str)], expected: &str) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(
        root.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\n",
    )
    .unwrap();
    for (path, text) in files {
        crate::support::write(root.path(), path, text);
    }
    let vars_dir = tempfile::tempdir().unwrap();
    let vars_file = crate::support::write(vars_dir.path(), "vars.json", &vars.to_string());
    let before = tree(root.path());
    let output = zuul_image()
        .env_remove("DOCKER_HOST")
        .arg("--root")
        .arg(root.path())
        .args(["--vars", &vars_file, "use-buildset-registry"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&output.get_output().stderr).into_owned();
    assert!(
        stderr.contains(expected),
        "expected `{expected}` in:\n{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert_eq!(tree(root.path()), before, "files were written");
}

const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn registry() -> serde_json::Value {
    serde_json::json!({"host": "10.0.0.5", "port": 5000, "password": "s3cret", "cert": PEM})
}

#[test]
fn bad_registry_values_write_nothing() {
    let with = |key: &str, value: serde_json::Value| {
        let mut registry = registry();
        registry[key] = value;
        serde_json::json!({ "buildset_registry": registry })
    };
    let without = |key: &str| {
        let mut registry = registry();
        registry.as_object_mut().unwrap().remove(key);
        serde_json::json!({ "buildset_registry": registry })
    };
    rejects(without("cert"), &[], "`buildset_registry.cert`");
    rejects(without("port"), &[], "`buildset_registry`");
    rejects(
        with("cert", "not a certificate".into()),
        &[],
        "`buildset_registry.cert`",
    );
    rejects(
        with("host", "bad host!".into()),
        &[],
        "`buildset_registry.host`",
    );
    rejects(with("port", "http".into()), &[], "`buildset_registry.port`");
    rejects(
        serde_json::json!({}),
        &[],
        "missing variable `buildset_registry`",
    );
    rejects(
        serde_json::json!({"buildset_registry": registry(), "buildset_registry_namespaces": ["not a host"]}),
        &[],
        "`not a host` is not a registry host name",
    );
}

#[test]
fn unparseable_files_are_named_with_their_line() {
    let vars = serde_json::json!({ "buildset_registry": registry() });
    rejects(
        vars.clone(),
        &[(
            "etc/docker/daemon.json",
            "{\n  \"debug\": true,\n  oops\n}\n",
        )],
        "failed to parse `/etc/docker/daemon.json` at line 3",
    );
    rejects(
        vars.clone(),
        &[(
            "etc/containers/registries.conf",
            "# ok\n[[registry]\nlocation = 1\n",
        )],
        "failed to parse `/etc/containers/registries.conf` at line 2",
    );
    rejects(
        vars.clone(),
        &[(
            "etc/containers/registries.conf",
            "unqualified-search-registries = ['docker.io']\n[registries.search]\nregistries = ['quay.io']\n",
        )],
        "mixes the v1 format",
    );
    rejects(
        vars,
        &[(
            "etc/docker/daemon.json",
            "{\"registry-mirrors\": \"https://m\"}",
        )],
        "`registry-mirrors` must be a list of strings",
    );
}

#[test]
fn results_file_fallback_and_flags() {
    // `buildset_registry` from this job's results file, as after
    // run-buildset-registry in the same job; --namespace wins over vars.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(
        root.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\n",
    )
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let results = crate::support::write(
        work.path(),
        "results.json",
        &serde_json::json!({"data": {}, "secret_data": {"buildset_registry": registry()}})
            .to_string(),
    );
    zuul_image()
        .env_remove("DOCKER_HOST")
        .arg("--root")
        .arg(root.path())
        .args([
            "--results",
            &results,
            "use-buildset-registry",
            "--namespace",
            "ghcr.io",
        ])
        .assert()
        .success();
    let conf = std::fs::read_to_string(root.path().join("etc/containers/registries.conf")).unwrap();
    assert!(conf.contains("prefix = \"ghcr.io\""), "{conf}");
    assert!(!conf.contains("quay.io"), "{conf}");
    let buildkit =
        std::fs::read_to_string(root.path().join("etc/buildkit/buildkitd.toml")).unwrap();
    assert!(
        buildkit.contains("zuul-jobs.buildset-registry:5000/ghcr.io"),
        "{buildkit}"
    );
}
