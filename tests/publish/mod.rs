//! `upload-image` and `promote-image` against real registries: a
//! distribution registry (TLS + htpasswd) as the final registry, behind
//! stand-ins of Docker Hub's and Quay's web APIs where those are the
//! final registry; the embedded buildset registry, buildah's storage and
//! the private dockerd as the sources of an upload.

mod bad_input;
mod intermediate;
mod promote;
mod tag_apis;
mod upload;

use crate::support::distribution::{Distribution, Options};
use crate::support::images::{self, Image, Layer};
use crate::support::zuul_image;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;

/// Run zuul-image with `vars` in a file and `args`; the output, whatever
/// the exit status.
pub fn zuul(vars: &Value, args: &[&str]) -> Output {
    zuul_with_env(vars, args, &[])
}

/// [`zuul`] with extra environment variables.
pub fn zuul_with_env(vars: &Value, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vars.json");
    std::fs::write(&file, vars.to_string()).unwrap();
    let mut command = zuul_image();
    command
        .env("HOME", dir.path())
        .arg("--vars")
        .arg(&file)
        .args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The stderr of a run that must have succeeded.
pub fn succeeded(output: &Output) -> String {
    let text = stderr(output);
    assert!(output.status.success(), "zuul-image failed: {text}");
    text
}

/// The stderr of a run that must have exited with `code`.
pub fn failed_with(output: &Output, code: i32) -> String {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{text}");
    text
}

/// A final registry: distribution with TLS, htpasswd and an access log.
pub fn final_registry() -> Distribution {
    Distribution::start_with(Options {
        auth: true,
        access_log: true,
        ..Options::default()
    })
}

/// `container_registry_credentials` for `registry` (its CA as `cert`)
/// with `extra` keys.
pub fn credentials(registry: &Distribution, extra: Value) -> Value {
    let mut entry = json!({
        "username": registry.username,
        "password": registry.password,
        "cert": registry.certs.ca_pem,
    });
    for (key, value) in extra.as_object().unwrap() {
        entry[key] = value.clone();
    }
    json!({ registry.address(): entry })
}

/// A two-platform index pushed with skopeo to `<registry>/<reference>`;
/// its bytes.
pub fn push_index(registry: &impl crate::support::TestRegistry, reference: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let index = images::two_platform_layout(dir.path());
    images::skopeo_push(
        dir.path(),
        &format!("{}/{reference}", registry.address()),
        &registry.cert_dir(),
        Some(&registry.auth_file()),
    );
    index
}

/// A single image, distinct by `seed`, pushed to `<registry>/<reference>`;
/// its manifest bytes.
pub fn push_image(
    registry: &impl crate::support::TestRegistry,
    reference: &str,
    seed: u64,
) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let image = Image::new(vec![Layer::busybox(), Layer::random(seed, 2000)], "amd64");
    images::skopeo_push(
        &images::image_layout(dir.path(), &image),
        &format!("{}/{reference}", registry.address()),
        &registry.cert_dir(),
        Some(&registry.auth_file()),
    );
    image.manifest
}

/// The blob requests among `requests` (GET, HEAD, PUT, POST on
/// `/v2/<name>/blobs/…`).
pub fn blob_requests(requests: &[String]) -> Vec<String> {
    requests
        .iter()
        .filter(|request| request.contains("/blobs/"))
        .cloned()
        .collect()
}
