//! `pull-from-intermediate` and `push-to-intermediate`.
//!
//! Hermetic tests run the binary against in-process fake registries
//! (`fake.rs`) that can be made to fail on purpose, and a TCP proxy that
//! cuts connections (`proxy.rs`). `real.rs` runs both directions against
//! real distribution registries.

mod fake;
mod permanent;
mod proxy;
mod real;
mod self_signed;

use fake::{Auth, Server};
use reqwest::Method;
use serde_json::{Value, json};
use std::process::Output;
use std::time::{Duration, Instant};

const BUILD: &str = "5e0c1d2b3a4f4e6d8c7b9a0f1e2d3c4b";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A test image: its manifest (or index) bytes and digest, and every blob.
struct TestImage {
    media_type: &'static str,
    bytes: Vec<u8>,
    children: Vec<Vec<u8>>,
    blobs: Vec<Vec<u8>>,
}

fn random(seed: u64, size: usize) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut data = vec![0u8; size];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

fn manifest_for(layers: &[Vec<u8>], arch: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let config = json!({"architecture": arch, "os": "linux", "rootfs": {"type": "layers",
        "diff_ids": layers.iter().map(|l| fake::sha256(l)).collect::<Vec<_>>()}})
    .to_string()
    .into_bytes();
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": fake::sha256(&config), "size": config.len()},
        "layers": layers.iter().map(|l| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": fake::sha256(l), "size": l.len()})).collect::<Vec<_>>()})
    .to_string()
    .into_bytes();
    let mut blobs = vec![config];
    blobs.extend(layers.iter().cloned());
    (manifest, blobs)
}

/// One platform with layers made from `seeds` (`size` bytes each).
fn image(seeds: &[u64], size: usize) -> TestImage {
    let layers: Vec<Vec<u8>> = seeds
        .iter()
        .map(|s| random(*s, size + *s as usize))
        .collect();
    let (bytes, blobs) = manifest_for(&layers, "amd64");
    TestImage {
        media_type: OCI_MANIFEST,
        bytes,
        children: Vec::new(),
        blobs,
    }
}

/// An index of amd64 and arm64.
fn two_platform(seed: u64) -> TestImage {
    let mut children = Vec::new();
    let mut blobs = Vec::new();
    let mut entries = Vec::new();
    for (i, arch) in ["amd64", "arm64"].iter().enumerate() {
        let layers = vec![
            random(seed + i as u64, 40_000),
            random(seed + 10 + i as u64, 3_000),
        ];
        let (manifest, child_blobs) = manifest_for(&layers, arch);
        entries.push(json!({"mediaType": OCI_MANIFEST, "digest": fake::sha256(&manifest), "size": manifest.len(),
            "platform": {"architecture": arch, "os": "linux"}}));
        children.push(manifest);
        blobs.extend(child_blobs);
    }
    let bytes = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        .to_string()
        .into_bytes();
    TestImage {
        media_type: OCI_INDEX,
        bytes,
        children,
        blobs,
    }
}

fn seed(server: &Server, repository: &str, tag: &str, image: &TestImage) {
    for blob in &image.blobs {
        server.fake.put_blob(repository, blob);
    }
    for child in &image.children {
        server
            .fake
            .put_manifest(repository, &fake::sha256(child), OCI_MANIFEST, child);
    }
    server
        .fake
        .put_manifest(repository, tag, image.media_type, &image.bytes);
}

fn buildset_var(server: &Server) -> Value {
    let (host, port) = host_port(server);
    json!({"host": host, "port": port, "username": "zuul", "password": "buildset-secret", "cert": server.ca_pem})
}

fn intermediate_var(server: &Server) -> Value {
    let (host, port) = host_port(server);
    json!({"host": host, "port": port, "username": "ireg", "password": "intermediate-secret", "cert": server.ca_pem})
}

fn host_port(server: &Server) -> (String, u16) {
    (server.addr.ip().to_string(), server.addr.port())
}

async fn buildset_registry(bind: &str) -> Server {
    fake::start(
        bind,
        Auth::Basic {
            user: "zuul".into(),
            password: "buildset-secret".into(),
        },
    )
    .await
}

async fn intermediate_registry(bind: &str) -> Server {
    fake::start(
        bind,
        Auth::Bearer {
            user: "ireg".into(),
            password: "intermediate-secret".into(),
        },
    )
    .await
}

/// Run zuul-image with `vars` (written to a temp file) and `args`; no
/// secret may show up in its output.
async fn zuul_image(vars: &Value, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vars.json");
    std::fs::write(&file, vars.to_string()).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_zuul-image"))
        .arg("--vars")
        .arg(&file)
        .args(args)
        .env("HOME", dir.path())
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("ZUUL_IMAGE_LOG")
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for secret in ["buildset-secret", "intermediate-secret", "token-"] {
        assert!(!all.contains(secret), "`{secret}` leaked:\n{all}");
    }
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not JSON ({err}), exit {:?}: {}",
            output.status,
            stderr(output)
        )
    })
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\n{}",
        output.status.code(),
        stderr(output)
    );
}

fn push_vars(buildset: &Server, intermediate: &Server, images: Value) -> Value {
    json!({
        "zuul": {"build": BUILD, "pipeline": "check", "change": "1003"},
        "buildset_registry": buildset_var(buildset),
        "intermediate_registry": intermediate_var(intermediate),
        "container_images": images,
    })
}

fn artifact(intermediate: &Server, repository: &str, tag: &str) -> Value {
    json!({"name": format!("{repository}:{tag}"),
        "url": format!("docker://{}/{repository}:{BUILD}_{tag}", intermediate.address()),
        "metadata": {"type": "container_image", "repository": repository, "tag": tag}})
}

fn blob_uploads(server: &Server) -> usize {
    server.fake.count(&Method::POST, "/blobs/uploads/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_copies_every_tag_and_returns_artifacts() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let app = image(&[1, 2, 3], 300_000);
    seed(&buildset, "example/app", "latest", &app);
    seed(&buildset, "example/app", "v1", &app);
    let base = two_platform(50);
    seed(&buildset, "quay.io/org/base", "3.12", &base);
    let vars = push_vars(
        &buildset,
        &intermediate,
        json!([
            {"repository": "docker.io/example/app", "tags": ["latest", "v1"], "context": "."},
            {"repository": "quay.io/org/base", "tags": [3.12]},
        ]),
    );
    let output = zuul_image(&vars, &["push-to-intermediate"]).await;
    assert_ok(&output);
    assert_eq!(
        stdout_json(&output),
        json!({"data": {"zuul": {"artifacts": [
            artifact(&intermediate, "docker.io/example/app", "latest"),
            artifact(&intermediate, "docker.io/example/app", "v1"),
            artifact(&intermediate, "quay.io/org/base", "3.12"),
        ]}}, "secret_data": {}})
    );
    // Byte-exact, under `<build>_<tag>`, with the media type.
    for (repository, tag, image) in [
        ("docker.io/example/app", "latest", &app),
        ("docker.io/example/app", "v1", &app),
        ("quay.io/org/base", "3.12", &base),
    ] {
        let (media_type, bytes) = intermediate
            .fake
            .manifest(repository, &format!("{BUILD}_{tag}"))
            .unwrap_or_else(|| panic!("{repository}:{tag} was not pushed"));
        assert_eq!(media_type, image.media_type);
        assert_eq!(bytes, image.bytes);
    }
    // Every platform, children before the index.
    let log = intermediate.fake.log();
    let position = |reference: &str| {
        log.iter()
            .position(|l| {
                l.method == Method::PUT && l.path.ends_with(&format!("/manifests/{reference}"))
            })
            .unwrap_or_else(|| panic!("no PUT of {reference}"))
    };
    let index_put = position(&format!("{BUILD}_3.12"));
    for child in &base.children {
        assert!(position(&fake::sha256(child)) < index_put);
    }
    for blob in base.blobs.iter().chain(&app.blobs) {
        assert!(
            intermediate
                .fake
                .has_blob("quay.io/org/base", &fake::sha256(blob))
                || intermediate
                    .fake
                    .has_blob("docker.io/example/app", &fake::sha256(blob))
        );
    }
    // Each blob crossed once although two tags share it; the Bearer token
    // service was used.
    assert_eq!(
        blob_uploads(&intermediate),
        app.blobs.len() + base.blobs.len()
    );
    assert!(intermediate.fake.tokens_issued() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_push_uploads_nothing_and_shared_layers_are_not_resent() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let first = image(&[11, 12, 13], 100_000);
    seed(&buildset, "example/app", "latest", &first);
    let vars = push_vars(
        &buildset,
        &intermediate,
        json!([{"repository": "example/app"}]),
    );
    assert_ok(&zuul_image(&vars, &["push-to-intermediate"]).await);

    intermediate.fake.clear_log();
    let output = zuul_image(&vars, &["push-to-intermediate"]).await;
    assert_ok(&output);
    assert!(
        stderr(&output).contains("already up to date"),
        "{}",
        stderr(&output)
    );
    let writes: Vec<_> = intermediate
        .fake
        .log()
        .into_iter()
        .filter(|l| l.method != Method::GET && l.method != Method::HEAD)
        .collect();
    assert!(writes.is_empty(), "{writes:?}");

    // A new image sharing two layers: only its new layer and config move.
    let second = image(&[11, 12, 14], 100_000);
    seed(&buildset, "example/app", "latest", &second);
    intermediate.fake.clear_log();
    let output = zuul_image(&vars, &["push-to-intermediate"]).await;
    assert_ok(&output);
    assert_eq!(
        blob_uploads(&intermediate),
        2,
        "{:?}",
        intermediate.fake.log()
    );
    assert_eq!(intermediate.fake.count(&Method::PATCH, "/blobs/"), 0);
    let (_, bytes) = intermediate
        .fake
        .manifest("example/app", &format!("{BUILD}_latest"))
        .unwrap();
    assert_eq!(bytes, second.bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_applies_artifacts_in_order_so_the_nearest_change_wins() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let older = image(&[21], 50_000);
    let newer = image(&[22], 50_000);
    let other = two_platform(60);
    seed(
        &intermediate,
        "docker.io/example/app",
        "aaaa_latest",
        &older,
    );
    seed(
        &intermediate,
        "docker.io/example/app",
        "bbbb_latest",
        &newer,
    );
    seed(&intermediate, "quay.io/org/tool", "cccc_1.0", &other);
    let address = intermediate.address();
    let entry = |repository: &str, tag: &str, build: &str| {
        json!({"name": format!("{repository}:{tag}"), "url": format!("docker://{address}/{repository}:{build}_{tag}"),
            "metadata": {"type": "container_image", "repository": repository, "tag": tag},
            "project": "example/project", "change": "1001", "job": "build"})
    };
    let vars = json!({
        "zuul": {"build": BUILD, "artifacts": [
            entry("docker.io/example/app", "latest", "aaaa"),
            {"name": "docs", "url": "https://logs.example.org/docs.tar.gz", "metadata": {"type": "docs_archive"}},
            entry("quay.io/org/tool", "1.0", "cccc"),
            {"name": "no-metadata", "url": "https://logs.example.org/x"},
        ]},
        "zuul_artifacts": [
            entry("docker.io/example/app", "latest", "aaaa"),
            entry("quay.io/org/tool", "1.0", "cccc"),
            entry("docker.io/example/app", "latest", "bbbb"),
        ],
        "buildset_registry": buildset_var(&buildset),
        "intermediate_registry": intermediate_var(&intermediate),
    });
    let output = zuul_image(&vars, &["pull-from-intermediate"]).await;
    assert_ok(&output);
    assert_eq!(
        stdout_json(&output),
        json!({"data": {}, "secret_data": {}}),
        "pull returns no data"
    );
    let (_, bytes) = buildset.fake.manifest("example/app", "latest").unwrap();
    assert_eq!(bytes, newer.bytes, "the nearest change must win");
    let (media_type, bytes) = buildset.fake.manifest("quay.io/org/tool", "1.0").unwrap();
    assert_eq!(
        (media_type.as_str(), &bytes[..]),
        (OCI_INDEX, &other.bytes[..])
    );
    for child in &other.children {
        assert!(
            buildset
                .fake
                .manifest("quay.io/org/tool", &fake::sha256(child))
                .is_some()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_without_artifacts_does_nothing() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let vars = json!({
        "zuul": {"build": BUILD},
        "buildset_registry": buildset_var(&buildset),
        "intermediate_registry": intermediate_var(&intermediate),
    });
    let output = zuul_image(&vars, &["pull-from-intermediate"]).await;
    assert_ok(&output);
    assert!(
        stderr(&output).contains("nothing to pull"),
        "{}",
        stderr(&output)
    );
    assert!(buildset.fake.log().is_empty() && intermediate.fake.log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_images_fail_naming_them() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let address = intermediate.address();
    let vars = json!({
        "zuul": {"build": BUILD, "artifacts": [{"name": "example/gone:latest",
            "url": format!("docker://{address}/example/gone:dddd_latest"),
            "metadata": {"type": "container_image", "repository": "example/gone", "tag": "latest"}}]},
        "buildset_registry": buildset_var(&buildset),
        "intermediate_registry": intermediate_var(&intermediate),
    });
    let output = zuul_image(&vars, &["pull-from-intermediate"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("example/gone:latest"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("MANIFEST_UNKNOWN"),
        "{}",
        stderr(&output)
    );

    let vars = push_vars(
        &buildset,
        &intermediate,
        json!([{"repository": "example/missing", "tags": ["v2"]}]),
    );
    let output = zuul_image(&vars, &["push-to-intermediate"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("example/missing:v2"),
        "{}",
        stderr(&output)
    );
    assert_eq!(output.stdout, b"", "no artifacts for a failed push");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_is_skipped_when_the_run_failed() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let mut vars = push_vars(
        &buildset,
        &intermediate,
        json!([{"repository": "example/app"}]),
    );
    for value in [json!(false), json!("false"), json!("no")] {
        vars["zuul_success"] = value;
        let output = zuul_image(&vars, &["push-to-intermediate"]).await;
        assert_ok(&output);
        assert!(
            stderr(&output).contains("zuul_success is false"),
            "{}",
            stderr(&output)
        );
        assert_eq!(stdout_json(&output), json!({"data": {}, "secret_data": {}}));
    }
    assert!(buildset.fake.log().is_empty() && intermediate.fake.log().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_naming_the_variable() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let mut vars = push_vars(
        &buildset,
        &intermediate,
        json!([{"repository": "example/app"}]),
    );
    vars["zuul"].as_object_mut().unwrap().remove("build");
    let output = zuul_image(&vars, &["push-to-intermediate"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`zuul.build`"),
        "{}",
        stderr(&output)
    );

    let mut vars = push_vars(
        &buildset,
        &intermediate,
        json!([{"repository": "example/app"}]),
    );
    vars.as_object_mut()
        .unwrap()
        .remove("intermediate_registry");
    let output = zuul_image(&vars, &["push-to-intermediate"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`intermediate_registry`"),
        "{}",
        stderr(&output)
    );

    let vars = json!({"zuul": {"artifacts": [{"name": "x", "url": "docker://reg:5000/a:b",
        "metadata": {"type": "container_image", "repository": "a"}}]}});
    let output = zuul_image(&vars, &["pull-from-intermediate"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`zuul.artifacts[0].metadata.tag`"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_blob_fails_and_the_tag_is_not_written() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let app = image(&[31, 32], 200_000);
    seed(&intermediate, "example/app", "eeee_latest", &app);
    let bad = fake::sha256(&app.blobs[2]);
    intermediate
        .fake
        .corrupt
        .lock()
        .unwrap()
        .insert(bad.clone());
    let address = intermediate.address();
    let vars = json!({
        "zuul": {"artifacts": [{"name": "example/app:latest", "url": format!("docker://{address}/example/app:eeee_latest"),
            "metadata": {"type": "container_image", "repository": "example/app", "tag": "latest"}}]},
        "buildset_registry": buildset_var(&buildset),
        "intermediate_registry": intermediate_var(&intermediate),
    });
    let output = zuul_image(&vars, &["pull-from-intermediate"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains(&bad) && text.contains("does not match its digest"),
        "{text}"
    );
    assert!(text.contains("example/app:latest"), "{text}");
    assert!(buildset.fake.manifest("example/app", "latest").is_none());
    assert!(!buildset.fake.has_blob("example/app", &bad));
    // The bad blob's upload never completed: no PUT of it succeeded.
    assert!(
        !buildset
            .fake
            .log()
            .iter()
            .any(|l| l.method == Method::PUT && l.query.contains(&bad) && l.status.is_success())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_requests_are_retried_after_retry_after() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let app = image(&[41], 10_000);
    seed(&buildset, "example/app", "latest", &app);
    buildset
        .fake
        .throttle
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let vars = push_vars(
        &buildset,
        &intermediate,
        json!([{"repository": "example/app"}]),
    );
    let started = Instant::now();
    let output = zuul_image(&vars, &["push-to-intermediate"]).await;
    assert_ok(&output);
    let throttled = buildset
        .fake
        .log()
        .iter()
        .filter(|l| l.status == reqwest::StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(throttled, 2);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After: 1 was not honoured"
    );
    assert!(
        intermediate
            .fake
            .manifest("example/app", &format!("{BUILD}_latest"))
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_challenge_then_token() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let app = image(&[51], 10_000);
    seed(&buildset, "example/app", "latest", &app);
    let vars = push_vars(
        &buildset,
        &intermediate,
        json!([{"repository": "example/app"}]),
    );
    assert_ok(&zuul_image(&vars, &["push-to-intermediate"]).await);
    let log = intermediate.fake.log();
    assert_eq!(log[0].status, reqwest::StatusCode::UNAUTHORIZED, "{log:?}");
    assert_eq!(log[1].path, "/token");
    assert!(
        log[1]
            .query
            .contains("scope=repository%3Aexample%2Fapp%3Apull%2Cpush"),
        "{:?}",
        log[1]
    );
    assert_ne!(log[2].status, reqwest::StatusCode::UNAUTHORIZED, "{log:?}");
    // One challenge only: later requests carry the cached token.
    let refused = log
        .iter()
        .filter(|l| l.status == reqwest::StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(refused, 1, "{log:?}");

    // Wrong credentials: exit 1 naming the registry, no secret in output.
    let mut vars = vars.clone();
    vars["intermediate_registry"]["password"] = json!("intermediate-secret-wrong");
    let output = zuul_image(&vars, &["push-to-intermediate", "--build", "other"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&intermediate.address()),
        "{}",
        stderr(&output)
    );
}

/// Pull `app` (stored in `intermediate` as `example/app:<tag>`) into
/// `buildset` through a proxy that cuts the first connection from the
/// intermediate registry once it has carried 1 MB: mid-blob.
async fn pull_through_a_cut(
    buildset: &Server,
    intermediate: &Server,
    app: &TestImage,
    tag: &str,
) -> Output {
    seed(intermediate, "example/app", tag, app);
    let proxy = proxy::start(intermediate.addr, 1_000_000).await;
    let via = proxy.addr.to_string();
    let mut ireg = intermediate_var(intermediate);
    ireg["port"] = json!(proxy.addr.port());
    let vars = json!({
        "zuul": {"artifacts": [{"name": "example/app:latest", "url": format!("docker://{via}/example/app:{tag}"),
            "metadata": {"type": "container_image", "repository": "example/app", "tag": "latest"}}]},
        "buildset_registry": buildset_var(buildset),
        "intermediate_registry": ireg,
    });
    let output = zuul_image(&vars, &["pull-from-intermediate", "--jobs", "1"]).await;
    assert!(
        proxy.cut.load(std::sync::atomic::Ordering::SeqCst),
        "the proxy never cut: {}",
        stderr(&output)
    );
    output
}

/// The blob GETs with a `Range` header the source saw: (range, status).
fn range_requests(server: &Server) -> Vec<(String, reqwest::StatusCode)> {
    server
        .fake
        .log()
        .iter()
        .filter(|l| l.method == Method::GET && l.path.contains("/blobs/"))
        .filter_map(|l| l.range.clone().map(|range| (range, l.status)))
        .collect()
}

fn assert_pulled(buildset: &Server, app: &TestImage) {
    let (_, bytes) = buildset.fake.manifest("example/app", "latest").unwrap();
    assert_eq!(bytes, app.bytes);
    for blob in &app.blobs {
        assert!(buildset.fake.has_blob("example/app", &fake::sha256(blob)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cut_mid_blob_resumes_with_range_into_the_same_upload() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    intermediate
        .fake
        .ranges
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let app = image(&[63, 64], 2_000_000);
    let output = pull_through_a_cut(&buildset, &intermediate, &app, "ffff_latest").await;
    assert_ok(&output);
    let text = stderr(&output);
    assert!(text.contains("resuming"), "{text}");
    assert!(!text.contains("retrying blob"), "{text}");
    // One Range request from where the bytes stopped, answered 206.
    let ranges = range_requests(&intermediate);
    assert_eq!(ranges.len(), 1, "{ranges:?}");
    let (range, status) = &ranges[0];
    assert_eq!(*status, reqwest::StatusCode::PARTIAL_CONTENT);
    let from: u64 = range
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("{range}"));
    assert!(from > 0, "{range}");
    // No fresh session: one upload per blob, each completed once; the fake
    // checks the digest of what it received over the whole blob.
    assert_eq!(blob_uploads(&buildset), app.blobs.len());
    assert_pulled(&buildset, &app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cut_on_a_source_that_ignores_range_starts_the_blob_over() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    let app = image(&[61, 62], 2_000_000);
    let output = pull_through_a_cut(&buildset, &intermediate, &app, "ffff_latest").await;
    assert_ok(&output);
    let text = stderr(&output);
    assert!(text.contains("retrying blob"), "{text}");
    assert!(text.contains("did not resume"), "{text}");
    let ranges = range_requests(&intermediate);
    assert_eq!(ranges.len(), 1, "{ranges:?}");
    assert_eq!(ranges[0].1, reqwest::StatusCode::OK);
    // The broken blob got a second, fresh upload session.
    assert_eq!(blob_uploads(&buildset), app.blobs.len() + 1);
    assert_pulled(&buildset, &app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_bytes_that_do_not_match_fail_and_the_tag_is_not_written() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    for switch in [&intermediate.fake.ranges, &intermediate.fake.corrupt_ranges] {
        switch.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    let app = image(&[65, 66], 2_000_000);
    let output = pull_through_a_cut(&buildset, &intermediate, &app, "ffff_latest").await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("does not match its digest"), "{text}");
    assert!(text.contains("example/app:latest"), "{text}");
    // The error names the broken blob and where it came from.
    assert!(
        app.blobs[1..]
            .iter()
            .any(|layer| text.contains(&fake::sha256(layer))),
        "{text}"
    );
    assert!(text.contains("127.0.0.1:"), "{text}");
    let ranges = range_requests(&intermediate);
    assert_eq!(ranges.len(), 1, "{ranges:?}");
    assert_eq!(ranges[0].1, reqwest::StatusCode::PARTIAL_CONTENT);
    assert!(buildset.fake.manifest("example/app", "latest").is_none());
    // The broken blob's upload was never finalised.
    let finished = buildset
        .fake
        .log()
        .iter()
        .filter(|l| l.method == Method::PUT && l.path.contains("/blobs/uploads/"))
        .filter(|l| l.status.is_success())
        .count();
    assert!(finished < app.blobs.len(), "every blob was finalised");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_monolithic_upload_falls_back_to_chunks() {
    let buildset = buildset_registry("127.0.0.1:0").await;
    let intermediate = intermediate_registry("127.0.0.1:0").await;
    intermediate
        .fake
        .refuse_monolithic
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let app = image(&[71, 72], 9_000_000);
    seed(&buildset, "example/app", "latest", &app);
    let vars = push_vars(
        &buildset,
        &intermediate,
        json!([{"repository": "example/app"}]),
    );
    let output = zuul_image(&vars, &["push-to-intermediate"]).await;
    assert_ok(&output);
    assert!(intermediate.fake.count(&Method::PATCH, "/blobs/uploads/") >= 4);
    for blob in &app.blobs {
        assert!(
            intermediate
                .fake
                .has_blob("example/app", &fake::sha256(blob))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_registry_copies_mount_instead_of_upload() {
    let registry = buildset_registry("127.0.0.1:0").await;
    let app = image(&[81, 82], 50_000);
    seed(&registry, "example/app", "latest", &app);
    let mut ireg = buildset_var(&registry);
    ireg["username"] = json!("zuul");
    ireg["password"] = json!("buildset-secret");
    let vars = json!({
        "zuul": {"build": BUILD},
        "buildset_registry": buildset_var(&registry),
        "intermediate_registry": ireg,
        "docker_images": [{"repository": "example/app"}],
    });
    // The intermediate repository is the same as the source here, so use
    // a flag-given repository path that differs: docker.io/example/app.
    let output = zuul_image(
        &vars,
        &[
            "push-to-intermediate",
            "--repository",
            "docker.io/example/app",
        ],
    )
    .await;
    assert_ok(&output);
    let mounts = registry
        .fake
        .log()
        .iter()
        .filter(|l| {
            l.method == Method::POST
                && l.query.contains("mount=")
                && l.status == reqwest::StatusCode::CREATED
        })
        .count();
    assert_eq!(mounts, app.blobs.len());
    assert_eq!(registry.fake.count(&Method::PATCH, "/"), 0);
    assert!(
        registry
            .fake
            .manifest("docker.io/example/app", &format!("{BUILD}_latest"))
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_loopback_literals_work_directly() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        panic!("IPv6 loopback is not available on this machine");
    }
    let buildset = buildset_registry("[::1]:0").await;
    let intermediate = intermediate_registry("[::1]:0").await;
    let app = image(&[91], 20_000);
    seed(&buildset, "example/app", "latest", &app);
    let vars = push_vars(
        &buildset,
        &intermediate,
        json!([{"repository": "example/app"}]),
    );
    let output = zuul_image(&vars, &["push-to-intermediate"]).await;
    assert_ok(&output);
    let url = stdout_json(&output)["data"]["zuul"]["artifacts"][0]["url"].clone();
    assert_eq!(
        url,
        json!(format!(
            "docker://[::1]:{}/example/app:{BUILD}_latest",
            intermediate.addr.port()
        ))
    );

    let vars = json!({
        "zuul": {"artifacts": [{"name": "example/app:latest", "url": url,
            "metadata": {"type": "container_image", "repository": "example/app", "tag": "copy"}}]},
        "buildset_registry": buildset_var(&buildset),
        "intermediate_registry": intermediate_var(&intermediate),
    });
    assert_ok(&zuul_image(&vars, &["pull-from-intermediate"]).await);
    assert_eq!(
        buildset.fake.manifest("example/app", "copy").unwrap().1,
        app.bytes
    );
}
