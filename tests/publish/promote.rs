//! `promote-image` on a plain distribution registry: the final tag gets
//! the temporary tag's manifest byte for byte and no blob is requested;
//! distribution deletes no tag by name, so the temporary tag stays (a
//! warning, never a delete by digest); a missing temporary tag fails the
//! promotion before any final tag changes.

use super::{
    blob_requests, credentials, failed_with, final_registry, push_image, push_index, succeeded,
    zuul,
};
use crate::support::images;
use serde_json::{Value, json};

#[test]
#[ignore = "needs real components: run tests/run-all.sh"]
fn promote_on_a_plain_registry_moves_no_blob_and_keeps_what_it_cannot_delete() {
    let target = final_registry();
    let index = push_index(&target, "org/app:change_42_latest");
    let repository = format!("{}/org/app", target.address());
    let vars = |change: u32, tags: Value| {
        json!({
            "zuul": {"change": change, "pipeline": "promote"},
            "container_images": [{"repository": repository, "registry": target.address(), "tags": tags}],
            "container_registry_credentials": credentials(&target, json!({})),
        })
    };
    // The registry's certificate is trusted because the variables give it.
    let mut untrusted = vars(42, json!(["latest"]));
    untrusted["container_registry_credentials"][target.address()]
        .as_object_mut()
        .unwrap()
        .remove("cert");
    let text = failed_with(&zuul(&untrusted, &["promote-image"]), 1);
    assert!(text.contains("UnknownIssuer"), "{text}");

    let before = target.requests().len();
    let output = zuul(&vars(42, json!(["latest"])), &["promote-image"]);
    let text = succeeded(&output);
    let requests = target.requests()[before..].to_vec();
    assert_eq!(
        blob_requests(&requests),
        Vec::<String>::new(),
        "{requests:?}"
    );
    assert_eq!(
        images::raw_manifest(&target, "org/app:latest").unwrap(),
        index,
        "the final tag has the temporary tag's manifest"
    );
    assert!(
        text.contains(&format!(
            "promoted `{repository}:change_42_latest` to `latest`"
        )),
        "{text}"
    );
    // distribution answers the tag DELETE with 400: a warning, the
    // temporary tag stays, and the manifest (shared with `latest`) too.
    assert!(text.contains("warning: failed to delete the tag"), "{text}");
    assert!(text.contains("never deletes by digest"), "{text}");
    assert!(
        requests
            .iter()
            .any(|r| r == "DELETE /v2/org/app/manifests/change_42_latest"),
        "{requests:?}"
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("DELETE") && r.contains("sha256:")),
        "{requests:?}"
    );
    assert_eq!(
        images::raw_manifest(&target, "org/app:change_42_latest").unwrap(),
        index
    );
    let returned: Value = serde_json::from_slice(&output.stdout).unwrap();
    let warnings = returned["data"]["zuul"]["warnings"].as_array().unwrap();
    assert!(
        warnings[0].as_str().unwrap().contains("change_42_latest"),
        "{returned}"
    );
    assert!(text.contains("tells no tag ages"), "{text}");

    // Change 43 uploaded `latest` but not `v2`: nothing is promoted.
    let newer = push_image(&target, "org/app:change_43_latest", 43);
    let output = zuul(&vars(43, json!(["latest", "v2"])), &["promote-image"]);
    let text = failed_with(&output, 1);
    assert!(text.contains("change_43_v2"), "{text}");
    assert!(text.contains("nothing was promoted"), "{text}");
    assert_eq!(
        images::raw_manifest(&target, "org/app:latest").unwrap(),
        index,
        "unchanged"
    );
    // With only the tag it has, it goes through.
    succeeded(&zuul(&vars(43, json!(["latest"])), &["promote-image"]));
    assert_eq!(
        images::raw_manifest(&target, "org/app:latest").unwrap(),
        newer
    );
}
