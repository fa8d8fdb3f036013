//! Return data, merged exactly as Zuul's `zuul_return` merges it.
//!
//! The envelope is `{"data": {…}, "secret_data": {…}}`. A merge deep-merges
//! dicts and replaces every other value, except these keys under `zuul`:
//! `artifacts`, `warnings` and `redactions` put the newer call's entries
//! first, and `file_comments` extends each file's list (older entries
//! first); a truthy `retry` from the newer call is kept. The test suite
//! checks this against Zuul's own `zuul_return` plugin. Both halves are schema-checked
//! before anything is written, and the file is replaced atomically with
//! mode 0600 because `secret_data` holds passwords.

use super::Error;
use crate::fs;
use serde_json::{Map, Value};
use std::path::Path;

/// What a command returns to Zuul.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReturnData {
    pub data: Map<String, Value>,
    pub secret_data: Map<String, Value>,
}

impl ReturnData {
    /// Nothing to return (a skipped step): the results file is not touched.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.secret_data.is_empty()
    }

    /// The envelope, as Zuul writes it.
    pub fn to_value(&self) -> Value {
        let mut envelope = Map::new();
        envelope.insert("data".into(), Value::Object(self.data.clone()));
        envelope.insert(
            "secret_data".into(),
            Value::Object(self.secret_data.clone()),
        );
        Value::Object(envelope)
    }

    /// Read an envelope; `file` names the source in errors.
    pub fn from_value(file: &str, value: Value) -> Result<ReturnData, Error> {
        let fail = |message: String| Error::Results {
            file: file.to_owned(),
            message,
        };
        let Value::Object(mut envelope) = value else {
            return Err(fail(
                "expected a JSON object `{\"data\": …, \"secret_data\": …}`".into(),
            ));
        };
        if let Some(key) = envelope
            .keys()
            .find(|key| *key != "data" && *key != "secret_data")
        {
            return Err(fail(format!(
                "unexpected top-level key `{key}`; expected only `data` and `secret_data`"
            )));
        }
        let mut half = |key: &str| match envelope.remove(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map),
            Some(other) => Err(fail(format!(
                "`{key}` must be an object, not {}",
                super::vars::kind_of(&other)
            ))),
        };
        Ok(ReturnData {
            data: half("data")?,
            secret_data: half("secret_data")?,
        })
    }

    /// Merge `new` into `self` with zuul_return's rules.
    pub fn merge(&mut self, new: &ReturnData) {
        merge(&new.data, &mut self.data);
        merge(&new.secret_data, &mut self.secret_data);
    }

    /// The schema Zuul enforces on both halves.
    pub fn validate(&self) -> Result<(), Error> {
        validate(&self.data, "data")?;
        validate(&self.secret_data, "secret_data")
    }

    /// `data.zuul.<key> = value`.
    pub fn set_zuul(&mut self, key: &str, value: Value) {
        let zuul = self
            .data
            .entry("zuul")
            .or_insert_with(|| Value::Object(Map::new()));
        if !zuul.is_object() {
            *zuul = Value::Object(Map::new());
        }
        if let Value::Object(zuul) = zuul {
            zuul.insert(key.to_owned(), value);
        }
    }
}

fn zuul_list(map: &Map<String, Value>, key: &str) -> Vec<Value> {
    match map.get("zuul").and_then(|zuul| zuul.get(key)) {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

/// `merge(new, existing)` as Zuul implements it.
pub fn merge(new: &Map<String, Value>, existing: &mut Map<String, Value>) {
    let mut artifacts = zuul_list(new, "artifacts");
    artifacts.extend(zuul_list(existing, "artifacts"));
    let mut warnings = zuul_list(new, "warnings");
    warnings.extend(zuul_list(existing, "warnings"));
    let mut redactions = zuul_list(new, "redactions");
    redactions.extend(zuul_list(existing, "redactions"));
    let mut file_comments = match existing
        .get("zuul")
        .and_then(|zuul| zuul.get("file_comments"))
    {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    if let Some(Value::Object(new_comments)) =
        new.get("zuul").and_then(|zuul| zuul.get("file_comments"))
    {
        for (file, comments) in new_comments {
            let entry = file_comments
                .entry(file.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            match (entry, comments) {
                (Value::Array(list), Value::Array(more)) => list.extend(more.iter().cloned()),
                (entry, comments) => *entry = comments.clone(),
            }
        }
    }
    let retry = new.get("zuul").and_then(|zuul| zuul.get("retry")).cloned();

    deep_merge(new, existing);

    let put_back = |existing: &mut Map<String, Value>, key: &str, value: Value| {
        if let Some(Value::Object(zuul)) = existing.get_mut("zuul") {
            zuul.insert(key.to_owned(), value);
        }
    };
    if !artifacts.is_empty() {
        put_back(existing, "artifacts", Value::Array(artifacts));
    }
    if !file_comments.is_empty() {
        put_back(existing, "file_comments", Value::Object(file_comments));
    }
    if !warnings.is_empty() {
        put_back(existing, "warnings", Value::Array(warnings));
    }
    if !redactions.is_empty() {
        put_back(existing, "redactions", Value::Array(redactions));
    }
    if let Some(retry) = retry.filter(truthy) {
        put_back(existing, "retry", retry);
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Dicts recurse; anything else from `new` replaces what is there.
fn deep_merge(new: &Map<String, Value>, existing: &mut Map<String, Value>) {
    for (key, value) in new {
        match (existing.get_mut(key), value) {
            (Some(Value::Object(old)), Value::Object(new_map)) => deep_merge(new_map, old),
            _ => {
                existing.insert(key.clone(), value.clone());
            }
        }
    }
}

fn validate(half: &Map<String, Value>, name: &str) -> Result<(), Error> {
    let fail = |path: String, message: &str| Error::Schema {
        path,
        message: message.to_owned(),
    };
    for key in half.keys() {
        let valid = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(fail(
                format!("{name}.{key}"),
                "is not a valid variable name",
            ));
        }
    }
    let Some(zuul) = half.get("zuul") else {
        return Ok(());
    };
    let Value::Object(zuul) = zuul else {
        return Err(fail(format!("{name}.zuul"), "must be a dict"));
    };
    if let Some(artifacts) = zuul.get("artifacts") {
        let Value::Array(artifacts) = artifacts else {
            return Err(fail(format!("{name}.zuul.artifacts"), "must be a list"));
        };
        for (index, artifact) in artifacts.iter().enumerate() {
            let path = format!("{name}.zuul.artifacts[{index}]");
            let Value::Object(artifact) = artifact else {
                return Err(fail(path, "must be a dict"));
            };
            for required in ["name", "url"] {
                if !artifact.get(required).is_some_and(Value::is_string) {
                    return Err(fail(
                        format!("{path}.{required}"),
                        "is required and must be a string",
                    ));
                }
            }
            if artifact.get("metadata").is_some_and(|m| !m.is_object()) {
                return Err(fail(format!("{path}.metadata"), "must be a dict"));
            }
        }
    }
    if let Some(warnings) = zuul.get("warnings") {
        let ok = warnings
            .as_array()
            .is_some_and(|w| w.iter().all(Value::is_string));
        if !ok {
            return Err(fail(
                format!("{name}.zuul.warnings"),
                "must be a list of strings",
            ));
        }
    }
    if zuul.get("log_url").is_some_and(|url| !url.is_string()) {
        return Err(fail(format!("{name}.zuul.log_url"), "must be a string"));
    }
    Ok(())
}

/// Read a results file: missing or empty is `{}`; anything unparseable is
/// an error naming the file.
pub fn read(path: &Path) -> Result<ReturnData, Error> {
    let name = path.display().to_string();
    let text = fs::read_optional(path)?.unwrap_or_default();
    if text.trim().is_empty() {
        return Ok(ReturnData::default());
    }
    let value: Value = serde_json::from_str(&text).map_err(|err| Error::Results {
        file: name.clone(),
        message: format!("invalid JSON at line {}: {err}", err.line()),
    })?;
    ReturnData::from_value(&name, value)
}

/// A results file must be in a directory that exists: Zuul hands the job
/// one path, and a wrong one (a missing directory) would swallow the data
/// silently. Checked up front, before any effect; nothing is created.
pub fn check_path(path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let problem = match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => format!("`{}` is not a directory", dir.display()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            format!("its directory `{}` does not exist", dir.display())
        }
        Err(err) => format!("cannot use its directory `{}`: {err}", dir.display()),
    };
    Err(Error::Results {
        file: path.display().to_string(),
        message: problem,
    })
}

/// Merge `new` into the results file at `path` and write it atomically.
/// Nothing is written when the file is invalid or the result fails the
/// schema. As in Zuul, the merged result is what is checked: a non-list
/// `warnings` in `new` counts as empty and is not an error by itself.
pub fn merge_into_file(path: &Path, new: &ReturnData) -> Result<(), Error> {
    check_path(path)?;
    let mut merged = read(path)?;
    merged.merge(new);
    merged.validate()?;
    let text = merged.to_value().to_string();
    Ok(fs::write_atomic(path, text.as_bytes(), fs::PRIVATE)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn merged(existing: Value, new: Value) -> Value {
        let mut existing = map(existing);
        merge(&map(new), &mut existing);
        Value::Object(existing)
    }

    #[test]
    fn results_paths_need_an_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_path(&dir.path().join("results.json")).is_ok());
        assert!(check_path(Path::new("results.json")).is_ok());
        let missing = dir.path().join("missing/results.json");
        let err = check_path(&missing).unwrap_err().to_string();
        assert!(err.contains("does not exist"), "{err}");
        assert!(!dir.path().join("missing").exists());
        std::fs::write(dir.path().join("file"), "").unwrap();
        let err = check_path(&dir.path().join("file/results.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a directory"), "{err}");
    }

    #[test]
    fn artifacts_newest_first() {
        let a = json!({"name": "a", "url": "u1"});
        let b = json!({"name": "b", "url": "u2"});
        let c = json!({"name": "c", "url": "u3"});
        let out = merged(
            json!({"zuul": {"artifacts": [a]}}),
            json!({"zuul": {"artifacts": [b, c]}}),
        );
        assert_eq!(out["zuul"]["artifacts"], json!([b, c, a]));
    }

    #[test]
    fn warnings_newest_first_and_non_lists_count_as_empty() {
        let out = merged(
            json!({"zuul": {"warnings": ["old"]}}),
            json!({"zuul": {"warnings": ["new"]}}),
        );
        assert_eq!(out["zuul"]["warnings"], json!(["new", "old"]));
        let out = merged(
            json!({"zuul": {"warnings": ["old"]}}),
            json!({"zuul": {"warnings": "oops"}}),
        );
        assert_eq!(out["zuul"]["warnings"], json!(["old"]));
    }

    #[test]
    fn file_comments_extend_per_file_older_first() {
        let out = merged(
            json!({"zuul": {"file_comments": {"a.py": [{"line": 1}], "b.py": [{"line": 2}]}}}),
            json!({"zuul": {"file_comments": {"a.py": [{"line": 3}], "c.py": [{"line": 4}]}}}),
        );
        assert_eq!(
            out["zuul"]["file_comments"],
            json!({"a.py": [{"line": 1}, {"line": 3}], "b.py": [{"line": 2}], "c.py": [{"line": 4}]})
        );
    }

    #[test]
    fn other_lists_are_replaced_and_dicts_deep_merged() {
        let out = merged(
            json!({"zuul": {"child_jobs": ["a", "b"], "pause": true}, "x": {"k": 1, "l": [1]}, "y": 1}),
            json!({"zuul": {"child_jobs": ["c"]}, "x": {"l": [2], "m": 3}}),
        );
        assert_eq!(out["zuul"]["child_jobs"], json!(["c"]));
        assert_eq!(out["zuul"]["pause"], json!(true));
        assert_eq!(out["x"], json!({"k": 1, "l": [2], "m": 3}));
        assert_eq!(out["y"], json!(1));
    }

    #[test]
    fn retry_truthy_kept_false_by_deep_merge() {
        assert_eq!(
            merged(json!({}), json!({"zuul": {"retry": true}}))["zuul"]["retry"],
            json!(true)
        );
        assert_eq!(
            merged(
                json!({"zuul": {"retry": true}}),
                json!({"zuul": {"retry": false}})
            )["zuul"]["retry"],
            json!(false)
        );
    }

    #[test]
    fn schema_rejects_bad_artifacts_and_warnings() {
        for (data, want) in [
            (
                json!({"zuul": {"artifacts": [{"name": "x"}]}}),
                "data.zuul.artifacts[0].url",
            ),
            (
                json!({"zuul": {"artifacts": [{"name": 1, "url": "u"}]}}),
                "data.zuul.artifacts[0].name",
            ),
            (
                json!({"zuul": {"artifacts": [{"name": "n", "url": "u", "metadata": []}]}}),
                "data.zuul.artifacts[0].metadata",
            ),
            (json!({"zuul": {"artifacts": {}}}), "data.zuul.artifacts"),
            (json!({"zuul": {"warnings": [1]}}), "data.zuul.warnings"),
            (json!({"zuul": {"log_url": 1}}), "data.zuul.log_url"),
            (json!({"zuul": []}), "data.zuul"),
            (json!({"bad-name": 1}), "data.bad-name"),
        ] {
            let ret = ReturnData {
                data: map(data.clone()),
                ..ReturnData::default()
            };
            let err = ret.validate().unwrap_err().to_string();
            assert!(err.contains(&format!("`{want}`")), "{data}: {err}");
        }
        let ok = ReturnData {
            data: map(
                json!({"zuul": {"artifacts": [{"name": "n", "url": "u", "metadata": {}}], "warnings": ["w"]}}),
            ),
            ..ReturnData::default()
        };
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        std::fs::write(&path, "").unwrap();
        let mut first = ReturnData::default();
        first.set_zuul("pause", json!(true));
        first.secret_data.insert(
            "buildset_registry".into(),
            json!({"host": "h", "port": "5000"}),
        );
        merge_into_file(&path, &first).unwrap();
        let mut second = ReturnData::default();
        second.set_zuul("artifacts", json!([{"name": "n", "url": "u"}]));
        merge_into_file(&path, &second).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            r#"{"data":{"zuul":{"pause":true,"artifacts":[{"name":"n","url":"u"}]}},"secret_data":{"buildset_registry":{"host":"h","port":"5000"}}}"#
        );
    }

    #[test]
    fn invalid_file_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        std::fs::write(&path, "{not json").unwrap();
        let mut new = ReturnData::default();
        new.set_zuul("pause", json!(true));
        let err = merge_into_file(&path, &new).unwrap_err();
        assert!(err.to_string().contains("results.json"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{not json");
    }
}
