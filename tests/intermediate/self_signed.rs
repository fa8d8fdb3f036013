//! Issue 9, defect 1: an intermediate registry whose certificate is a
//! site's self-signed `openssl req -x509` one (which carries `CA:TRUE`),
//! made here with the real `openssl` command and served by a real
//! distribution registry. Given as `intermediate_registry.cert` or as a
//! `certs.d/<host:port>/ca.crt` file, it is trusted by exact match, in both
//! directions; a certificate for another name is still refused.

use super::real::raw_manifest;
use crate::support::buildset::BuildsetRegistry;
use crate::support::distribution::{Distribution, Options};
use crate::support::images::{self, Image, Layer};
use crate::support::tls::{KeyKind, openssl_self_signed};
use crate::support::zuul_image;
use serde_json::{Value, json};
use std::path::Path;

const BUILD: &str = "9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a";
const SAN: &str = "IP:127.0.0.1,DNS:localhost";

/// Run `zuul-image --vars <vars> <command>` with `home` as `$HOME` (its
/// `.config/containers/certs.d` is one of the trusted directories).
pub(super) fn zuul_in(home: &Path, vars: &Value, command: &str) -> std::process::Output {
    let file = home.join("vars.json");
    std::fs::write(&file, vars.to_string()).unwrap();
    zuul_image()
        .env("HOME", home)
        .arg("--vars")
        .arg(&file)
        .arg(command)
        .output()
        .unwrap()
}

fn succeeded(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Push an image from a buildset registry into `intermediate` and pull it
/// back into a fresh buildset registry; `cert` is the variable's `cert`
/// (None: trust comes from `certs.d` under `home`).
fn round_trip(intermediate: &Distribution, cert: Option<&str>, home: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let buildset = BuildsetRegistry::start();
    let image = Image::new(vec![Layer::random(91, 50_000)], "amd64");
    images::skopeo_push(
        &images::image_layout(&dir.path().join("app"), &image),
        &format!("{}/example/app:latest", buildset.address()),
        &buildset.cert_dir(),
        Some(&buildset.auth_file()),
    );
    let mut intermediate_var = intermediate.intermediate_registry_var();
    match cert {
        Some(cert) => intermediate_var["cert"] = json!(cert),
        None => {
            intermediate_var.as_object_mut().unwrap().remove("cert");
        }
    }
    let vars = json!({
        "zuul": {"build": BUILD},
        "buildset_registry": buildset.value,
        "intermediate_registry": intermediate_var,
        "container_images": [{"repository": "example/app", "tags": ["latest"]}],
    });
    let output = zuul_in(home, &vars, "push-to-intermediate");
    succeeded(&output, "push-to-intermediate");
    let returned: Value = serde_json::from_slice(&output.stdout).unwrap();
    let artifacts = returned["data"]["zuul"]["artifacts"].clone();
    assert_eq!(artifacts.as_array().map(Vec::len), Some(1), "{returned}");

    let next = BuildsetRegistry::start();
    let vars = json!({
        "zuul": {"artifacts": artifacts},
        "buildset_registry": next.value,
        "intermediate_registry": intermediate_var,
    });
    succeeded(
        &zuul_in(home, &vars, "pull-from-intermediate"),
        "pull-from-intermediate",
    );
    assert_eq!(raw_manifest(&next, "example/app:latest"), image.manifest);
}

/// Where the client finds the site's certificate.
enum Given {
    Variable,
    CertsD,
}

/// A distribution registry serving a fresh self-signed certificate of
/// `kind` for 127.0.0.1 and localhost, used in both directions.
fn self_signed_round_trip(kind: KeyKind, given: Given) {
    let certs = openssl_self_signed(kind, "host", SAN);
    let cert = certs.cert_pem.clone();
    let intermediate = Distribution::start_with_certs(Options::default(), certs);
    let home = tempfile::tempdir().unwrap();
    match given {
        Given::Variable => round_trip(&intermediate, Some(&cert), home.path()),
        Given::CertsD => {
            let dir = home
                .path()
                .join(".config/containers/certs.d")
                .join(intermediate.address());
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("ca.crt"), &cert).unwrap();
            round_trip(&intermediate, None, home.path());
        }
    }
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_9_self_signed_intermediate_registry_rsa() {
    self_signed_round_trip(KeyKind::Rsa, Given::Variable);
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_9_self_signed_intermediate_registry_ec() {
    self_signed_round_trip(KeyKind::Ec, Given::Variable);
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_9_self_signed_intermediate_registry_in_certs_d() {
    self_signed_round_trip(KeyKind::Rsa, Given::CertsD);
}

/// Pinning keeps the name check: the same kind of certificate made for
/// another name is refused, and says why.
#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_9_self_signed_certificate_for_another_name_is_refused() {
    let certs = openssl_self_signed(KeyKind::Ec, "other", "DNS:other.example,IP:192.0.2.1");
    let cert = certs.cert_pem.clone();
    let intermediate = Distribution::start_with_certs(Options::default(), certs);
    let buildset = BuildsetRegistry::start();
    let mut intermediate_var = intermediate.intermediate_registry_var();
    intermediate_var["cert"] = json!(cert);
    let artifact = json!({"name": "example/app:latest",
        "url": format!("docker://{}/example/app:{BUILD}_latest", intermediate.address()),
        "metadata": {"type": "container_image", "repository": "example/app", "tag": "latest"}});
    let vars = json!({
        "zuul": {"artifacts": [artifact]},
        "buildset_registry": buildset.value,
        "intermediate_registry": intermediate_var,
    });
    let home = tempfile::tempdir().unwrap();
    let output = zuul_in(home.path(), &vars, "pull-from-intermediate");
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("not valid for name"), "{text}");
}
