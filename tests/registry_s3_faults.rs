//! Issue 13, faults: a replica SIGKILLed in the middle of a push (the
//! client's retry through another replica completes; a partial blob is
//! never visible), a volume server of a replicated SeaweedFS cluster
//! SIGKILLed (pulls and pushes go on), and the whole store gone (a clean
//! 503 with a message, and service again without a restart once it is
//! back).

use crate::registry_s3::{assert_layout_holds, ok, skopeo_pull, skopeo_push, three_replicas};
use crate::support::images::{self, Image, Layer};
use crate::support::replicas::Replicas;
use crate::support::seaweedfs::Seaweed;
use crate::support::{TestRegistry, run};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Bytes received so far on the open connections to local port `port`.
fn received(port: u16) -> u64 {
    let output = Command::new("ss")
        .args(["-tin", "state", "established"])
        .arg(format!("( sport = :{port} )"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("bytes_received:"))
        .filter_map(|value| value.parse::<u64>().ok())
        .sum()
}

/// `curl -K <credentials>` against the load balancer: status and headers.
fn head(replicas: &Replicas, path: &str) -> (String, String) {
    let output = run(Command::new("curl")
        .args(["-s", "-I", "-m", "10", "-K"])
        .arg(replicas.curl_config())
        .arg(format!("https://{}{path}", replicas.address())));
    let status = output.split_whitespace().nth(1).unwrap_or("").to_owned();
    (status, output)
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_13_a_replica_killed_mid_push_loses_nothing_and_shows_no_partial_blob() {
    let (_weed, mut replicas) = three_replicas();
    let dir = tempfile::tempdir().unwrap();
    let image = Image::new(vec![Layer::random(31, 64 << 20)], "amd64");
    let layer = image.layers[0].digest();
    let layout = dir.path().join("big");
    images::image_layout(&layout, &image);
    let pids: Vec<u32> = (0..3).filter_map(|index| replicas.pid(index)).collect();
    let done = AtomicBool::new(false);
    let (victim, attempts, seen) = std::thread::scope(|scope| {
        let replicas = &replicas;
        // The client, retrying as a CI job would.
        let push = scope.spawn(|| {
            let mut attempts = Vec::new();
            for _ in 0..3 {
                let output = skopeo_push(replicas, &layout, "org/big:v1");
                let success = output.status.success();
                attempts.push(output);
                if success {
                    break;
                }
            }
            done.store(true, Ordering::SeqCst);
            attempts
        });
        // Meanwhile the layer is never visible unless whole.
        let prober = scope.spawn(|| {
            let mut seen = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let (status, headers) = head(replicas, &format!("/v2/org/big/blobs/{layer}"));
                if status == "200" {
                    let whole = format!("content-length: {}", image.layers[0].blob.len());
                    assert!(headers.to_lowercase().contains(&whole), "{headers}");
                }
                seen.push(status);
                std::thread::sleep(Duration::from_millis(100));
            }
            seen
        });
        // Whoever receives the layer's bytes is taking the PATCH: SIGKILL
        // it once it has a quarter of them.
        let began = Instant::now();
        let mut victim = None;
        while victim.is_none() && began.elapsed() < Duration::from_secs(120) {
            assert!(
                !done.load(Ordering::SeqCst),
                "the push ended before a replica was killed"
            );
            for (index, port) in replicas.ports.iter().enumerate() {
                if received(*port) > 16 << 20 {
                    run(Command::new("kill").args(["-KILL", &pids[index].to_string()]));
                    victim = Some(index);
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (victim, push.join().unwrap(), prober.join().unwrap())
    });
    let victim = victim.expect("a replica received the layer");
    replicas.kill(victim);
    let last = attempts.last().unwrap();
    ok(
        last,
        "the push, retried through the other replicas",
        &replicas,
    );
    assert!(
        seen.iter().all(|status| status == "404" || status == "200"),
        "{seen:?}"
    );
    let out = dir.path().join("out");
    ok(
        &skopeo_pull(&replicas, "org/big:v1", &out),
        "pull",
        &replicas,
    );
    assert_layout_holds(&out, &image.manifest, std::slice::from_ref(&image));
    // The killed replica comes back and serves the same content.
    replicas.start_one(victim);
    replicas.wait_for_lb();
    let out = dir.path().join("again");
    ok(
        &skopeo_pull(&replicas, "org/big:v1", &out),
        "pull",
        &replicas,
    );
    assert_layout_holds(&out, &image.manifest, std::slice::from_ref(&image));
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_13_a_dead_volume_server_does_not_stop_pulls_or_pushes() {
    let mut weed = Seaweed::cluster();
    weed.create_bucket("registry");
    let replicas = Replicas::start(&weed, "registry", "", 2);
    let dir = tempfile::tempdir().unwrap();
    let first = Image::new(
        vec![Layer::random(41, 8 << 20), Layer::random(42, 1000)],
        "amd64",
    );
    images::image_layout(&dir.path().join("first"), &first);
    ok(
        &skopeo_push(&replicas, &dir.path().join("first"), "org/app:first"),
        "push",
        &replicas,
    );
    weed.kill("volume1");
    let out = dir.path().join("first-out");
    ok(
        &skopeo_pull(&replicas, "org/app:first", &out),
        "pull after the kill",
        &replicas,
    );
    assert_layout_holds(&out, &first.manifest, std::slice::from_ref(&first));
    let second = Image::new(
        vec![Layer::random(43, 8 << 20), Layer::random(41, 8 << 20)],
        "amd64",
    );
    images::image_layout(&dir.path().join("second"), &second);
    let pushed = skopeo_push(&replicas, &dir.path().join("second"), "org/app:second");
    assert!(
        pushed.status.success(),
        "push after the kill: {}\n{}",
        String::from_utf8_lossy(&pushed.stderr),
        weed.logs()
    );
    let out = dir.path().join("second-out");
    ok(
        &skopeo_pull(&replicas, "org/app:second", &out),
        "pull",
        &replicas,
    );
    assert_layout_holds(&out, &second.manifest, std::slice::from_ref(&second));
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_13_an_unreachable_store_is_a_clean_503_and_service_returns_without_a_restart() {
    let mut weed = Seaweed::mini();
    weed.create_bucket("registry");
    let replicas = Replicas::start(&weed, "registry", "p", 1);
    let dir = tempfile::tempdir().unwrap();
    let image = Image::new(vec![Layer::random(51, 100_000)], "amd64");
    images::image_layout(&dir.path().join("app"), &image);
    ok(
        &skopeo_push(&replicas, &dir.path().join("app"), "org/app:v1"),
        "push",
        &replicas,
    );
    weed.kill_all();
    let path = format!("/v2/org/app/blobs/{}", image.layers[0].digest());
    let began = Instant::now();
    let output = run(Command::new("curl")
        .args(["-s", "-m", "60", "-w", "\n%{http_code}", "-K"])
        .arg(replicas.curl_config())
        .arg(format!("https://{}{path}", replicas.address())));
    let (body, status) = output.rsplit_once('\n').unwrap();
    assert_eq!(status, "503", "{body}");
    assert!(
        body.contains("\"UNAVAILABLE\"") && body.contains("object store"),
        "{body}"
    );
    assert!(
        !body.contains("127.0.0.1") && !body.contains("registry/"),
        "no endpoint or key: {body}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "answered in {:?}",
        began.elapsed()
    );
    weed.restart();
    crate::support::wait_until("the registry serves again", Duration::from_secs(60), || {
        head(&replicas, &path).0 == "200"
    });
    let out = dir.path().join("out");
    ok(
        &skopeo_pull(&replicas, "org/app:v1", &out),
        "pull after the store came back",
        &replicas,
    );
    assert_layout_holds(&out, &image.manifest, std::slice::from_ref(&image));
}
