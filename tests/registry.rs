//! `registry serve` with real clients: skopeo (`copy --all` of a
//! two-platform index, byte-exact both ways), docker through the private
//! dockerd (push/pull by tag and digest, Docker Hub credentials on pulls,
//! refused anonymous push), podman pull, buildah push, Basic and Bearer over
//! TLS with curl, forged tokens, bad names, a kill -9 mid-PATCH followed by
//! a restart, and bounded memory for a large streamed upload.

use crate::support::buildset::BuildsetRegistry;
use crate::support::docker::PrivateDocker;
use crate::support::images::{self, Image, Layer};
use crate::support::{REAL, free_port, run, skopeo, wait_until, zuul_image};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn inspect_raw(registry: &BuildsetRegistry, reference: &str) -> Vec<u8> {
    let output = skopeo()
        .args(["inspect", "--raw", "--cert-dir"])
        .arg(registry.cert_dir())
        .arg(format!("docker://{}/{reference}", registry.address()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn skopeo_copy_all_of_a_two_platform_index_is_byte_exact_both_ways() {
    let _ = REAL;
    let registry = BuildsetRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let index = images::two_platform_layout(&dir.path().join("in"));
    registry.push(&dir.path().join("in"), "quay.io/org/multi:v1");
    // Served byte-exact, anonymously.
    assert_eq!(inspect_raw(&registry, "quay.io/org/multi:v1"), index);
    let (_, platforms) = images::two_platform();
    for image in &platforms {
        let reference = format!("quay.io/org/multi@{}", image.digest());
        assert_eq!(inspect_raw(&registry, &reference), image.manifest);
    }
    // And back out with --all, digests preserved.
    let out = dir.path().join("out");
    let pulled = registry.pull("quay.io/org/multi:v1", &out);
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    let layout: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    assert_eq!(layout["manifests"][0]["digest"], images::sha256(&index));
    let blob = |digest: &str| images::layout_blob(&out, digest);
    assert_eq!(blob(&images::sha256(&index)), index);
    for image in &platforms {
        assert_eq!(blob(&image.digest()), image.manifest);
        for (digest, bytes) in image.blobs() {
            assert_eq!(blob(&digest), bytes, "{digest}");
        }
    }
    // Tags list through skopeo.
    let tags = run(skopeo()
        .args(["list-tags", "--cert-dir"])
        .arg(registry.cert_dir())
        .arg(format!("docker://{}/quay.io/org/multi", registry.address())));
    assert!(tags.contains("\"v1\""), "{tags}");
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn push_without_credentials_or_with_wrong_ones_is_refused() {
    let registry = BuildsetRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    images::image_layout(&dir.path().join("in"), &Image::busybox());
    for auth in [
        None,
        Some(registry.auth_file_with("zuul", "wrong-password")),
    ] {
        let mut command = skopeo();
        command
            .args(["copy", "--quiet", "--dest-cert-dir"])
            .arg(registry.cert_dir());
        if let Some(auth) = &auth {
            command.arg("--dest-authfile").arg(auth);
        }
        let output = command
            .arg(format!("oci:{}", dir.path().join("in").display()))
            .arg(format!("docker://{}/org/refused:v1", registry.address()))
            .output()
            .unwrap();
        assert!(!output.status.success(), "push with {auth:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
        assert!(
            stderr.contains("unauthorized") || stderr.contains("authentication required"),
            "{stderr}"
        );
    }
    let tags = skopeo()
        .args(["list-tags", "--cert-dir"])
        .arg(registry.cert_dir())
        .arg(format!("docker://{}/org/refused", registry.address()))
        .output()
        .unwrap();
    assert!(!tags.status.success(), "nothing was stored");
}

fn docker_login(docker: &PrivateDocker, config: &Path, address: &str, user: &str, password: &str) {
    let mut child = docker
        .cli()
        .env("DOCKER_CONFIG", config)
        .args(["login", "--username", user, "--password-stdin", address])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "docker login: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn docker_pushes_and_pulls_by_tag_and_by_digest() {
    let docker = PrivateDocker::get();
    let mut registry = BuildsetRegistry::start();
    registry.trust_in_docker();
    let dir = tempfile::tempdir().unwrap();
    let context = images::busybox_context(&dir.path().join("ctx"));
    let target = format!("{}/example/embedded:v1", registry.address());
    run(docker
        .cli()
        .args(["build", "-q", "-t", &target])
        .arg(&context));

    // No credentials: refused.
    let anonymous = dir.path().join("anonymous");
    std::fs::create_dir_all(&anonymous).unwrap();
    let refused = docker
        .cli()
        .env("DOCKER_CONFIG", &anonymous)
        .args(["push", &target])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "anonymous docker push succeeded");

    let config = dir.path().join("docker-config");
    docker_login(
        &docker,
        &config,
        &registry.address(),
        "zuul",
        &registry.password,
    );
    let pushed = run(docker
        .cli()
        .env("DOCKER_CONFIG", &config)
        .args(["push", &target]));
    let digest = pushed
        .split_whitespace()
        .find(|word| word.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no digest in `{pushed}`"))
        .to_owned();
    run(docker.cli().args(["rmi", &target]));

    // Pull by tag, then by digest, with credentials that do not check out
    // (what docker does with Docker Hub credentials on a mirror).
    let hub = dir.path().join("hub-config");
    std::fs::create_dir_all(&hub).unwrap();
    let bad = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "dockerhub-user:hub-password",
    );
    std::fs::write(
        hub.join("config.json"),
        serde_json::json!({"auths": {registry.address(): {"auth": bad}}}).to_string(),
    )
    .unwrap();
    run(docker
        .cli()
        .env("DOCKER_CONFIG", &hub)
        .args(["pull", "-q", &target]));
    let by_digest = format!("{}/example/embedded@{digest}", registry.address());
    run(docker.cli().args(["rmi", &target]));
    run(docker
        .cli()
        .env("DOCKER_CONFIG", &hub)
        .args(["pull", "-q", &by_digest]));
    let out = run(docker
        .cli()
        .args(["run", "--rm", "--network", "none", &by_digest]));
    assert_eq!(out.trim(), "hello");
    let _ = docker.cli().args(["rmi", &by_digest]).output();
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn podman_pulls_and_buildah_pushes() {
    let registry = BuildsetRegistry::start();
    let dir = tempfile::tempdir().unwrap();
    let image = Image::busybox();
    images::image_layout(&dir.path().join("in"), &image);
    images::skopeo_push(
        &dir.path().join("in"),
        &format!("{}/quay.io/org/tool:v1", registry.address()),
        &registry.cert_dir(),
        Some(&registry.auth_file()),
    );
    let no_auth = dir.path().join("no-auth.json");
    std::fs::write(&no_auth, r#"{"auths":{}}"#).unwrap();
    let storage = |tool: &str| {
        let mut command = Command::new(tool);
        command
            .env("REGISTRY_AUTH_FILE", &no_auth)
            .arg("--root")
            .arg(dir.path().join(format!("{tool}-root")))
            .arg("--runroot")
            .arg(dir.path().join(format!("{tool}-run")))
            .args(["--storage-driver", "vfs"]);
        command
    };
    run(storage("podman")
        .args(["pull", "-q", "--cert-dir"])
        .arg(registry.cert_dir())
        .arg(format!("{}/quay.io/org/tool:v1", registry.address())));
    let images = run(storage("podman").args(["images", "--format", "{{.Repository}}:{{.Tag}}"]));
    assert!(images.contains("quay.io/org/tool:v1"), "{images}");

    let context = images::busybox_context(&dir.path().join("ctx"));
    run(storage("buildah")
        .args([
            "bud",
            "--isolation",
            "chroot",
            "-q",
            "-t",
            "localhost/buildah-app:v2",
        ])
        .arg(&context));
    let pushed = format!("{}/buildah/app:v2", registry.address());
    run(storage("buildah")
        .args(["push", "--quiet", "--cert-dir"])
        .arg(registry.cert_dir())
        .arg("--authfile")
        .arg(registry.auth_file())
        .arg("localhost/buildah-app:v2")
        .arg(format!("docker://{pushed}")));
    let manifest: serde_json::Value =
        serde_json::from_slice(&inspect_raw(&registry, "buildah/app:v2")).unwrap();
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
}

/// curl over TLS with the registry's CA; credentials from a config file.
fn curl(registry: &BuildsetRegistry, args: &[&str], user: Option<(&str, &str)>) -> (u16, String) {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &registry.ca_pem).unwrap();
    let mut command = Command::new("curl");
    command
        .args(["-s", "-D", "-", "-o", "/dev/null", "--cacert"])
        .arg(&ca);
    if let Some((name, password)) = user {
        let config = dir.path().join("curlrc");
        std::fs::write(&config, format!("user = \"{name}:{password}\"\n")).unwrap();
        command.arg("-K").arg(&config);
    }
    let output = command.args(args).output().unwrap();
    let headers = String::from_utf8_lossy(&output.stdout).into_owned();
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, headers)
}

fn curl_body(registry: &BuildsetRegistry, url: &str, user: Option<(&str, &str)>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &registry.ca_pem).unwrap();
    let mut command = Command::new("curl");
    command.args(["-s", "--cacert"]).arg(&ca);
    if let Some((name, password)) = user {
        let config = dir.path().join("curlrc");
        std::fs::write(&config, format!("user = \"{name}:{password}\"\n")).unwrap();
        command.arg("-K").arg(&config);
    }
    run(command.arg(url))
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn basic_and_bearer_flows_over_tls_and_forged_tokens() {
    let registry = BuildsetRegistry::start();
    let base = format!("https://{}", registry.address());
    let (status, headers) = curl(&registry, &[&format!("{base}/v2/")], None);
    assert_eq!(status, 401);
    let lower = headers.to_lowercase();
    assert!(lower.contains("docker-distribution-api-version: registry/2.0"));
    assert!(lower.contains(&format!(
        "www-authenticate: bearer realm=\"https://{}/auth/token\"",
        registry.address()
    )));
    let user = Some(("zuul", registry.password.as_str()));
    // Basic straight on the API.
    assert_eq!(curl(&registry, &[&format!("{base}/v2/")], user).0, 200);
    assert_eq!(
        curl(&registry, &[&format!("{base}/v2/")], Some(("zuul", "nope"))).0,
        401
    );
    // Bearer: a token for push on one repository.
    let token = curl_body(
        &registry,
        &format!("{base}/auth/token?service=zuul-image&scope=repository:org/app:pull,push"),
        user,
    );
    let token: serde_json::Value = serde_json::from_str(&token).unwrap();
    let bearer = format!("Authorization: Bearer {}", token["token"].as_str().unwrap());
    let post = |repo: &str, header: &str| {
        curl(
            &registry,
            &[
                "-X",
                "POST",
                "-H",
                header,
                &format!("{base}/v2/{repo}/blobs/uploads/"),
            ],
            None,
        )
        .0
    };
    assert_eq!(post("org/app", &bearer), 202);
    assert_eq!(
        post("org/other", &bearer),
        401,
        "token for another repository"
    );
    // Forged: zuul-registry's fixed key, alg none, garbage.
    let claims = serde_json::json!({
        "iss": "zuul-image", "sub": "zuul", "aud": "zuul-image", "iat": 0, "nbf": 0,
        "exp": 4_000_000_000u64, "jti": "x",
        "access": [{"type": "repository", "name": "org/app", "actions": ["pull", "push"]}],
    });
    for token in forged(&claims) {
        assert_eq!(
            post("org/app", &format!("Authorization: Bearer {token}")),
            401,
            "{token}"
        );
    }
    // Bad names.
    for name in ["org/../app", "Org/App", "org//app"] {
        let (status, _) = curl(
            &registry,
            &["--path-as-is", &format!("{base}/v2/{name}/tags/list")],
            user,
        );
        assert_eq!(status, 400, "{name}");
    }
}

/// A token signed with zuul-registry's key `secret`, one with `alg: none`,
/// and garbage.
fn forged(claims: &serde_json::Value) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::Mac;
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let input = format!("{header}.{payload}");
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
    mac.update(input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    vec![
        format!("{input}.{signature}"),
        format!("{none}.{payload}."),
        "not.a.token".to_owned(),
    ]
}

/// A plain-HTTP `registry serve` on 127.0.0.1, killed on drop.
struct Served {
    child: Child,
    port: u16,
}

impl Served {
    fn start(root: &Path, port: u16) -> Served {
        let child = Command::new(assert_cmd::cargo::cargo_bin("zuul-image"))
            .args(["registry", "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--storage")
            .arg(root)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until("registry serve", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Served { child, port }
    }

    fn vm_hwm_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Send a request head and return the connection; the caller writes the body.
fn open(port: u16, head: &str) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

/// Read a response head: status and headers (lower-case names).
fn response(stream: TcpStream) -> (u16, Vec<(String, String)>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.to_lowercase(), value.trim().to_owned()));
        }
    }
    (status, headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn start_upload(port: u16, name: &str) -> String {
    let stream = open(
        port,
        &format!("POST /v2/{name}/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
    );
    let (status, headers) = response(stream);
    assert_eq!(status, 202);
    header(&headers, "location").to_owned()
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn kill_9_during_a_patch_leaves_no_partial_blob_and_the_retry_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("storage");
    let port = free_port();
    let mut served = Served::start(&root, port);
    // Something stored before the crash.
    let before = Image::busybox();
    images::image_layout(&dir.path().join("before"), &before);
    run(skopeo()
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("oci:{}", dir.path().join("before").display()))
        .arg(format!("docker://127.0.0.1:{port}/org/before:v1")));

    let layer = Layer::random(7, 24 << 20);
    let image = Image::new(vec![layer.clone()], "amd64");
    images::image_layout(&dir.path().join("crash"), &image);
    let location = start_upload(port, "org/crash");
    let mut stream = open(
        port,
        &format!(
            "PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            layer.blob.len()
        ),
    );
    let half = layer.blob.len() / 2;
    stream.write_all(&layer.blob[..half]).unwrap();
    let id = location.rsplit('/').next().unwrap().to_owned();
    let partial = root.join("uploads").join(&id);
    wait_until("part of the PATCH on disk", Duration::from_secs(10), || {
        std::fs::metadata(&partial).is_ok_and(|m| m.len() >= 1 << 20)
    });
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    drop(stream);

    let served = Served::start(&root, port);
    let head = open(
        port,
        &format!(
            "HEAD /v2/org/crash/blobs/{} HTTP/1.1\r\nHost: x\r\n\r\n",
            layer.digest()
        ),
    );
    assert_eq!(response(head).0, 404, "no partial blob is visible");
    let hex = layer.digest().trim_start_matches("sha256:").to_owned();
    assert!(
        !root
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(&hex)
            .exists()
    );
    // What was stored before is served after the restart.
    let raw = run(skopeo()
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://127.0.0.1:{port}/org/before:v1")));
    assert_eq!(raw.as_bytes(), before.manifest.as_slice());
    // The retried push succeeds and the blob is whole.
    run(skopeo()
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .arg(format!("oci:{}", dir.path().join("crash").display()))
        .arg(format!("docker://127.0.0.1:{port}/org/crash:v1")));
    let mut get = open(
        served.port,
        &format!(
            "GET /v2/org/crash/blobs/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            layer.digest()
        ),
    );
    let mut all = Vec::new();
    get.read_to_end(&mut all).unwrap();
    let body_at = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(images::sha256(&all[body_at..]), layer.digest());
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn a_1_gib_streamed_upload_keeps_the_server_under_64_mib() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let served = Served::start(&dir.path().join("storage"), port);
    let location = start_upload(port, "org/big");
    let chunk: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
    let count = 1024;
    let total = chunk.len() * count;
    let mut stream = open(
        port,
        &format!(
            "PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Range: 0-{}\r\nContent-Length: {total}\r\n\r\n",
            total - 1
        ),
    );
    let mut hasher = Sha256::new();
    for _ in 0..count {
        stream.write_all(&chunk).unwrap();
        hasher.update(&chunk);
    }
    let (status, headers) = response(stream);
    assert_eq!(status, 202);
    assert_eq!(header(&headers, "range"), format!("0-{}", total - 1));
    let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
    let put = open(
        port,
        &format!("PUT {location}?digest={digest} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
    );
    let (status, headers) = response(put);
    assert_eq!(status, 201);
    assert_eq!(header(&headers, "docker-content-digest"), digest);
    let hwm = served.vm_hwm_kib();
    assert!(hwm < 64 * 1024, "peak RSS {hwm} KiB");
}

/// Issue 9: `registry prune --root` took any directory as storage and made
/// `blobs/`, `repositories/` and `uploads/` in it; `--root` meant the
/// storage here and the buildset root for `registry stop`. Now `--storage`
/// is a storage directory, `--root` a buildset registry's root, and
/// anything else is refused with nothing created.
#[test]
fn issue_9_prune_takes_only_a_registry_storage() {
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--storage", "--root"] {
        let output = zuul_image()
            .args(["registry", "prune", "--older-than", "1h", flag])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("is not a registry's storage"), "{stderr}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{flag}");
    }
    // Exactly one of them.
    zuul_image()
        .args(["registry", "prune", "--older-than", "1h"])
        .assert()
        .code(2);
    zuul_image()
        .args([
            "registry",
            "prune",
            "--older-than",
            "1h",
            "--root",
            "/a",
            "--storage",
            "/b",
        ])
        .assert()
        .code(2);

    // A buildset registry's root, and its storage given directly.
    let buildset = BuildsetRegistry::start();
    let root = buildset.root.path();
    for (flag, path) in [
        ("--root", root.to_owned()),
        ("--storage", root.join("storage")),
    ] {
        let output = zuul_image()
            .args(["registry", "prune", "--older-than", "1h", "--dry-run", flag])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{flag}: {stderr}");
        assert!(stderr.contains("would remove 0 manifests"), "{stderr}");
    }
    // serve's storage flag has the same name; the old one says so.
    let output = zuul_image()
        .args(["registry", "serve", "--root"])
        .arg(root.join("storage"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is now `registry serve --storage"));
}

/// Issue 9: `registry serve --config` accepted hashes no password matches,
/// reported a missing relative certificate without the config file (and
/// as exit 1), and said nothing of plain-text passwords others can read.
/// Each bad config is now exit 2 before anything listens, naming the file.
#[test]
fn issue_9_serve_config_is_validated_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("registry.yaml");
    let serve = |yaml: &str, mode: u32| {
        std::fs::write(&config, yaml).unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(mode)).unwrap();
        let output = zuul_image()
            .args(["registry", "serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .timeout(Duration::from_secs(10))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{yaml}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let name = config.display().to_string();
    for hash in ["x", "$2y$…"] {
        let stderr = serve(
            &format!(
                "root: storage\nusers:\n  - {{name: reader, password-hash: \"{hash}\", access: read}}\n"
            ),
            0o600,
        );
        assert!(stderr.contains(&name), "{stderr}");
        assert!(
            stderr.contains("user `reader`: `password-hash` is not a bcrypt hash"),
            "{stderr}"
        );
    }
    std::fs::write(
        dir.path().join("htpasswd"),
        "ci:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
    )
    .unwrap();
    let stderr = serve("root: storage\nhtpasswd: htpasswd\n", 0o600);
    assert!(stderr.contains("htpasswd` line 1: user `ci`"), "{stderr}");
    // A missing relative certificate, in a config others may read that
    // holds a plain-text password: a warning, then the error.
    let stderr = serve(
        "root: storage\ntls-cert: tls/cert.pem\ntls-key: tls/cert.key\nusers:\n  - {name: zuul, password: hunter2, access: write}\n",
        0o644,
    );
    assert!(
        stderr.contains(&format!("`{name}`: `tls-cert`/`tls-key`")),
        "{stderr}"
    );
    let resolved = dir.path().join("tls/cert.pem");
    assert!(
        stderr.contains(&format!("`{}`", resolved.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("holds plain-text passwords (users `zuul`)"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!dir.path().join("storage").exists(), "nothing was created");
}
