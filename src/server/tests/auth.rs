//! Auth through the router: the Bearer flow and its refusals, forged
//! tokens (hand-made, and made from real ones: another key, expired,
//! tampered claims), read-only users, and from issue 12 ("fix first" 4): no token
//! without credentials when anonymous read is off, failed Basic logins
//! limited per client, `ns` validated like a repository name.

use super::{Backend, Registry, Reply, basic, registry_for, registry_signed, registry_with, users};
use crate::secret::Secret;
use crate::server::auth::{Access, Credential, User};
use crate::server::config::Limits;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;

impl Registry {
    /// A request as it arrives from `client` over a real connection.
    async fn send_from(&self, client: &str, uri: &str, authorization: &str) -> Reply {
        let peer: SocketAddr = client.parse().unwrap();
        let mut request = Request::builder()
            .method("GET")
            .uri(uri)
            .header("host", "reg.test:5000")
            .header("authorization", authorization)
            .body(Body::empty())
            .unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        self.call(request).await
    }
}

async fn issue_12_no_token_without_credentials_when_anonymous_read_is_off(backend: Backend) {
    let registry = registry_with(backend, users(), false).await;
    for uri in [
        "/auth/token?service=zuul-image&scope=repository:org/app:pull",
        "/auth/token?service=zuul-image&scope=repository:org/app:pull,push",
        "/auth/token?service=zuul-image",
    ] {
        let reply = registry.get(uri).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(
            reply
                .header("www-authenticate")
                .starts_with("Bearer realm=")
        );
    }
    // With credentials, the token works, /v2/ included.
    let token = registry
        .send(
            "GET",
            "/auth/token?scope=repository:org/app:pull",
            &[("authorization", &basic("zuul", "s3cret:pw"))],
            Body::empty(),
        )
        .await;
    let bearer = format!("Bearer {}", token.json()["token"].as_str().unwrap());
    let base = registry
        .send("GET", "/v2/", &[("authorization", &bearer)], Body::empty())
        .await;
    assert_eq!(base.status, StatusCode::OK);
}

async fn issue_12_failed_basic_logins_are_limited_per_client(backend: Backend) {
    let limits = Limits {
        failed_logins_per_minute: 3,
        ..Limits::default()
    };
    let registry = registry_for(backend, users(), true, limits).await;
    let wrong = basic("zuul", "guess");
    let right = basic("zuul", "s3cret:pw");
    let attacker = "192.0.2.7:40000";
    for attempt in 0..3 {
        let reply = registry.send_from(attacker, "/v2/", &wrong).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // Spent: refused without a check, even with the right password.
    for authorization in [&wrong, &right] {
        let reply = registry.send_from(attacker, "/v2/", authorization).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reply.code(), "TOOMANYREQUESTS");
        assert_eq!(reply.header("retry-after"), "20");
        let token = registry
            .send_from(
                attacker,
                "/auth/token?scope=repository:a:pull,push",
                authorization,
            )
            .await;
        assert_eq!(token.status, StatusCode::TOO_MANY_REQUESTS);
    }
    // Pulls still work as anonymous, and do not count.
    let pull = registry
        .send_from(attacker, "/v2/org/app/tags/list", &wrong)
        .await;
    assert_eq!(pull.code(), "NAME_UNKNOWN", "authorised, just absent");
    // Another client (and another /64) is not affected.
    for client in ["192.0.2.8:40000", "[2001:db8:0:1::5]:40000"] {
        let reply = registry.send_from(client, "/v2/", &right).await;
        assert_eq!(reply.status, StatusCode::OK, "{client}");
    }
    // A whole /64 counts as one client.
    for host in 1..=3 {
        let client = format!("[2001:db8:0:2::{host}]:40000");
        let reply = registry.send_from(&client, "/v2/", &wrong).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = registry
        .send_from("[2001:db8:0:2::99]:40000", "/v2/", &right)
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // Docker Hub credentials on pull tokens never count.
    let hub = basic("dockerhub-user", "hub-password");
    for _ in 0..5 {
        let token = registry
            .send_from(
                "192.0.2.9:1",
                "/auth/token?scope=repository:library/x:pull",
                &hub,
            )
            .await;
        assert_eq!(token.status, StatusCode::OK);
    }
    let reply = registry.send_from("192.0.2.9:1", "/v2/", &right).await;
    assert_eq!(reply.status, StatusCode::OK);
}

async fn issue_12_ns_is_validated_like_a_name(backend: Backend) {
    let registry = registry_for(backend, HashMap::new(), true, Limits::default()).await;
    for ns in ["QUAY.IO", "localhost:5000", "quay.io/../etc", "-x.io"] {
        let get = registry
            .get(&format!("/v2/org/app/manifests/v1?ns={ns}"))
            .await;
        assert_eq!(get.code(), "NAME_INVALID", "{ns}");
        let push = registry
            .send(
                "POST",
                &format!("/v2/org/app/blobs/uploads/?ns={ns}"),
                &[],
                Body::empty(),
            )
            .await;
        assert_eq!(push.code(), "NAME_INVALID", "{ns}");
    }
    assert_eq!(
        registry.storage.linked_repositories().await.unwrap(),
        Vec::<String>::new(),
        "nothing was stored under an invalid name"
    );
    registry.blob("quay.io/org/app", b"x").await;
    let ok = registry.get("/v2/org/app/tags/list?ns=quay.io").await;
    assert_eq!(ok.code(), "NAME_UNKNOWN", "a valid ns still applies");
}

async fn bearer_flow_and_refusals(backend: Backend) {
    let registry = registry_with(backend, users(), true).await;
    let ping = registry.get("/v2/").await;
    assert_eq!(ping.status, StatusCode::UNAUTHORIZED);
    assert_eq!(ping.code(), "UNAUTHORIZED");
    let challenge = ping.header("www-authenticate");
    assert!(
        challenge.starts_with("Bearer realm=\"https://reg.test:5000/auth/token\""),
        "{challenge}"
    );
    assert_eq!(
        ping.header("docker-distribution-api-version"),
        "registry/2.0"
    );

    // Push without credentials: refused.
    let anonymous = registry
        .send("POST", "/v2/org/app/blobs/uploads/", &[], Body::empty())
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(
        anonymous
            .header("www-authenticate")
            .contains("scope=\"repository:org/app:pull,push\"")
    );

    // Token with credentials; push works with it.
    let auth = basic("zuul", "s3cret:pw");
    let token = registry
        .send(
            "GET",
            "/auth/token?service=zuul-image&scope=repository:org/app:pull,push",
            &[("authorization", &auth)],
            Body::empty(),
        )
        .await;
    assert_eq!(token.status, StatusCode::OK);
    let bearer = format!("Bearer {}", token.json()["token"].as_str().unwrap());
    let start = registry
        .send(
            "POST",
            "/v2/org/app/blobs/uploads/",
            &[("authorization", &bearer)],
            Body::empty(),
        )
        .await;
    assert_eq!(start.status, StatusCode::ACCEPTED);
    // The same token cannot push elsewhere.
    let elsewhere = registry
        .send(
            "POST",
            "/v2/org/other/blobs/uploads/",
            &[("authorization", &bearer)],
            Body::empty(),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::UNAUTHORIZED);
    assert!(
        elsewhere
            .header("www-authenticate")
            .contains("insufficient_scope")
    );

    // Basic directly on the API works too.
    let direct = registry
        .send(
            "POST",
            "/v2/org/app/blobs/uploads/",
            &[("authorization", &auth)],
            Body::empty(),
        )
        .await;
    assert_eq!(direct.status, StatusCode::ACCEPTED);
    assert_eq!(
        registry
            .send("GET", "/v2/", &[("authorization", &auth)], Body::empty())
            .await
            .status,
        StatusCode::OK
    );

    // Anonymous pull with Docker Hub credentials.
    let hub = basic("dockerhub-user", "hub-password");
    let token = registry
        .send(
            "GET",
            "/auth/token?scope=repository:library/busybox:pull",
            &[("authorization", &hub)],
            Body::empty(),
        )
        .await;
    assert_eq!(token.status, StatusCode::OK);
    let pull = format!("Bearer {}", token.json()["token"].as_str().unwrap());
    let reply = registry
        .send(
            "GET",
            "/v2/library/busybox/manifests/latest",
            &[("authorization", &pull)],
            Body::empty(),
        )
        .await;
    assert_eq!(reply.code(), "MANIFEST_UNKNOWN", "authorised, just absent");
    // Push with that pull token: refused.
    let push = registry
        .send(
            "POST",
            "/v2/library/busybox/blobs/uploads/",
            &[("authorization", &pull)],
            Body::empty(),
        )
        .await;
    assert_eq!(push.status, StatusCode::UNAUTHORIZED);
    // Login check with wrong credentials fails.
    let login = registry
        .send(
            "GET",
            "/auth/token?service=zuul-image",
            &[("authorization", &basic("zuul", "wrong"))],
            Body::empty(),
        )
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
}

async fn forged_tokens_are_refused(backend: Backend) {
    use crate::server::token::tests::forge;
    let registry = registry_with(backend, users(), false).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": "zuul-image", "sub": "zuul", "aud": "zuul-image", "iat": now, "nbf": now - 5,
        "exp": now + 600, "jti": "x",
        "access": [{"type": "repository", "name": "org/app", "actions": ["pull", "push"]}],
    });
    let hs256 = r#"{"alg":"HS256","typ":"JWT"}"#;
    let zuul_registry_key = forge(hs256, &claims, b"secret");
    let none = {
        let parts: Vec<String> = forge(r#"{"alg":"none"}"#, &claims, b"")
            .split('.')
            .map(str::to_owned)
            .collect();
        format!("{}.{}.", parts[0], parts[1])
    };
    // Signed with the instance's real key but expired / for another repo:
    // obtain real tokens and check the scope rules instead.
    for token in [zuul_registry_key, none, "garbage".to_owned()] {
        let reply = registry
            .send(
                "POST",
                "/v2/org/app/blobs/uploads/",
                &[("authorization", &format!("Bearer {token}"))],
                Body::empty(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token}");
        let read = registry
            .send(
                "GET",
                "/v2/org/app/tags/list",
                &[("authorization", &format!("Bearer {token}"))],
                Body::empty(),
            )
            .await;
        assert_eq!(read.status, StatusCode::UNAUTHORIZED, "{token}");
    }
    // Anonymous read off: pulls need credentials.
    assert_eq!(
        registry.get("/v2/org/app/tags/list").await.status,
        StatusCode::UNAUTHORIZED
    );
    // And no token is handed out without them (issue 12).
    let token = registry
        .get("/auth/token?scope=repository:org/app:pull")
        .await;
    assert_eq!(token.status, StatusCode::UNAUTHORIZED);
}

/// The forgeries `forgeries_are_refused` checks on the signer, made from
/// real tokens and sent through the router: a token of another instance
/// (another key), one expired, one whose claims were edited to another
/// repository (signature kept). Each is refused for pull, push and delete
/// alike; the untouched token still works where it was granted.
async fn forged_tokens_made_from_real_ones_are_refused(backend: Backend) {
    let registry = registry_with(backend, users(), false).await;
    let other = registry_with(backend, users(), false).await;
    let expiring = registry_signed(
        backend,
        users(),
        false,
        Limits::default(),
        crate::server::token::Signer::random(std::time::Duration::ZERO),
    )
    .await;
    let scope = "repository:org/app:pull,push,delete";
    let of_another_instance = other.token(scope).await;
    let expired = expiring.token(scope).await;
    let elsewhere = registry
        .token("repository:org/other:pull,push,delete")
        .await;
    let tampered = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = elsewhere.trim_start_matches("Bearer ").split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        claims["access"][0]["name"] = "org/app".into();
        let payload = engine.encode(claims.to_string());
        format!("Bearer {}.{payload}.{}", parts[0], parts[2])
    };
    let requests = [
        ("GET", "/v2/org/app/tags/list"),
        ("POST", "/v2/org/app/blobs/uploads/"),
        ("DELETE", "/v2/org/app/manifests/latest"),
    ];
    for (what, forged, on) in [
        ("another instance's token", &of_another_instance, &registry),
        ("an expired token", &expired, &expiring),
        ("tampered claims", &tampered, &registry),
    ] {
        for (method, uri) in requests {
            let reply = on
                .send(method, uri, &[("authorization", forged)], Body::empty())
                .await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{what}: {method} {uri}"
            );
        }
    }
    // The real token works where it was granted, so the refusals above
    // are the forgeries'.
    let upload = registry
        .send(
            "POST",
            "/v2/org/other/blobs/uploads/",
            &[("authorization", &elsewhere)],
            Body::empty(),
        )
        .await;
    assert_eq!(upload.status, StatusCode::ACCEPTED);
}

async fn a_read_user_is_denied_writes(backend: Backend) {
    let mut users = users();
    users.insert(
        "reader".to_owned(),
        User {
            access: Access::Read,
            credential: Credential::Plain(Secret::new("r")),
        },
    );
    let registry = registry_with(backend, users, false).await;
    let auth = basic("reader", "r");
    let push = registry
        .send(
            "POST",
            "/v2/org/app/blobs/uploads/",
            &[("authorization", &auth)],
            Body::empty(),
        )
        .await;
    assert_eq!(push.status, StatusCode::FORBIDDEN);
    assert_eq!(push.code(), "DENIED");
    let read = registry
        .send(
            "GET",
            "/v2/org/app/tags/list",
            &[("authorization", &auth)],
            Body::empty(),
        )
        .await;
    assert_eq!(
        read.code(),
        "NAME_UNKNOWN",
        "allowed to read, nothing there"
    );
}

on_both_stores!(
    issue_12_no_token_without_credentials_when_anonymous_read_is_off,
    issue_12_failed_basic_logins_are_limited_per_client,
    issue_12_ns_is_validated_like_a_name,
    bearer_flow_and_refusals,
    forged_tokens_are_refused,
    forged_tokens_made_from_real_ones_are_refused,
    a_read_user_is_denied_writes,
);
