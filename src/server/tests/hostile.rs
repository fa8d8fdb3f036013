//! Hostile input (issue 12, the suite): path traversal in names, digests,
//! upload ids and tags, plain and percent-encoded, in the path and in query
//! parameters; oversized manifests refused without being read whole;
//! indexes referencing missing manifests; a token for another repository.
//! After every attack the storage root holds only what the layout allows
//! (on the filesystem store, whose layout these tests read).

use super::{Backend, Registry, fs_registry, registry_with, users};
use crate::digest::Digest;
use crate::server::manifests::{MAX_SIZE, OCI_INDEX, OCI_MANIFEST};
use axum::body::Body;
use axum::http::StatusCode;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Every path under `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Nothing outside the layout: no `..`, and repositories only where a
/// valid name put them.
fn assert_layout(registry: &Registry) {
    let root = registry._dir.path();
    for path in tree(root) {
        let top = path.split('/').next().unwrap();
        assert!(
            ["layout", "blobs", "uploads", "repositories"].contains(&top),
            "unexpected `{path}` in the storage root"
        );
        assert!(!path.contains(".."), "{path}");
    }
    // And nothing beside the root.
    let parent = root.parent().unwrap();
    for name in ["escaped", "etc", "x"] {
        assert!(!parent.join(name).exists(), "{name} beside the root");
    }
}

#[tokio::test]
async fn traversal_in_names_digests_upload_ids_and_tags_is_refused() {
    let registry = fs_registry();
    let (_, manifest) = registry.image("org/app", "v1", b"layer").await;
    let digest = Digest::sha256_of(b"layer");
    let hex = digest.to_string().trim_start_matches("sha256:").to_owned();
    let cases: Vec<(&str, String)> = vec![
        // Names.
        ("GET", "/v2/../manifests/v1".into()),
        ("GET", "/v2/org/%2e%2e/app/manifests/v1".into()),
        ("GET", "/v2/%2e%2e%2f%2e%2e%2fescaped/manifests/v1".into()),
        ("PUT", "/v2/org/..%2f..%2fescaped/manifests/v1".into()),
        ("POST", "/v2/org/%2e%2e/blobs/uploads/".into()),
        ("GET", "/v2/org/app/_layers/manifests/v1".into()),
        ("GET", "/v2/org/app/_tags/tags/list".into()),
        ("GET", "/v2/org/app%00/manifests/v1".into()),
        ("GET", "/v2/org//app/manifests/v1".into()),
        // Digests.
        ("GET", "/v2/org/app/blobs/sha256:..%2f..%2f..%2fetc".into()),
        ("GET", format!("/v2/org/app/blobs/sha256:../{hex}")),
        (
            "GET",
            format!("/v2/org/app/blobs/sha256:{}", hex.to_uppercase()),
        ),
        ("GET", format!("/v2/org/app/blobs/sha256:{}", &hex[..63])),
        ("GET", format!("/v2/org/app/blobs/..:{hex}")),
        ("DELETE", "/v2/org/app/blobs/sha256:%2e%2e".into()),
        (
            "GET",
            "/v2/org/app/manifests/sha256:..%2f..%2flayout".into(),
        ),
        ("GET", "/v2/org/app/referrers/sha256:..".into()),
        (
            "POST",
            "/v2/org/app/blobs/uploads/?digest=sha256:../../escaped".into(),
        ),
        (
            "POST",
            "/v2/org/app/blobs/uploads/?mount=sha256:..%2f..&from=org/app".into(),
        ),
        // Upload ids.
        ("GET", "/v2/org/app/blobs/uploads/..".into()),
        ("PATCH", "/v2/org/app/blobs/uploads/..%2f..%2fblobs".into()),
        (
            "PUT",
            format!("/v2/org/app/blobs/uploads/..%2f..%2fescaped?digest={digest}"),
        ),
        ("DELETE", "/v2/org/app/blobs/uploads/%2e%2e".into()),
        (
            "PATCH",
            "/v2/org/app/blobs/uploads/0123456789ABCDEF0123456789ABCDEF".into(),
        ),
        // Tags.
        ("PUT", "/v2/org/app/manifests/..".into()),
        ("PUT", "/v2/org/app/manifests/%2e%2e".into()),
        ("PUT", "/v2/org/app/manifests/.hidden".into()),
        ("PUT", "/v2/org/app/manifests/..%2f..%2f..%2fescaped".into()),
        ("PUT", format!("/v2/org/app/manifests/{}", "t".repeat(129))),
        ("PUT", format!("/v2/org/app/manifests/{digest}?tag=..")),
        (
            "PUT",
            format!("/v2/org/app/manifests/{digest}?tag=..%2fescaped"),
        ),
        ("DELETE", "/v2/org/app/manifests/%2e%2e".into()),
    ];
    for (method, uri) in &cases {
        let reply = registry
            .send(
                method,
                uri,
                &[("content-type", OCI_MANIFEST)],
                manifest.clone(),
            )
            .await;
        assert!(
            reply.status.is_client_error(),
            "{method} {uri}: {} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        assert_layout(&registry);
    }
    // A mount from a name that is not one mounts nothing: as the spec
    // says, it falls back to a fresh upload (202).
    let reply = registry
        .send(
            "POST",
            &format!("/v2/org/new/blobs/uploads/?mount={digest}&from=org/../../escaped"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert!(
        reply
            .header("location")
            .contains("/v2/org/new/blobs/uploads/")
    );
    assert_eq!(
        registry
            .get(&format!("/v2/org/new/blobs/{digest}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_layout(&registry);

    // The image is untouched.
    registry.pull("org/app", "v1").await;
    let tags = registry.get("/v2/org/app/tags/list").await.json();
    assert_eq!(tags["tags"], json!(["v1"]));
}

/// A body of `total` bytes in 64 KiB frames that counts what was read.
fn counted(total: usize, read: Arc<AtomicUsize>) -> Body {
    let frames = (0..total.div_ceil(64 << 10)).map(move |_| {
        read.fetch_add(64 << 10, Ordering::SeqCst);
        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 64 << 10]))
    });
    Body::from_stream(futures_util::stream::iter(frames))
}

#[tokio::test]
async fn an_oversized_manifest_is_refused_without_being_read_whole() {
    let registry = fs_registry();
    let read = Arc::new(AtomicUsize::new(0));
    let reply = registry
        .send(
            "PUT",
            "/v2/org/app/manifests/big",
            &[("content-type", OCI_MANIFEST)],
            counted(1 << 30, read.clone()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "MANIFEST_INVALID");
    // It stopped reading at the limit: 1 GiB sent, at most 4 MiB + a frame
    // read (memory bounded).
    let consumed = read.load(Ordering::SeqCst);
    assert!(consumed <= MAX_SIZE + (128 << 10), "read {consumed} bytes");
    // One declared too large in Content-Length is refused the same way.
    let reply = registry
        .send(
            "PUT",
            "/v2/org/app/manifests/big",
            &[
                ("content-type", OCI_MANIFEST),
                ("content-length", &(MAX_SIZE + 1).to_string()),
            ],
            vec![b' '; MAX_SIZE + 1],
        )
        .await;
    assert_eq!(reply.code(), "MANIFEST_INVALID");
    assert_eq!(
        registry.get("/v2/org/app/manifests/big").await.code(),
        "MANIFEST_UNKNOWN"
    );
    assert_layout(&registry);
}

#[tokio::test]
async fn an_index_of_missing_manifests_or_blobs_of_another_repository_is_refused() {
    let registry = fs_registry();
    let (child, bytes) = registry.image("org/other", "v1", b"other layer").await;
    let index = |digest: &Digest, size: usize| {
        json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest.to_string(), "size": size}],
        })
        .to_string()
    };
    // A child nobody has, and a child only another repository holds.
    for body in [
        index(&Digest::sha256_of(b"nothing"), 7),
        index(&child, bytes.len()),
    ] {
        let reply = registry
            .send(
                "PUT",
                "/v2/org/app/manifests/multi",
                &[("content-type", OCI_INDEX)],
                body,
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.code(), "MANIFEST_BLOB_UNKNOWN");
    }
    // An image manifest whose layers another repository holds.
    let reply = registry
        .send(
            "PUT",
            "/v2/org/app/manifests/v1",
            &[("content-type", OCI_MANIFEST)],
            bytes.clone(),
        )
        .await;
    assert_eq!(reply.code(), "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        registry.get("/v2/org/app/manifests/v1").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_token_for_another_repository_grants_nothing_here() {
    let registry = registry_with(Backend::Filesystem, users(), false).await;
    let login = registry
        .send(
            "GET",
            "/auth/token?service=zuul-image&scope=repository:org/other:pull,push,delete",
            &[("authorization", &super::basic("zuul", "s3cret:pw"))],
            Body::empty(),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    for (method, uri) in [
        ("GET", "/v2/org/app/tags/list"),
        ("POST", "/v2/org/app/blobs/uploads/"),
        ("DELETE", "/v2/org/app/manifests/v1"),
        ("GET", "/v2/_catalog"),
    ] {
        let reply = registry
            .send(method, uri, &[("authorization", &bearer)], Body::empty())
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    // While it does work where it was granted.
    let reply = registry
        .send(
            "POST",
            "/v2/org/other/blobs/uploads/",
            &[("authorization", &bearer)],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
}
