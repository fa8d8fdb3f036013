//! Blobs belong to repositories (issue 12, "fix first" 1), with real
//! clients against the embedded buildset registry over TLS: skopeo copies
//! between two repositories of the registry by cross-repository mount,
//! byte-exact; a blob DELETE through another repository (with a token for
//! that repository only) neither reads nor removes anything of an image,
//! and deleting a shared layer through one repository breaks only that
//! repository's image.

use crate::support::buildset::BuildsetRegistry;
use crate::support::images::{self, Image, Layer};
use crate::support::{run, skopeo};
use std::process::Command;

/// curl with the registry's CA; extra header lines and credentials from a
/// config file (never in argv). The status code.
fn curl(
    registry: &BuildsetRegistry,
    method: &str,
    url: &str,
    header: Option<&str>,
    user: bool,
) -> u16 {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &registry.ca_pem).unwrap();
    let config = dir.path().join("curlrc");
    let mut lines = String::new();
    if user {
        lines.push_str(&format!("user = \"zuul:{}\"\n", registry.password));
    }
    if let Some(header) = header {
        lines.push_str(&format!("header = \"{header}\"\n"));
    }
    std::fs::write(&config, lines).unwrap();
    let method: &[&str] = match method {
        "HEAD" => &["-I"],
        _ => &["-X", method],
    };
    let status = run(Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(method)
        .arg("--cacert")
        .arg(&ca)
        .arg("-K")
        .arg(&config)
        .arg(url));
    status.trim().parse().unwrap()
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_12_skopeo_copy_between_repositories_mounts_byte_exact() {
    let registry = BuildsetRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let index = images::two_platform_layout(&dir.path().join("in"));
    registry.push(&dir.path().join("in"), "quay.io/org/src:v1");
    let source = format!("{}/quay.io/org/src:v1", registry.address());
    let copied = skopeo()
        .args(["--debug", "copy", "--all", "--src-cert-dir"])
        .arg(registry.cert_dir())
        .arg("--dest-cert-dir")
        .arg(registry.cert_dir())
        .arg("--dest-authfile")
        .arg(registry.auth_file())
        .arg(format!("docker://{source}"))
        .arg(format!(
            "docker://{}/quay.io/org/dst:v1",
            registry.address()
        ))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&copied.stderr);
    assert!(copied.status.success(), "{log}");
    // Every layer was mounted from the source repository, not uploaded
    // (skopeo always sends configs itself).
    let (_, platforms) = images::two_platform();
    let mut blobs: Vec<(String, Vec<u8>)> = platforms.iter().flat_map(Image::blobs).collect();
    blobs.sort();
    blobs.dedup();
    let mut layers: Vec<String> = platforms
        .iter()
        .flat_map(|image| image.layers.iter().map(Layer::digest))
        .collect();
    layers.sort();
    layers.dedup();
    let lines: Vec<&str> = log.lines().collect();
    for digest in &layers {
        let hex = &digest["sha256:".len()..];
        // (skopeo logs from several goroutines: lines interleave.)
        let mounted = lines.iter().any(|line| {
            line.contains("Trying to mount")
                && line.contains("from=quay.io%2Forg%2Fsrc")
                && line.contains(hex)
        });
        assert!(mounted, "{digest} was not mounted:\n{log}");
        let uploaded = lines.iter().any(|line| {
            line.contains("PUT") && line.contains("/blobs/uploads/") && line.contains(hex)
        });
        assert!(!uploaded, "{digest} was uploaded:\n{log}");
    }
    assert!(log.contains("mount OK"), "{log}");
    // Byte-exact out of the destination repository.
    let out = dir.path().join("out");
    let pulled = registry.pull("quay.io/org/dst:v1", &out);
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    assert_eq!(images::layout_blob(&out, &images::sha256(&index)), index);
    for image in &platforms {
        assert_eq!(images::layout_blob(&out, &image.digest()), image.manifest);
    }
    for (digest, bytes) in &blobs {
        assert_eq!(&images::layout_blob(&out, digest), bytes, "{digest}");
    }
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_12_blob_delete_through_another_repository_with_real_clients() {
    let registry = BuildsetRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let layer = Layer::random(12, 1 << 20);
    let image = Image::new(vec![Layer::busybox(), layer.clone()], "amd64");
    images::image_layout(&dir.path().join("in"), &image);
    for repository in ["org/a", "org/b"] {
        registry.push(&dir.path().join("in"), &format!("{repository}:v1"));
    }
    let base = format!("https://{}/v2", registry.address());
    let digest = layer.digest();

    // A token for evil/b only, with every right there: org/a's layer can be
    // neither read nor deleted through it.
    let token_url = format!(
        "https://{}/auth/token?service=zuul-image&scope=repository:evil/b:pull,push,delete",
        registry.address()
    );
    let token = token_of(&registry, &token_url);
    let bearer = format!("Authorization: Bearer {token}");
    let evil = format!("{base}/evil/b/blobs/{digest}");
    assert_eq!(curl(&registry, "GET", &evil, Some(&bearer), false), 404);
    assert_eq!(curl(&registry, "HEAD", &evil, Some(&bearer), false), 404);
    assert_eq!(curl(&registry, "DELETE", &evil, Some(&bearer), false), 404);
    // An ordinary delete of the shared layer through org/b.
    let through_b = format!("{base}/org/b/blobs/{digest}");
    assert_eq!(curl(&registry, "DELETE", &through_b, None, true), 202);
    assert_eq!(curl(&registry, "HEAD", &through_b, None, true), 404);

    // org/a is whole, byte for byte; org/b's image lost its layer.
    let out = dir.path().join("a");
    let pulled = registry.pull("org/a:v1", &out);
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    for (digest, bytes) in image.blobs() {
        assert_eq!(images::layout_blob(&out, &digest), bytes, "{digest}");
    }
    let broken = registry.pull("org/b:v1", &dir.path().join("b"));
    assert!(
        !broken.status.success(),
        "org/b:v1 should miss its deleted layer"
    );
}

fn token_of(registry: &BuildsetRegistry, url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &registry.ca_pem).unwrap();
    let config = dir.path().join("curlrc");
    std::fs::write(&config, format!("user = \"zuul:{}\"\n", registry.password)).unwrap();
    let body = run(Command::new("curl")
        .args(["-s", "--cacert"])
        .arg(&ca)
        .arg("-K")
        .arg(&config)
        .arg(url));
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    value["token"].as_str().unwrap().to_owned()
}
