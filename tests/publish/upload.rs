//! `upload-image` into a real distribution registry: from the embedded
//! buildset registry (the whole index, byte-exact), from buildah's
//! storage (a manifest list pushed whole) and from the private dockerd;
//! a repository the credentials do not permit stops the upload before
//! anything is pushed.

use super::{credentials, failed_with, final_registry, push_index, succeeded, zuul, zuul_with_env};
use crate::support::buildset::BuildsetRegistry;
use crate::support::distribution::{Distribution, Options};
use crate::support::docker::PrivateDocker;
use crate::support::images;
use crate::support::tls::{KeyKind, openssl_self_signed};
use crate::support::{REAL, run};
use serde_json::{Value, json};
use std::process::Command;

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn upload_copies_the_tested_index_and_refuses_what_the_credentials_do_not_permit() {
    let _ = REAL;
    let buildset = BuildsetRegistry::start();
    let target = final_registry();
    let index = push_index(&buildset, "org/app:latest");
    push_index(&buildset, "org/other:latest");
    let vars = |images: Value| {
        json!({
            "zuul": {"change": "42", "pipeline": "gate"},
            "buildset_registry": buildset.value,
            "docker_registry": target.address(),
            "docker_credentials": {
                "username": target.username,
                "password": target.password,
                "repository": "^org/app$",
                "cert": target.certs.ca_pem,
            },
            "docker_images": images,
        })
    };

    // A refused repository stops everything before the first push.
    let both = vars(json!([{"repository": "org/app"}, {"repository": "org/other"}]));
    let text = failed_with(&zuul(&both, &["upload-image"]), 2);
    assert!(
        text.contains("`org/other` not permitted by `^org/app$` (`docker_credentials.repository`)"),
        "{text}"
    );
    assert!(!text.contains(&target.password), "{text}");
    assert_eq!(target.requests(), Vec::<String>::new(), "no request at all");
    assert!(images::raw_manifest(&target, "org/app:change_42_latest").is_none());

    // The permitted one goes up under the temporary tag, byte-exact.
    let one = vars(json!([{"repository": "org/app"}]));
    let text = succeeded(&zuul(&one, &["upload-image", "--family", "docker"]));
    assert!(text.contains("1 copied"), "{text}");
    assert_eq!(
        images::raw_manifest(&target, "org/app:change_42_latest").unwrap(),
        index,
        "the tested digest is what ships"
    );
    assert!(images::raw_manifest(&target, "org/app:latest").is_none());

    // Again: nothing moves.
    let text = succeeded(&zuul(&one, &["upload-image"]));
    assert!(text.contains("0 copied, 1 already up to date"), "{text}");

    // Promotion off (a release pipeline): the final tag itself.
    let mut release = one.clone();
    release["upload_docker_image_promote"] = json!(false);
    succeeded(&zuul(&release, &["upload-image"]));
    assert_eq!(
        images::raw_manifest(&target, "org/app:latest").unwrap(),
        index
    );
}

/// A private containers-storage for buildah, by `CONTAINERS_STORAGE_CONF`
/// (which zuul-image's buildah calls inherit).
fn storage_conf(dir: &std::path::Path) -> std::path::PathBuf {
    let conf = dir.join("storage.conf");
    std::fs::write(
        &conf,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            dir.join("root").display(),
            dir.join("run").display()
        ),
    )
    .unwrap();
    conf
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn upload_from_buildah_storage_pushes_every_platform_of_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let target = final_registry();
    let conf = storage_conf(dir.path());
    let context = images::busybox_context(&dir.path().join("ctx"));
    let repository = format!("{}/org/multi", target.address());
    run(Command::new("buildah")
        .env("CONTAINERS_STORAGE_CONF", &conf)
        .args([
            "build",
            "--isolation",
            "chroot",
            "--platform",
            "linux/amd64,linux/arm64",
            "--manifest",
        ])
        .arg(format!("{repository}:change_7_v1"))
        .arg(&context));
    let vars = json!({
        "zuul": {"change": 7},
        "container_command": "buildah",
        "container_images": [{"repository": repository, "registry": target.address(), "tags": ["v1"]}],
        "container_registry_credentials": credentials(&target, json!({"repository": "/org/"})),
    });
    let output = zuul_with_env(
        &vars,
        &["upload-image", "--family", "container"],
        &[("CONTAINERS_STORAGE_CONF", &conf)],
    );
    let text = succeeded(&output);
    assert!(!text.contains(&target.password), "{text}");
    let raw = images::raw_manifest(&target, "org/multi:change_7_v1").expect("the list arrived");
    let index: Value = serde_json::from_slice(&raw).unwrap();
    let mut platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_owned())
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["amd64", "arm64"], "{index}");
    for child in index["manifests"].as_array().unwrap() {
        let digest = child["digest"].as_str().unwrap();
        assert!(images::raw_manifest(&target, &format!("org/multi@{digest}")).is_some());
    }

    // An image that was never built fails before anything is pushed.
    let mut missing = vars.clone();
    missing["container_images"][0]["tags"] = json!(["v1", "v2"]);
    missing["zuul"] = json!({"change": 8});
    let output = zuul_with_env(
        &missing,
        &["upload-image"],
        &[("CONTAINERS_STORAGE_CONF", &conf)],
    );
    let text = failed_with(&output, 1);
    assert!(
        text.contains(&format!("`{repository}:change_8_v1`")),
        "{text}"
    );
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn upload_from_the_docker_daemon() {
    let docker = PrivateDocker::get();
    let dir = tempfile::tempdir().unwrap();
    let mut target = final_registry();
    target.trust_in_docker();
    let context = images::busybox_context(&dir.path().join("ctx"));
    let local = format!("{}/org/app:change_9_latest", target.address());
    run(docker
        .cli()
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", &local])
        .arg(&context));
    let vars = json!({
        "zuul": {"change": 9},
        "docker_registry": target.address(),
        "docker_credentials": {"username": target.username, "password": target.password},
        "docker_images": [{"repository": "org/app"}],
    });
    let output = zuul(&vars, &["upload-image", "--docker-host", &docker.host]);
    let text = succeeded(&output);
    assert!(text.contains("pushing"), "{text}");
    let raw = images::raw_manifest(&target, "org/app:change_9_latest").expect("pushed");
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        manifest["layers"].as_array().unwrap().len(),
        1,
        "{manifest}"
    );
}

/// A final registry with a site's self-signed `openssl req -x509`
/// certificate, given as the credentials' `cert`: upload and promote
/// trust it (exactly that certificate), and refuse it without.
#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn a_final_registry_with_a_self_signed_certificate_from_the_variables() {
    let certs = openssl_self_signed(KeyKind::Rsa, "registry", "IP:127.0.0.1,DNS:localhost");
    let target = Distribution::start_with_certs(Options::default(), certs);
    let buildset = BuildsetRegistry::start();
    let index = push_index(&buildset, "org/app:latest");
    let vars = json!({
        "zuul": {"change": "5", "pipeline": "promote"},
        "buildset_registry": buildset.value,
        "docker_registry": target.address(),
        "docker_credentials": {
            "username": target.username,
            "password": target.password,
            "cert": target.certs.cert_pem,
        },
        "docker_images": [{"repository": "org/app"}],
    });
    let mut untrusted = vars.clone();
    untrusted["docker_credentials"]
        .as_object_mut()
        .unwrap()
        .remove("cert");
    let text = failed_with(&zuul(&untrusted, &["upload-image"]), 1);
    assert!(text.contains("invalid peer certificate"), "{text}");

    succeeded(&zuul(&vars, &["upload-image"]));
    assert_eq!(
        images::raw_manifest(&target, "org/app:change_5_latest").unwrap(),
        index
    );
    succeeded(&zuul(&vars, &["promote-image"]));
    assert_eq!(
        images::raw_manifest(&target, "org/app:latest").unwrap(),
        index
    );
}
