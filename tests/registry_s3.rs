//! Issue 13: `registry serve` on S3 (a real SeaweedFS) as three replicas
//! behind a real load balancer (haproxy, round-robin): skopeo, docker and
//! zuul-image's own copy commands push and pull multi-platform images
//! byte-exact, the requests of one upload land on different replicas,
//! racing pushes through different replicas agree, prune runs on one
//! replica while pushes run through the others, and bad store settings
//! fail at start with a message naming the endpoint and the bucket.

use crate::support::docker::PrivateDocker;
use crate::support::haproxy::Logged;
use crate::support::images::{self, Image, Layer};
use crate::support::replicas::{Replicas, TOKEN_KEY, USER};
use crate::support::seaweedfs::{ACCESS_KEY, SECRET_KEY, Seaweed};
use crate::support::{REAL, TestRegistry, free_port, run, skopeo, zuul_image};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A mini store with a bucket and three replicas on it.
pub(crate) fn three_replicas() -> (Seaweed, Replicas) {
    let weed = Seaweed::mini();
    weed.create_bucket("registry");
    let replicas = Replicas::start(&weed, "registry", "site/intermediate", 3);
    (weed, replicas)
}

/// `skopeo copy --all` from the replicas into an OCI layout at `out`.
pub(crate) fn skopeo_pull(replicas: &Replicas, reference: &str, out: &Path) -> Output {
    skopeo()
        .args(["copy", "--all", "--preserve-digests", "--quiet"])
        .arg("--src-cert-dir")
        .arg(replicas.cert_dir())
        .arg("--src-authfile")
        .arg(replicas.auth_file())
        .arg(format!("docker://{}/{reference}", replicas.address()))
        .arg(format!("oci:{}", out.display()))
        .output()
        .unwrap()
}

/// `skopeo copy --all` of the layout at `layout` to the replicas.
pub(crate) fn skopeo_push(replicas: &Replicas, layout: &Path, reference: &str) -> Output {
    skopeo()
        .args(["copy", "--all", "--quiet", "--dest-cert-dir"])
        .arg(replicas.cert_dir())
        .arg("--dest-authfile")
        .arg(replicas.auth_file())
        .arg(format!("oci:{}", layout.display()))
        .arg(format!("docker://{}/{reference}", replicas.address()))
        .output()
        .unwrap()
}

pub(crate) fn ok(output: &Output, what: &str, replicas: &Replicas) {
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        replicas.lb.log(),
        replicas.logs()
    );
}

/// Every blob of `images` and `top` is in the layout at `out`, byte-exact.
pub(crate) fn assert_layout_holds(out: &Path, top: &[u8], images: &[Image]) {
    assert!(images::layout_blob(out, &images::sha256(top)) == top);
    for image in images {
        assert!(images::layout_blob(out, &image.digest()) == image.manifest);
        for (digest, blob) in image.blobs() {
            assert!(images::layout_blob(out, &digest) == blob, "{digest}");
        }
    }
}

/// The replicas that served each upload's requests (POST by the id in its
/// answer's `Location`, then PATCHes and the PUT), per upload id.
fn uploads_by_replica(requests: &[Logged]) -> HashMap<String, Vec<String>> {
    let mut uploads: HashMap<String, Vec<String>> = HashMap::new();
    let id_of = |text: &str| {
        let (_, rest) = text.split_once("/blobs/uploads/")?;
        let id: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        (id.len() == 32).then_some(id)
    };
    for request in requests {
        let id = match request.method.as_str() {
            "POST" => id_of(&request.location),
            "PATCH" | "PUT" => id_of(&request.path),
            _ => None,
        };
        if let Some(id) = id {
            uploads.entry(id).or_default().push(request.server.clone());
        }
    }
    uploads
}

fn docker_login(docker: &PrivateDocker, config: &Path, replicas: &Replicas) {
    let mut child = docker
        .cli()
        .env("DOCKER_CONFIG", config)
        .args(["login", "--username", USER, "--password-stdin"])
        .arg(replicas.address())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(replicas.password.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    ok(&output, "docker login", replicas);
}

/// Make the private dockerd trust the load balancer's CA until dropped.
struct DockerTrust(std::path::PathBuf);

impl DockerTrust {
    fn new(replicas: &Replicas) -> DockerTrust {
        let dir = Path::new("/etc/docker/certs.d").join(replicas.address());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.crt"), &replicas.certs.ca_pem).unwrap();
        DockerTrust(dir)
    }
}

impl Drop for DockerTrust {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_13_skopeo_docker_and_zuul_image_through_three_replicas_byte_exact() {
    let _ = REAL;
    let (_weed, replicas) = three_replicas();
    let dir = tempfile::tempdir().unwrap();

    // skopeo: a two-platform index, pushed and pulled back byte-exact.
    let (index, platforms) = images::two_platform();
    images::write_layout(
        &dir.path().join("multi"),
        &index,
        images::OCI_INDEX,
        &platforms,
    );
    let pushed = skopeo_push(&replicas, &dir.path().join("multi"), "quay.io/org/multi:v1");
    ok(&pushed, "skopeo push", &replicas);
    let out = dir.path().join("multi-out");
    ok(
        &skopeo_pull(&replicas, "quay.io/org/multi:v1", &out),
        "skopeo pull",
        &replicas,
    );
    assert_layout_holds(&out, &index, &platforms);

    // One image of one layer and a config, pushed alone: its uploads run
    // one request after another, and round-robin sends each request of an
    // upload to another replica.
    let before = replicas.lb.requests().len();
    let single = Image::new(vec![Layer::random(13, 3 << 20)], "amd64");
    images::image_layout(&dir.path().join("single"), &single);
    ok(
        &skopeo_push(&replicas, &dir.path().join("single"), "org/single:v1"),
        "skopeo push",
        &replicas,
    );
    let requests: Vec<Logged> = replicas.lb.requests().split_off(before);
    let uploads = uploads_by_replica(&requests);
    assert_eq!(uploads.len(), 2, "two uploads: {requests:#?}");
    for (id, servers) in &uploads {
        let distinct: BTreeSet<&String> = servers.iter().collect();
        assert!(servers.len() >= 3, "upload {id}: {servers:?}");
        assert_eq!(
            distinct.len(),
            servers.len(),
            "every request of upload {id} on another replica: {servers:?}"
        );
    }
    let out = dir.path().join("single-out");
    ok(
        &skopeo_pull(&replicas, "org/single:v1", &out),
        "skopeo pull",
        &replicas,
    );
    assert_layout_holds(&out, &single.manifest, std::slice::from_ref(&single));

    // docker, through the run's private dockerd: pull the index (its
    // platform), push an image it built, pull it again by digest.
    let docker = PrivateDocker::get();
    let _trust = DockerTrust::new(&replicas);
    let config = dir.path().join("docker-config");
    docker_login(&docker, &config, &replicas);
    let multi = format!("{}/quay.io/org/multi:v1", replicas.address());
    run(docker
        .cli()
        .env("DOCKER_CONFIG", &config)
        .args(["pull", "-q", &multi]));
    let context = images::busybox_context(&dir.path().join("ctx"));
    let built = format!("{}/org/built:v1", replicas.address());
    run(docker
        .cli()
        .args(["build", "-q", "-t", &built])
        .arg(&context));
    let output = run(docker
        .cli()
        .env("DOCKER_CONFIG", &config)
        .args(["push", &built]));
    let digest = output
        .split_whitespace()
        .find(|word| word.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no digest in `{output}`"))
        .to_owned();
    run(docker.cli().args(["rmi", &built, &multi]));
    let by_digest = format!("{}/org/built@{digest}", replicas.address());
    run(docker
        .cli()
        .env("DOCKER_CONFIG", &config)
        .args(["pull", "-q", &by_digest]));
    run(docker.cli().args(["rmi", &by_digest]));
    let raw = run(skopeo()
        .args(["inspect", "--raw", "--cert-dir"])
        .arg(replicas.cert_dir())
        .arg("--authfile")
        .arg(replicas.auth_file())
        .arg(format!("docker://{by_digest}")));
    assert_eq!(images::sha256(raw.as_bytes()), digest, "stored byte-exact");

    // zuul-image: push-to-intermediate from a buildset registry to the
    // replicas, pull-from-intermediate into another buildset registry.
    zuul_image_round_trip(&replicas, dir.path(), &index, &platforms);

    // No key, password or token key in any log line, at trace level.
    let logs = format!("{}{}", replicas.logs(), replicas.lb.log());
    let secrets = [
        ("the secret key", SECRET_KEY),
        ("the access key", ACCESS_KEY),
        ("the password", replicas.password.as_str()),
        ("the token key", TOKEN_KEY),
    ];
    for (what, secret) in secrets {
        let line = logs.lines().find(|line| line.contains(secret));
        assert!(
            line.is_none(),
            "{what} reached a log line: {}",
            line.unwrap_or_default().replace(secret, "<SECRET>")
        );
    }
    assert!(replicas.logs().contains("storage S3 `http://127.0.0.1:"));
}

fn zuul_image_round_trip(replicas: &Replicas, dir: &Path, index: &[u8], platforms: &[Image]) {
    use crate::support::buildset::BuildsetRegistry;
    const BUILD: &str = "0123456789abcdef0123456789abcdef";
    let source = BuildsetRegistry::start();
    source.push(&dir.join("multi"), "quay.io/org/app:v2");
    let vars = serde_json::json!({
        "zuul": {"build": BUILD},
        "buildset_registry": source.value,
        "intermediate_registry": replicas.intermediate_registry_var(),
        "container_images": [{"repository": "quay.io/org/app", "tags": ["v2"]}],
    });
    let pushed = zuul_with_vars(&vars, "push-to-intermediate");
    ok(&pushed, "push-to-intermediate", replicas);
    let returned: serde_json::Value = serde_json::from_slice(&pushed.stdout).unwrap();
    let artifacts = returned["data"]["zuul"]["artifacts"].clone();
    let out = dir.join("intermediate-out");
    let reference = format!("quay.io/org/app:{BUILD}_v2");
    ok(
        &skopeo_pull(replicas, &reference, &out),
        "skopeo pull",
        replicas,
    );
    assert_layout_holds(&out, index, platforms);

    let target = BuildsetRegistry::start();
    let vars = serde_json::json!({
        "zuul": {"artifacts": artifacts},
        "buildset_registry": target.value,
        "intermediate_registry": replicas.intermediate_registry_var(),
    });
    let pulled = zuul_with_vars(&vars, "pull-from-intermediate");
    ok(&pulled, "pull-from-intermediate", replicas);
    let out = dir.join("buildset-out");
    let copied = target.pull("quay.io/org/app:v2", &out);
    ok(&copied, "skopeo pull from the buildset registry", replicas);
    assert_layout_holds(&out, index, platforms);
}

fn zuul_with_vars(vars: &serde_json::Value, command: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vars.json");
    std::fs::write(&file, vars.to_string()).unwrap();
    zuul_image()
        .env("HOME", dir.path())
        .arg("--vars")
        .arg(&file)
        .arg(command)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_13_racing_pushes_through_replicas_and_prune_while_pushing() {
    let (_weed, replicas) = three_replicas();
    let dir = tempfile::tempdir().unwrap();
    let shared = Layer::random(21, 1 << 20);
    // Old content prune may remove: an image pushed, then untagged.
    let old = Image::new(vec![shared.clone(), Layer::random(22, 200_000)], "amd64");
    images::image_layout(&dir.path().join("old"), &old);
    ok(
        &skopeo_push(&replicas, &dir.path().join("old"), "org/app:old"),
        "skopeo push",
        &replicas,
    );
    let curl = replicas.curl_config();
    let deleted = run(Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
            "-K",
        ])
        .arg(&curl)
        .arg(format!(
            "https://{}/v2/org/app/manifests/old",
            replicas.address()
        )));
    assert_eq!(deleted, "202");
    std::thread::sleep(std::time::Duration::from_secs(4));

    // The same image and tag through three pushes at once, while prune
    // (older than 3 s, by the store's clock) runs on replica 0 over and
    // over: new images reuse the old, unreferenced layer.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let pruned = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let output = zuul_image()
                    .args(["registry", "prune", "--older-than", "3s", "--config"])
                    .arg(replicas.config(0))
                    .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "prune: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                pruned.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        // A failed round must stop the prune loop too, or the scope
        // would wait for it forever instead of reporting the failure.
        let _stop = StopOnDrop(&stop);
        for round in 0..3u64 {
            let image = Image::new(
                vec![shared.clone(), Layer::random(100 + round, 300_000)],
                "amd64",
            );
            let layout = dir.path().join(format!("new{round}"));
            images::image_layout(&layout, &image);
            let pushes: Vec<Output> = std::thread::scope(|inner| {
                let handles: Vec<_> = (0..3)
                    .map(|_| inner.spawn(|| skopeo_push(&replicas, &layout, "org/app:latest")))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for output in &pushes {
                ok(output, &format!("racing push, round {round}"), &replicas);
            }
            // What the clients were told is stored, all of it, whole.
            let out = dir.path().join(format!("pulled{round}"));
            ok(
                &skopeo_pull(&replicas, "org/app:latest", &out),
                "pull",
                &replicas,
            );
            assert_layout_holds(&out, &image.manifest, std::slice::from_ref(&image));
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    assert!(pruned.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    // The untagged image's own layer went; the shared one stayed.
    let status = |digest: &str| {
        run(Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-I", "-K"])
            .arg(&curl)
            .arg(format!(
                "https://{}/v2/org/app/blobs/{digest}",
                replicas.address()
            )))
    };
    let output = zuul_image()
        .args(["registry", "prune", "--older-than", "3s", "--config"])
        .arg(replicas.config(1))
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(status(&old.layers[1].digest()), "404");
    assert_eq!(status(&shared.digest()), "200");
}

/// Sets its flag when dropped, panics included.
struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `registry serve --config` with `storage` of `s3`; its output.
fn serve_with(s3: &str, token_key: bool) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let key = if token_key {
        "token-key: 0123456789abcdef0123456789abcdef\n"
    } else {
        ""
    };
    let config = dir.path().join("registry.yaml");
    std::fs::write(
        &config,
        format!("listen: 127.0.0.1:0\n{key}storage:\n  s3:\n{s3}"),
    )
    .unwrap();
    let mut child = zuul_image()
        .args(["registry", "serve", "--config"])
        .arg(&config)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    child.stdout.clear();
    child
}

fn refused(output: &Output, code: i32, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    }
    assert!(
        !stderr.contains(SECRET_KEY) && !stderr.contains("wrong-secret"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_13_bad_store_settings_fail_at_start_naming_endpoint_and_bucket() {
    let weed = Seaweed::mini();
    weed.create_bucket("registry");
    let endpoint = weed.endpoint();
    let s3 = |endpoint: &str, bucket: &str, secret: &str| {
        format!(
            "    endpoint: {endpoint}\n    bucket: {bucket}\n    access-key: {ACCESS_KEY}\n    secret-key: {secret}\n"
        )
    };
    let wrong_keys = serve_with(&s3(&endpoint, "registry", "wrong-secret"), true);
    refused(
        &wrong_keys,
        2,
        &[&endpoint, "`registry`", "refused the access key"],
    );
    let no_bucket = serve_with(&s3(&endpoint, "nosuchbucket", SECRET_KEY), true);
    refused(
        &no_bucket,
        2,
        &[&endpoint, "`nosuchbucket`", "does not exist"],
    );
    // An HTTP server that is not S3.
    let port = free_port();
    let served = tempfile::tempdir().unwrap();
    let mut http = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1"])
        .arg(port.to_string())
        .current_dir(served.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    crate::support::wait_until("http.server", std::time::Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let other = format!("http://127.0.0.1:{port}");
    let not_s3 = serve_with(&s3(&other, "registry", SECRET_KEY), true);
    let _ = http.kill();
    let _ = http.wait();
    refused(
        &not_s3,
        2,
        &[&other, "`registry`", "does not answer like an S3 store"],
    );
    let nothing = format!("http://127.0.0.1:{}", free_port());
    let unreachable = serve_with(&s3(&nothing, "registry", SECRET_KEY), true);
    refused(&unreachable, 1, &[&nothing, "`registry`", "cannot reach"]);
    // Shared storage without a shared token key is refused too.
    let no_key = serve_with(&s3(&endpoint, "registry", SECRET_KEY), false);
    refused(&no_key, 2, &["token-key"]);
    // And plain HTTP only where the endpoint says so.
    let https = serve_with(
        &s3(&endpoint.replace("http:", "https:"), "registry", SECRET_KEY),
        true,
    );
    assert_eq!(
        https.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&https.stderr)
    );
}
