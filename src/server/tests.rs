//! In-process tests of the whole router: every request goes through
//! `router(state)` with `tower::ServiceExt::oneshot`, no socket.
//!
//! The protocol tests run on both stores: [`on_both_stores!`] turns each
//! `async fn test(backend: Backend)` into a `filesystem::test` (hermetic)
//! and an `s3::test` on the SeaweedFS that `tests/run-all.sh` starts
//! (ignored in a plain `cargo test`, like every test of real components).
//! Tests of what only the filesystem has (its layout, injected file
//! errors) stay filesystem-only.

use super::auth::{Access, Auth, Credential, User};
use super::config::Limits;
use super::manifests::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use super::storage::Storage;
use super::storage::fs::{FsStore, Root};
use super::token::Signer;
use super::{State, router};
use crate::digest::{Algorithm, Digest, Hasher};
use crate::secret::Secret;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tower::ServiceExt;

/// Run each named `async fn(Backend)` of the module once per store.
macro_rules! on_both_stores {
    ($($test:ident),+ $(,)?) => {
        mod filesystem {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(crate::server::tests::Backend::Filesystem).await
                }
            )+
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs real components: run tests/run-all.sh"]
                async fn $test() {
                    super::$test(crate::server::tests::Backend::S3).await
                }
            )+
        }
    };
}

mod auth;
mod blob_links;
mod hostile;
mod manifest_tags;
mod prune_race;
mod s3_replicas;
mod stalled_uploads;

/// The store a test registry keeps its content in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Filesystem,
    /// A fresh prefix in the test bucket of the SeaweedFS run-all.sh starts.
    S3,
}

struct Registry {
    app: axum::Router,
    state: Arc<State>,
    storage: Storage,
    /// The filesystem layout, on the filesystem store.
    fs: Option<Root>,
    /// `Authorization` sent when a request brings none of its own.
    auth: Option<String>,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// A filesystem registry on storage rooted at `dir` (which may hold an
/// older root).
fn registry_on(
    dir: tempfile::TempDir,
    users: HashMap<String, User>,
    anonymous_read: bool,
) -> Registry {
    let root = Root::open(dir.path()).unwrap();
    let storage: Storage = Arc::new(FsStore::new(root.clone()));
    assemble(
        storage,
        Some(root),
        dir,
        users,
        anonymous_read,
        Limits::default(),
    )
}

/// An open registry on the filesystem, for filesystem-only tests.
fn fs_registry() -> Registry {
    registry_on(tempfile::tempdir().unwrap(), HashMap::new(), true)
}

fn assemble(
    storage: Storage,
    fs: Option<Root>,
    dir: tempfile::TempDir,
    users: HashMap<String, User>,
    anonymous_read: bool,
    limits: Limits,
) -> Registry {
    let signer = Signer::random(Duration::from_secs(60));
    assemble_signed(storage, fs, dir, users, anonymous_read, limits, signer)
}

/// [`assemble`] issuing and checking tokens with `signer`.
fn assemble_signed(
    storage: Storage,
    fs: Option<Root>,
    dir: tempfile::TempDir,
    users: HashMap<String, User>,
    anonymous_read: bool,
    limits: Limits,
    signer: Signer,
) -> Registry {
    let auth = Auth::new(users, anonymous_read, signer)
        .with_failed_login_limit(limits.failed_logins_per_minute);
    let state = Arc::new(State::new(storage.clone(), auth, None, true).with_limits(limits));
    Registry {
        app: router(state.clone()),
        state,
        storage,
        fs,
        auth: None,
        _dir: dir,
    }
}

/// A registry on `backend` with `users` and `limits`.
async fn registry_for(
    backend: Backend,
    users: HashMap<String, User>,
    anonymous_read: bool,
    limits: Limits,
) -> Registry {
    let signer = Signer::random(Duration::from_secs(60));
    registry_signed(backend, users, anonymous_read, limits, signer).await
}

/// [`registry_for`] issuing and checking tokens with `signer`.
async fn registry_signed(
    backend: Backend,
    users: HashMap<String, User>,
    anonymous_read: bool,
    limits: Limits,
    signer: Signer,
) -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let (storage, fs): (Storage, _) = match backend {
        Backend::Filesystem => {
            let root = Root::open(dir.path()).unwrap();
            (Arc::new(FsStore::new(root.clone())), Some(root))
        }
        Backend::S3 => (Arc::new(s3_replicas::test_store().await), None),
    };
    assemble_signed(storage, fs, dir, users, anonymous_read, limits, signer)
}

async fn registry_with(
    backend: Backend,
    users: HashMap<String, User>,
    anonymous_read: bool,
) -> Registry {
    registry_for(backend, users, anonymous_read, Limits::default()).await
}

/// An open registry with `limits`.
async fn registry_limited(backend: Backend, limits: Limits) -> Registry {
    registry_for(backend, HashMap::new(), true, limits).await
}

async fn open_registry(backend: Backend) -> Registry {
    registry_with(backend, HashMap::new(), true).await
}

impl Registry {
    /// The filesystem layout; for filesystem-only tests.
    fn fs(&self) -> &Root {
        self.fs.as_ref().expect("a filesystem registry")
    }

    /// Whether blob `digest` is stored (in any repository).
    async fn stored(&self, digest: &Digest) -> bool {
        self.storage.blob_size(digest).await.unwrap().is_some()
    }

    /// Make everything stored so far old, and return a prune cut-off that
    /// finds it old and whatever is written afterwards young. On the
    /// filesystem the files are dated a month back; on S3, whose
    /// `LastModified` cannot be set and counts whole seconds, time passes
    /// and the cut-off is the store's clock.
    async fn age(&self) -> SystemTime {
        match &self.fs {
            Some(root) => {
                age_files(root.root(), SystemTime::now() - 4 * WEEK);
                SystemTime::now() - WEEK
            }
            None => {
                tokio::time::sleep(Duration::from_millis(2100)).await;
                self.storage.now().await.unwrap()
            }
        }
    }
}

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

/// Date every file under `dir` at `when`.
fn age_files(dir: &std::path::Path, when: SystemTime) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            age_files(&path, when);
        } else {
            std::fs::File::open(&path)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
    }
}

impl Registry {
    async fn send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "reg.test:5000");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(auth) = &self.auth {
            if !headers.iter().any(|(name, _)| *name == "authorization") {
                request = request.header("authorization", auth);
            }
        }
        self.call(request.body(body.into()).unwrap()).await
    }

    /// Send a whole request through the router.
    async fn call(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send("GET", uri, &[], Body::empty()).await
    }

    /// `name:tag` can be pulled through `name`: the manifest and every blob
    /// and member it needs, each through the same repository.
    async fn pull(&self, name: &str, reference: &str) {
        let reply = self.get(&format!("/v2/{name}/manifests/{reference}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}:{reference}");
        let (blobs, members) = crate::server::manifests::stored_references(&reply.body);
        for blob in blobs {
            let got = self.get(&format!("/v2/{name}/blobs/{blob}")).await;
            assert_eq!(got.status, StatusCode::OK, "{name}:{reference} lost {blob}");
            assert_eq!(Digest::sha256_of(&got.body), blob);
        }
        for member in members {
            Box::pin(self.pull(name, &member.to_string())).await;
        }
    }

    /// Push a blob monolithically; returns its digest.
    async fn blob(&self, name: &str, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256_of(bytes);
        let reply = self
            .send(
                "POST",
                &format!("/v2/{name}/blobs/uploads/?digest={digest}"),
                &[],
                bytes.to_vec(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        digest
    }

    /// Push a one-layer image manifest; returns (digest, bytes).
    async fn image(&self, name: &str, tag: &str, layer: &[u8]) -> (Digest, Vec<u8>) {
        let config = self.blob(name, b"{\"architecture\":\"amd64\"}").await;
        let layer_digest = self.blob(name, layer).await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": 24},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest.to_string(), "size": layer.len()}],
        });
        let bytes = serde_json::to_vec_pretty(&manifest).unwrap();
        self.put_manifest(name, tag, OCI_MANIFEST, &bytes).await;
        (Digest::sha256_of(&bytes), bytes)
    }

    /// PUT a manifest, which must be accepted.
    async fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Reply {
        let reply = self
            .send(
                "PUT",
                &format!("/v2/{name}/manifests/{reference}"),
                &[("content-type", media_type)],
                bytes.to_vec(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        reply
    }
}

async fn base_endpoint(backend: Backend) {
    let registry = open_registry(backend).await;
    for uri in ["/v2/", "/v2"] {
        let reply = registry.get(uri).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.header("docker-distribution-api-version"),
            "registry/2.0"
        );
    }
}

async fn chunked_upload_with_order_checks_and_status(backend: Backend) {
    let registry = open_registry(backend).await;
    let start = registry
        .send("POST", "/v2/org/app/blobs/uploads/", &[], Body::empty())
        .await;
    assert_eq!(start.status, StatusCode::ACCEPTED);
    assert_eq!(start.header("range"), "0-0");
    let location = start.header("location").to_owned();
    assert!(location.starts_with("/v2/org/app/blobs/uploads/"));
    assert!(!start.header("docker-upload-uuid").is_empty());

    let first = registry
        .send("PATCH", &location, &[("content-range", "0-4")], "hello")
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(first.header("range"), "0-4");
    let out_of_order = registry
        .send("PATCH", &location, &[("content-range", "10-14")], "later")
        .await;
    assert_eq!(out_of_order.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(out_of_order.header("range"), "0-4");
    let second = registry
        .send("PATCH", &location, &[("content-range", "5-10")], " world")
        .await;
    assert_eq!(second.header("range"), "0-10");
    let status = registry.get(&location).await;
    assert_eq!(status.status, StatusCode::NO_CONTENT);
    assert_eq!(status.header("range"), "0-10");

    let digest = Digest::sha256_of(b"hello world!");
    let done = registry
        .send("PUT", &format!("{location}?digest={digest}"), &[], "!")
        .await;
    assert_eq!(done.status, StatusCode::CREATED);
    assert_eq!(done.header("docker-content-digest"), digest.to_string());
    assert_eq!(
        done.header("location"),
        format!("/v2/org/app/blobs/{digest}")
    );

    // The blob belongs to the repository it was pushed to.
    let head = registry
        .send(
            "HEAD",
            &format!("/v2/org/app/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), "12");
    assert!(head.body.is_empty());
    let elsewhere = registry
        .send(
            "HEAD",
            &format!("/v2/other/repo/blobs/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    let range = registry
        .send(
            "GET",
            &format!("/v2/org/app/blobs/{digest}"),
            &[("range", "bytes=6-10")],
            Body::empty(),
        )
        .await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.body, b"world");
    assert_eq!(range.header("content-range"), "bytes 6-10/12");
    let bad_range = registry
        .send(
            "GET",
            &format!("/v2/org/app/blobs/{digest}"),
            &[("range", "bytes=50-")],
            Body::empty(),
        )
        .await;
    assert_eq!(bad_range.status, StatusCode::RANGE_NOT_SATISFIABLE);
    // The finished upload is gone.
    let gone = registry.get(&location).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.code(), "BLOB_UPLOAD_UNKNOWN");
}

async fn digest_mismatch_stores_nothing_and_uploads_can_be_cancelled(backend: Backend) {
    let registry = open_registry(backend).await;
    let wrong = Digest::sha256_of(b"something else");
    let reply = registry
        .send(
            "POST",
            &format!("/v2/a/blobs/uploads/?digest={wrong}"),
            &[],
            "data",
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "DIGEST_INVALID");
    let head = registry
        .send("HEAD", &format!("/v2/a/blobs/{wrong}"), &[], Body::empty())
        .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    let bad = registry
        .send(
            "POST",
            "/v2/a/blobs/uploads/?digest=sha256:nothex",
            &[],
            "data",
        )
        .await;
    assert_eq!(bad.code(), "DIGEST_INVALID");

    let start = registry
        .send("POST", "/v2/a/blobs/uploads/", &[], Body::empty())
        .await;
    let location = start.header("location").to_owned();
    let no_digest = registry.send("PUT", &location, &[], Body::empty()).await;
    assert_eq!(no_digest.code(), "DIGEST_INVALID");
    let cancel = registry.send("DELETE", &location, &[], Body::empty()).await;
    assert_eq!(cancel.status, StatusCode::NO_CONTENT);
    assert_eq!(registry.get(&location).await.code(), "BLOB_UPLOAD_UNKNOWN");
}

async fn sha512_blobs(backend: Backend) {
    let registry = open_registry(backend).await;
    let mut hasher = Hasher::new(Algorithm::Sha512);
    hasher.update(b"five-twelve");
    let digest = hasher.finish();
    let reply = registry
        .send(
            "POST",
            &format!("/v2/a/blobs/uploads/?digest={digest}"),
            &[],
            "five-twelve",
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        registry.get(&format!("/v2/a/blobs/{digest}")).await.body,
        b"five-twelve"
    );
}

async fn cross_repository_mount(backend: Backend) {
    let registry = open_registry(backend).await;
    let digest = registry.blob("src/app", b"layer").await;
    let mounted = registry
        .send(
            "POST",
            &format!("/v2/dst/app/blobs/uploads/?mount={digest}&from=src/app"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(mounted.status, StatusCode::CREATED);
    assert_eq!(
        mounted.header("location"),
        format!("/v2/dst/app/blobs/{digest}")
    );
    let missing = Digest::sha256_of(b"nope");
    let fallback = registry
        .send(
            "POST",
            &format!("/v2/dst/app/blobs/uploads/?mount={missing}&from=src/app"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(fallback.status, StatusCode::ACCEPTED);
    assert!(fallback.header("location").contains("/blobs/uploads/"));
}

async fn manifests_by_tag_and_digest_with_negotiation(backend: Backend) {
    let registry = open_registry(backend).await;
    let (digest, bytes) = registry.image("quay.io/org/app", "v1", b"L").await;
    let by_tag = registry
        .send(
            "GET",
            "/v2/quay.io/org/app/manifests/v1",
            &[("accept", &format!("{DOCKER_MANIFEST}, {OCI_MANIFEST}"))],
            Body::empty(),
        )
        .await;
    assert_eq!(by_tag.status, StatusCode::OK);
    assert_eq!(by_tag.body, bytes, "stored byte-exact");
    assert_eq!(by_tag.header("content-type"), OCI_MANIFEST);
    assert_eq!(by_tag.header("docker-content-digest"), digest.to_string());
    let head = registry
        .send(
            "HEAD",
            &format!("/v2/quay.io/org/app/manifests/{digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), bytes.len().to_string());
    assert_eq!(head.header("docker-content-digest"), digest.to_string());
    // A client that does not take OCI falls back upstream on 404.
    let docker_only = registry
        .send(
            "GET",
            "/v2/quay.io/org/app/manifests/v1",
            &[("accept", DOCKER_MANIFEST)],
            Body::empty(),
        )
        .await;
    assert_eq!(docker_only.status, StatusCode::NOT_FOUND);
    assert_eq!(docker_only.code(), "MANIFEST_UNKNOWN");
    // containerd's ns parameter.
    let ns = registry.get("/v2/org/app/manifests/v1?ns=quay.io").await;
    assert_eq!(ns.status, StatusCode::OK);
    assert_eq!(ns.body, bytes);
    let hub = registry.get("/v2/org/app/manifests/v1?ns=docker.io").await;
    assert_eq!(hub.status, StatusCode::NOT_FOUND);
    // Unknown manifest in another repository.
    let other = registry.get(&format!("/v2/other/manifests/{digest}")).await;
    assert_eq!(other.code(), "MANIFEST_UNKNOWN");
    // PUT by digest must match the bytes.
    let mismatch = registry
        .send(
            "PUT",
            &format!("/v2/quay.io/org/app/manifests/{}", Digest::sha256_of(b"x")),
            &[("content-type", OCI_MANIFEST)],
            bytes.clone(),
        )
        .await;
    assert_eq!(mismatch.code(), "DIGEST_INVALID");
}

async fn manifest_errors(backend: Backend) {
    let registry = open_registry(backend).await;
    let missing = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "c", "digest": Digest::sha256_of(b"c").to_string(), "size": 1},
        "layers": [],
    })
    .to_string();
    let reply = registry
        .send(
            "PUT",
            "/v2/a/manifests/v1",
            &[("content-type", OCI_MANIFEST)],
            missing,
        )
        .await;
    assert_eq!(reply.code(), "MANIFEST_BLOB_UNKNOWN");
    let reply = registry
        .send(
            "PUT",
            "/v2/a/manifests/v1",
            &[("content-type", OCI_MANIFEST)],
            "{not json",
        )
        .await;
    assert_eq!(reply.code(), "MANIFEST_INVALID");
    let reply = registry.get("/v2/a/manifests/nope").await;
    assert_eq!(reply.code(), "MANIFEST_UNKNOWN");
    assert_eq!(registry.get("/v2/a/tags/list").await.code(), "NAME_UNKNOWN");
    assert_eq!(
        registry.get("/v2/Bad/manifests/x").await.code(),
        "NAME_INVALID"
    );
    assert_eq!(
        registry.get("/v2/a/../b/manifests/x").await.code(),
        "NAME_INVALID"
    );
    assert_eq!(
        registry.get("/v2/a//b/tags/list").await.code(),
        "NAME_INVALID"
    );
    assert_eq!(
        registry
            .get(&format!("/v2/a/blobs/{}", Digest::sha256_of(b"z")))
            .await
            .code(),
        "BLOB_UNKNOWN"
    );
    let unsupported = registry
        .send("PATCH", "/v2/a/manifests/v1", &[], Body::empty())
        .await;
    assert_eq!(unsupported.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(unsupported.code(), "UNSUPPORTED");
    let upload = registry
        .send(
            "PATCH",
            "/v2/a/blobs/uploads/0123456789abcdef0123456789abcdef",
            &[],
            "x",
        )
        .await;
    assert_eq!(upload.code(), "BLOB_UPLOAD_UNKNOWN");
}

async fn index_tags_catalog_and_deletes(backend: Backend) {
    let registry = open_registry(backend).await;
    let (amd, amd_bytes) = registry.image("org/multi", "amd64", b"A").await;
    let (arm, arm_bytes) = registry.image("org/multi", "arm64", b"B").await;
    let index = json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd.to_string(), "size": amd_bytes.len(), "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": arm.to_string(), "size": arm_bytes.len(), "platform": {"architecture": "arm64", "os": "linux"}},
        ],
    })
    .to_string();
    let reply = registry
        .send(
            "PUT",
            "/v2/org/multi/manifests/latest",
            &[("content-type", OCI_INDEX)],
            index.clone(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let got = registry.get("/v2/org/multi/manifests/latest").await;
    assert_eq!(got.body, index.as_bytes());
    assert_eq!(got.header("content-type"), OCI_INDEX);
    // An index whose member is in another repository is refused.
    let reply = registry
        .send(
            "PUT",
            "/v2/org/elsewhere/manifests/latest",
            &[("content-type", OCI_INDEX)],
            index,
        )
        .await;
    assert_eq!(reply.code(), "MANIFEST_BLOB_UNKNOWN");

    let tags = registry.get("/v2/org/multi/tags/list?n=2").await;
    assert_eq!(tags.json()["tags"], json!(["amd64", "arm64"]));
    assert_eq!(
        tags.header("link"),
        "</v2/org/multi/tags/list?n=2&last=arm64>; rel=\"next\""
    );
    let next = registry.get("/v2/org/multi/tags/list?n=2&last=arm64").await;
    assert_eq!(next.json()["tags"], json!(["latest"]));
    assert_eq!(next.header("link"), "");

    registry.image("a/b/c/d/e/f/g/h/i", "deep", b"D").await;
    let catalog = registry.get("/v2/_catalog?n=1").await;
    assert_eq!(catalog.json()["repositories"], json!(["a/b/c/d/e/f/g/h/i"]));
    assert_eq!(
        catalog.header("link"),
        "</v2/_catalog?n=1&last=a/b/c/d/e/f/g/h/i>; rel=\"next\""
    );
    let rest = registry.get("/v2/_catalog?last=a/b/c/d/e/f/g/h/i").await;
    assert_eq!(rest.json()["repositories"], json!(["org/multi"]));

    let deleted = registry
        .send(
            "DELETE",
            "/v2/org/multi/manifests/arm64",
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    assert_eq!(
        registry.get("/v2/org/multi/manifests/arm64").await.status,
        StatusCode::NOT_FOUND
    );
    // Still there by digest; then delete by digest.
    assert_eq!(
        registry
            .get(&format!("/v2/org/multi/manifests/{arm}"))
            .await
            .status,
        StatusCode::OK
    );
    let deleted = registry
        .send(
            "DELETE",
            &format!("/v2/org/multi/manifests/{amd}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    assert_eq!(
        registry.get("/v2/org/multi/manifests/amd64").await.status,
        StatusCode::NOT_FOUND
    );
    let layer = Digest::sha256_of(b"A");
    let deleted = registry
        .send(
            "DELETE",
            &format!("/v2/org/multi/blobs/{layer}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::ACCEPTED);
    assert_eq!(
        registry
            .get(&format!("/v2/org/multi/blobs/{layer}"))
            .await
            .code(),
        "BLOB_UNKNOWN"
    );
}

async fn referrers_and_subject(backend: Backend) {
    let registry = open_registry(backend).await;
    let (subject, subject_bytes) = registry.image("org/app", "v1", b"S").await;
    let empty = registry.blob("org/app", b"{}").await;
    let mut digests = Vec::new();
    for kind in [
        "application/vnd.example.sbom",
        "application/vnd.example.sig",
    ] {
        let artifact = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": kind,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.to_string(), "size": 2},
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject.to_string(), "size": subject_bytes.len()},
            "annotations": {"org.example": kind},
        })
        .to_string();
        let digest = Digest::sha256_of(artifact.as_bytes());
        let reply = registry
            .send(
                "PUT",
                &format!("/v2/org/app/manifests/{digest}"),
                &[("content-type", OCI_MANIFEST)],
                artifact,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        assert_eq!(reply.header("oci-subject"), subject.to_string());
        digests.push(digest);
    }
    let all = registry
        .get(&format!("/v2/org/app/referrers/{subject}"))
        .await;
    assert_eq!(all.header("content-type"), OCI_INDEX);
    assert_eq!(all.json()["manifests"].as_array().unwrap().len(), 2);
    let filtered = registry
        .get(&format!(
            "/v2/org/app/referrers/{subject}?artifactType=application/vnd.example.sig"
        ))
        .await;
    assert_eq!(filtered.header("oci-filters-applied"), "artifactType");
    let manifests = filtered.json()["manifests"].clone();
    assert_eq!(manifests.as_array().unwrap().len(), 1);
    assert_eq!(manifests[0]["artifactType"], "application/vnd.example.sig");
    assert_eq!(manifests[0]["digest"], digests[1].to_string());
    let none = registry
        .get(&format!(
            "/v2/org/app/referrers/{}",
            Digest::sha256_of(b"q")
        ))
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.json()["manifests"], json!([]));
}

fn users() -> HashMap<String, User> {
    let mut users = HashMap::new();
    users.insert(
        "zuul".to_owned(),
        User {
            access: Access::Write,
            credential: Credential::Plain(Secret::new("s3cret:pw")),
        },
    );
    users
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn concurrent_uploads_of_the_same_blob_both_succeed(backend: Backend) {
    let registry = open_registry(backend).await;
    let bytes = vec![42u8; 3 << 20];
    let digest = Digest::sha256_of(&bytes);
    let uri = format!("/v2/a/blobs/uploads/?digest={digest}");
    let other = uri.replace("/v2/a/", "/v2/b/");
    let (one, two) = tokio::join!(
        registry.send("POST", &uri, &[], bytes.clone()),
        registry.send("POST", &other, &[], bytes.clone()),
    );
    assert_eq!(one.status, StatusCode::CREATED);
    assert_eq!(two.status, StatusCode::CREATED);
    let got = registry.get(&format!("/v2/a/blobs/{digest}")).await;
    assert_eq!(got.body, bytes);
}

on_both_stores!(
    base_endpoint,
    chunked_upload_with_order_checks_and_status,
    digest_mismatch_stores_nothing_and_uploads_can_be_cancelled,
    sha512_blobs,
    cross_repository_mount,
    manifests_by_tag_and_digest_with_negotiation,
    manifest_errors,
    index_tags_catalog_and_deletes,
    referrers_and_subject,
    concurrent_uploads_of_the_same_blob_both_succeed,
);
