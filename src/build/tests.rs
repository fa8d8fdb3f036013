//! The build/tag/push sequence per family and engine kind, against the
//! recording fake engine.

use super::*;
use crate::engine::fake::{Call, Recording};
use crate::engine::{Answer, BuildLog, Built, ImageInfo};
use crate::output::{Color, Printer};
use crate::zuul::inputs::Env;
use crate::zuul::inputs::build::BuildFlags;
use crate::zuul::inputs::tests::with_sources;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Mutex;

const ALIAS: &str = "zuul-jobs.buildset-registry:5000";
const NOW: PushPolicy = PushPolicy {
    attempts: 4,
    delay: Duration::ZERO,
};

fn quiet() -> Printer {
    Printer::new(true, Color::Never, true)
}

/// A plan from `vars` with contexts under `dir` (HOME is `dir`).
fn plan(dir: &Path, vars: Value) -> Build {
    let env = Env {
        home: Some(dir.to_owned()),
        ..Env::default()
    };
    let mut vars = vars;
    vars["zuul_work_dir"] = json!(dir.join("work"));
    with_sources(vars, &env, |sources| {
        Build::resolve(sources, &BuildFlags::default())
    })
    .unwrap()
}

fn registry() -> Value {
    json!({"host": "10.0.0.5", "port": 5000, "password": "pw"})
}

fn builds(calls: &[Call]) -> Vec<BuildSpec> {
    calls
        .iter()
        .filter_map(|call| match call {
            Call::Build(spec) => Some(spec.clone()),
            _ => None,
        })
        .collect()
}

fn tag(source: &str, target: &str) -> Call {
    Call::Tag {
        source: source.into(),
        target: target.into(),
    }
}

fn push(image: &str) -> Call {
    Call::Push {
        image: image.into(),
        auth: Some((ALIAS.into(), "zuul".into())),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn docker_family_builds_every_local_tag_then_tags_and_pushes_each() {
    let dir = tempfile::tempdir().unwrap();
    let build = plan(
        dir.path(),
        json!({
            "zuul": {"change": 7, "change_url": "https://r.example.org/7"},
            "docker_registry": "reg.example.org",
            "docker_images": [{"context": "app", "repository": "org/app",
                               "tags": ["latest", "v1"], "target": "final",
                               "build_args": ["A=1"], "labels": ["x=y"]}],
            "buildset_registry": registry(),
        }),
    );
    let engine = Recording::new().without_lists();
    build_all(&engine, &build, &quiet(), NOW).await.unwrap();
    let local = "reg.example.org/org/app";
    assert_eq!(
        engine.calls(),
        [
            Call::Build(BuildSpec {
                context: dir.path().join("work/app"),
                dockerfile: Some("Dockerfile".into()),
                target: Some("final".into()),
                build_args: strings(&["A=1"]),
                labels: strings(&[
                    "x=y",
                    "org.zuul-ci.change=7",
                    "org.zuul-ci.change_url=https://r.example.org/7"
                ]),
                tags: vec![
                    format!("{local}:latest"),
                    format!("{local}:change_7_latest"),
                    format!("{local}:v1"),
                    format!("{local}:change_7_v1"),
                ],
                ..BuildSpec::default()
            }),
            tag(
                &format!("{local}:latest"),
                &format!("{ALIAS}/org/app:latest")
            ),
            tag(&format!("{local}:v1"), &format!("{ALIAS}/org/app:v1")),
            push(&format!("{ALIAS}/org/app:latest")),
            push(&format!("{ALIAS}/org/app:v1")),
        ]
    );
}

#[tokio::test]
async fn container_family_multi_platform_list_is_tagged_and_pushed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let build = plan(
        dir.path(),
        json!({
            "zuul": {"pipeline": "periodic"},
            "container_images": [{"context": "app", "repository": "quay.io/org/app",
                                  "arch": ["linux/amd64", "linux/arm64"]}],
            "container_build_extra_env": {"STORAGE_DRIVER": "vfs"},
            "buildset_registry": registry(),
        }),
    );
    let engine = Recording::new();
    build_all(&engine, &build, &quiet(), NOW).await.unwrap();
    let calls = engine.calls();
    let specs = builds(&calls);
    assert_eq!(specs.len(), 1);
    assert_eq!(
        specs[0].tags,
        ["quay.io/org/app:latest", "quay.io/org/app:periodic_latest"]
    );
    assert_eq!(specs[0].platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(specs[0].dockerfile, None);
    assert_eq!(specs[0].env, [("STORAGE_DRIVER".into(), "vfs".into())]);
    assert!(specs[0].labels.is_empty(), "no change, no change_url");
    let remote = format!("{ALIAS}/quay.io/org/app:latest");
    assert_eq!(
        calls[1..],
        [tag("quay.io/org/app:latest", &remote), push(&remote)]
    );
    assert_eq!(engine.image(&remote).unwrap().platforms.len(), 2);
}

#[tokio::test]
async fn docker_multi_platform_pushes_the_index_as_it_builds_then_loads_one_platform() {
    let dir = tempfile::tempdir().unwrap();
    let vars = json!({
        "zuul": {"change": 3},
        "docker_images": [{"context": "app", "repository": "docker.io/org/app",
                           "tags": ["1"], "arch": ["linux/arm64", native_platform()]}],
        "buildset_registry": registry(),
    });
    let build = plan(dir.path(), vars.clone());
    let engine = Recording::new().without_lists();
    build_all(&engine, &build, &quiet(), NOW).await.unwrap();
    let calls = engine.calls();
    let specs = builds(&calls);
    assert_eq!(specs.len(), 2, "{calls:?}");
    assert_eq!(specs[0].tags, [format!("{ALIAS}/org/app:1")]);
    assert!(specs[0].push);
    assert_eq!(specs[0].platforms.len(), 2);
    assert_eq!(specs[0].auths[0].registry, ALIAS);
    assert_eq!(
        specs[1].tags,
        ["docker.io/org/app:1", "docker.io/org/app:change_3_1"]
    );
    assert!(!specs[1].push && specs[1].auths.is_empty());
    assert_eq!(specs[1].platforms, [native_platform()]);
    assert_eq!(engine.pushed(), [format!("{ALIAS}/org/app:1")]);
    assert!(
        !calls.iter().any(|c| matches!(c, Call::Tag { .. })),
        "{calls:?}"
    );

    // Without a buildset registry only the local build runs; a platform
    // list without this machine's platform loads its first one.
    let mut alone = vars;
    alone.as_object_mut().unwrap().remove("buildset_registry");
    alone["docker_images"][0]["arch"] = json!(["linux/s390x", "linux/riscv64"]);
    let build = plan(dir.path(), alone);
    let engine = Recording::new().without_lists();
    build_all(&engine, &build, &quiet(), NOW).await.unwrap();
    let specs = builds(&engine.calls());
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].platforms, ["linux/s390x"]);
    assert!(engine.pushed().is_empty());
}

#[tokio::test]
async fn without_a_buildset_registry_nothing_is_tagged_or_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let build = plan(
        dir.path(),
        json!({"docker_images": [{"repository": "org/a"}, {"repository": "org/b"}]}),
    );
    let engine = Recording::new();
    build_all(&engine, &build, &quiet(), NOW).await.unwrap();
    let calls = engine.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(builds(&calls)[1].tags, ["org/b:latest"]);
}

/// Delegates to the fake and notes, at each build, whether the context
/// holds the staged siblings.
struct Watching {
    inner: Recording,
    seen: Mutex<Vec<bool>>,
}

impl Engine for Watching {
    fn name(&self) -> &'static str {
        "watching"
    }
    fn build<'a>(&'a self, spec: &'a BuildSpec, log: &'a dyn BuildLog) -> Answer<'a, Built> {
        let staged = spec
            .context
            .join(".zuul-siblings/opendev.org/org/lib/README")
            .exists();
        self.seen.lock().unwrap().push(staged);
        self.inner.build(spec, log)
    }
    fn tag<'a>(&'a self, source: &'a str, target: &'a str) -> Answer<'a, ()> {
        self.inner.tag(source, target)
    }
    fn push<'a>(&'a self, image: &'a str, auth: Option<&'a RegistryAuth>) -> Answer<'a, ()> {
        self.inner.push(image, auth)
    }
    fn inspect<'a>(&'a self, image: &'a str) -> Answer<'a, Option<ImageInfo>> {
        self.inner.inspect(image)
    }
}

#[tokio::test]
async fn siblings_are_there_during_the_build_and_gone_after_even_when_it_fails() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("src/opendev.org/org/lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("README"), "lib\n").unwrap();
    let context = dir.path().join("work/app");
    std::fs::create_dir_all(&context).unwrap();
    let build = plan(
        dir.path(),
        json!({"docker_images": [
            {"context": "app", "repository": "org/app", "siblings": ["opendev.org/org/lib"]},
            {"context": "app", "repository": "org/bad", "siblings": ["opendev.org/org/lib"]},
            {"context": "app", "repository": "org/never"},
        ]}),
    );
    check(&build).unwrap();
    let engine = Watching {
        inner: Recording::new().failing_build("org/bad:latest", &["Step 2/2", "COPY failed: no x"]),
        seen: Mutex::new(Vec::new()),
    };
    let err = build_all(&engine, &build, &quiet(), NOW).await.unwrap_err();
    assert_eq!(*engine.seen.lock().unwrap(), [true, true]);
    assert!(!context.join(".zuul-siblings").exists());
    assert!(lib.join("README").exists());
    assert_eq!(
        err.to_string(),
        "failed to build `org/bad` (docker_images[1])"
    );
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("COPY failed: no x"), "{cause}");
    assert!(!crate::exit::Classify::is_input(&err));
    assert_eq!(
        builds(&engine.inner.calls()).len(),
        2,
        "the third is not built"
    );
}

#[tokio::test]
async fn pushes_are_retried_and_a_lasting_failure_names_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let vars =
        json!({"docker_images": [{"repository": "org/app"}], "buildset_registry": registry()});
    let build = plan(dir.path(), vars);
    let remote = format!("{ALIAS}/org/app:latest");
    let flaky = Recording::new().flaky_push(&remote, 2);
    build_all(&flaky, &build, &quiet(), NOW).await.unwrap();
    assert_eq!(flaky.pushed(), std::slice::from_ref(&remote));

    let broken = Recording::new().failing_push(&remote);
    let err = build_all(&broken, &build, &quiet(), NOW).await.unwrap_err();
    let pushes = broken
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::Push { .. }))
        .count();
    assert_eq!(pushes, 4, "the first attempt and 3 retries");
    assert_eq!(
        err.to_string(),
        format!("failed to push `{remote}` to the buildset registry")
    );
}

#[test]
fn hints_for_registries_the_engine_cannot_reach_or_trust() {
    let push = |stderr: &str| Error::Push {
        reference: "r".into(),
        source: Box::new(engine::Error::Command(
            crate::host::services::Error::Failed {
                command: "podman push".into(),
                status: "exit status: 125".into(),
                stderr: stderr.into(),
            },
        )),
    };
    let hint = |stderr: &str| push(stderr).hint("podman", Some(ALIAS)).unwrap_or_default();
    assert!(hint("x509: certificate signed by unknown authority").contains("does not trust"));
    assert!(
        hint("dial tcp: lookup zuul-jobs.buildset-registry: no such host").contains("/etc/hosts")
    );
    assert!(hint("connect: connection refused").contains("running"));
    assert!(permanent(
        &match push("unauthorized: authentication required") {
            Error::Push { source, .. } => *source,
            _ => unreachable!(),
        }
    ));
    let missing = Error::Build {
        image: "a".into(),
        origin: "b".into(),
        source: Box::new(engine::Error::Command(
            crate::host::services::Error::Spawn {
                command: "podman build".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            },
        )),
    };
    assert!(missing.hint("podman", None).unwrap().contains("installed"));
}
