//! Load: `registry serve` over TLS with a write user, driven by the Rust
//! load generator in `support/load.rs`.
//!
//! 1. Idle: a few normal clients pull small manifests; their p50/p99 is the
//!    baseline.
//! 2. 200 concurrent pullers (manifest, then a 256 KiB layer, digest
//!    checked) and 50 concurrent pushers (config, 64 KiB layer, tagged
//!    manifest) for a bounded time: no errors, memory bounded; p50/p99,
//!    throughput and the server's peak RSS printed.
//! 3. Slowloris: hundreds of TLS connections sending their headers a byte
//!    at a time and authenticated uploads whose bodies stall, while the
//!    normal clients of (1) are measured again.
//!
//! The figures are printed (`reliability:` lines) for `docs/reliability.md`,
//! never asserted on: a shared 2-core CI machine has no stable timing.
//! `tests/soak/run.sh` sets `ZUUL_IMAGE_SOAK_LOAD_SECONDS` and
//! `ZUUL_IMAGE_SOAK_SLOW_CONNECTIONS` for the long run.

use crate::support::load::{Client, Stats, report, run_for, scale, sha256};
use crate::support::served::{Served, USER};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const IMAGES: usize = 8;

fn layer(i: usize, size: usize) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut bytes = vec![0u8; size];
    rand::rngs::StdRng::seed_from_u64(i as u64).fill_bytes(&mut bytes);
    bytes
}

async fn seed(client: &Client) -> Vec<String> {
    let mut digests = Vec::new();
    for i in 0..IMAGES {
        let config = format!(r#"{{"architecture":"amd64","os":"linux","n":{i}}}"#).into_bytes();
        let layer = layer(i, 256 << 10);
        client.push_blob("load/app", &config, None).await.unwrap();
        client.push_blob("load/app", &layer, None).await.unwrap();
        let manifest = crate::support::load::manifest(&config, &[&layer]);
        client
            .put_manifest(
                "load/app",
                &format!("v{i}"),
                "application/vnd.oci.image.manifest.v1+json",
                &manifest,
            )
            .await
            .unwrap();
        digests.push(sha256(&layer));
    }
    digests
}

/// The normal client: one manifest GET.
async fn normal(client: Client, seconds: u64) -> Stats {
    run_for(4, Duration::from_secs(seconds), move |worker, iteration| {
        let client = client.clone();
        async move {
            let tag = format!("v{}", (worker + iteration) % IMAGES);
            let got = client.get("load/app", "manifests", &tag).await?;
            Ok(got.map(|bytes| bytes.len() as u64).unwrap_or(0))
        }
    })
    .await
}

/// A TLS connection to the server, from a fresh TCP connection.
async fn tls_connect(
    served_port: u16,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", served_port)).await?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
}

/// Keep `count` slowloris connections going until `stop`: headers a byte
/// every 200 ms (reconnecting when the server closes one), and `stalled`
/// authenticated PATCHes declaring 10 MiB that send 16 KiB and stall.
/// Answers how many connections were opened in all.
async fn slowloris(
    served: &Served,
    count: usize,
    stalled: usize,
    stop: Arc<AtomicBool>,
) -> (Arc<AtomicUsize>, Vec<tokio::task::JoinHandle<()>>) {
    use base64::Engine;
    let trust = zuul_image::registry::tls::trust(
        &format!("127.0.0.1:{}", served.port),
        &[("test CA".into(), served.ca_pem.clone())],
        &[],
    )
    .unwrap();
    let config = Arc::new(zuul_image::registry::tls::client_config(trust).unwrap());
    let opened = Arc::new(AtomicUsize::new(0));
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{}", served.password));
    let mut tasks = Vec::new();
    let client = served.client();
    let port = served.port;
    for index in 0..count + stalled {
        let (config, opened, stop, basic, client) = (
            config.clone(),
            opened.clone(),
            stop.clone(),
            basic.clone(),
            client.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let request = if index < count {
                    format!("GET /v2/load/app/tags/list HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-{index}: ")
                        .into_bytes()
                } else {
                    // An upload of our own, then a body that stalls.
                    let Ok(reply) = client
                        .request(reqwest::Method::POST, "/v2/load/slow/blobs/uploads/")
                        .send()
                        .await
                    else {
                        continue;
                    };
                    let location = reply.headers()["location"].to_str().unwrap().to_owned();
                    let mut head = format!(
                        "PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {basic}\r\n\
                         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                        10 << 20
                    )
                    .into_bytes();
                    head.extend(std::iter::repeat_n(b'x', 16 << 10));
                    head
                };
                let Ok(mut stream) = tls_connect(port, config.clone()).await else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                };
                opened.fetch_add(1, Ordering::SeqCst);
                if index >= count {
                    if stream.write_all(&request).await.is_err() {
                        continue;
                    }
                    while !stop.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    break;
                }
                // Until the server closes it (header timeout): then again.
                for byte in request.iter().chain(std::iter::repeat(&b'a')) {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if stream.write_all(&[*byte]).await.is_err() || stream.flush().await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }));
    }
    (opened, tasks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pulls_and_pushes_and_slowloris_over_tls_with_auth() {
    zuul_image::server::listen::raise_open_file_limit();
    let seconds = scale("ZUUL_IMAGE_SOAK_LOAD_SECONDS", 8);
    let slow = scale("ZUUL_IMAGE_SOAK_SLOW_CONNECTIONS", 300) as usize;
    let served = Served::start("");
    let client = served.client();
    let layers = Arc::new(seed(&client).await);

    let idle = normal(client.clone(), 3).await;
    assert!(idle.errors.is_empty(), "{:?}", idle.errors);

    let puller = client.clone();
    let pulls = tokio::spawn(run_for(
        200,
        Duration::from_secs(seconds),
        move |worker, iteration| {
            let (client, layers) = (puller.clone(), layers.clone());
            async move {
                let i = (worker + iteration) % IMAGES;
                let manifest = client
                    .get("load/app", "manifests", &format!("v{i}"))
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("v{i} missing"))?;
                let blob = client
                    .get("load/app", "blobs", &layers[i])
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("layer of v{i} missing"))?;
                anyhow::ensure!(sha256(&blob) == layers[i], "layer of v{i} damaged");
                Ok((manifest.len() + blob.len()) as u64)
            }
        },
    ));
    let pusher = client.clone();
    let pushes = tokio::spawn(run_for(
        50,
        Duration::from_secs(seconds),
        move |worker, iteration| {
            let client = pusher.clone();
            async move {
                let name = format!("load/push{worker}");
                let config = format!(r#"{{"worker":{worker},"iteration":{iteration}}}"#);
                let layer = layer(1_000_000 + worker * 10_000 + iteration, 64 << 10);
                client.push_blob(&name, config.as_bytes(), None).await?;
                client.push_blob(&name, &layer, None).await?;
                let manifest = crate::support::load::manifest(config.as_bytes(), &[&layer]);
                client
                    .put_manifest(
                        &name,
                        &format!("i{iteration}"),
                        "application/vnd.oci.image.manifest.v1+json",
                        &manifest,
                    )
                    .await?;
                Ok((config.len() + layer.len() + manifest.len()) as u64)
            }
        },
    ));
    let pulls = pulls.await.unwrap();
    let pushes = pushes.await.unwrap();
    let rss_load = served.peak_rss_kib();
    assert!(
        pulls.errors.is_empty(),
        "pull errors: {:?}",
        &pulls.errors[..pulls.errors.len().min(5)]
    );
    assert!(
        pushes.errors.is_empty(),
        "push errors: {:?}",
        &pushes.errors[..pushes.errors.len().min(5)]
    );

    let stop = Arc::new(AtomicBool::new(false));
    let (opened, tasks) = slowloris(&served, slow, 50, stop.clone()).await;
    // Let the slow connections pile up before measuring.
    crate::support::wait_until("the slowloris connections", Duration::from_secs(60), || {
        opened.load(Ordering::SeqCst) >= slow + 40
    });
    let attacked = normal(client.clone(), seconds.max(3)).await;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        let _ = task.await;
    }
    let rss = served.peak_rss_kib();
    assert!(attacked.errors.is_empty(), "{:?}", attacked.errors);
    // Memory bounded: well under what 300 clients' worth of buffering
    // would need if bodies were held in memory.
    assert!(rss < 512 * 1024, "peak RSS {rss} KiB");

    report(&format!("idle {}", idle.summary("normal GET manifest")));
    report(&format!(
        "{seconds} s of 200 pullers + 50 pushers over TLS with auth: {}; {}; peak RSS {} MiB",
        pulls.summary("pulls"),
        pushes.summary("pushes"),
        rss_load / 1024
    ));
    report(&format!(
        "slowloris ({slow} header-trickling TLS connections + 50 stalled upload bodies, {} opened): {}; \
         p99 {:.1}x idle; peak RSS {} MiB",
        opened.load(Ordering::SeqCst),
        attacked.summary("normal GET manifest"),
        attacked.percentile(0.99).as_secs_f64() / idle.percentile(0.99).as_secs_f64().max(1e-6),
        rss / 1024
    ));
}
