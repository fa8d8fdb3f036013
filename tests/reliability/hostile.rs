//! Hostile input against the real `registry serve` process, where the
//! in-process router tests (`src/server/tests/hostile.rs`, `auth.rs`,
//! `blob_links.rs`) cannot reach: the TLS versions a client may use
//! (checked with `openssl s_client`, an independent client), and a token
//! issued by a previous process of the same registry.

use crate::support::REAL;
use crate::support::load::report;
use crate::support::served::{Served, USER};
use std::process::{Command, Stdio};

/// `openssl s_client` with `flag` (`-tls1_1`, …): (handshake done, output).
fn s_client(served: &Served, flag: &str) -> (bool, String) {
    let output = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{}", served.port))
        .arg(flag)
        // Let openssl itself offer the old versions (Debian's default
        // security level refuses them client-side).
        .args(["-cipher", "DEFAULT@SECLEVEL=0", "-CAfile"])
        .arg(served.ca_file())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let done = output.status.success() && text.contains("Verify return code: 0 (ok)");
    (done, text)
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn only_tls_1_2_and_1_3_are_accepted() {
    let _ = REAL;
    let served = Served::start("");
    for old in ["-tls1", "-tls1_1"] {
        let (done, text) = s_client(&served, old);
        assert!(!done, "{old} was accepted:\n{text}");
        assert!(
            !text.contains("no protocols available"),
            "openssl did not even offer {old}, so this proves nothing:\n{text}"
        );
        assert!(
            text.contains("protocol version") || text.contains("alert"),
            "{old} refused by the server:\n{text}"
        );
    }
    for (flag, version) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let (done, text) = s_client(&served, flag);
        assert!(done, "{flag} refused:\n{text}");
        assert!(text.contains(version), "{text}");
    }
    report(
        "openssl s_client: -tls1 and -tls1_1 refused by the server (protocol version alert), \
         -tls1_2 and -tls1_3 accepted",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_of_a_previous_process_is_refused() {
    let mut served = Served::start("");
    let client = served.client();
    let reply = client
        .request(
            reqwest::Method::GET,
            "/auth/token?service=zuul-image&scope=repository:org/app:pull,push",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let token: serde_json::Value = reply.json().await.unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    let anonymous = crate::support::load::Client::new(&served.base(), &served.ca_pem, None);
    let upload = |client: &crate::support::load::Client| {
        client
            .request(reqwest::Method::POST, "/v2/org/app/blobs/uploads/")
            .header("authorization", &bearer)
            .send()
    };
    assert_eq!(upload(&anonymous).await.unwrap().status(), 202);
    served.kill();
    served.restart();
    let after = crate::support::load::Client::new(&served.base(), &served.ca_pem, None);
    let reply = upload(&after).await.unwrap();
    assert_eq!(reply.status(), 401, "{USER}'s old token still works");
    report("a token of the previous process: 202 before the restart, 401 after");
}
