//! Faults: `push-to-intermediate` and `pull-from-intermediate` through a
//! proxy that resets connections at random offsets, to and from a real
//! distribution registry (TLS + htpasswd): N copies of a two-platform
//! image in each direction all complete, and every copy is checked with
//! skopeo (an independent client) on the far side: the index byte for
//! byte, and every manifest and blob against its digest.
//!
//! CI runs a short pass; `tests/soak/run.sh` sets `ZUUL_IMAGE_SOAK_COPIES`
//! (and `ZUUL_IMAGE_SOAK_SEED` replays a run).

use crate::support::buildset::BuildsetRegistry;
use crate::support::distribution::Distribution;
use crate::support::images::{self, Image, Layer, OCI_INDEX};
use crate::support::load::{report, scale};
use crate::support::proxy::{Faults, start_resetting};
use crate::support::{REAL, TestRegistry, run, skopeo, zuul_image};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::Ordering;

const BUILD: &str = "feedfacefeedfacefeedfacefeedface";

/// Copy `i`'s image: two platforms, three layers of random bytes.
fn image(i: u64) -> (Vec<u8>, Vec<Image>) {
    let seed = 1000 + i * 10;
    let amd64 = Image::new(
        vec![
            Layer::random(seed, 900_000),
            Layer::random(seed + 1, 30_000),
        ],
        "amd64",
    );
    let arm64 = Image::new(vec![Layer::random(seed + 2, 600_000)], "arm64");
    let images = vec![amd64, arm64];
    (images::index(&images), images)
}

fn zuul(vars: &Value, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vars.json");
    std::fs::write(&file, vars.to_string()).unwrap();
    zuul_image()
        .env("HOME", dir.path())
        .arg("--vars")
        .arg(&file)
        .args(args)
        .output()
        .unwrap()
}

/// skopeo, straight to the registry, finds `reference` to be `index`
/// with every manifest and blob matching its digest.
fn verified(registry: &impl TestRegistry, reference: &str, index: &[u8], out: &Path) {
    let raw = run(skopeo()
        .args(["inspect", "--raw", "--cert-dir"])
        .arg(registry.cert_dir())
        .arg("--authfile")
        .arg(registry.auth_file())
        .arg(format!("docker://{}/{reference}", registry.address())));
    assert_eq!(raw.as_bytes(), index, "{reference}");
    // skopeo checks every blob against its digest as it copies.
    run(skopeo()
        .args(["copy", "--all", "--preserve-digests", "--quiet"])
        .arg("--src-cert-dir")
        .arg(registry.cert_dir())
        .arg("--src-authfile")
        .arg(registry.auth_file())
        .arg(format!("docker://{}/{reference}", registry.address()))
        .arg(format!("oci:{}", out.display())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn copies_through_a_resetting_proxy_all_complete_with_every_digest_verified() {
    let _ = REAL;
    let copies = scale("ZUUL_IMAGE_SOAK_COPIES", 3);
    let seed = scale("ZUUL_IMAGE_SOAK_SEED", rand::random::<u32>() as u64);
    let dir = tempfile::tempdir().unwrap();
    let buildset = BuildsetRegistry::start();
    let next = BuildsetRegistry::start();
    let intermediate = Distribution::start();
    let proxy = start_resetting(
        format!("127.0.0.1:{}", intermediate.port).parse().unwrap(),
        Faults {
            probability: 0.5,
            max_offset: 500_000,
            seed,
        },
    )
    .await;
    let mut via_proxy = intermediate.intermediate_registry_var();
    via_proxy["port"] = json!(proxy.addr.port());

    for i in 0..copies {
        let (index, platforms) = image(i);
        let layout = dir.path().join(format!("layout{i}"));
        images::write_layout(&layout, &index, OCI_INDEX, &platforms);
        let repository = format!("reliability/app{i}");
        buildset.push(&layout, &format!("{repository}:v1"));

        // Out: buildset registry -> proxy -> distribution (uploads cut).
        let vars = json!({
            "zuul": {"build": BUILD},
            "buildset_registry": buildset.value,
            "intermediate_registry": via_proxy,
            "container_images": [{"repository": repository, "tags": ["v1"]}],
        });
        let output = zuul(&vars, &["push-to-intermediate"]);
        assert!(
            output.status.success(),
            "copy {i} out (seed {seed}): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let returned: Value = serde_json::from_slice(&output.stdout).unwrap();
        verified(
            &intermediate,
            &format!("{repository}:{BUILD}_v1"),
            &index,
            &dir.path().join(format!("out{i}")),
        );

        // Back: distribution -> proxy -> a fresh buildset registry
        // (downloads cut).
        // The artifact's URL names the proxy, as the registry was reached.
        let artifacts = returned["data"]["zuul"]["artifacts"].clone();
        assert!(
            artifacts[0]["url"]
                .as_str()
                .unwrap()
                .contains(&proxy.addr.to_string()),
            "{artifacts}"
        );
        let vars = json!({
            "zuul": {"artifacts": artifacts},
            "buildset_registry": next.value,
            "intermediate_registry": via_proxy,
        });
        let output = zuul(&vars, &["pull-from-intermediate"]);
        assert!(
            output.status.success(),
            "copy {i} back (seed {seed}): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        verified(
            &next,
            &format!("{repository}:v1"),
            &index,
            &dir.path().join(format!("back{i}")),
        );
    }
    let resets = proxy.counts.resets.load(Ordering::SeqCst);
    let connections = proxy.counts.connections.load(Ordering::SeqCst);
    let offsets = proxy.counts.offsets.lock().unwrap().clone();
    report(&format!(
        "{copies} two-platform copies out and {copies} back through a resetting proxy \
         (seed {seed}): {resets} of {connections} connections reset, at offsets from {} to {} \
         bytes; all {} copies complete, every digest verified",
        offsets.iter().min().unwrap_or(&0),
        offsets.iter().max().unwrap_or(&0),
        copies * 2
    ));
    assert!(resets > 0, "the proxy reset nothing (seed {seed})");
}
