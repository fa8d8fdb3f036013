//! Faults: `registry serve` SIGKILLed at random points while several
//! clients push images concurrently (chunked layers, then a tagged
//! manifest), and started again on the same root. After every kill the
//! blob store is checked offline (every stored blob hashes to its name: no
//! partial blob is ever visible); clients retry an interrupted push from
//! the start until it is acknowledged. Once the kills are over, every
//! acknowledged image must be pullable with every digest verified, and
//! every tag of every repository must resolve to a whole manifest whose
//! blobs are all there.
//!
//! CI runs a short pass; `tests/soak/run.sh` sets `ZUUL_IMAGE_SOAK_KILLS`.

use crate::support::load::{Client, manifest, report, scale, sha256};
use crate::support::served::Served;
use rand::{Rng, RngCore, SeedableRng};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The image worker `worker` pushes in its iteration `iteration`: a
/// config and one layer of 32 to 768 KiB, rebuilt from the pair (so
/// nothing large is kept in memory).
fn image(worker: usize, iteration: usize) -> (String, String, Vec<u8>, Vec<u8>) {
    let seed = ((worker as u64) << 32) | iteration as u64;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut layer = vec![0u8; rng.gen_range(32 << 10..768 << 10)];
    rng.fill_bytes(&mut layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","worker":{worker},"iteration":{iteration}}}"#
    )
    .into_bytes();
    (
        format!("kill/worker{worker}"),
        format!("i{iteration}"),
        config,
        layer,
    )
}

async fn push(client: &Client, worker: usize, iteration: usize) -> anyhow::Result<()> {
    let (name, tag, config, layer) = image(worker, iteration);
    client.push_blob(&name, &config, None).await?;
    client.push_blob(&name, &layer, Some(256 << 10)).await?;
    let bytes = manifest(&config, &[&layer]);
    client
        .put_manifest(
            &name,
            &tag,
            "application/vnd.oci.image.manifest.v1+json",
            &bytes,
        )
        .await
}

/// The image is there, byte for byte, every digest verified.
async fn verify(client: &Client, worker: usize, iteration: usize) -> anyhow::Result<()> {
    let (name, tag, config, layer) = image(worker, iteration);
    let expected = manifest(&config, &[&layer]);
    let got = client.get(&name, "manifests", &tag).await?;
    anyhow::ensure!(got.as_deref() == Some(&expected[..]), "{name}:{tag} lost");
    for blob in [&config, &layer] {
        let digest = sha256(blob);
        let got = client.get(&name, "blobs", &digest).await?;
        anyhow::ensure!(
            got.as_deref().map(sha256).as_deref() == Some(&digest[..]),
            "{name}: blob {digest} lost or damaged"
        );
    }
    Ok(())
}

/// What a crowd of pushers did.
#[derive(Clone, Default)]
struct Pushers {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<(usize, usize)>>>,
    retried: Arc<AtomicUsize>,
}

impl Pushers {
    /// `workers` tasks pushing image after image until stopped; an
    /// interrupted push is retried from the start until it is acknowledged
    /// (the registry comes back), for at most `patience`.
    fn spawn(
        &self,
        client: &Client,
        workers: usize,
        patience: Duration,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..workers)
            .map(|worker| {
                let (client, pushers) = (client.clone(), self.clone());
                tokio::spawn(async move {
                    let mut iteration = 0;
                    while !pushers.stop.load(Ordering::SeqCst) {
                        let started = Instant::now();
                        while let Err(err) = push(&client, worker, iteration).await {
                            pushers.retried.fetch_add(1, Ordering::SeqCst);
                            assert!(
                                started.elapsed() < patience,
                                "worker {worker} iteration {iteration} never succeeded: {err:#}"
                            );
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        pushers
                            .acknowledged
                            .lock()
                            .unwrap()
                            .push((worker, iteration));
                        iteration += 1;
                    }
                })
            })
            .collect()
    }

    /// Stop the pushers; every image they had acknowledged is verified.
    async fn finish(&self, client: &Client, tasks: Vec<tokio::task::JoinHandle<()>>) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        for task in tasks {
            task.await.unwrap();
        }
        let done = self.acknowledged.lock().unwrap().clone();
        for &(worker, iteration) in &done {
            verify(client, worker, iteration).await.unwrap();
        }
        done.len()
    }
}

/// While the kills go on, read what the registry shows: the newest tag of
/// every worker's repository must be a whole manifest whose blobs match
/// their digests, whenever the registry answers at all. Answers how many
/// reads were checked.
fn observe(
    client: &Client,
    workers: usize,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<usize> {
    let client = client.clone();
    tokio::spawn(async move {
        let mut reads = 0;
        while !stop.load(Ordering::SeqCst) {
            for worker in 0..workers {
                let name = format!("kill/worker{worker}");
                // Down or restarting: nothing is visible, which is fine.
                let Ok(Some(tags)) = client.get(&name, "tags", "list").await else {
                    continue;
                };
                let tags: serde_json::Value = serde_json::from_slice(&tags).unwrap();
                let Some(newest) = tags["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|tag| tag.as_str()?[1..].parse::<usize>().ok())
                    .max()
                else {
                    continue;
                };
                match verify(&client, worker, newest).await {
                    Ok(()) => reads += 1,
                    Err(err) if format!("{err:#}").contains("lost") => {
                        panic!("visible but not whole: {err:#}")
                    }
                    Err(_) => {}
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        reads
    })
}

/// Every file of the content-addressed store hashes to its name; answers
/// how many were checked.
fn check_blob_store(root: &Path) -> usize {
    use sha2::Digest as _;
    let mut checked = 0;
    let dir = root.join("blobs/sha256");
    let Ok(prefixes) = std::fs::read_dir(&dir) else {
        return 0;
    };
    for prefix in prefixes {
        for file in std::fs::read_dir(prefix.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(
                hex::encode(sha2::Sha256::digest(&bytes)),
                name,
                "a partial or damaged blob is visible: {}",
                path.display()
            );
            checked += 1;
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_serve_sigkilled_during_concurrent_pushes_loses_nothing() {
    let kills = scale("ZUUL_IMAGE_SOAK_KILLS", 6) as usize;
    let workers = 6;
    let mut served = Served::start("");
    let client = served.client();
    let pushers = Pushers::default();
    let tasks = pushers.spawn(&client, workers, Duration::from_secs(120));
    let observer = observe(&client, workers, pushers.stop.clone());

    let started = Instant::now();
    for _ in 0..kills {
        let wait = rand::thread_rng().gen_range(300..1500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let mut moved = served;
        moved = tokio::task::spawn_blocking(move || {
            moved.kill();
            check_blob_store(&moved.root);
            moved.restart();
            moved
        })
        .await
        .unwrap();
        served = moved;
    }
    let done = pushers.finish(&client, tasks).await;
    let reads = observer.await.unwrap();
    // Every tag anywhere resolves to a whole manifest: nothing half-written.
    for worker in 0..workers {
        let name = format!("kill/worker{worker}");
        let tags = client.get(&name, "tags", "list").await.unwrap().unwrap();
        let tags: serde_json::Value = serde_json::from_slice(&tags).unwrap();
        for tag in tags["tags"].as_array().unwrap() {
            let iteration: usize = tag.as_str().unwrap()[1..].parse().unwrap();
            verify(&client, worker, iteration).await.unwrap();
        }
    }
    let blobs = check_blob_store(&served.root);
    let leftovers: Vec<String> = std::fs::read_dir(served.root.join("uploads"))
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let manifests = leftovers
        .iter()
        .filter(|name| name.starts_with("manifest-"))
        .count();
    report(&format!(
        "{kills} SIGKILLs in {:.1} s during {workers} concurrent pushers: \
         {} images acknowledged, all intact, {reads} reads while killing all whole, \
         {} interrupted pushes retried to success, {blobs} stored blobs hash to their names, \
         {} interrupted uploads and {} temporary manifest files left (both expire on their own)",
        started.elapsed().as_secs_f64(),
        done,
        pushers.retried.load(Ordering::SeqCst),
        leftovers.len() - manifests,
        manifests
    ));
    assert_eq!(served.starts(), kills + 1);
    assert!(
        pushers.retried.load(Ordering::SeqCst) > 0,
        "no push was interrupted"
    );
}

/// The pid of the `registry serve` under `supervisor`, once there is one
/// other than `old`.
fn new_server(supervisor: i32, old: i32) -> i32 {
    let mut pid = 0;
    crate::support::wait_until(
        "the supervisor to start a new registry",
        Duration::from_secs(20),
        || {
            pid = std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .find(|&p| p != old)
                .unwrap_or(0);
            pid != 0
        },
    );
    pid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_brings_a_killed_registry_back_during_pushes() {
    let kills = scale("ZUUL_IMAGE_SOAK_SUPERVISED_KILLS", 3) as usize;
    let registry = crate::support::buildset::BuildsetRegistry::start();
    let client = Client::new(
        &format!("https://{}", registry.address()),
        &registry.ca_pem,
        Some((&registry.username, &registry.password)),
    );
    let pushers = Pushers::default();
    let tasks = pushers.spawn(&client, 3, Duration::from_secs(60));
    let started = Instant::now();
    let mut back = Vec::new();
    for _ in 0..kills {
        let wait = rand::thread_rng().gen_range(300..1500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let (supervisor, server) = crate::run_buildset_registry::kill_server(&registry);
        let killed = Instant::now();
        let replacement = tokio::task::spawn_blocking(move || new_server(supervisor, server))
            .await
            .unwrap();
        // Answering again: a push goes through.
        while push(&client, 99, back.len()).await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        back.push(killed.elapsed());
        assert_ne!(replacement, server);
    }
    let done = pushers.finish(&client, tasks).await;
    report(&format!(
        "{kills} SIGKILLs of the supervised buildset registry in {:.1} s during 3 pushers: \
         back by itself each time (push answered again after {:?}), {} images acknowledged, \
         all intact, {} interrupted pushes retried",
        started.elapsed().as_secs_f64(),
        back,
        done,
        pushers.retried.load(Ordering::SeqCst)
    ));
}
