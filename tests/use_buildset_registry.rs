//! `use-buildset-registry`: fixture cases under `--root` (every file type:
//! site keys kept, existing mirrors, comments, unrelated `[[registry]]`, a
//! v1 registries.conf, an empty system; a second run changes no byte), bad
//! input (exit 2, nothing written), and real pulls through the mirror with
//! a private dockerd, podman, buildah and a private containerd (`ctr`).

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
/// again and check nothing changed (and nothing was restarted); returns the
/// root and the first run's stderr for more checks.
fn check_case(case: &str) -> (tempfile::TempDir, String) {
    let dir = case_dir(COMMAND, case);
    let root = tempfile::tempdir().unwrap();
    copy_tree(&dir.join("before"), root.path());
    let run = || {
        zuul_image()
            .env_remove("DOCKER_HOST")
            .arg("--vars")
            .arg(vars_file(&dir))
            .arg("use-buildset-registry")
            .arg("--root")
            .arg(root.path())
            .assert()
            .success()
    };
    let first = run();
    let first_stderr = crate::support::stderr(&first);
    assert!(
        !first_stderr.contains("buildset-password"),
        "{first_stderr}"
    );
    assert_tree(root.path(), &dir.join("after"));
    let (files, times) = (tree(root.path()), mtimes(root.path()));
    let second = run();
    let stderr = crate::support::stderr(&second);
    assert!(
        !stderr.contains("updated") && !stderr.contains("restart"),
        "second run changed files:\n{stderr}"
    );
    assert_eq!(tree(root.path()), files, "second run changed bytes");
    assert_eq!(mtimes(root.path()), times, "second run touched files");
    (root, first_stderr)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn empty_system() {
    let (root, _) = check_case("empty-system");
    assert_eq!(mode(&root.path().join("root/.docker/config.json")), 0o600);
    assert_eq!(mode(&root.path().join("root/.docker")), 0o700);
    assert_eq!(mode(&root.path().join("run/containers/0/auth.json")), 0o600);
    assert_eq!(mode(&root.path().join("etc/docker/daemon.json")), 0o644);
}

#[test]
fn site_config_is_kept() {
    let (root, _) = check_case("site-config");
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

#[test]
fn microk8s_gets_hosts_toml_and_a_restart() {
    let (root, stderr) = check_case("microk8s");
    // Written through the snap's `current` link, which stays a link.
    let current = root.path().join("var/snap/microk8s/current");
    assert!(current.symlink_metadata().unwrap().is_symlink());
    assert!(
        stderr.contains("not running `snap restart microk8s`: `--root` is not `/`"),
        "{stderr}"
    );
}

/// Bad input: exit 2, a message naming the problem, and no file written.
fn rejects(vars: serde_json::Value, files: &[(&str, &str)], expected: &str) {
    let root = tempfile::tempdir().unwrap();
    crate::support::write_passwd(root.path());
    for (path, text) in files {
        crate::support::write(root.path(), path, text);
    }
    let vars_dir = tempfile::tempdir().unwrap();
    let vars_file = crate::support::write(vars_dir.path(), "vars.json", &vars.to_string());
    let before = tree(root.path());
    let output = zuul_image()
        .env_remove("DOCKER_HOST")
        .args(["--vars", &vars_file, "use-buildset-registry"])
        .arg("--root")
        .arg(root.path())
        .assert()
        .code(2);
    let stderr = crate::support::stderr_containing(&output, expected);
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
    crate::support::write_passwd(root.path());
    let work = tempfile::tempdir().unwrap();
    let results = crate::support::write(
        work.path(),
        "results.json",
        &serde_json::json!({"data": {}, "secret_data": {"buildset_registry": registry()}})
            .to_string(),
    );
    zuul_image()
        .env_remove("DOCKER_HOST")
        .args([
            "--results",
            &results,
            "use-buildset-registry",
            "--namespace",
            "ghcr.io",
        ])
        .arg("--root")
        .arg(root.path())
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

// ---- real components -------------------------------------------------------

mod real {
    use crate::support::buildset::BuildsetRegistry;
    use crate::support::images::{Image, image_layout, skopeo_push};
    use crate::support::own_containerd::OwnContainerd;
    use crate::support::own_dockerd::OwnDockerd;
    use crate::support::real_host::{HostsAlias, RealCertDir};
    use crate::support::{run, zuul_image};
    use std::path::Path;
    use std::process::Command;
    use std::time::Duration;

    const ALIAS: &str = "zuul-jobs.buildset-registry";

    /// The buildset registry for these tests: the embedded one, started by
    /// `run-buildset-registry` (its certificate names the alias; anonymous
    /// read, `zuul` writes).
    fn buildset_registry() -> BuildsetRegistry {
        BuildsetRegistry::start()
    }

    fn registry_var(registry: &BuildsetRegistry) -> serde_json::Value {
        serde_json::json!({ "buildset_registry": registry.value })
    }

    /// The alias line our command wrote into `<root>/etc/hosts`.
    fn alias_line(root: &Path) -> String {
        let hosts = std::fs::read_to_string(root.join("etc/hosts")).unwrap();
        let line = hosts
            .lines()
            .find(|line| line.ends_with(ALIAS))
            .expect("the alias line")
            .to_owned();
        assert_eq!(line, format!("127.0.0.1\t{ALIAS}"));
        format!("{line}\n")
    }

    fn push(registry: &BuildsetRegistry, name: &str, work: &Path) {
        let layout = image_layout(&work.join(name.replace('/', "_")), &Image::busybox());
        skopeo_push(
            &layout,
            &format!("{}/{name}:latest", registry.address()),
            &registry.cert_dir(),
            Some(&registry.auth_file()),
        );
    }

    #[test]
    #[ignore = "needs real components: run tests/run-all.sh"]
    fn docker_pulls_and_builds_through_the_mirror_after_a_reload() {
        let work = tempfile::tempdir().unwrap();
        let registry = buildset_registry();
        // `example/base` is a docker.io name: stored un-prefixed.
        push(&registry, "example/base", work.path());

        // Go caches /etc/hosts for a few seconds: the real alias goes in
        // before dockerd starts (and is checked against ours below).
        let expected_line = format!("127.0.0.1\t{ALIAS}\n");
        let _hosts = HostsAlias::add(&expected_line);
        let dockerd = OwnDockerd::new();
        crate::support::write(
            dockerd.root.path(),
            "etc/docker/daemon.json",
            "{\"labels\": [\"site=kept\"]}\n",
        );
        crate::support::write_passwd(dockerd.root.path());
        zuul_image()
            .env_remove("DOCKER_HOST")
            .args(dockerd.ensure_docker_args())
            .timeout(Duration::from_secs(180))
            .assert()
            .success();
        let container = dockerd.run_sleeper();
        let pid = dockerd.pid().unwrap();

        let vars = crate::support::write(
            work.path(),
            "vars.json",
            &registry_var(&registry).to_string(),
        );
        let output = zuul_image()
            .env_remove("DOCKER_HOST")
            .args(["--vars", &vars, "use-buildset-registry"])
            .arg("--root")
            .arg(dockerd.root.path())
            .arg(format!("--docker-host={}", dockerd.host()))
            .timeout(Duration::from_secs(120))
            .assert()
            .success();
        let stderr = crate::support::stderr(&output);
        assert!(stderr.contains("reloaded dockerd (SIGHUP"), "{stderr}");
        assert!(!stderr.contains("buildset-password"), "{stderr}");

        // Reload, not restart: same daemon, the container still runs.
        assert_eq!(dockerd.pid(), Some(pid), "dockerd was restarted");
        assert!(
            dockerd.is_running(&container),
            "the running container was stopped"
        );
        let mirrors =
            run(dockerd
                .cli()
                .args(["info", "--format", "{{json .RegistryConfig.Mirrors}}"]));
        assert!(
            mirrors.contains(&format!("https://{ALIAS}:{}/", registry.port)),
            "{mirrors}"
        );
        let labels = run(dockerd.cli().args(["info", "--format", "{{json .Labels}}"]));
        assert!(labels.contains("site=kept"), "{labels}");

        // What the machine needs besides daemon.json, from our output.
        assert_eq!(alias_line(dockerd.root.path()), expected_line);
        let _certs = RealCertDir::copy(
            dockerd.root.path(),
            &format!("/etc/docker/certs.d/{ALIAS}:{}", registry.port),
        );

        // No internet here: only the mirror can serve these.
        let pull = dockerd
            .cli()
            .args(["pull", "example/base:latest"])
            .output()
            .unwrap();
        assert!(
            pull.status.success(),
            "pull failed: {}\ndockerd log:\n{}",
            String::from_utf8_lossy(&pull.stderr),
            std::fs::read_to_string(dockerd.path("var/log/dockerd.log")).unwrap_or_default()
        );
        run(dockerd.cli().args(["rmi", "example/base:latest"]));
        let context = work.path().join("build");
        crate::support::write(
            &context,
            "Dockerfile",
            "FROM example/base\nLABEL built=through-the-mirror\n",
        );
        run(dockerd
            .cli()
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", "zuul-image-test/built"])
            .arg(&context));
        let label = run(dockerd.cli().args([
            "inspect",
            "--format",
            "{{index .Config.Labels \"built\"}}",
            "zuul-image-test/built",
        ]));
        assert_eq!(label.trim(), "through-the-mirror");

        // A second run changes nothing and does not reload again.
        let output = zuul_image()
            .env_remove("DOCKER_HOST")
            .args(["--vars", &vars, "use-buildset-registry"])
            .arg("--root")
            .arg(dockerd.root.path())
            .arg(format!("--docker-host={}", dockerd.host()))
            .assert()
            .success();
        let stderr = crate::support::stderr(&output);
        assert!(
            !stderr.contains("updated") && !stderr.contains("reloaded"),
            "{stderr}"
        );
    }

    /// A fresh root (with `dirs` made in it) after `use-buildset-registry`
    /// for `registry` ran on it.
    fn configured_root(
        registry: &BuildsetRegistry,
        work: &Path,
        dirs: &[&str],
    ) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        crate::support::write_passwd(root.path());
        for dir in dirs {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        let vars = crate::support::write(work, "vars.json", &registry_var(registry).to_string());
        zuul_image()
            .env_remove("DOCKER_HOST")
            .args(["--vars", &vars, "use-buildset-registry"])
            .arg("--root")
            .arg(root.path())
            .assert()
            .success();
        root
    }

    fn containers(program: &str, storage: &Path, registries_conf: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env("CONTAINERS_REGISTRIES_CONF", registries_conf)
            .arg("--root")
            .arg(storage.join("storage"))
            .arg("--runroot")
            .arg(storage.join("run"))
            .args(["--storage-driver", "vfs"]);
        command
    }

    #[test]
    #[ignore = "needs real components: run tests/run-all.sh"]
    fn podman_and_buildah_pull_through_registries_conf() {
        let work = tempfile::tempdir().unwrap();
        let registry = buildset_registry();
        // A quay.io image: stored under `quay.io/…`.
        push(&registry, "quay.io/org/img", work.path());

        let root = configured_root(&registry, work.path(), &[]);
        let _hosts = HostsAlias::add(&alias_line(root.path()));
        let _certs = RealCertDir::copy(
            root.path(),
            &format!("/etc/containers/certs.d/{ALIAS}:{}", registry.port),
        );
        let conf = root.path().join("etc/containers/registries.conf");

        let podman = tempfile::tempdir().unwrap();
        run(containers("podman", podman.path(), &conf).args([
            "pull",
            "-q",
            "quay.io/org/img:latest",
        ]));
        let id = run(containers("podman", podman.path(), &conf).args([
            "image",
            "inspect",
            "--format",
            "{{.Digest}}",
            "quay.io/org/img:latest",
        ]));
        assert!(id.trim().starts_with("sha256:"), "{id}");

        let buildah = tempfile::tempdir().unwrap();
        let context = work.path().join("build");
        crate::support::write(
            &context,
            "Containerfile",
            "FROM quay.io/org/img\nLABEL built=through-the-mirror\n",
        );
        run(containers("buildah", buildah.path(), &conf)
            .args([
                "bud",
                "--isolation",
                "chroot",
                "-q",
                "-t",
                "localhost/built",
                "-f",
            ])
            .arg(context.join("Containerfile"))
            .arg(&context));
        let label = run(containers("buildah", buildah.path(), &conf).args([
            "inspect",
            "--format",
            "{{index .Docker.Config.Labels \"built\"}}",
            "localhost/built",
        ]));
        assert_eq!(label.trim(), "through-the-mirror");
    }

    #[test]
    #[ignore = "needs real components: run tests/run-all.sh"]
    fn containerd_pulls_through_hosts_toml() {
        let work = tempfile::tempdir().unwrap();
        let registry = buildset_registry();
        // Stored as `quay.io/org/img` (prefixed) and `example/base` (a
        // docker.io name, un-prefixed).
        push(&registry, "quay.io/org/img", work.path());
        push(&registry, "example/base", work.path());

        // containerd counts as installed when `/etc/containerd` exists.
        let root = configured_root(&registry, work.path(), &["etc/containerd"]);
        let hosts_dir = root.path().join("etc/containerd/certs.d");
        let quay = std::fs::read_to_string(hosts_dir.join("quay.io/hosts.toml")).unwrap();
        let prefixed = format!("[host.\"https://{ALIAS}:{}/v2/quay.io\"]", registry.port);
        assert!(quay.contains(&prefixed), "{quay}");
        assert!(quay.contains("override_path = true"), "{quay}");
        let hub = std::fs::read_to_string(hosts_dir.join("docker.io/hosts.toml")).unwrap();
        let plain = format!("[host.\"https://{ALIAS}:{}\"]", registry.port);
        assert!(hub.contains(&plain), "{hub}");
        assert!(!hub.contains("override_path"), "{hub}");

        // The `ca` in hosts.toml is the real path our command wrote under
        // its root; the alias resolves through the real /etc/hosts.
        let _hosts = HostsAlias::add(&alias_line(root.path()));
        let _certs = RealCertDir::copy(
            root.path(),
            &format!("/etc/containerd/certs.d/{ALIAS}:{}", registry.port),
        );

        // No internet here, and neither image exists upstream: only the
        // mirror can serve them.
        let containerd = OwnContainerd::start();
        let digest = Image::busybox().digest();
        for reference in ["quay.io/org/img:latest", "docker.io/example/base:latest"] {
            let pull = containerd.pull(&hosts_dir, reference);
            assert!(
                pull.status.success(),
                "ctr pull {reference} failed: {}\ncontainerd log:\n{}\nregistry log:\n{}",
                String::from_utf8_lossy(&pull.stderr),
                containerd.log(),
                registry.log()
            );
            let listed =
                run(containerd
                    .ctr()
                    .args(["images", "ls", &format!("name=={reference}")]));
            assert!(listed.contains(&digest), "{listed}");
        }
    }
}
