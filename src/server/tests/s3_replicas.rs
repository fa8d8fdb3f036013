//! Issue 13: several servers on one S3 prefix, in one process, each with
//! its own [`S3Store`] and router, as replicas behind a load balancer would
//! be. Uploads cross replicas request by request, with `Content-Range`
//! order kept by the store; racing requests get one consistent result;
//! tokens of one replica work on the others; the prune protocol's markers
//! hold requests back and stale ones go. Against the SeaweedFS that
//! `tests/run-all.sh` starts (`ZUUL_IMAGE_TEST_S3_*`).

use super::{Registry, Reply, assemble, basic, users};
use crate::digest::Digest;
use crate::secret::Secret;
use crate::server::auth::Auth;
use crate::server::config::Limits;
use crate::server::manifests::OCI_MANIFEST;
use crate::server::storage::Storage;
use crate::server::storage::s3::{S3Store, testing};
use crate::server::token::Signer;
use crate::server::uploads::new_id;
use crate::server::{State, router};
use axum::body::Body;
use axum::http::StatusCode;
use std::sync::Arc;
use std::time::Duration;

pub(super) use crate::server::storage::s3::testing::test_store;

/// `count` replicas on one fresh prefix, signing tokens with one key.
async fn replicas(count: usize) -> Vec<Registry> {
    let settings = testing::settings(&format!("test/{}", new_id()));
    let key = Secret::new("0123456789abcdef0123456789abcdef");
    let mut all = Vec::new();
    for _ in 0..count {
        let storage: Storage = Arc::new(S3Store::connect(&settings).await.unwrap());
        let mut registry = assemble(
            storage.clone(),
            None,
            tempfile::tempdir().unwrap(),
            users(),
            true,
            Limits::default(),
        );
        let auth = Auth::new(
            users(),
            true,
            Signer::with_key(&key, Duration::from_secs(60)),
        );
        registry.state = Arc::new(State::new(storage, auth, None, true));
        registry.app = router(registry.state.clone());
        registry.auth = Some(basic("zuul", "s3cret:pw"));
        all.push(registry);
    }
    all
}

async fn start(registry: &Registry, name: &str) -> String {
    let reply = registry
        .send(
            "POST",
            &format!("/v2/{name}/blobs/uploads/"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    reply.header("location").to_owned()
}

async fn patch(registry: &Registry, location: &str, start: usize, bytes: &[u8]) -> Reply {
    let range = format!("{start}-{}", start + bytes.len() - 1);
    registry
        .send(
            "PATCH",
            location,
            &[("content-range", &range)],
            bytes.to_vec(),
        )
        .await
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn issue_13_an_upload_crosses_three_replicas_with_parts_and_staged_bytes() {
    let all = replicas(3).await;
    // Chunks that leave bytes short of a part, fill parts across PATCHes
    // and end in a short last part.
    let chunks = [3 << 20, 4 << 20, 7 << 20, 100, 1 << 20];
    let blob = pattern(chunks.iter().sum(), 7);
    let location = start(&all[0], "org/app").await;
    let mut offset = 0;
    for (index, len) in chunks.iter().enumerate() {
        let replica = &all[(index + 1) % 3];
        let reply = patch(replica, &location, offset, &blob[offset..offset + len]).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "chunk {index}");
        offset += len;
        assert_eq!(reply.header("range"), format!("0-{}", offset - 1));
        // Every replica sees the committed offset.
        let status = all[index % 3].get(&location).await;
        assert_eq!(status.header("range"), format!("0-{}", offset - 1));
    }
    // Out of order, through yet another replica: 416 with the range.
    let stale = patch(&all[2], &location, 0, b"again").await;
    assert_eq!(stale.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(stale.header("range"), format!("0-{}", offset - 1));
    let digest = Digest::sha256_of(&blob);
    let done = all[1]
        .send(
            "PUT",
            &format!("{location}?digest={digest}"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(
        done.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&done.body)
    );
    for replica in &all {
        let got = replica.get(&format!("/v2/org/app/blobs/{digest}")).await;
        assert_eq!(got.status, StatusCode::OK);
        assert!(got.body == blob, "byte-exact through every replica");
    }
    let range = all[2]
        .send(
            "GET",
            &format!("/v2/org/app/blobs/{digest}"),
            &[("range", "bytes=7340030-7340039")],
            Body::empty(),
        )
        .await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.body, &blob[7_340_030..7_340_040]);
    // The upload is gone everywhere, and nothing of it is left.
    assert_eq!(all[0].get(&location).await.code(), "BLOB_UPLOAD_UNKNOWN");
    assert!(all[0].storage.uploads().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn issue_13_concurrent_patches_through_two_replicas_one_wins_one_gets_416() {
    let all = replicas(2).await;
    for round in 0..3u8 {
        let location = start(&all[0], "org/race").await;
        let (one, two) = (pattern(6 << 20, round), pattern(6 << 20, round + 100));
        let (a, b) = tokio::join!(
            patch(&all[0], &location, 0, &one),
            patch(&all[1], &location, 0, &two)
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::ACCEPTED, StatusCode::RANGE_NOT_SATISFIABLE],
            "round {round}"
        );
        let winner = if a.status == StatusCode::ACCEPTED {
            one
        } else {
            two
        };
        let digest = Digest::sha256_of(&winner);
        let done = all[1]
            .send(
                "PUT",
                &format!("{location}?digest={digest}"),
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(
            done.status,
            StatusCode::CREATED,
            "the winner's bytes, whole"
        );
        let got = all[0].get(&format!("/v2/org/race/blobs/{digest}")).await;
        assert!(got.body == winner);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn issue_13_the_same_blob_and_tag_pushed_through_replicas_at_once() {
    let all = replicas(3).await;
    let layer = pattern(7 << 20, 3);
    let digest = Digest::sha256_of(&layer);
    let uri = format!("/v2/org/app/blobs/uploads/?digest={digest}");
    let pushes = all
        .iter()
        .map(|replica| replica.send("POST", &uri, &[], layer.clone()));
    for reply in futures_util::future::join_all(pushes).await {
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    // And through the PATCH flow, which copies inside the store.
    let locations = futures_util::future::join_all(all.iter().map(|r| start(r, "org/app"))).await;
    let patches = all
        .iter()
        .zip(&locations)
        .map(|(replica, location)| patch(replica, location, 0, &layer));
    for reply in futures_util::future::join_all(patches).await {
        assert_eq!(reply.status, StatusCode::ACCEPTED);
    }
    let finishing: Vec<String> = locations
        .iter()
        .map(|location| format!("{location}?digest={digest}"))
        .collect();
    let finishes = all
        .iter()
        .zip(&finishing)
        .map(|(replica, uri)| replica.send("PUT", uri, &[], Body::empty()));
    for reply in futures_util::future::join_all(finishes).await {
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    assert!(
        all[2]
            .get(&format!("/v2/org/app/blobs/{digest}"))
            .await
            .body
            == layer
    );
    // One tag, three manifests, three replicas: one of them wins, whole.
    let config = all[0]
        .blob("org/app", b"{\"architecture\":\"amd64\"}")
        .await;
    let manifests: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": 24},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.to_string(), "size": layer.len()}],
                "annotations": {"replica": i.to_string()},
            }))
            .unwrap()
        })
        .collect();
    let puts = all
        .iter()
        .zip(&manifests)
        .map(|(replica, bytes)| replica.put_manifest("org/app", "latest", OCI_MANIFEST, bytes));
    futures_util::future::join_all(puts).await;
    let got = all[1].get("/v2/org/app/manifests/latest").await;
    assert!(manifests.contains(&got.body));
    all[2].pull("org/app", "latest").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn issue_13_a_token_of_one_replica_is_accepted_by_the_others() {
    let mut all = replicas(2).await;
    let reply = all[0]
        .send(
            "GET",
            "/auth/token?service=zuul-image&scope=repository:org/app:pull,push",
            &[],
            Body::empty(),
        )
        .await;
    let token = format!("Bearer {}", reply.json()["token"].as_str().unwrap());
    all[1].auth = Some(token);
    all[1]
        .blob("org/app", b"pushed with a token of replica 0")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real components: run tests/run-all.sh"]
async fn issue_13_a_cancelled_upload_stops_its_writer_on_another_replica() {
    let all = replicas(2).await;
    let location = start(&all[0], "org/app").await;
    // A body that sends a little and then nothing, on replica 1.
    let head = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(vec![
        1u8;
        1 << 16
    ]))]);
    let body = Body::from_stream(futures_util::StreamExt::chain(
        head,
        futures_util::stream::pending(),
    ));
    let writing = all[1].send("PATCH", &location, &[("content-range", "0-999999")], body);
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let reply = all[0].send("DELETE", &location, &[], Body::empty()).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        std::time::Instant::now()
    };
    let (patched, cancelled) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(writing, cancel)
    })
    .await
    .expect("the writer stopped");
    assert_eq!(patched.status, StatusCode::NOT_FOUND, "its upload is gone");
    assert!(cancelled.elapsed() < Duration::from_secs(5));
    assert_eq!(all[1].get(&location).await.code(), "BLOB_UPLOAD_UNKNOWN");
    assert!(all[1].storage.uploads().await.unwrap().is_empty());
}
