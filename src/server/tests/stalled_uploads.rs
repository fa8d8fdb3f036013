//! Issue 12, "fix first" 3 and the idle-upload part of 4: a PATCH whose
//! body stalls times out and leaves the upload at its last committed
//! offset; status GET and DELETE never wait behind a body; uploads nobody
//! writes to expire.

use super::{Backend, Registry, registry_limited};
use crate::digest::Digest;
use crate::server::config::Limits;
use axum::body::Body;
use axum::http::StatusCode;
use std::time::{Duration, Instant, SystemTime};

/// A body that sends `first` bytes and then nothing, forever.
fn stalling(first: usize) -> Body {
    let head = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(vec![
        7u8;
        first
    ]))]);
    Body::from_stream(futures_util::StreamExt::chain(
        head,
        futures_util::stream::pending(),
    ))
}

fn limits(body_timeout: Duration) -> Limits {
    Limits {
        body_timeout,
        ..Limits::default()
    }
}

impl Registry {
    /// Start an upload and commit `bytes` to it; its location.
    async fn upload_with(&self, name: &str, bytes: &[u8]) -> String {
        let start = self
            .send(
                "POST",
                &format!("/v2/{name}/blobs/uploads/"),
                &[],
                Body::empty(),
            )
            .await;
        let location = start.header("location").to_owned();
        let end = format!("0-{}", bytes.len() - 1);
        let patch = self
            .send(
                "PATCH",
                &location,
                &[("content-range", &end)],
                bytes.to_vec(),
            )
            .await;
        assert_eq!(patch.status, StatusCode::ACCEPTED);
        location
    }

    async fn upload_len(&self, location: &str) -> Option<u64> {
        let id = location.rsplit('/').next().unwrap();
        let uploads = self.storage.uploads().await.unwrap();
        uploads
            .into_iter()
            .find(|upload| upload.id == id)
            .map(|upload| upload.len)
    }

    /// Make the uploads at `locations` idle for longer than the duration
    /// returned (on the filesystem by dating their files back; on S3, whose
    /// times cannot be set, by waiting).
    async fn idle_uploads(&self, locations: &[&String]) -> Duration {
        let hour = Duration::from_secs(3600);
        let Some(root) = &self.fs else {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            return Duration::from_secs(1);
        };
        for location in locations {
            let id = location.rsplit('/').next().unwrap();
            std::fs::File::options()
                .write(true)
                .open(root.upload_path(id))
                .unwrap()
                .set_modified(SystemTime::now() - 2 * hour)
                .unwrap();
        }
        hour
    }
}

/// Fail instead of hanging when the server does.
async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {limit:?}"))
}

async fn issue_12_a_stalled_patch_times_out_back_to_the_committed_offset(backend: Backend) {
    let registry = registry_limited(backend, limits(Duration::from_millis(500))).await;
    let location = registry.upload_with("org/app", b"hello").await;
    let declared = 5 + (10 << 20) - 1;
    let range = format!("5-{declared}");
    let began = Instant::now();
    let headers = [("content-range", range.as_str())];
    let patch = registry.send("PATCH", &location, &headers, stalling(1 << 20));
    let probe = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let asked = Instant::now();
        let status = registry.get(&location).await;
        (status, asked.elapsed())
    };
    let (patch, (status, waited)) = within(Duration::from_secs(10), "the stalled PATCH", async {
        tokio::join!(patch, probe)
    })
    .await;
    // The status GET did not wait for the body.
    assert_eq!(status.status, StatusCode::NO_CONTENT);
    assert_eq!(status.header("range"), "0-4");
    assert!(
        waited < Duration::from_millis(200),
        "status waited {waited:?}"
    );
    // The PATCH gave up after the body timeout, and its bytes are gone.
    assert!(patch.status.is_client_error(), "{}", patch.status);
    assert!(began.elapsed() < Duration::from_secs(5));
    assert_eq!(registry.upload_len(&location).await, Some(5));
    assert_eq!(registry.get(&location).await.header("range"), "0-4");
    // The client resends and completes.
    let digest = Digest::sha256_of(b"hello world");
    let done = registry
        .send(
            "PUT",
            &format!("{location}?digest={digest}"),
            &[("content-range", "5-10")],
            " world",
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED);
    assert_eq!(
        registry
            .get(&format!("/v2/org/app/blobs/{digest}"))
            .await
            .body,
        b"hello world"
    );
}

async fn issue_12_delete_of_an_upload_does_not_wait_for_a_stalled_body(backend: Backend) {
    let registry = registry_limited(backend, limits(Duration::from_secs(60))).await;
    let location = registry.upload_with("org/app", b"hello").await;
    let patch = registry.send(
        "PATCH",
        &location,
        &[("content-range", "5-1048580")],
        stalling(1 << 19),
    );
    let delete = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let asked = Instant::now();
        let reply = registry.send("DELETE", &location, &[], Body::empty()).await;
        (reply, asked.elapsed())
    };
    let (patch, (deleted, waited)) = within(
        Duration::from_secs(10),
        "DELETE during a stalled PATCH",
        async { tokio::join!(patch, delete) },
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(
        waited < Duration::from_millis(500),
        "DELETE waited {waited:?}"
    );
    assert_eq!(
        patch.status,
        StatusCode::NOT_FOUND,
        "the PATCH ended with its upload"
    );
    assert_eq!(registry.get(&location).await.code(), "BLOB_UPLOAD_UNKNOWN");
    assert_eq!(registry.upload_len(&location).await, None);
}

async fn issue_12_idle_uploads_expire_and_busy_ones_stay(backend: Backend) {
    let registry = registry_limited(backend, limits(Duration::from_secs(60))).await;
    let idle = registry.upload_with("org/app", b"abandoned").await;
    let busy = registry.upload_with("org/app", b"in flight").await;
    let idle_for = registry.idle_uploads(&[&idle, &busy]).await;
    let patch = registry.send(
        "PATCH",
        &busy,
        &[("content-range", "9-100000")],
        stalling(10),
    );
    let expire = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let removed = registry.storage.expire_uploads(idle_for).await.unwrap();
        // Nothing left to do for the body: end the test's PATCH.
        registry.send("DELETE", &busy, &[], Body::empty()).await;
        removed
    };
    let (_, removed) = within(Duration::from_secs(10), "expiry", async {
        tokio::join!(patch, expire)
    })
    .await;
    assert_eq!(removed, vec![idle.rsplit('/').next().unwrap().to_owned()]);
    assert_eq!(registry.get(&idle).await.code(), "BLOB_UPLOAD_UNKNOWN");
    assert_eq!(registry.upload_len(&idle).await, None);
}

/// Found by the reliability suite (SIGKILL during pushes): a manifest PUT
/// killed between writing its temporary file and committing it leaves
/// `uploads/manifest-*` behind, which the server's own expiry skipped
/// (only `registry prune` removed it). Old ones go with idle uploads now;
/// young ones (a PUT in flight) stay. (Filesystem only: on S3 a manifest
/// is one PUT, with no temporary object.)
#[tokio::test]
async fn issue_12_temporary_manifest_files_a_kill_left_expire_too() {
    let registry = registry_limited(Backend::Filesystem, limits(Duration::from_secs(60))).await;
    let hour = Duration::from_secs(3600);
    let dir = registry.fs().upload_path("x");
    let dir = dir.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let (old, young) = (dir.join("manifest-a1B2c3"), dir.join("manifest-d4E5f6"));
    for path in [&old, &young] {
        std::fs::write(path, b"{\"schemaVersion\":2").unwrap();
    }
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(SystemTime::now() - 2 * hour)
        .unwrap();
    registry.storage.expire_uploads(hour).await.unwrap();
    assert!(
        !old.exists(),
        "an old temporary manifest file stays forever"
    );
    assert!(young.exists(), "a manifest PUT in flight lost its file");
}

on_both_stores!(
    issue_12_a_stalled_patch_times_out_back_to_the_committed_offset,
    issue_12_delete_of_an_upload_does_not_wait_for_a_stalled_body,
    issue_12_idle_uploads_expire_and_busy_ones_stay,
);
