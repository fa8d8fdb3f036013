//! Table tests of `build-image`'s inputs.

use super::super::Env;
use super::super::tests::{input_error, with_sources};
use super::*;
use serde_json::Value;

fn env() -> Env {
    Env {
        home: Some("/home/zuul".into()),
        ..Env::default()
    }
}

fn resolve(given: Value, flags: &BuildFlags) -> Result<Build, Error> {
    resolve_in(given, flags, &env())
}

fn resolve_in(given: Value, flags: &BuildFlags, env: &Env) -> Result<Build, Error> {
    with_sources(given, env, |sources| Build::resolve(sources, flags))
}

fn registry() -> Value {
    json!({"host": "10.0.0.5", "port": 5000, "password": "pw"})
}

#[test]
fn docker_family_tags_labels_and_the_buildset_registry() {
    let given = json!({
        "zuul": {"change": 1003, "pipeline": "check",
                 "change_url": "https://review.example.org/1003",
                 "project": {"src_dir": "src/opendev.org/org/app"}},
        "docker_registry": "registry.example.org:5000/",
        "docker_images": [{
            "context": "images/app", "repository": "docker.io/org/app",
            "tags": ["latest", 3.12], "target": "final",
            "build_args": ["A=1"], "labels": ["team=ci"],
            "siblings": ["opendev.org/org/lib"],
        }],
        "buildset_registry": registry(),
    });
    let build = resolve(given, &BuildFlags::default()).unwrap();
    assert_eq!(build.family, Family::Docker);
    assert_eq!(build.engine.kind, EngineKind::Docker);
    assert_eq!(build.builder_image, DEFAULT_BUILDER_IMAGE);
    assert_eq!(build.sources, Some(PathBuf::from("/home/zuul/src")));
    let image = &build.images[0];
    assert_eq!(image.origin, "docker_images[0]");
    assert_eq!(
        image.context,
        PathBuf::from("/home/zuul/src/opendev.org/org/app/images/app")
    );
    assert_eq!(image.dockerfile.as_deref(), Some("Dockerfile"));
    assert_eq!(image.target.as_deref(), Some("final"));
    assert_eq!(
        image.build_args,
        ["A=1", "ZUUL_SIBLINGS=opendev.org/org/lib"]
    );
    assert_eq!(
        image.labels,
        [
            "team=ci",
            "org.zuul-ci.change=1003",
            "org.zuul-ci.change_url=https://review.example.org/1003"
        ]
    );
    let local = "registry.example.org:5000/docker.io/org/app";
    assert_eq!(
        image.tags[1],
        TagRefs {
            tag: "3.12".into(),
            local: vec![format!("{local}:3.12"), format!("{local}:change_1003_3.12")],
            buildset: Some("zuul-jobs.buildset-registry:5000/org/app:3.12".into()),
        }
    );
    assert_eq!(image.local_tags().len(), 4);
    assert_eq!(image.buildset_tags().len(), 2);
    assert!(!build.multiarch());
}

#[test]
fn change_less_pipelines_get_the_pipeline_prefix_and_no_change_labels() {
    let given = json!({
        "zuul": {"pipeline": "periodic"},
        "container_images": [{"context": ".", "repository": "quay.io/org/app"}],
    });
    let build = resolve(given, &BuildFlags::default()).unwrap();
    let image = &build.images[0];
    assert_eq!(
        image.tags[0].local,
        ["quay.io/org/app:latest", "quay.io/org/app:periodic_latest"]
    );
    assert_eq!(image.tags[0].buildset, None, "no buildset registry");
    assert!(image.labels.is_empty(), "{:?}", image.labels);
    assert_eq!(image.dockerfile, None, "podman picks its own file");
    assert_eq!(image.context, PathBuf::from("./."));
}

#[test]
fn by_hand_flags_win_and_only_plain_tags_without_zuul() {
    let flags = BuildFlags {
        image: Some(ImageFlags {
            repository: "org/app".into(),
            context: Some("ctx".into()),
            tags: vec!["v1".into()],
            file: Some("Containerfile".into()),
            arch: vec!["linux/amd64".into(), "linux/arm64".into()],
            ..ImageFlags::default()
        }),
        work_dir: Some("/srv/app".into()),
        ..BuildFlags::default()
    };
    // The list in the variables is not read: flags win.
    let given = json!({"docker_images": [{"repository": "Bad/Name"}]});
    let build = resolve(given, &flags).unwrap();
    assert_eq!(build.family, Family::Docker);
    let image = &build.images[0];
    assert_eq!(image.origin, "--repository");
    assert_eq!(image.context, PathBuf::from("/srv/app/ctx"));
    assert_eq!(image.dockerfile.as_deref(), Some("Containerfile"));
    assert_eq!(image.local_tags(), ["org/app:v1"]);
    assert!(build.multiarch());
    let bad = BuildFlags {
        image: Some(ImageFlags {
            repository: "org/app".into(),
            tags: vec!["bad tag".into()],
            ..ImageFlags::default()
        }),
        ..BuildFlags::default()
    };
    assert!(input_error(resolve(json!({}), &bad)).starts_with("`--tag`"));
}

#[test]
fn zuul_work_dir_is_relative_to_home_and_wins_over_src_dir() {
    for (given, want) in [
        (json!("work"), "/home/zuul/work"),
        (json!("~/w"), "/home/zuul/w"),
        (json!("/abs"), "/abs"),
    ] {
        let vars = json!({
            "zuul": {"project": {"src_dir": "src/x"}},
            "zuul_work_dir": given,
            "docker_images": [{"context": "c", "repository": "a/b"}],
        });
        let build = resolve(vars, &BuildFlags::default()).unwrap();
        assert_eq!(build.images[0].context, Path::new(want).join("c"));
    }
}

#[test]
fn container_command_and_the_podman_fallback() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("buildah"), "").unwrap();
    let only_buildah = Env {
        path: vec![dir.path().to_owned()],
        ..env()
    };
    let images = json!([{"repository": "quay.io/org/app"}]);
    let build = resolve_in(
        json!({"container_images": images}),
        &BuildFlags::default(),
        &only_buildah,
    )
    .unwrap();
    assert_eq!(build.engine.kind, EngineKind::Buildah);
    assert!(build.engine.fallback.is_some());
    std::fs::write(dir.path().join("podman"), "").unwrap();
    for (command, flag, want) in [
        (None, None, EngineKind::Podman),
        (Some("docker"), None, EngineKind::Docker),
        (Some("/usr/bin/buildah"), None, EngineKind::Buildah),
        (Some("docker"), Some("podman"), EngineKind::Podman),
    ] {
        let mut vars = json!({"container_images": images});
        if let Some(command) = command {
            vars["container_command"] = json!(command);
        }
        let flags = BuildFlags {
            engine: flag.map(str::to_owned),
            ..BuildFlags::default()
        };
        let build = resolve_in(vars, &flags, &only_buildah).unwrap();
        assert_eq!(build.engine.kind, want, "{command:?} {flag:?}");
        assert_eq!(build.engine.fallback, None);
    }
    let err = input_error(resolve(
        json!({"container_images": images, "container_command": "nerdctl"}),
        &BuildFlags::default(),
    ));
    assert!(err.starts_with("`container_command`"), "{err}");
    let err = input_error(resolve(
        json!({"docker_images": images}),
        &BuildFlags {
            engine: Some("podman".into()),
            ..BuildFlags::default()
        },
    ));
    assert!(err.starts_with("`--engine`"), "{err}");
}

#[test]
fn extra_env_filename_and_builder_image_of_the_container_family() {
    let vars = json!({
        "container_images": [
            {"repository": "quay.io/a/b"},
            {"repository": "quay.io/a/c", "container_filename": "Other"},
        ],
        "container_filename": "Containerfile.ci",
        "container_build_extra_env": {"BUILDAH_LAYERS": "true", "N": 3},
        "container_builder_image": "registry.example.org/buildkit:v1",
        "docker_registry": "ignored.example.org",
    });
    let build = resolve(vars, &BuildFlags::default()).unwrap();
    let files: Vec<_> = build.images.iter().map(|i| i.dockerfile.clone()).collect();
    assert_eq!(
        files,
        [Some("Containerfile.ci".into()), Some("Other".into())]
    );
    assert_eq!(
        build.env,
        [
            ("BUILDAH_LAYERS".into(), "true".into()),
            ("N".into(), "3".into())
        ]
    );
    assert_eq!(build.builder_image, "registry.example.org/buildkit:v1");
    assert_eq!(build.images[0].local_tags(), ["quay.io/a/b:latest"]);
}

#[test]
fn the_results_file_counts_only_when_it_holds_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("results.json");
    let images = json!([{"repository": "org/app"}]);
    let with_file = |text: Option<&str>| {
        if let Some(text) = text {
            std::fs::write(&file, text).unwrap();
        }
        let vars = json!({"docker_images": images,
                          "zuul": {"executor": {"result_data_file": file}}});
        resolve(vars, &BuildFlags::default())
    };
    assert!(with_file(None).unwrap().buildset.is_none(), "no file");
    assert!(with_file(Some("")).unwrap().buildset.is_none(), "empty");
    let other = json!({"data": {}, "secret_data": {"x": 1}}).to_string();
    assert!(with_file(Some(&other)).unwrap().buildset.is_none());
    let held = json!({"secret_data": {"buildset_registry": registry()}}).to_string();
    let build = with_file(Some(&held)).unwrap();
    assert_eq!(build.buildset.unwrap().host, "10.0.0.5");
}

#[test]
fn bad_input_names_the_key_path_or_flag() {
    for (given, want) in [
        (
            json!({"docker_images": [], "container_images": []}),
            "`--family`",
        ),
        (json!({}), "missing variable `docker_images`"),
        (
            json!({"docker_images": [{"repository": "a/b", "arch": ["amd64"]}]}),
            "`docker_images[0].arch[0]`",
        ),
        (
            json!({"docker_images": [{"repository": "a/b", "siblings": ["../x"]}]}),
            "`docker_images[0].siblings[0]`",
        ),
        (
            json!({"docker_images": [{"repository": "a/b"}], "docker_registry": "bad host"}),
            "`docker_registry`",
        ),
        (
            json!({"docker_images": [{"repository": "a/b"}], "zuul": {"change_url": []}}),
            "`zuul.change_url`",
        ),
        (
            json!({"docker_images": [{"repository": "a/b"}], "buildset_registry": {"host": "h"}}),
            "`buildset_registry`",
        ),
    ] {
        let err = input_error(resolve(given.clone(), &BuildFlags::default()));
        assert!(err.contains(want), "{given}: {err}");
    }
    // The other family's variables are not read.
    let vars = json!({"docker_images": [{"repository": "a/b"}], "container_command": []});
    assert!(resolve(vars, &BuildFlags::default()).is_ok());
}
