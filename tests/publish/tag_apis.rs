//! `promote-image` where the final registry is Docker Hub or Quay: the
//! registry API is a real distribution, the web APIs that delete and list
//! tags are the stand-ins of `support::web_apis`. After a promotion the
//! final tag has the temporary tag's digest, the temporary tag is gone,
//! temporary tags older than a day are gone (page 2 of the tag list
//! included), and recent temporary tags and every other tag remain.

use super::{blob_requests, credentials, failed_with, final_registry, push_index, succeeded, zuul};
use crate::support::distribution::Distribution;
use crate::support::images::{self, sha256};
use crate::support::web_apis::{TagStore, WebApi};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

/// `org/app` in `registry` with the temporary tag of change 42, 105 other
/// tags that sort first (so every temporary tag is on page 2 of a list in
/// pages of 100), and temporary and other tags of several ages.
fn seeded(registry: &Distribution) -> (Vec<u8>, Arc<TagStore>) {
    let index = push_index(registry, "org/app:change_42_latest");
    let store = Arc::new(TagStore::new(registry.dir.path().join("storage")));
    let digest = sha256(&index);
    for n in 0..105 {
        store.seed("org/app", &format!("a-filler-{n:03}"), &digest);
    }
    for (tag, age) in [
        ("change_1_latest", 48 * HOUR),
        ("promote_old", 30 * HOUR),
        ("change_7_latest", HOUR),
        ("v0.9", 72 * HOUR),
        ("gate_latest", 72 * HOUR),
    ] {
        store.seed("org/app", tag, &digest);
        store.backdate("org/app", tag, age);
    }
    (index, store)
}

/// promote-docker-image's variables for `org/app` of change 42 in
/// `registry`, which is Docker Hub (`type: docker`).
fn hub_vars(registry: &Distribution) -> Value {
    json!({
        "zuul": {"change": 42, "pipeline": "promote"},
        "docker_registry": registry.address(),
        "docker_credentials": {
            "username": registry.username, "password": registry.password,
            "type": "docker", "cert": registry.certs.ca_pem,
        },
        "docker_images": [{"repository": "org/app"}],
    })
}

fn tag_names(store: &TagStore) -> Vec<String> {
    store
        .tags("org/app")
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// What every promotion with a cleanup must leave.
fn assert_promoted(registry: &Distribution, store: &TagStore, index: &[u8], before: usize) {
    let requests = registry.requests()[before..].to_vec();
    assert_eq!(
        blob_requests(&requests),
        Vec::<String>::new(),
        "no layer moves"
    );
    assert_eq!(
        images::raw_manifest(registry, "org/app:latest").unwrap(),
        index
    );
    assert!(images::raw_manifest(registry, "org/app:change_42_latest").is_none());
    let names = tag_names(store);
    for gone in ["change_42_latest", "change_1_latest", "promote_old"] {
        assert!(
            !names.contains(&gone.to_owned()),
            "{gone} is gone: {names:?}"
        );
    }
    for kept in [
        "latest",
        "change_7_latest",
        "v0.9",
        "gate_latest",
        "a-filler-000",
        "a-filler-104",
    ] {
        assert!(
            names.contains(&kept.to_owned()),
            "{kept} remains: {names:?}"
        );
    }
    assert_eq!(names.len(), 105 + 4, "{names:?}");
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn promote_on_docker_hub_deletes_the_temporary_tag_and_old_ones_on_every_page() {
    let target = final_registry();
    let (index, store) = seeded(&target);
    let hub = WebApi::hub(store.clone(), &target.username, &target.password);
    let mut vars = hub_vars(&target);
    vars["remove_registry_tag_api_url"] = json!(hub.base("/v2"));
    let before = target.requests().len();
    let text = succeeded(&zuul(&vars, &["promote-image", "--family", "docker"]));
    assert!(!text.contains("warning"), "{text}");
    assert!(!text.contains(&target.password), "{text}");
    assert_promoted(&target, &store, &index, before);
    let requests = hub.requests();
    assert_eq!(requests[0], "POST /v2/auth/token []", "{requests:#?}");
    for want in [
        "DELETE /v2/repositories/org/app/tags/change_42_latest/ [Bearer]",
        "GET /v2/repositories/org/app/tags?page_size=100 [Bearer]",
        "GET /v2/repositories/org/app/tags?page=2&page_size=100 [Bearer]",
        "DELETE /v2/repositories/org/app/tags/change_1_latest/ [Bearer]",
        "DELETE /v2/repositories/org/app/tags/promote_old/ [Bearer]",
    ] {
        assert!(requests.contains(&want.to_owned()), "{want}: {requests:#?}");
    }
    assert_eq!(
        requests.iter().filter(|r| r.starts_with("DELETE")).count(),
        3,
        "{requests:#?}"
    );
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn promote_on_quay_deletes_with_the_api_token() {
    let target = final_registry();
    let (index, store) = seeded(&target);
    let quay = WebApi::quay(store.clone(), "quay-token");
    let vars = json!({
        "zuul": {"change": 42, "pipeline": "promote"},
        "container_images": [{"repository": format!("{}/org/app", target.address()), "registry": target.address()}],
        "container_registry_credentials": credentials(&target, json!({"type": "quay", "api_token": "quay-token"})),
    });
    let before = target.requests().len();
    let output = zuul(
        &vars,
        &["promote-image", "--api-url", &quay.base("/api/v1")],
    );
    let text = succeeded(&output);
    assert!(!text.contains("warning"), "{text}");
    assert!(!text.contains("quay-token"), "{text}");
    assert_promoted(&target, &store, &index, before);
    let requests = quay.requests();
    for want in [
        "DELETE /api/v1/repository/org/app/tag/change_42_latest [Bearer]",
        "GET /api/v1/repository/org/app/tag/?onlyActiveTags=true&limit=100&page=1 [Bearer]",
        "GET /api/v1/repository/org/app/tag/?onlyActiveTags=true&limit=100&page=2 [Bearer]",
        "DELETE /api/v1/repository/org/app/tag/change_1_latest [Bearer]",
        "DELETE /api/v1/repository/org/app/tag/promote_old [Bearer]",
    ] {
        assert!(requests.contains(&want.to_owned()), "{want}: {requests:#?}");
    }
    assert!(
        !requests.iter().any(|r| r.contains("page=3")),
        "{requests:#?}"
    );
}

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn a_failed_hub_tag_delete_is_a_warning_and_the_older_login_is_the_fallback() {
    let target = final_registry();
    let index = push_index(&target, "org/app:change_42_latest");
    let store = Arc::new(TagStore::new(target.dir.path().join("storage")));
    let hub = WebApi::hub(store.clone(), &target.username, &target.password);
    hub.legacy_login_only();
    hub.fail_deletes();
    let vars = hub_vars(&target);
    let output = zuul(&vars, &["promote-image", "--api-url", &hub.base("/v2")]);
    let text = succeeded(&output);
    assert!(
        text.contains("warning: failed to delete the tag") && text.contains("change_42_latest"),
        "{text}"
    );
    assert_eq!(
        images::raw_manifest(&target, "org/app:latest").unwrap(),
        index
    );
    assert!(images::raw_manifest(&target, "org/app:change_42_latest").is_some());
    let returned: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        returned["data"]["zuul"]["warnings"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{returned}"
    );
    let requests = hub.requests();
    assert!(
        requests.contains(&"POST /v2/auth/token []".to_owned()),
        "{requests:#?}"
    );
    assert!(
        requests.contains(&"POST /v2/users/login/ []".to_owned()),
        "{requests:#?}"
    );
    assert!(
        requests
            .contains(&"DELETE /v2/repositories/org/app/tags/change_42_latest/ [JWT]".to_owned()),
        "{requests:#?}"
    );

    // A wrong password: the registry refuses it before anything changes,
    // and the error carries no secret.
    let mut wrong = vars.clone();
    wrong["docker_credentials"]["password"] = json!("not-the-password");
    wrong["docker_images"][0]["tags"] = json!(["latest"]);
    let err = failed_with(
        &zuul(&wrong, &["promote-image", "--api-url", &hub.base("/v2")]),
        1,
    );
    // The registry itself refuses the wrong password first: nothing is promoted.
    assert!(err.contains("refused the credentials"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");
}
