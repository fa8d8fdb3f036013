//! `build-image` end to end: the run's private dockerd and podman/buildah
//! on private storage build FROM-scratch images (from the static busybox)
//! with siblings, a target, build args and labels; every local tag is
//! checked with the engine's own inspect, and every push with our
//! registry client against the embedded buildset registry. A docker build
//! takes its base image from the buildset registry through the daemon's
//! mirror (set up by `use-buildset-registry`); buildah builds a
//! two-platform index and pushes it whole. Bad input fails before any
//! build (exit 2, nothing changed); a failing build exits 1 naming the
//! image with the end of its log.

use crate::support::buildset::BuildsetRegistry;
use crate::support::docker::PrivateDocker;
use crate::support::real_host::HostsAlias;
use crate::support::{run, stderr, write, zuul_image};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ALIAS: &str = "zuul-jobs.buildset-registry";

/// A job's files: HOME with `~/src/opendev.org/org/lib` checked out, and a
/// work dir whose `app` context has a three-stage Dockerfile: `final`
/// copies busybox and the staged siblings and labels the build args.
struct Job {
    dir: tempfile::TempDir,
}

impl Job {
    fn new() -> Job {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        write(&home, "src/opendev.org/org/lib/README", "the lib\n");
        write(&home, "src/opendev.org/org/lib/pkg/mod.py", "x = 1\n");
        let context = dir.path().join("work/app");
        std::fs::create_dir_all(&context).unwrap();
        std::fs::copy("/bin/busybox", context.join("busybox")).unwrap();
        write(
            &context,
            "Dockerfile",
            "FROM scratch AS base\nCOPY busybox /bin/busybox\n\
             FROM base AS final\nARG ZUUL_SIBLINGS\nARG GREETING=unset\n\
             LABEL greeting=$GREETING siblings=$ZUUL_SIBLINGS\n\
             COPY .zuul-siblings/ /siblings/\n\
             FROM base AS other\nLABEL stage=other\n",
        );
        Job { dir }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn context(&self) -> PathBuf {
        self.work().join("app")
    }

    /// The image entry of the roles' lists for the `app` context.
    fn image(&self, repository: &str) -> Value {
        json!({
            "context": "app",
            "repository": repository,
            "tags": ["latest", "1.0"],
            "target": "final",
            "build_args": ["GREETING=hi"],
            "labels": ["team=ci"],
            "siblings": ["opendev.org/org/lib"],
        })
    }

    /// `zuul-image --vars <vars> build-image ARGS`, HOME and the work dir
    /// set.
    fn build_image(&self, vars: &Value, args: &[&str]) -> assert_cmd::Command {
        let file = write(self.dir.path(), "vars.json", &vars.to_string());
        let mut command = zuul_image();
        command
            .env("HOME", self.home())
            .env_remove("DOCKER_HOST")
            .args(["--vars", &file, "build-image", "--work-dir"])
            .arg(self.work())
            .args(args)
            .timeout(Duration::from_secs(300));
        command
    }
}

fn zuul() -> Value {
    json!({"change": "1003", "pipeline": "check",
           "change_url": "https://review.example.org/1003"})
}

/// The alias resolves to the registry for as long as the guard lives.
fn alias() -> HostsAlias {
    HostsAlias::add(&format!("127.0.0.1\t{ALIAS}\n"))
}

fn docker_label(docker: &PrivateDocker, image: &str, label: &str) -> String {
    let format = format!("{{{{index .Config.Labels \"{label}\"}}}}");
    run(docker.cli().args(["inspect", "--format", &format, image]))
        .trim()
        .to_owned()
}

/// A file of `image`, read through a created (never started) container.
fn docker_file(docker: &PrivateDocker, image: &str, path: &str, out: &Path) -> String {
    let id = run(docker.cli().args(["create", image, "/bin/busybox"]));
    let id = id.trim();
    run(docker.cli().args(["cp", &format!("{id}:{path}")]).arg(out));
    run(docker.cli().args(["rm", id]));
    std::fs::read_to_string(out).unwrap()
}

#[tokio::test]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn docker_builds_siblings_target_build_args_and_labels_and_pushes_every_tag() {
    let docker = PrivateDocker::get();
    let registry = BuildsetRegistry::start();
    let _alias = alias();
    let job = Job::new();
    let vars = json!({
        "zuul": zuul(),
        "docker_registry": "registry.example.org",
        "docker_images": [job.image("zuul-image-test/docker-app")],
        "buildset_registry": registry.value,
    });
    let output = job
        .build_image(
            &vars,
            &["--family", "docker", "--docker-host", &docker.host],
        )
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&output.get_output().stdout).trim(),
        r#"{"data":{},"secret_data":{}}"#
    );
    let log = stderr(&output);
    assert!(log.contains("Step 1/"), "the build output streams: {log}");
    assert!(!log.contains(&registry.password), "{log}");
    assert!(!job.context().join(".zuul-siblings").exists());

    let local = "registry.example.org/zuul-image-test/docker-app";
    let greeting = docker_label(&docker, &format!("{local}:latest"), "greeting");
    assert_eq!(greeting, "hi");
    for tag in ["latest", "change_1003_latest", "1.0", "change_1003_1.0"] {
        let image = format!("{local}:{tag}");
        assert_eq!(docker_label(&docker, &image, "team"), "ci");
        assert_eq!(docker_label(&docker, &image, "org.zuul-ci.change"), "1003");
        assert_eq!(
            docker_label(&docker, &image, "org.zuul-ci.change_url"),
            "https://review.example.org/1003"
        );
        assert_eq!(
            docker_label(&docker, &image, "siblings"),
            "opendev.org/org/lib"
        );
        assert_eq!(
            docker_label(&docker, &image, "stage"),
            "",
            "the target is built"
        );
    }
    let copied = docker_file(
        &docker,
        &format!("{local}:1.0"),
        "/siblings/opendev.org/org/lib/pkg/mod.py",
        &job.dir.path().join("mod.py"),
    );
    assert_eq!(copied, "x = 1\n");
    // Pushed without the docker_registry prefix, as the index the daemon holds.
    for tag in ["latest", "1.0"] {
        let manifest = registry.manifest("zuul-image-test/docker-app", tag).await;
        assert!(!manifest.is_index());
    }

    // A change-less pipeline (periodic): `<pipeline>_` tags, no change
    // labels and no change_url (no error), by hand with flags.
    let periodic = json!({"zuul": {"pipeline": "periodic"}});
    job.build_image(
        &periodic,
        &[
            "--docker-host",
            &docker.host,
            "--repository",
            "zuul-image-test/docker-periodic",
            "--context",
            "app",
            "--target",
            "base",
            "--tag",
            "v2",
        ],
    )
    .assert()
    .success();
    let image = "zuul-image-test/docker-periodic:periodic_v2";
    assert_eq!(docker_label(&docker, image, "org.zuul-ci.change"), "");
    assert!(
        docker
            .cli()
            .args(["inspect", "zuul-image-test/docker-periodic:v2"])
            .output()
            .unwrap()
            .status
            .success()
    );
    for image in [
        &format!("{local}:latest"),
        &format!("{local}:change_1003_latest"),
        &format!("{local}:1.0"),
        &format!("{local}:change_1003_1.0"),
        &format!(
            "{ALIAS}:{}/zuul-image-test/docker-app:latest",
            registry.port
        ),
        &format!("{ALIAS}:{}/zuul-image-test/docker-app:1.0", registry.port),
        "zuul-image-test/docker-periodic:v2",
        "zuul-image-test/docker-periodic:periodic_v2",
    ] {
        run(docker.cli().args(["rmi", image]));
    }
}

/// `docker pull`'s mirror: a dockerd of this test's own, set up by
/// `ensure-docker` and `use-buildset-registry`; `FROM example/base` exists
/// only in the buildset registry (there is no internet here).
#[tokio::test]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn docker_takes_the_base_image_from_the_buildset_registry_through_the_mirror() {
    use crate::support::images::{Image, image_layout, skopeo_push};
    use crate::support::own_dockerd::OwnDockerd;
    let registry = BuildsetRegistry::start();
    let job = Job::new();
    let layout = image_layout(&job.dir.path().join("base"), &Image::busybox());
    let base = format!("{}/example/base:latest", registry.address());
    skopeo_push(
        &layout,
        &base,
        &registry.cert_dir(),
        Some(&registry.auth_file()),
    );
    // Go caches /etc/hosts: the alias goes in before dockerd starts.
    let _alias = alias();
    let dockerd = OwnDockerd::new();
    crate::support::write_passwd(dockerd.root.path());
    zuul_image()
        .env_remove("DOCKER_HOST")
        .args(dockerd.ensure_docker_args())
        .timeout(Duration::from_secs(180))
        .assert()
        .success();
    let vars = json!({"buildset_registry": registry.value});
    let file = write(job.dir.path(), "registry.json", &vars.to_string());
    zuul_image()
        .env_remove("DOCKER_HOST")
        .args(["--vars", &file, "use-buildset-registry", "--root"])
        .arg(dockerd.root.path())
        .arg(format!("--docker-host={}", dockerd.host()))
        .timeout(Duration::from_secs(120))
        .assert()
        .success();

    write(
        &job.work(),
        "derived/Dockerfile",
        "FROM example/base\nCOPY extra /extra\nLABEL built=through-the-mirror\n",
    );
    write(&job.work(), "derived/extra", "extra\n");
    let vars = json!({
        "zuul": zuul(),
        "docker_images": [{"context": "derived", "repository": "example/derived"}],
        "buildset_registry": registry.value,
    });
    let output = job
        .build_image(&vars, &["--docker-host", &dockerd.host()])
        .assert();
    let log = stderr(&output);
    output.success();
    assert!(log.contains("pushed `"), "{log}");
    let layers = run(dockerd.cli().args([
        "inspect",
        "--format",
        "{{len .RootFS.Layers}} {{index .Config.Labels \"built\"}}",
        "example/derived:change_1003_latest",
    ]));
    assert_eq!(
        layers.trim(),
        "2 through-the-mirror",
        "busybox from the base, then /extra"
    );
    // The registry links blobs per repository (issue 12), so docker
    // uploads the base layer into `example/derived` anew, compressed its
    // own way: compare uncompressed content (diff ids), not blob digests.
    let first = run(dockerd.cli().args([
        "inspect",
        "--format",
        "{{index .RootFS.Layers 0}}",
        "example/derived:change_1003_latest",
    ]));
    let busybox = crate::support::images::Layer::busybox();
    assert_eq!(
        first.trim(),
        busybox.diff_id,
        "the base layer came from the buildset registry"
    );
    let manifest = registry.manifest("example/derived", "latest").await;
    let children = manifest.children(&registry.address(), "latest").unwrap();
    assert_eq!(children.blobs.len(), 3, "config and two layers pushed");
}

/// A private containers-storage for podman or buildah, by environment.
fn storage_env(command: &mut assert_cmd::Command, dir: &Path) {
    let conf = write(
        dir,
        "storage.conf",
        &format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/storage\"\nrunroot = \"{0}/run\"\n",
            dir.display()
        ),
    );
    command
        .env("CONTAINERS_STORAGE_CONF", conf)
        .env("BUILDAH_ISOLATION", "chroot");
}

fn storage_cli(program: &str, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command.env("CONTAINERS_STORAGE_CONF", dir.join("storage.conf"));
    command
}

#[tokio::test]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn podman_and_buildah_build_tag_and_push_with_the_registry_from_the_results_file() {
    let registry = BuildsetRegistry::start();
    let _alias = alias();
    for engine in ["podman", "buildah"] {
        let job = Job::new();
        let storage = job.dir.path().join("storage");
        let repository = format!("quay.io/zuul-image-test/{engine}-app");
        // `run-buildset-registry` ran earlier in this job: the registry
        // is only in the results file.
        let results = write(
            job.dir.path(),
            "results.json",
            &json!({"data": {}, "secret_data": {"buildset_registry": registry.value}}).to_string(),
        );
        let vars = json!({
            "zuul": zuul(),
            "container_images": [job.image(&repository)],
            "container_command": engine,
            "container_filename": "Dockerfile",
        });
        let mut command = job.build_image(&vars, &["--results", &results]);
        storage_env(&mut command, &storage);
        let output = command.assert().success();
        assert!(stderr(&output).contains("STEP"), "{}", stderr(&output));
        assert!(!job.context().join(".zuul-siblings").exists());
        for tag in ["latest", "change_1003_latest", "1.0", "change_1003_1.0"] {
            // podman and buildah share containers-storage: one inspect.
            let labels = run(storage_cli("buildah", &storage).args([
                "inspect",
                "--format",
                "{{index .OCIv1.Config.Labels \"greeting\"}} {{index .OCIv1.Config.Labels \"org.zuul-ci.change\"}} {{index .OCIv1.Config.Labels \"siblings\"}}",
                &format!("{repository}:{tag}"),
            ]));
            assert_eq!(
                labels.trim(),
                "hi 1003 opendev.org/org/lib",
                "{engine} {tag}"
            );
        }
        for tag in ["latest", "1.0"] {
            let manifest = registry.manifest(&repository, tag).await;
            assert!(!manifest.is_index(), "{engine}");
        }
    }
}

#[tokio::test]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn buildah_builds_a_two_platform_index_and_pushes_it_whole() {
    let registry = BuildsetRegistry::start();
    let _alias = alias();
    let job = Job::new();
    let storage = job.dir.path().join("storage");
    let mut image = job.image("quay.io/zuul-image-test/multi");
    image["arch"] = json!(["linux/amd64", "linux/arm64"]);
    image["container_filename"] = json!("Dockerfile");
    let vars = json!({
        "zuul": zuul(),
        "container_images": [image],
        "container_command": "buildah",
        "buildset_registry": registry.value,
    });
    let mut command = job.build_image(&vars, &[]);
    storage_env(&mut command, &storage);
    command.assert().success();

    let list = run(storage_cli("buildah", &storage).args([
        "manifest",
        "inspect",
        "quay.io/zuul-image-test/multi:change_1003_1.0",
    ]));
    assert!(list.contains("arm64") && list.contains("amd64"), "{list}");
    for tag in ["latest", "1.0"] {
        let index = registry
            .manifest("quay.io/zuul-image-test/multi", tag)
            .await;
        assert!(index.is_index(), "{}", index.media_type);
        let doc: Value = serde_json::from_slice(&index.bytes).unwrap();
        let mut platforms: Vec<String> = doc["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                format!(
                    "{}/{}",
                    m["platform"]["os"].as_str().unwrap(),
                    m["platform"]["architecture"].as_str().unwrap()
                )
            })
            .collect();
        platforms.sort();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
        let children = index.children(&registry.address(), tag).unwrap();
        for child in &children.manifests {
            let manifest = registry
                .manifest("quay.io/zuul-image-test/multi", &child.digest.to_string())
                .await;
            assert!(!manifest.is_index());
            let blobs = manifest
                .children(&registry.address(), "child")
                .unwrap()
                .blobs;
            assert_eq!(blobs.len(), 3, "config, busybox, siblings");
        }
    }
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn a_failing_build_exits_1_naming_the_image_with_the_end_of_its_log() {
    let job = Job::new();
    let storage = job.dir.path().join("storage");
    write(
        &job.context(),
        "Broken",
        "FROM scratch\nCOPY no-such-file /x\n",
    );
    let mut image = job.image("quay.io/zuul-image-test/broken");
    image["container_filename"] = json!("Broken");
    image.as_object_mut().unwrap().remove("target");
    let vars = json!({"container_images": [image], "container_command": "buildah"});
    let mut command = job.build_image(&vars, &[]);
    storage_env(&mut command, &storage);
    let output = command.assert().code(1);
    let log = stderr(&output);
    assert!(
        log.contains(
            "error: failed to build `quay.io/zuul-image-test/broken` (container_images[0])"
        ),
        "{log}"
    );
    assert!(log.contains("its last lines:"), "{log}");
    assert!(log.contains("no-such-file"), "{log}");
    assert!(
        !job.context().join(".zuul-siblings").exists(),
        "removed on failure"
    );
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn docker_multi_platform_without_buildx_says_so_and_builds_nothing() {
    let docker = PrivateDocker::get();
    let has_buildx = docker
        .cli()
        .args(["buildx", "version"])
        .output()
        .unwrap()
        .status
        .success();
    let job = Job::new();
    let mut image = job.image("zuul-image-test/docker-multi");
    image["arch"] = json!(["linux/amd64", "linux/arm64"]);
    let vars = json!({"zuul": zuul(), "docker_images": [image]});
    let output = job
        .build_image(&vars, &["--docker-host", &docker.host])
        .assert();
    if has_buildx {
        // Where buildx exists the builder is made and the build runs.
        output.success();
        return;
    }
    let log = stderr(&output);
    output.code(1);
    assert!(log.contains("buildx plugin is not installed"), "{log}");
    assert!(log.contains("hint: install the buildx plugin"), "{log}");
    let listed = run(docker
        .cli()
        .args(["images", "-q", "zuul-image-test/docker-multi"]));
    assert!(listed.trim().is_empty(), "nothing was built: {listed}");
}

/// Bad input: exit 2 before any build, with nothing changed.
fn refused(job: &Job, vars: &Value, args: &[&str], needles: &[&str]) {
    let output = job
        .build_image(
            vars,
            &[&["--docker-host", "unix:///nonexistent/docker.sock"], args].concat(),
        )
        .assert()
        .code(2)
        .stdout("");
    let log = stderr(&output);
    for needle in needles {
        assert!(log.contains(needle), "expected `{needle}` in:\n{log}");
    }
    assert!(!log.contains("building `"), "{log}");
}

#[test]
fn bad_input_is_refused_before_anything_is_built() {
    let job = Job::new();
    let image = job.image("org/app");
    refused(
        &job,
        &json!({"docker_images": [image], "container_images": [image]}),
        &[],
        &["--family"],
    );
    let mut elsewhere = image.clone();
    elsewhere["context"] = json!("missing");
    refused(
        &job,
        &json!({"docker_images": [image, elsewhere]}),
        &[],
        &["`org/app` (docker_images[1])", "missing` of"],
    );
    let mut unchecked = image.clone();
    unchecked["siblings"] = json!(["opendev.org/org/other"]);
    refused(
        &job,
        &json!({"docker_images": [unchecked]}),
        &[],
        &["sibling `opendev.org/org/other`", "required-projects"],
    );
    // A leftover from an earlier run stays as it is.
    write(&job.context(), ".zuul-siblings/old/file", "old\n");
    refused(
        &job,
        &json!({"docker_images": [image]}),
        &[],
        &[".zuul-siblings` is left over", "(docker_images[0])"],
    );
    assert_eq!(
        std::fs::read_to_string(job.context().join(".zuul-siblings/old/file")).unwrap(),
        "old\n"
    );
    refused(&job, &json!({}), &["--context", "app"], &["--repository"]);
}
