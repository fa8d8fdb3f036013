//! The engine seam against the real engines: the run's private dockerd,
//! buildah and podman on a private storage (`--root` in a temp dir, vfs,
//! buildah with `--isolation chroot`). FROM-scratch images are built with
//! a target, build args and labels, inspected, tagged, checked to exist,
//! and pushed to the embedded buildset registry with credentials that go
//! through the Engine API or a private auth file; what arrived is read
//! back with our own registry client.

use crate::support::buildset::BuildsetRegistry;
use crate::support::docker::PrivateDocker;
use crate::support::run;
use std::path::Path;
use std::sync::Mutex;
use zuul_image::engine::buildah::Buildah;
use zuul_image::engine::docker::{Docker, DockerHost};
use zuul_image::engine::podman::Podman;
use zuul_image::engine::{BuildSpec, Engine, Error, RegistryAuth};
use zuul_image::registry::manifests::Manifest;
use zuul_image::secret::Secret;

/// A two-stage build context: `Dockerfile` under `build/`, a file to copy,
/// the label value from a build arg.
fn context(dir: &Path) -> std::path::PathBuf {
    let context = dir.join("ctx");
    std::fs::create_dir_all(context.join("build")).unwrap();
    std::fs::write(context.join("hello"), "hello\n").unwrap();
    std::fs::write(
        context.join("build/Dockerfile"),
        "FROM scratch AS base\nCOPY hello /hello\n\
         FROM base AS final\nARG GREETING=unset\nLABEL greeting=$GREETING\nCOPY hello /hello2\n\
         FROM base AS other\nLABEL stage=other\n",
    )
    .unwrap();
    context
}

fn spec(context: &Path, tags: &[String]) -> BuildSpec {
    BuildSpec {
        context: context.to_owned(),
        dockerfile: Some("build/Dockerfile".into()),
        target: Some("final".into()),
        build_args: vec!["GREETING=hi".into()],
        labels: vec!["org.zuul-ci.change=1003".into()],
        tags: tags.to_vec(),
        ..BuildSpec::default()
    }
}

/// Collects build output lines.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl zuul_image::engine::BuildLog for Lines {
    fn line(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_owned());
    }
}

fn auth(registry: &BuildsetRegistry) -> RegistryAuth {
    RegistryAuth {
        registry: registry.address(),
        username: registry.username.clone(),
        password: Secret::new(registry.password.clone()),
    }
}

/// What the buildset registry holds under `repository:tag`.
async fn fetch(registry: &BuildsetRegistry, repository: &str, tag: &str) -> Manifest {
    registry.manifest(repository, tag).await
}

/// Build, inspect, tag, exists and push behind the trait, as the image
/// commands will drive any engine.
async fn round_trip(engine: &dyn Engine, registry: &BuildsetRegistry, dir: &Path, name: &str) {
    let context = context(dir);
    let local = format!("zuul-image-test/{name}:1");
    let prefixed = format!("zuul-image-test/{name}:change_1003_1");
    let lines = Lines::default();
    let built = engine
        .build(&spec(&context, &[local.clone(), prefixed.clone()]), &lines)
        .await
        .unwrap_or_else(|err| panic!("{} build: {err}", engine.name()));
    assert!(built.id.is_some(), "{built:?}");
    assert!(
        !lines.0.lock().unwrap().is_empty(),
        "the build output reaches the log"
    );

    let info = engine.inspect(&local).await.unwrap().expect("built");
    assert_eq!(info.labels["greeting"], "hi", "{info:?}");
    assert_eq!(info.labels["org.zuul-ci.change"], "1003");
    assert!(
        !info.labels.contains_key("stage"),
        "the target stage is built"
    );
    assert!(info.platforms.is_empty());
    assert_eq!(
        engine.inspect(&prefixed).await.unwrap().unwrap().id,
        info.id
    );
    assert!(engine.exists(&local).await.unwrap());
    let missing = format!("zuul-image-test/{name}:missing");
    assert!(!engine.exists(&missing).await.unwrap());
    assert_eq!(engine.inspect(&missing).await.unwrap(), None);

    let remote = format!("{}/zuul-image-test/{name}:1", registry.address());
    engine.tag(&local, &remote).await.unwrap();
    assert!(engine.exists(&remote).await.unwrap());
    // The registry refuses anonymous pushes, so a push that works carried
    // the credentials. A wrong password is refused too; dockerd retries
    // such a push for 50 s before it says so, hence only the CLIs here.
    if engine.name() != "docker" {
        let wrong = RegistryAuth {
            password: Secret::new("wrong"),
            ..auth(registry)
        };
        let refused = engine.push(&remote, Some(&wrong)).await;
        assert!(
            refused.is_err(),
            "{} pushed with a wrong password",
            engine.name()
        );
    }
    engine
        .push(&remote, Some(&auth(registry)))
        .await
        .unwrap_or_else(|err| panic!("{} push: {err}", engine.name()));
    let manifest = fetch(registry, &format!("zuul-image-test/{name}"), "1").await;
    assert!(!manifest.is_index());

    // A failing build names the command and carries the end of its output.
    std::fs::write(
        context.join("Broken"),
        "FROM scratch\nCOPY no-such-file /x\n",
    )
    .unwrap();
    let broken = BuildSpec {
        dockerfile: Some("Broken".into()),
        target: None,
        ..spec(&context, &[format!("zuul-image-test/{name}:broken")])
    };
    match engine.build(&broken, &Lines::default()).await {
        Err(Error::BuildFailed { tail, .. }) => {
            assert!(tail.contains("no-such-file"), "{tail}")
        }
        other => panic!("{}: {other:?}", engine.name()),
    }
}

#[tokio::test]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn docker_builds_tags_inspects_and_pushes() {
    let docker = PrivateDocker::get();
    let mut registry = BuildsetRegistry::start();
    registry.trust_in_docker();
    let engine = Docker::new(DockerHost::parse(&docker.host).unwrap());
    let dir = tempfile::tempdir().unwrap();
    round_trip(&engine, &registry, dir.path(), "docker").await;
    // Debian's docker.io has no buildx: a platform list is refused clearly.
    if !engine.has_buildx().await {
        let multi = BuildSpec {
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            push: true,
            ..spec(
                &dir.path().join("ctx"),
                &["zuul-image-test/docker:multi".into()],
            )
        };
        let err = engine.build(&multi, &Lines::default()).await.unwrap_err();
        assert!(err.to_string().contains("buildx"), "{err}");
    }
    for tag in ["1", "change_1003_1"] {
        run(docker
            .cli()
            .args(["rmi", &format!("zuul-image-test/docker:{tag}")]));
    }
}

/// A private containers-storage under `dir`.
fn storage_flags(dir: &Path) -> Vec<String> {
    let flag = |name: &str, path: &str| [name.to_owned(), dir.join(path).display().to_string()];
    let mut flags = Vec::new();
    flags.extend(flag("--root", "storage"));
    flags.extend(flag("--runroot", "run"));
    flags.extend(["--storage-driver".to_owned(), "vfs".to_owned()]);
    flags
}

#[tokio::test]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn podman_and_buildah_build_tag_inspect_and_push() {
    let registry = BuildsetRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let mut podman = Podman::new(storage_flags(&dir.path().join("podman")));
    podman.storage.cert_dir = Some(registry.cert_dir());
    round_trip(&podman, &registry, &dir.path().join("podman"), "podman").await;
    let mut buildah = Buildah::new(storage_flags(&dir.path().join("buildah")))
        .build_flags(["--isolation", "chroot"]);
    buildah.storage.cert_dir = Some(registry.cert_dir());
    round_trip(&buildah, &registry, &dir.path().join("buildah"), "buildah").await;
}

/// A two-platform manifest list, built twice (the second build starts a
/// fresh list), pushed whole as part of the build: both platforms arrive.
#[tokio::test]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn buildah_builds_a_two_platform_list_and_pushes_it_whole() {
    let registry = BuildsetRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Buildah::new(storage_flags(dir.path())).build_flags(["--isolation", "chroot"]);
    engine.storage.cert_dir = Some(registry.cert_dir());
    let context = context(dir.path());
    let list = format!("{}/zuul-image-test/multi:1", registry.address());
    let second = format!("{}/zuul-image-test/multi:change_1003_1", registry.address());
    let multi = BuildSpec {
        platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
        ..spec(&context, &[list.clone(), second.clone()])
    };
    for _ in 0..2 {
        engine.build(&multi, &Lines::default()).await.unwrap();
    }
    let info = engine.inspect(&list).await.unwrap().expect("the list");
    let mut platforms = info.platforms.clone();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{info:?}");
    assert_eq!(info.labels["greeting"], "hi");
    assert!(engine.exists(&second).await.unwrap());

    let pushing = BuildSpec {
        push: true,
        auths: vec![auth(&registry)],
        ..multi
    };
    engine.build(&pushing, &Lines::default()).await.unwrap();
    for tag in ["1", "change_1003_1"] {
        let index = fetch(&registry, "zuul-image-test/multi", tag).await;
        assert!(index.is_index(), "{}", index.media_type);
        let children = index.children(&registry.address(), tag).unwrap();
        assert_eq!(children.manifests.len(), 2, "both platforms pushed");
    }
}
