//! Registry credentials in the files clients read: docker's
//! `~/.docker/config.json` and podman's `auth.json` (the same format).
//! The entry `auths["<host:port>"].auth = base64("user:password")` is merged
//! in; other registries, `credHelpers` and every other key are kept. Pure:
//! the caller writes the result with mode 0600.

use super::Error;
use crate::secret::Secret;
use base64::Engine as _;
use serde_json::{Map, Value};

/// Merge credentials for `registry` into the text of an auth file (`None`:
/// it does not exist). Returns the new text, or the input unchanged (byte
/// for byte) when it already holds them.
pub fn merge(
    file: &str,
    text: Option<&str>,
    registry: &str,
    username: &str,
    password: &Secret,
) -> Result<String, Error> {
    let original = text.unwrap_or("");
    let mut doc: Map<String, Value> = if original.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(original) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(Error::Unsupported {
                    file: file.to_owned(),
                    message: "expected a JSON object".into(),
                });
            }
            // The error text of serde_json names a position, never content,
            // so no credential can leak through it.
            Err(err) => {
                return Err(Error::Parse {
                    file: file.to_owned(),
                    line: Some(err.line()),
                    message: format!("invalid JSON: {err}"),
                });
            }
        }
    };
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{username}:{}", password.expose()));
    let auths = doc
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if auths.is_null() {
        *auths = Value::Object(Map::new());
    }
    let Value::Object(auths) = auths else {
        return Err(Error::Unsupported {
            file: file.to_owned(),
            message: "`auths` must be an object".into(),
        });
    };
    let entry = auths
        .entry(registry.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    let entry = entry.as_object_mut().expect("just made an object");
    if entry.get("auth").and_then(Value::as_str) == Some(token.as_str()) && !original.is_empty() {
        return Ok(original.to_owned());
    }
    entry.insert("auth".into(), Value::String(token));
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_keeps_the_rest() {
        let pw = Secret::new("s3cret");
        let text =
            r#"{"auths": {"other:5000": {"auth": "eA=="}}, "credHelpers": {"gcr.io": "gcloud"}}"#;
        let out = merge("c", Some(text), "reg:5000", "zuul", &pw).unwrap();
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["auths"]["other:5000"]["auth"], "eA==");
        assert_eq!(value["credHelpers"]["gcr.io"], "gcloud");
        assert_eq!(value["auths"]["reg:5000"]["auth"], "enV1bDpzM2NyZXQ=");
        assert_eq!(
            merge("c", Some(&out), "reg:5000", "zuul", &pw).unwrap(),
            out
        );
        let changed = merge("c", Some(&out), "reg:5000", "zuul", &Secret::new("new")).unwrap();
        assert_ne!(changed, out);
    }

    #[test]
    fn errors_do_not_show_the_file() {
        let err = merge(
            "c",
            Some("{\"auths\": {\"x\": \"pw\""),
            "r",
            "u",
            &Secret::new("p"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("failed to parse `c` at line 1"), "{err}");
        assert!(!err.contains("pw"), "{err}");
    }
}
