//! Issue 12, "spec completeness": a manifest PUT by digest with `?tag=`
//! parameters (distribution spec 1.1) applies every tag, all or none, says
//! so in one `OCI-Tag` header per tag, and keeps a sha512 manifest
//! addressable by the tags given.

use super::{Backend, Registry, fs_registry, open_registry};
use crate::digest::{Algorithm, Digest, Hasher};
use crate::server::manifests::OCI_MANIFEST;
use axum::http::StatusCode;
use serde_json::json;

/// A one-layer image's manifest whose blobs are in `name`; its bytes.
async fn manifest(registry: &Registry, name: &str, note: &str) -> Vec<u8> {
    let config = registry.blob(name, b"{}").await;
    let layer = registry.blob(name, b"layer").await;
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.to_string(), "size": 5}],
        "annotations": {"note": note},
    }))
    .unwrap()
}

impl Registry {
    async fn tagged(&self, name: &str, tag: &str) -> Option<String> {
        let reply = self.get(&format!("/v2/{name}/manifests/{tag}")).await;
        (reply.status == StatusCode::OK).then(|| reply.header("docker-content-digest").to_owned())
    }
}

async fn issue_12_manifest_put_by_digest_applies_every_tag_with_oci_tag_headers(backend: Backend) {
    let registry = open_registry(backend).await;
    let bytes = manifest(&registry, "org/app", "one").await;
    let digest = Digest::sha256_of(&bytes);
    let reference = format!("{digest}?tag=v1&tag=v1.0&tag=latest");
    let reply = registry
        .put_manifest("org/app", &reference, OCI_MANIFEST, &bytes)
        .await;
    let announced: Vec<&str> = reply
        .headers
        .get_all("oci-tag")
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    assert_eq!(announced, ["v1", "v1.0", "latest"]);
    for tag in ["v1", "v1.0", "latest"] {
        assert_eq!(
            registry.tagged("org/app", tag).await.as_deref(),
            Some(digest.to_string().as_str())
        );
    }
    // Without `tag` parameters, nothing is announced.
    let plain = manifest(&registry, "org/app", "two").await;
    let reply = registry
        .put_manifest("org/app", "v2", OCI_MANIFEST, &plain)
        .await;
    assert!(reply.headers.get("oci-tag").is_none());
}

#[tokio::test]
async fn issue_12_tags_of_a_manifest_put_are_applied_all_or_none() {
    let registry = fs_registry();
    let old = manifest(&registry, "org/app", "old").await;
    registry
        .put_manifest("org/app", "v1", OCI_MANIFEST, &old)
        .await;
    let old_digest = Digest::sha256_of(&old).to_string();
    let new = manifest(&registry, "org/app", "new").await;
    let digest = Digest::sha256_of(&new);
    // An invalid tag: refused before anything moves.
    let reply = registry
        .send(
            "PUT",
            &format!("/v2/org/app/manifests/{digest}?tag=v1&tag=-bad"),
            &[("content-type", OCI_MANIFEST)],
            new.clone(),
        )
        .await;
    assert_eq!(reply.code(), "TAG_INVALID");
    assert_eq!(
        registry.tagged("org/app", "v1").await,
        Some(old_digest.clone())
    );
    // The second tag cannot be written: the first is put back.
    let blocked = registry.fs().root().join("repositories/org/app/_tags/v2");
    std::fs::create_dir_all(blocked.join("in-the-way")).unwrap();
    let reply = registry
        .send(
            "PUT",
            &format!("/v2/org/app/manifests/{digest}?tag=v1&tag=v2"),
            &[("content-type", OCI_MANIFEST)],
            new.clone(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(registry.tagged("org/app", "v1").await, Some(old_digest));
    std::fs::remove_dir_all(&blocked).unwrap();
    registry
        .put_manifest(
            "org/app",
            &format!("{digest}?tag=v1&tag=v2"),
            OCI_MANIFEST,
            &new,
        )
        .await;
    for tag in ["v1", "v2"] {
        assert_eq!(
            registry.tagged("org/app", tag).await,
            Some(digest.to_string())
        );
    }
}

async fn issue_12_a_sha512_manifest_is_addressable_by_its_tags(backend: Backend) {
    let registry = open_registry(backend).await;
    let bytes = manifest(&registry, "org/app", "five-twelve").await;
    let mut hasher = Hasher::new(Algorithm::Sha512);
    hasher.update(&bytes);
    let digest = hasher.finish();
    let reply = registry
        .put_manifest(
            "org/app",
            &format!("{digest}?tag=s512"),
            OCI_MANIFEST,
            &bytes,
        )
        .await;
    assert_eq!(reply.header("docker-content-digest"), digest.to_string());
    assert_eq!(reply.header("oci-tag"), "s512");
    let by_tag = registry.get("/v2/org/app/manifests/s512").await;
    assert_eq!(by_tag.status, StatusCode::OK);
    assert_eq!(by_tag.body, bytes);
    assert_eq!(by_tag.header("docker-content-digest"), digest.to_string());
    let by_digest = registry
        .get(&format!("/v2/org/app/manifests/{digest}"))
        .await;
    assert_eq!(by_digest.body, bytes);
    let tags = registry.get("/v2/org/app/tags/list").await;
    assert_eq!(tags.json()["tags"], json!(["s512"]));
}

on_both_stores!(
    issue_12_manifest_put_by_digest_applies_every_tag_with_oci_tag_headers,
    issue_12_a_sha512_manifest_is_addressable_by_its_tags,
);
