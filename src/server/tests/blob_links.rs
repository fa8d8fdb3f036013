//! Issue 12, "fix first" 1: blobs belong to repositories. A blob DELETE
//! through one repository removes that repository's link only; reads,
//! manifest references and mounts answer only for blobs the repository
//! (or a readable `from` repository) holds; prune removes content only
//! once no repository links it; a root of the previous layout keeps working.

use super::{
    Backend, Registry, age_files, basic, fs_registry, open_registry, registry_on, registry_with,
    users,
};
use crate::digest::Digest;
use crate::server::manifests::OCI_MANIFEST;
use crate::server::prune::{prune, prune_before};
use axum::body::Body;
use axum::http::StatusCode;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

impl Registry {
    async fn blob_status(&self, method: &str, name: &str, digest: &Digest) -> StatusCode {
        self.send(
            method,
            &format!("/v2/{name}/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await
        .status
    }

    /// `Bearer <token>`: a real token for `scope`, from user `zuul`.
    pub(super) async fn token(&self, scope: &str) -> String {
        let reply = self
            .send(
                "GET",
                &format!("/auth/token?service=zuul-image&scope={scope}"),
                &[("authorization", &basic("zuul", "s3cret:pw"))],
                Body::empty(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        format!("Bearer {}", reply.json()["token"].as_str().unwrap())
    }
}

async fn issue_12_blob_delete_through_another_repository(backend: Backend) {
    let mut registry = registry_with(backend, users(), true).await;
    registry.auth = Some(basic("zuul", "s3cret:pw"));
    registry.image("org/a", "latest", b"org/a's layer").await;
    let layer = Digest::sha256_of(b"org/a's layer");
    // A token for `evil/b` only, with every right there.
    let evil = registry.token("repository:evil/b:pull,push,delete").await;
    let deleted = registry
        .send(
            "DELETE",
            &format!("/v2/evil/b/blobs/{layer}"),
            &[("authorization", &evil)],
            Body::empty(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NOT_FOUND);
    assert_eq!(deleted.code(), "BLOB_UNKNOWN");
    registry.auth = None;
    registry.pull("org/a", "latest").await;
}

async fn issue_12_deleting_a_shared_layer_keeps_the_other_images(backend: Backend) {
    let registry = open_registry(backend).await;
    registry.image("org/a", "v1", b"shared base layer").await;
    registry.image("org/b", "v1", b"shared base layer").await;
    let shared = Digest::sha256_of(b"shared base layer");
    let delete = registry
        .send(
            "DELETE",
            &format!("/v2/org/b/blobs/{shared}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(delete.status, StatusCode::ACCEPTED);
    assert_eq!(
        registry.blob_status("GET", "org/b", &shared).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        registry.blob_status("DELETE", "org/b", &shared).await,
        StatusCode::NOT_FOUND,
        "deleted once"
    );
    registry.pull("org/a", "v1").await;
    assert!(registry.stored(&shared).await);
}

async fn issue_12_blobs_are_read_only_through_repositories_that_hold_them(backend: Backend) {
    let registry = open_registry(backend).await;
    let (manifest, manifest_bytes) = registry.image("org/a", "v1", b"private layer").await;
    let layer = Digest::sha256_of(b"private layer");
    for method in ["GET", "HEAD"] {
        assert_eq!(
            registry.blob_status(method, "evil/b", &layer).await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            registry.blob_status(method, "org/a", &layer).await,
            StatusCode::OK
        );
    }
    // A manifest is a blob its repository holds, and only its repository.
    assert_eq!(
        registry.blob_status("GET", "org/a", &manifest).await,
        StatusCode::OK
    );
    assert_eq!(
        registry.blob_status("GET", "evil/b", &manifest).await,
        StatusCode::NOT_FOUND
    );
    // Knowing the digests is not enough to claim them in a manifest.
    let reply = registry
        .send(
            "PUT",
            "/v2/evil/b/manifests/stolen",
            &[("content-type", OCI_MANIFEST)],
            manifest_bytes,
        )
        .await;
    assert_eq!(reply.code(), "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        registry.blob_status("GET", "evil/b", &layer).await,
        StatusCode::NOT_FOUND
    );
}

async fn issue_12_mount_only_from_a_readable_repository_that_holds_the_blob(backend: Backend) {
    // Anonymous read off, so what a token may read is what it says.
    let mut registry = registry_with(backend, users(), false).await;
    registry.auth = Some(basic("zuul", "s3cret:pw"));
    let layer = registry.blob("org/src", b"mountable layer").await;
    registry.blob("org/other", b"elsewhere only").await;
    let elsewhere = Digest::sha256_of(b"elsewhere only");
    let registry = &registry;
    let mount = |token: String, digest: &Digest, from: Option<&str>| {
        let from = from.map(|f| format!("&from={f}")).unwrap_or_default();
        let uri = format!("/v2/org/dst/blobs/uploads/?mount={digest}{from}");
        async move {
            registry
                .send("POST", &uri, &[("authorization", &token)], Body::empty())
                .await
                .status
        }
    };
    let dst_only = registry.token("repository:org/dst:pull,push").await;
    let both = registry
        .token("repository:org/dst:pull,push&scope=repository:org/src:pull")
        .await;
    // Not readable by the caller: a plain upload.
    assert_eq!(
        mount(dst_only.clone(), &layer, Some("org/src")).await,
        StatusCode::ACCEPTED
    );
    // No `from`: a plain upload, even though the blob is stored.
    assert_eq!(
        mount(both.clone(), &layer, None).await,
        StatusCode::ACCEPTED
    );
    // `from` does not hold it: a plain upload.
    assert_eq!(
        mount(both.clone(), &elsewhere, Some("org/src")).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        registry.blob_status("HEAD", "org/dst", &layer).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        mount(both, &layer, Some("org/src")).await,
        StatusCode::CREATED
    );
    assert_eq!(
        registry.blob_status("HEAD", "org/dst", &layer).await,
        StatusCode::OK
    );
    assert_eq!(
        registry.blob_status("HEAD", "org/dst", &elsewhere).await,
        StatusCode::NOT_FOUND
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test]
async fn issue_12_a_root_of_the_previous_layout_keeps_working() {
    // Written by the code before blob links (a multi-platform index, a
    // retagged image whose old manifest is untagged, a blob pushed but
    // never referenced), with old files.
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server/tests/fixtures/layout-v1");
    copy_tree(&fixture, dir.path());
    let week = Duration::from_secs(7 * 24 * 3600);
    age_files(dir.path(), SystemTime::now() - 2 * week);
    let root = dir.path().to_path_buf();
    let registry = registry_on(dir, HashMap::new(), true);
    assert!(root.join("layout").exists());

    registry.pull("quay.io/org/multi", "latest").await;
    registry.pull("quay.io/org/multi", "amd64").await;
    registry.pull("org/app", "v1").await;
    let app_layer = Digest::sha256_of(b"shared layer");
    let multi_layer = Digest::sha256_of(b"amd layer");
    assert_eq!(
        registry
            .blob_status("GET", "quay.io/org/multi", &app_layer)
            .await,
        StatusCode::NOT_FOUND,
        "no longer readable through every repository"
    );
    assert_eq!(
        registry.blob_status("GET", "org/app", &multi_layer).await,
        StatusCode::NOT_FOUND
    );
    // Opening again changes nothing.
    let links = registry.fs().blob_links("org/app").unwrap();
    crate::server::storage::fs::Root::open(&root).unwrap();
    assert_eq!(registry.fs().blob_links("org/app").unwrap(), links);

    // The derived links are as old as their content: prune takes what no
    // tag reaches, and nothing an image needs.
    let report = prune(&registry.storage, week, false).await.unwrap();
    let never_referenced = Digest::sha256_of(b"pushed but never referenced");
    let untagged_layer = Digest::sha256_of(b"app layer");
    assert_eq!(report.manifests.len(), 1, "{report:?}");
    assert_eq!(report.manifests[0].0, "org/app");
    let mut gone = vec![
        report.manifests[0].1.clone(),
        never_referenced,
        untagged_layer.clone(),
    ];
    gone.sort();
    assert_eq!(report.blobs, gone);
    assert_eq!(report.links, vec![("org/app".to_owned(), untagged_layer)]);
    registry.pull("quay.io/org/multi", "latest").await;
    registry.pull("org/app", "v1").await;
}

async fn issue_12_prune_removes_old_unused_links_and_then_unlinked_content(backend: Backend) {
    let registry = open_registry(backend).await;
    registry.image("org/a", "v1", b"used by a").await;
    let used = Digest::sha256_of(b"used by a");
    // org/b holds the same blob but no manifest of it uses it.
    registry.blob("org/b", b"used by a").await;
    let lonely = registry.blob("org/c", b"nobody uses this").await;
    let cutoff = registry.age().await;
    let young = registry.blob("org/d", b"pushed just now").await;

    let report = prune_before(&registry.storage, cutoff, false)
        .await
        .unwrap();
    let mut links = vec![
        ("org/b".to_owned(), used.clone()),
        ("org/c".to_owned(), lonely.clone()),
    ];
    links.sort();
    assert_eq!(report.links, links);
    assert_eq!(report.blobs, vec![lonely.clone()]);
    registry.pull("org/a", "v1").await;
    assert_eq!(
        registry.blob_status("HEAD", "org/b", &used).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        registry.blob_status("HEAD", "org/c", &lonely).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        registry.blob_status("HEAD", "org/d", &young).await,
        StatusCode::OK
    );
    assert!(registry.stored(&used).await);
    assert!(!registry.stored(&lonely).await);
}

#[tokio::test]
async fn issue_12_storage_errors_send_no_paths() {
    let registry = fs_registry();
    let (_, manifest) = registry.image("org/app", "v1", b"layer").await;
    // A file where the tags directory should be: writing a tag fails.
    let tags = registry.fs().root().join("repositories/org/app/_tags");
    std::fs::remove_dir_all(&tags).unwrap();
    std::fs::write(&tags, b"").unwrap();
    let reply = registry
        .send(
            "PUT",
            "/v2/org/app/manifests/v2",
            &[("content-type", OCI_MANIFEST)],
            manifest,
        )
        .await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    let body = String::from_utf8(reply.body.clone()).unwrap();
    let root = registry.fs().root().display().to_string();
    assert!(!body.contains(&root) && !body.contains("_tags"), "{body}");
    assert_eq!(reply.code(), "UNKNOWN");
}

on_both_stores!(
    issue_12_blob_delete_through_another_repository,
    issue_12_deleting_a_shared_layer_keeps_the_other_images,
    issue_12_blobs_are_read_only_through_repositories_that_hold_them,
    issue_12_mount_only_from_a_readable_repository_that_holds_the_blob,
    issue_12_prune_removes_old_unused_links_and_then_unlinked_content,
);
