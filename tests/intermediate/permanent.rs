//! Issue 9, defect 2: failures that trying again cannot cure fail at once
//! — one attempt, well under the seconds a retried failure takes — with a
//! message that names the registry, where its trust or credentials came
//! from (the variable, the `certs.d` file) and what to do. Against real
//! registries: distribution for an unknown issuer, a certificate for
//! another name, a required client certificate and a wrong password; the
//! embedded registry for an account that may only read.

use super::self_signed::zuul_in;
use crate::support::buildset::BuildsetRegistry;
use crate::support::distribution::{Distribution, Options};
use crate::support::images::{self, Image, Layer};
use crate::support::tls::{KeyKind, openssl_self_signed};
use crate::support::{free_port, wait_until};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

const BUILD: &str = "2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f";

/// Well under what the default retry policy spends on a transient failure
/// (six attempts, about 4 s of backoff at the least).
const AT_ONCE: Duration = Duration::from_secs(3);

/// `pull-from-intermediate` of one artifact from `address` into a fresh
/// buildset registry, with `HOME` at `home`; the output and how long it took.
fn pull(intermediate: Value, address: &str, home: &Path) -> (Output, Duration) {
    let buildset = BuildsetRegistry::start();
    let artifact = json!({"name": "example/app:latest",
        "url": format!("docker://{address}/example/app:{BUILD}_latest"),
        "metadata": {"type": "container_image", "repository": "example/app", "tag": "latest"}});
    let vars = json!({
        "zuul": {"artifacts": [artifact]},
        "buildset_registry": buildset.value,
        "intermediate_registry": intermediate,
    });
    let started = Instant::now();
    let output = zuul_in(home, &vars, "pull-from-intermediate");
    (output, started.elapsed())
}

/// Exit 1 at once, with every one of `needles` on stderr.
fn fails_at_once(output: &Output, elapsed: Duration, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(elapsed < AT_ONCE, "took {elapsed:?}: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "expected `{needle}` in:\n{stderr}");
    }
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_9_unknown_issuer_says_what_was_trusted_and_where_a_ca_goes() {
    let intermediate = Distribution::start();
    let address = intermediate.address();
    let mut var = intermediate.intermediate_registry_var();
    var.as_object_mut().unwrap().remove("cert");
    let home = tempfile::tempdir().unwrap();
    let (output, elapsed) = pull(var, &address, home.path());
    fails_at_once(
        &output,
        elapsed,
        &[
            &format!("the TLS certificate of `{address}` is not trusted"),
            "UnknownIssuer",
            "trusted for it: the system CAs only (no `intermediate_registry.cert`",
            &format!(
                "as `intermediate_registry.cert` or as `/etc/docker/certs.d/{address}/ca.crt`"
            ),
        ],
    );
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_9_hostname_mismatch_names_the_certs_d_file() {
    let certs = openssl_self_signed(KeyKind::Rsa, "other", "DNS:other.example");
    let cert = certs.cert_pem.clone();
    let intermediate = Distribution::start_with_certs(Options::default(), certs);
    let address = intermediate.address();
    let home = tempfile::tempdir().unwrap();
    let dir = home
        .path()
        .join(".config/containers/certs.d")
        .join(&address);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.crt"), cert).unwrap();
    let mut var = intermediate.intermediate_registry_var();
    var.as_object_mut().unwrap().remove("cert");
    let (output, elapsed) = pull(var, &address, home.path());
    fails_at_once(
        &output,
        elapsed,
        &[
            &format!("the TLS certificate of `{address}` is not trusted"),
            "not valid for name",
            &format!("trusted for it: `{}`", dir.join("ca.crt").display()),
            "does not name `127.0.0.1`",
            "`IP:127.0.0.1` in its subjectAltName",
        ],
    );
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_9_a_registry_that_refuses_the_handshake_fails_at_once() {
    let options = Options {
        client_certs: true,
        ..Options::default()
    };
    let intermediate = Distribution::start_with(options);
    let address = intermediate.address();
    let home = tempfile::tempdir().unwrap();
    let (output, elapsed) = pull(
        intermediate.intermediate_registry_var(),
        &address,
        home.path(),
    );
    fails_at_once(
        &output,
        elapsed,
        &[
            &format!("`{address}` refused the TLS handshake"),
            "received fatal alert",
            "client certificate, which zuul-image does not present",
        ],
    );
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_9_rejected_credentials_name_their_variables() {
    let intermediate = Distribution::start();
    let address = intermediate.address();
    let mut var = intermediate.intermediate_registry_var();
    var["password"] = json!("not-the-password");
    let home = tempfile::tempdir().unwrap();
    let (output, elapsed) = pull(var, &address, home.path());
    fails_at_once(
        &output,
        elapsed,
        &[
            &format!("`{address}` refused the credentials"),
            "the credentials came from `intermediate_registry.username` and `.password`",
            "a fresh login was refused too",
        ],
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("not-the-password"));
}

/// An embedded `registry serve` with TLS whose only user may read.
struct ReadOnly {
    child: Child,
    port: u16,
    ca_pem: String,
    _dir: tempfile::TempDir,
}

impl ReadOnly {
    fn start(tls_from: &BuildsetRegistry, password: &str) -> ReadOnly {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let tls = tls_from.root.path().join("tls");
        let hash = bcrypt::hash(password, 4).unwrap();
        let config = dir.path().join("registry.yaml");
        std::fs::write(
            &config,
            format!(
                "listen: 127.0.0.1:{port}\nroot: storage\ntls-cert: {cert}\ntls-key: {key}\n\
                 users:\n  - {{name: reader, password-hash: \"{hash}\", access: read}}\n",
                cert = tls.join("cert.pem").display(),
                key = tls.join("cert.key").display(),
            ),
        )
        .unwrap();
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("zuul-image"))
            .args(["registry", "serve", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until("registry serve", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        ReadOnly {
            child,
            port,
            ca_pem: tls_from.ca_pem.clone(),
            _dir: dir,
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn issue_9_an_account_that_may_not_push_is_denied_naming_it() {
    let work = tempfile::tempdir().unwrap();
    let buildset = BuildsetRegistry::start();
    let image = Image::new(vec![Layer::random(93, 20_000)], "amd64");
    images::skopeo_push(
        &images::image_layout(&work.path().join("app"), &image),
        &format!("{}/example/app:latest", buildset.address()),
        &buildset.cert_dir(),
        Some(&buildset.auth_file()),
    );
    let intermediate = ReadOnly::start(&buildset, "read-only-password");
    let vars = json!({
        "zuul": {"build": BUILD},
        "buildset_registry": buildset.value,
        "intermediate_registry": {"host": "127.0.0.1", "port": intermediate.port,
            "username": "reader", "password": "read-only-password", "cert": intermediate.ca_pem},
        "container_images": [{"repository": "example/app", "tags": ["latest"]}],
    });
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = zuul_in(home.path(), &vars, "push-to-intermediate");
    fails_at_once(
        &output,
        started.elapsed(),
        &[
            &format!("`127.0.0.1:{}` denied access", intermediate.port),
            "the credentials from `intermediate_registry.username` and `.password` were accepted but may not do this",
        ],
    );
}
