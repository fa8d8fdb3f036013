//! `/etc/docker/daemon.json`: parse it keeping the site's key order, put the
//! buildset registry first in `registry-mirrors`, merge ensure-docker's
//! settings, and tell which changes a `SIGHUP` reload applies and which
//! need a restart. Pure: the caller reads and writes the file.

use super::Error;
use serde_json::{Map, Value};

/// The keys dockerd re-reads on `SIGHUP` (docker's "configuration reload
/// behavior"); a change to any other key needs a restart.
pub const RELOADABLE: &[&str] = &[
    "debug",
    "labels",
    "live-restore",
    "max-concurrent-downloads",
    "max-concurrent-uploads",
    "max-download-attempts",
    "default-runtime",
    "runtimes",
    "authorization-plugins",
    "insecure-registries",
    "registry-mirrors",
    "shutdown-timeout",
    "features",
];

/// The parsed file: a JSON object, key order as written.
pub type DaemonJson = Map<String, Value>;

/// Parse daemon.json; an empty file is an empty object (dockerd accepts it).
pub fn parse(file: &str, text: &str) -> Result<DaemonJson, Error> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::Unsupported {
            file: file.to_owned(),
            message: "expected a JSON object".into(),
        }),
        Err(err) => Err(Error::Parse {
            file: file.to_owned(),
            line: Some(err.line()),
            message: format!("invalid JSON: {err}"),
        }),
    }
}

/// Render as docker's documentation writes it: two-space indent, final
/// newline.
pub fn render(doc: &DaemonJson) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

fn string_list<'a>(
    doc: &'a mut DaemonJson,
    key: &str,
    file: &str,
) -> Result<&'a mut Vec<Value>, Error> {
    let value = doc
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if value.is_null() {
        *value = Value::Array(Vec::new());
    }
    match value {
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(items),
        _ => Err(Error::Unsupported {
            file: file.to_owned(),
            message: format!("`{key}` must be a list of strings"),
        }),
    }
}

/// Put `url` first in `registry-mirrors`, keeping the site's other mirrors
/// after it in their order (a trailing `/` does not make a URL different).
pub fn put_mirror_first(doc: &mut DaemonJson, url: &str, file: &str) -> Result<(), Error> {
    let mirrors = string_list(doc, "registry-mirrors", file)?;
    let already_first = mirrors
        .first()
        .and_then(Value::as_str)
        .is_some_and(|first| first == url);
    let others: Vec<Value> = mirrors
        .iter()
        .filter(|m| !m.as_str().is_some_and(|m| same_url(m, url)))
        .cloned()
        .collect();
    if already_first && others.len() + 1 == mirrors.len() {
        return Ok(());
    }
    let mut list = vec![Value::String(url.to_owned())];
    list.extend(others);
    *mirrors = list;
    Ok(())
}

/// Make sure `url` is one of the `registry-mirrors`, appended after any
/// (such as the buildset registry) already there.
pub fn add_mirror(doc: &mut DaemonJson, url: &str, file: &str) -> Result<(), Error> {
    let mirrors = string_list(doc, "registry-mirrors", file)?;
    if !mirrors
        .iter()
        .any(|m| m.as_str().is_some_and(|m| same_url(m, url)))
    {
        mirrors.push(Value::String(url.to_owned()));
    }
    Ok(())
}

/// Add each of `registries` to `insecure-registries` unless present.
pub fn add_insecure(doc: &mut DaemonJson, registries: &[String], file: &str) -> Result<(), Error> {
    if registries.is_empty() {
        return Ok(());
    }
    let list = string_list(doc, "insecure-registries", file)?;
    for registry in registries {
        if !list.iter().any(|r| r.as_str() == Some(registry)) {
            list.push(Value::String(registry.clone()));
        }
    }
    Ok(())
}

/// The top-level keys whose values differ between `before` and `after`.
pub fn changed_keys(before: &DaemonJson, after: &DaemonJson) -> Vec<String> {
    let mut keys: Vec<String> = after
        .iter()
        .filter(|(key, value)| before.get(*key) != Some(*value))
        .map(|(key, _)| key.clone())
        .collect();
    keys.extend(
        before
            .keys()
            .filter(|key| !after.contains_key(*key))
            .cloned(),
    );
    keys
}

/// Whether applying `keys` needs a daemon restart rather than a reload.
pub fn needs_restart(keys: &[String]) -> bool {
    keys.iter().any(|key| !RELOADABLE.contains(&key.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(value: Value) -> DaemonJson {
        value.as_object().unwrap().clone()
    }

    /// Found by the `daemon_json` fuzz target: a long number read as the
    /// nearest f64 rendered differently once edited again (serde_json's
    /// fast float parsing is not exact; `float_roundtrip` is).
    #[test]
    fn a_long_number_reads_back_the_same_after_an_edit() {
        let edit = |text: &str| {
            let mut doc = parse("daemon.json", text).unwrap();
            add_insecure(
                &mut doc,
                &["zuul-jobs.buildset-registry:5000".into()],
                "daemon.json",
            )
            .unwrap();
            render(&doc)
        };
        let text = format!("{{\"mtu\": 1400, \"x\": [\"a\", {}]}}", "6".repeat(50));
        let once = edit(&text);
        assert_eq!(edit(&once), once);
    }

    #[test]
    fn mirror_goes_first_and_site_mirrors_stay() {
        let url = "https://zuul-jobs.buildset-registry:5000/";
        for (before, after) in [
            (json!({}), json!({"registry-mirrors": [url]})),
            (
                json!({"registry-mirrors": ["http://mirror:8082"]}),
                json!({"registry-mirrors": [url, "http://mirror:8082"]}),
            ),
            (
                json!({"registry-mirrors": ["http://m", "https://zuul-jobs.buildset-registry:5000"]}),
                json!({"registry-mirrors": [url, "http://m"]}),
            ),
            (
                json!({"registry-mirrors": [url, url]}),
                json!({"registry-mirrors": [url]}),
            ),
            (
                json!({"debug": true, "registry-mirrors": null}),
                json!({"debug": true, "registry-mirrors": [url]}),
            ),
        ] {
            let mut got = doc(before.clone());
            put_mirror_first(&mut got, url, "d").unwrap();
            assert_eq!(Value::Object(got.clone()), after, "{before}");
            let again = got.clone();
            put_mirror_first(&mut got, url, "d").unwrap();
            assert_eq!(got, again);
        }
    }

    #[test]
    fn key_order_is_kept() {
        let mut got = parse("d", r#"{"z": 1, "registry-mirrors": [], "a": 2}"#).unwrap();
        put_mirror_first(&mut got, "https://m/", "d").unwrap();
        assert_eq!(
            render(&got),
            "{\n  \"z\": 1,\n  \"registry-mirrors\": [\n    \"https://m/\"\n  ],\n  \"a\": 2\n}\n"
        );
    }

    #[test]
    fn bad_files_name_the_line() {
        let err = parse("/etc/docker/daemon.json", "{\n  \"a\": 1,\n  b\n}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("failed to parse `/etc/docker/daemon.json` at line 3"),
            "{err}"
        );
        assert!(parse("d", "[]").is_err());
        assert!(parse("d", "  \n").unwrap().is_empty());
        let mut wrong = doc(json!({"registry-mirrors": "https://m"}));
        let err = put_mirror_first(&mut wrong, "https://x/", "d").unwrap_err();
        assert!(err.to_string().contains("`registry-mirrors`"), "{err}");
    }

    #[test]
    fn reload_or_restart() {
        let before = doc(json!({"mtu": 1500, "registry-mirrors": []}));
        let mirrors = doc(json!({"mtu": 1500, "registry-mirrors": ["https://m/"]}));
        let keys = changed_keys(&before, &mirrors);
        assert_eq!(keys, ["registry-mirrors"]);
        assert!(!needs_restart(&keys));
        let mtu = doc(json!({"mtu": 1400, "registry-mirrors": []}));
        assert!(needs_restart(&changed_keys(&before, &mtu)));
        let removed = doc(json!({"registry-mirrors": []}));
        assert_eq!(changed_keys(&before, &removed), ["mtu"]);
    }

    #[test]
    fn insecure_and_plain_mirrors_are_added_once() {
        let mut got = doc(json!({"registry-mirrors": ["https://b/"]}));
        add_mirror(&mut got, "http://m:8082", "d").unwrap();
        add_mirror(&mut got, "http://m:8082/", "d").unwrap();
        add_insecure(&mut got, &["m:8082".into()], "d").unwrap();
        add_insecure(&mut got, &["m:8082".into()], "d").unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"registry-mirrors": ["https://b/", "http://m:8082"], "insecure-registries": ["m:8082"]})
        );
    }
}
