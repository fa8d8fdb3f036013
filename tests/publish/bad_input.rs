//! Bad input to `upload-image` and `promote-image` fails with exit 2 and
//! a message naming the variable, before any registry is contacted (the
//! registries named here do not exist).

use super::{failed_with, zuul};
use serde_json::json;

#[test]
fn no_credentials_for_an_images_registry() {
    let vars = json!({
        "zuul": {"change": 1},
        "container_images": [
            {"repository": "quay.io/org/app", "registry": "quay.io"},
            {"repository": "registry.example.org/org/tool", "registry": "registry.example.org"},
        ],
        "container_registry_credentials": {"quay.io": {"username": "bot", "password": "s3cret"}},
    });
    for command in ["upload-image", "promote-image"] {
        let text = failed_with(&zuul(&vars, &[command]), 2);
        assert!(
            text.contains("`registry.example.org` credentials not found in `container_registry_credentials` (needed by `container_images[1]`)"),
            "{command}: {text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }
}

#[test]
fn an_invalid_credentials_pattern() {
    let vars = json!({
        "zuul": {"change": 1},
        "docker_images": [{"repository": "org/app"}],
        "docker_credentials": {"username": "bot", "password": "s3cret", "repository": "^org/(app"},
    });
    for command in ["upload-image", "promote-image"] {
        let text = failed_with(&zuul(&vars, &[command, "--family", "docker"]), 2);
        assert!(
            text.contains("`docker_credentials.repository` (from ")
                && text.contains("`^org/(app` is not a valid regular expression"),
            "{command}: {text}"
        );
    }
}

#[test]
fn a_repository_the_pattern_does_not_permit() {
    let vars = json!({
        "zuul": {"change": 1},
        "container_images": [{"repository": "quay.io/other/app", "registry": "quay.io"}],
        "container_registry_credentials": {"quay.io": {"repository": "^quay.io/org/", "api_token": "t"}},
    });
    let text = failed_with(&zuul(&vars, &["promote-image"]), 2);
    assert!(
        text.contains("`quay.io/other/app` not permitted by `^quay.io/org/`"),
        "{text}"
    );
}

#[test]
fn promote_needs_what_the_registrys_api_deletes_with() {
    let quay = json!({
        "zuul": {"change": 1},
        "container_images": [{"repository": "quay.io/org/app", "registry": "quay.io"}],
        "container_registry_credentials": {"quay.io": {"username": "u", "password": "p"}},
    });
    let text = failed_with(&zuul(&quay, &["promote-image"]), 2);
    assert!(
        text.contains("missing variable `container_registry_credentials.quay.io.api_token`"),
        "{text}"
    );
    let hub = json!({"zuul": {"change": 1}, "docker_images": [{"repository": "org/app"}]});
    let text = failed_with(&zuul(&hub, &["promote-image"]), 2);
    assert!(
        text.contains("missing variable `docker_credentials`"),
        "{text}"
    );
}

#[test]
fn both_lists_without_a_family() {
    let vars = json!({
        "docker_images": [{"repository": "org/app"}],
        "container_images": [{"repository": "quay.io/org/app"}],
    });
    let text = failed_with(&zuul(&vars, &["upload-image"]), 2);
    assert!(text.contains("--family"), "{text}");
}
