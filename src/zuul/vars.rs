//! Loading job variables: `--vars FILE` (JSON or YAML, told apart by content;
//! `-` is stdin) and `-e KEY=VALUE`, merged per top-level key with later
//! sources winning, and typed access that reports errors by key path.

use super::Error;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// All variables of a run, with where each top-level key came from.
#[derive(Debug, Default, Clone)]
pub struct Vars {
    values: Map<String, Value>,
    origins: HashMap<String, String>,
}

impl Vars {
    /// Load `files` in order, then `extra` (`KEY=VALUE`); later wins.
    pub fn load(files: &[PathBuf], extra: &[String]) -> Result<Vars, Error> {
        let mut vars = Vars::default();
        for file in files {
            let (name, text) = read_source(file)?;
            vars.merge(parse_document(&name, &text)?, &name);
        }
        for item in extra {
            let (key, value) = parse_extra(item)?;
            vars.set(&key, value, "-e");
        }
        Ok(vars)
    }

    /// Variables from an in-memory map (tests, flags).
    pub fn from_map(values: Map<String, Value>) -> Vars {
        Vars {
            values,
            origins: HashMap::new(),
        }
    }

    fn merge(&mut self, doc: Map<String, Value>, origin: &str) {
        for (key, value) in doc {
            self.set(&key, value, origin);
        }
    }

    /// Set one top-level variable; `origin` names its source in errors.
    pub fn set(&mut self, key: &str, value: Value, origin: &str) {
        self.origins.insert(key.to_owned(), origin.to_owned());
        self.values.insert(key.to_owned(), value);
    }

    /// The raw value; `null` counts as absent, as an undefined Ansible var.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|value| !value.is_null())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Deserialize variable `name`, or `None` when it is absent. Errors name
    /// the key path (`docker_images[1].repository`) and the source.
    pub fn typed<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, Error> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        deserialize_at(name, value, self.origins.get(name).cloned()).map(Some)
    }

    /// Deserialize `T` from all variables at once: each field of `T` names
    /// a variable (nested structs read parts of one, `zuul.build`); `null`
    /// counts as absent and variables `T` has no field for are not looked
    /// at, so a malformed variable fails only the commands that read it.
    /// Errors name the key path and where the variable came from.
    pub fn section<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let set: Map<String, Value> = self
            .values
            .iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        serde_path_to_error::deserialize(Value::Object(set)).map_err(|err| {
            let path = err.path().to_string();
            let name = path.split(['.', '[']).next().unwrap_or_default();
            Error::Invalid {
                origin: self.origins.get(name).cloned(),
                path: if path == "." {
                    "variables".into()
                } else {
                    path
                },
                message: err.into_inner().to_string(),
            }
        })
    }

    /// Like [`Vars::typed`], failing when the variable is absent.
    pub fn required<T: DeserializeOwned>(&self, name: &str, command: &str) -> Result<T, Error> {
        self.typed(name)?.ok_or_else(|| Error::Missing {
            name: name.to_owned(),
            command: command.to_owned(),
        })
    }

    /// Where a variable came from (`vars.yaml`, `-e`, `stdin`).
    pub fn origin(&self, name: &str) -> Option<&str> {
        self.origins.get(name).map(String::as_str)
    }

    /// An input error for `path` inside variable `name`.
    pub fn invalid(&self, name: &str, path: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: path.to_owned(),
            origin: self.origins.get(name).cloned(),
            message: message.into(),
        }
    }
}

/// Deserialize `value` reporting errors as `name.path: message`.
pub fn deserialize_at<T: DeserializeOwned>(
    name: &str,
    value: &Value,
    origin: Option<String>,
) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let inner = err.path().to_string();
        let path = if inner == "." {
            name.to_owned()
        } else if inner.starts_with('[') {
            format!("{name}{inner}")
        } else {
            format!("{name}.{inner}")
        };
        Error::Invalid {
            path,
            origin,
            message: err.into_inner().to_string(),
        }
    })
}

fn read_source(file: &Path) -> Result<(String, String), Error> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|err| Error::Parse {
                file: "stdin".into(),
                line: None,
                message: err.to_string(),
            })?;
        return Ok(("stdin".into(), text));
    }
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|err| Error::Parse {
        file: name.clone(),
        line: None,
        message: format!("cannot read it: {err}"),
    })?;
    Ok((name, text))
}

/// Parse a vars document: JSON when it opens with `{` or `[`, else YAML.
pub fn parse_document(name: &str, text: &str) -> Result<Map<String, Value>, Error> {
    let trimmed = text.trim_start();
    let value: Value = if trimmed.is_empty() {
        Value::Object(Map::new())
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // A document that opens like JSON is JSON: falling back to YAML would
        // quietly accept broken JSON (`{"b": }` is a valid YAML flow mapping).
        serde_json::from_str(text).map_err(|err| Error::Parse {
            file: name.to_owned(),
            line: Some(err.line()),
            message: format!("invalid JSON: {err}"),
        })?
    } else {
        serde_yaml_ng::from_str(text).map_err(|err| Error::Parse {
            file: name.to_owned(),
            line: err.location().map(|l| l.line()),
            message: format!("invalid YAML: {err}"),
        })?
    };
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(Error::NotMapping {
            file: name.to_owned(),
            found: kind_of(&other).to_owned(),
        }),
    }
}

fn parse_extra(item: &str) -> Result<(String, Value), Error> {
    let (key, raw) = item
        .split_once('=')
        .ok_or_else(|| Error::ExtraVar(item.to_owned()))?;
    let key = key.trim();
    let valid_name = |name: &str| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
    if valid_name(key) {
        return Ok((key.to_owned(), value));
    }
    let path: Vec<&str> = key.split('.').collect();
    if path.len() > 1 && path.iter().all(|name| valid_name(name)) {
        return Err(nested_extra_var(&path, value));
    }
    Err(Error::ExtraVar(item.to_owned()))
}

/// The error for `-e a.b=value`: `-e` sets whole top-level variables; say
/// how to set the nested key, without repeating a value that looks secret.
fn nested_extra_var(path: &[&str], value: Value) -> Error {
    let secret = path.iter().any(|name| {
        let name = name.to_ascii_lowercase();
        ["pass", "token", "secret", "auth", "key"]
            .iter()
            .any(|word| name.contains(word))
    });
    let leaf = if secret {
        Value::String("VALUE".into())
    } else {
        value
    };
    let nested = path[1..]
        .iter()
        .rev()
        .fold(leaf, |inner, name| serde_json::json!({ *name: inner }));
    Error::NestedExtraVar {
        key: path.join("."),
        top: path[0].to_owned(),
        example: format!("{}={nested}", path[0]),
    }
}

/// A short name for a JSON value's type, for error messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_and_yaml_by_content() {
        let json_doc = parse_document("a.yaml", r#"{"x": 1}"#).unwrap();
        assert_eq!(json_doc["x"], json!(1));
        let yaml_doc = parse_document("b.json", "x: 1\ny: [a, b]\n").unwrap();
        assert_eq!(yaml_doc["y"], json!(["a", "b"]));
        assert!(parse_document("c", "{x: 1}").is_err());
        assert!(parse_document("d", "").unwrap().is_empty());
    }

    #[test]
    fn parse_errors_name_file_and_line() {
        let err = parse_document("vars.json", "{\n\"a\": 1,\n\"b\": }\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`vars.json` at line 3"), "{text}");
        let err = parse_document("vars.yaml", "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.to_string().contains("`vars.yaml` at line"), "{err}");
        let err = parse_document("list.yaml", "- a\n- b\n").unwrap_err();
        assert!(err.to_string().contains("not a list"), "{err}");
    }

    #[test]
    fn extra_vars() {
        for (item, key, value) in [
            ("a=1", "a", json!(1)),
            ("a=hello", "a", json!("hello")),
            ("a={\"p\":5000}", "a", json!({"p": 5000})),
            ("a=", "a", json!("")),
            ("a=x=y", "a", json!("x=y")),
        ] {
            assert_eq!(
                parse_extra(item).unwrap(),
                (key.to_owned(), value),
                "{item}"
            );
        }
        for item in ["novalue", "=1", "a b=1", "1a=2", "a..b=1", ".a=1"] {
            let err = parse_extra(item).unwrap_err();
            assert!(matches!(err, Error::ExtraVar(_)), "{item}: {err}");
        }
    }

    /// Issue 9: `-e zuul.build=x` was refused as "not KEY=VALUE".
    #[test]
    fn issue_9_nested_extra_vars_say_how_to_set_them() {
        let err = parse_extra("zuul.build=x").unwrap_err().to_string();
        assert!(
            err.starts_with("`-e zuul.build=…`: `-e` sets top-level variables"),
            "{err}"
        );
        assert!(err.contains(r#"-e 'zuul={"build":"x"}'"#), "{err}");
        assert!(err.contains("--vars FILE"), "{err}");
        assert!(err.contains("replaces all of `zuul`"), "{err}");
        let err = parse_extra("zuul.executor.log_root=/tmp/l")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(r#"zuul={"executor":{"log_root":"/tmp/l"}}"#),
            "{err}"
        );
        let err = parse_extra("intermediate_registry.password=hunter2")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            err.contains(r#"intermediate_registry={"password":"VALUE"}"#),
            "{err}"
        );
    }

    #[test]
    fn later_sources_win_and_errors_carry_paths() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("one.yaml");
        let second = dir.path().join("two.json");
        std::fs::write(&first, "a: 1\nb: 1\n").unwrap();
        std::fs::write(&second, r#"{"b": 2, "c": [{"x": "s"}]}"#).unwrap();
        let vars = Vars::load(&[first, second.clone()], &["a=3".into()]).unwrap();
        assert_eq!(vars.get("a"), Some(&json!(3)));
        assert_eq!(vars.get("b"), Some(&json!(2)));
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct X {
            x: u32,
        }
        let err = vars.typed::<Vec<X>>("c").unwrap_err().to_string();
        assert!(err.starts_with("`c[0].x` (from "), "{err}");
        assert!(err.contains("two.json"), "{err}");
    }

    #[test]
    fn a_section_reads_only_its_own_variables() {
        #[derive(serde::Deserialize, Debug, Default)]
        #[serde(default)]
        struct Section {
            a: Option<u32>,
            c: Vec<Inner>,
        }
        #[derive(serde::Deserialize, Debug, Default)]
        struct Inner {
            #[serde(deserialize_with = "crate::zuul::de::opt_string")]
            x: Option<String>,
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.yaml");
        std::fs::write(&file, "c: [{x: s}, {x: [1]}]\n").unwrap();
        let extra = [
            "a=null".to_owned(),
            "unrelated={\"any\": [\"shape\"]}".to_owned(),
        ];
        let vars = Vars::load(&[file], &extra).unwrap();
        let err = vars.section::<Section>().unwrap_err().to_string();
        assert!(err.starts_with("`c[1].x` (from "), "{err}");
        assert!(err.contains("v.yaml"), "{err}");
        let vars = Vars::load(&[], &["c=[{\"x\": 1}]".to_owned()]).unwrap();
        let section: Section = vars.section().unwrap();
        assert_eq!((section.a, section.c[0].x.as_deref()), (None, Some("1")));
        let vars = Vars::load(&[], &extra).unwrap();
        let section: Section = vars.section().unwrap();
        assert_eq!((section.a, section.c.len()), (None, 0));
    }
}
