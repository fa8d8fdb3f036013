//! `registry prune` racing the server: marking runs, then a request makes
//! old, unmarked content referenced again, then the sweep runs. What the
//! request vouched for must survive; what nothing references must go.

use super::{Backend, Registry, open_registry};
use crate::digest::Digest;
use crate::server::manifests::{OCI_INDEX, OCI_MANIFEST};
use crate::server::prune::{Plan, mark, sweep};
use axum::body::Body;
use axum::http::StatusCode;
use serde_json::json;

fn image_manifest(config: &[u8], layer: &[u8], note: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest::sha256_of(config).to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": Digest::sha256_of(layer).to_string(), "size": layer.len()}],
        "annotations": {"note": note},
    }))
    .unwrap()
}

impl Registry {
    async fn untag(&self, name: &str, tag: &str) {
        let reply = self
            .send(
                "DELETE",
                &format!("/v2/{name}/manifests/{tag}"),
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
    }

    /// An old registry holding an unreferenced `stray` blob, marked.
    async fn age_and_mark(&self) -> (Plan, Digest) {
        let stray = self.blob("org/old", b"stray").await;
        let cutoff = self.age().await;
        (mark(&self.storage, cutoff).await.unwrap(), stray)
    }
}

async fn an_old_layer_a_new_manifest_reuses_survives(backend: Backend) {
    let registry = open_registry(backend).await;
    let (old, _) = registry.image("org/app", "v1", b"shared layer").await;
    registry.untag("org/app", "v1").await;
    let (plan, stray) = registry.age_and_mark().await;

    // Found by HEAD in its repository (an old, unused link), so not
    // uploaded again.
    let config = b"{\"architecture\":\"amd64\"}";
    let manifest = image_manifest(config, b"shared layer", "new");
    registry
        .put_manifest("org/app", "v2", OCI_MANIFEST, &manifest)
        .await;

    let report = sweep(&registry.storage, plan, false).await.unwrap();
    registry.pull("org/app", "v2").await;
    let mut gone = vec![old.clone(), stray.clone()];
    gone.sort();
    assert_eq!(report.blobs, gone);
    assert_eq!(report.manifests, vec![("org/app".to_owned(), old)]);
    assert_eq!(report.links, vec![("org/old".to_owned(), stray)]);
}

async fn an_old_blob_uploaded_again_survives(backend: Backend) {
    let registry = open_registry(backend).await;
    let layer = registry.blob("org/app", b"pushed twice").await;
    let (plan, stray) = registry.age_and_mark().await;

    // The client's HEAD came first; it uploads the blob again.
    registry.blob("org/app", b"pushed twice").await;

    let report = sweep(&registry.storage, plan, false).await.unwrap();
    assert!(registry.stored(&layer).await);
    assert!(
        registry
            .storage
            .blob_linked("org/app", &layer)
            .await
            .unwrap()
    );
    assert_eq!(report.blobs, vec![stray]);
}

async fn an_old_blob_mounted_into_a_new_repository_survives(backend: Backend) {
    let registry = open_registry(backend).await;
    let layer = registry.blob("org/old", b"mounted layer").await;
    let (plan, stray) = registry.age_and_mark().await;

    let mounted = registry
        .send(
            "POST",
            &format!("/v2/org/new/blobs/uploads/?mount={layer}&from=org/old"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(mounted.status, StatusCode::CREATED);

    let report = sweep(&registry.storage, plan, false).await.unwrap();
    assert!(registry.stored(&layer).await);
    assert_eq!(report.blobs, vec![stray.clone()]);
    assert!(!registry.stored(&stray).await);
}

async fn an_old_untagged_manifest_tagged_again_survives(backend: Backend) {
    let registry = open_registry(backend).await;
    let (_, bytes) = registry.image("org/app", "v1", b"layer one").await;
    registry.untag("org/app", "v1").await;
    let (plan, stray) = registry.age_and_mark().await;

    registry
        .put_manifest("org/app", "v2", OCI_MANIFEST, &bytes)
        .await;

    let report = sweep(&registry.storage, plan, false).await.unwrap();
    registry.pull("org/app", "v2").await;
    assert_eq!(report.manifests, Vec::new());
    assert_eq!(report.blobs, vec![stray]);
}

async fn old_untagged_platform_manifests_a_new_index_lists_survive(backend: Backend) {
    let registry = open_registry(backend).await;
    let (amd, amd_bytes) = registry.image("org/app", "amd64", b"amd layer").await;
    let (arm, arm_bytes) = registry.image("org/app", "arm64", b"arm layer").await;
    registry.untag("org/app", "amd64").await;
    registry.untag("org/app", "arm64").await;
    let (plan, stray) = registry.age_and_mark().await;

    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd.to_string(), "size": amd_bytes.len()},
            {"mediaType": OCI_MANIFEST, "digest": arm.to_string(), "size": arm_bytes.len()},
        ],
    }))
    .unwrap();
    registry
        .put_manifest("org/app", "latest", OCI_INDEX, &index)
        .await;

    let report = sweep(&registry.storage, plan, false).await.unwrap();
    registry.pull("org/app", "latest").await;
    assert_eq!(report.manifests, Vec::new());
    assert_eq!(report.blobs, vec![stray]);
}

async fn without_a_racing_request_old_unreferenced_content_goes(backend: Backend) {
    let registry = open_registry(backend).await;
    let (old, _) = registry.image("org/old", "v1", b"old layer").await;
    registry.untag("org/old", "v1").await;
    let (plan, stray) = registry.age_and_mark().await;
    let report = sweep(&registry.storage, plan, false).await.unwrap();
    assert_eq!(report.manifests, vec![("org/old".to_owned(), old.clone())]);
    // The config, the layer, the manifest and the stray blob.
    assert_eq!(report.blobs.len(), 4);
    for digest in [&old, &stray, &Digest::sha256_of(b"old layer")] {
        assert!(!registry.stored(digest).await, "{digest}");
    }
}

on_both_stores!(
    an_old_layer_a_new_manifest_reuses_survives,
    an_old_blob_uploaded_again_survives,
    an_old_blob_mounted_into_a_new_repository_survives,
    an_old_untagged_manifest_tagged_again_survives,
    old_untagged_platform_manifests_a_new_index_lists_survive,
    without_a_racing_request_old_unreferenced_content_goes,
);
