//! Both directions against real distribution registries (TLS + htpasswd):
//! the intermediate registry, and (until the embedded registry lands) a
//! second distribution standing in for the buildset registry — switch
//! [`buildset_registry`] to the embedded one and nothing else changes.
//! Images are pushed with skopeo from OCI layouts and checked with skopeo.

use crate::support::TestRegistry;
use crate::support::buildset::BuildsetRegistry;
use crate::support::distribution::Distribution;
use crate::support::images::{self, Image, Layer, OCI_INDEX, sha256};
use crate::support::{REAL, run, zuul_image};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const BUILD: &str = "0123456789abcdef0123456789abcdef";

/// The buildset registry of a test: the embedded one, as in a job.
fn buildset_registry() -> BuildsetRegistry {
    BuildsetRegistry::start()
}

fn buildset_var(registry: &BuildsetRegistry) -> Value {
    registry.value.clone()
}

/// The raw manifest at `reference`, through skopeo (an independent client).
pub(super) fn raw_manifest(registry: &impl TestRegistry, reference: &str) -> Vec<u8> {
    images::raw_manifest(registry, reference)
        .unwrap_or_else(|| panic!("skopeo cannot read `{reference}`"))
}

/// Pull every platform with skopeo into a layout: proves the blobs are there
/// and match their digests.
fn skopeo_pulls(registry: &impl TestRegistry, reference: &str, dir: &Path) {
    run(Command::new("skopeo")
        .args(["copy", "--all", "--quiet", "--src-cert-dir"])
        .arg(registry.cert_dir())
        .arg("--src-authfile")
        .arg(registry.auth_file())
        .arg(format!("docker://{}/{reference}", registry.address()))
        .arg(format!("oci:{}", dir.display())));
}

fn zuul(vars: &Value, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vars.json");
    std::fs::write(&file, vars.to_string()).unwrap();
    let output = zuul_image()
        .env("HOME", dir.path())
        .arg("--vars")
        .arg(&file)
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "zuul-image {args:?} failed: {text}"
    );
    output
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn round_trip_through_distribution_with_a_two_platform_index() {
    let _ = REAL;
    let dir = tempfile::tempdir().unwrap();
    let buildset = buildset_registry();
    let intermediate = Distribution::start();

    let single = Image::new(vec![Layer::busybox(), Layer::random(7, 300_000)], "amd64");
    images::skopeo_push(
        &images::image_layout(&dir.path().join("single"), &single),
        &format!("{}/example/app:latest", buildset.address()),
        &buildset.cert_dir(),
        Some(&buildset.auth_file()),
    );
    let index = images::two_platform_layout(&dir.path().join("multi"));
    images::skopeo_push(
        &dir.path().join("multi"),
        &format!("{}/quay.io/org/multi:v2", buildset.address()),
        &buildset.cert_dir(),
        Some(&buildset.auth_file()),
    );

    let vars = json!({
        "zuul": {"build": BUILD},
        "buildset_registry": buildset_var(&buildset),
        "intermediate_registry": intermediate.intermediate_registry_var(),
        "docker_images": [
            {"repository": "docker.io/example/app", "tags": ["latest"]},
            {"repository": "quay.io/org/multi", "tags": ["v2"]},
        ],
    });
    let output = zuul(&vars, &["push-to-intermediate"]);
    let returned: Value = serde_json::from_slice(&output.stdout).unwrap();
    let artifacts = returned["data"]["zuul"]["artifacts"].clone();
    assert_eq!(artifacts.as_array().unwrap().len(), 2, "{returned}");
    assert_eq!(
        artifacts[1]["url"],
        json!(format!(
            "docker://{}/quay.io/org/multi:{BUILD}_v2",
            intermediate.address()
        ))
    );
    assert_eq!(
        raw_manifest(
            &intermediate,
            &format!("docker.io/example/app:{BUILD}_latest")
        ),
        single.manifest
    );
    assert_eq!(
        raw_manifest(&intermediate, &format!("quay.io/org/multi:{BUILD}_v2")),
        index
    );

    // A second push finds everything in place.
    let output = zuul(&vars, &["push-to-intermediate"]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("0 copied, 2 already up to date"), "{text}");

    // Pull into a fresh buildset registry, as the next change's job does.
    let next = buildset_registry();
    let vars = json!({
        "zuul": {"artifacts": artifacts},
        "buildset_registry": buildset_var(&next),
        "intermediate_registry": intermediate.intermediate_registry_var(),
    });
    zuul(&vars, &["pull-from-intermediate"]);
    assert_eq!(raw_manifest(&next, "example/app:latest"), single.manifest);
    assert_eq!(raw_manifest(&next, "quay.io/org/multi:v2"), index);
    skopeo_pulls(&next, "quay.io/org/multi:v2", &dir.path().join("check"));
    let pulled: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("check/index.json")).unwrap())
            .unwrap();
    assert_eq!(pulled["manifests"][0]["digest"], json!(sha256(&index)));
    assert_eq!(pulled["manifests"][0]["mediaType"], json!(OCI_INDEX));
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn layers_already_in_the_intermediate_registry_are_not_uploaded_again() {
    let dir = tempfile::tempdir().unwrap();
    let buildset = buildset_registry();
    let intermediate = Distribution::start();
    let base = Image::new(
        vec![Layer::random(1, 400_000), Layer::random(2, 400_000)],
        "amd64",
    );
    let app = Image::new(
        vec![
            Layer::random(1, 400_000),
            Layer::random(2, 400_000),
            Layer::random(3, 1000),
        ],
        "amd64",
    );
    for (tag, image) in [("v1", &base), ("v2", &app)] {
        images::skopeo_push(
            &images::image_layout(&dir.path().join(tag), image),
            &format!("{}/example/app:{tag}", buildset.address()),
            &buildset.cert_dir(),
            Some(&buildset.auth_file()),
        );
    }
    let vars = |tag: &str| {
        json!({
            "zuul": {"build": BUILD},
            "buildset_registry": buildset_var(&buildset),
            "intermediate_registry": intermediate.intermediate_registry_var(),
            "container_images": [{"repository": "example/app", "tags": [tag]}],
        })
    };
    let output = zuul(&vars("v1"), &["push-to-intermediate"]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("blobs: 3 copied"), "{text}");
    // v2 shares both layers of v1, which the intermediate repository now
    // holds: only its own layer and config cross the wire.
    let output = zuul(&vars("v2"), &["push-to-intermediate"]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("blobs: 2 copied"), "{text}");
    assert!(text.contains("2 already present"), "{text}");
    assert_eq!(
        raw_manifest(&intermediate, &format!("example/app:{BUILD}_v2")),
        app.manifest
    );
}

/// Issue 4: an intermediate registry on the IPv6 loopback, named by its bare
/// literal (`host: "::1"`), is reached directly in both directions: no
/// hosts-file alias, no tunnel. The image goes out to `[::1]` and comes back
/// into a fresh buildset registry, where skopeo checks every blob.
#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn ipv6_loopback_intermediate_registry_in_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let buildset = buildset_registry();
    let intermediate = Distribution::start_ipv6();
    let image = Image::new(
        vec![Layer::random(61, 200_000), Layer::random(62, 3000)],
        "amd64",
    );
    images::skopeo_push(
        &images::image_layout(&dir.path().join("app"), &image),
        &format!("{}/example/app:latest", buildset.address()),
        &buildset.cert_dir(),
        Some(&buildset.auth_file()),
    );
    let intermediate_var = intermediate.intermediate_registry_var();
    assert_eq!(intermediate_var["host"], json!("::1"));

    let vars = json!({
        "zuul": {"build": BUILD},
        "buildset_registry": buildset_var(&buildset),
        "intermediate_registry": intermediate_var,
        "container_images": [{"repository": "example/app", "tags": ["latest"]}],
    });
    let output = zuul(&vars, &["push-to-intermediate"]);
    let returned: Value = serde_json::from_slice(&output.stdout).unwrap();
    let artifacts = returned["data"]["zuul"]["artifacts"].clone();
    assert_eq!(
        artifacts[0]["url"],
        json!(format!(
            "docker://[::1]:{}/example/app:{BUILD}_latest",
            intermediate.port
        )),
        "{returned}"
    );
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("blobs: 3 copied"), "{text}");

    let next = buildset_registry();
    let vars = json!({
        "zuul": {"artifacts": artifacts},
        "buildset_registry": buildset_var(&next),
        "intermediate_registry": intermediate.intermediate_registry_var(),
    });
    zuul(&vars, &["pull-from-intermediate"]);
    assert_eq!(raw_manifest(&next, "example/app:latest"), image.manifest);
    skopeo_pulls(&next, "example/app:latest", &dir.path().join("check"));
}
