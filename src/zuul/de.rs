//! The one set of serde helpers for values as Ansible hands them over:
//! strings that are numbers (`port: "5000"`, `change: 1003`, `tags: [3.12]`),
//! booleans as Ansible's `bool` reads them (`yes`, `"True"`, `on`, `1`),
//! package lists given as one string (`"docker.io,containerd"`), and ports.
//! Every input struct uses these; nothing else parses such values by hand.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A string, or a number turned into its string form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringLike(pub String);

impl<'de> Deserialize<'de> for StringLike {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StringLike, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StringLike;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringLike, E> {
                Ok(StringLike(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StringLike, E> {
                Ok(StringLike(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StringLike, E> {
                Ok(StringLike(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<StringLike, E> {
                Ok(StringLike(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Deserialize an optional string-like value into `Option<String>`.
pub fn opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<StringLike>::deserialize(deserializer)?.map(|s| s.0))
}

/// Deserialize a list of string-like values.
pub fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(Vec::<StringLike>::deserialize(deserializer)?
        .into_iter()
        .map(|s| s.0)
        .collect())
}

/// A list of names as Ansible's `list` module arguments take it (package
/// lists): a list, or one string of names separated by commas or white
/// space (`"docker.io"`, `"docker-ce, docker-ce-cli"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameList(pub Vec<String>);

impl<'de> Deserialize<'de> for NameList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NameList, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            One(String),
            Many(Vec<StringLike>),
        }
        let given = Given::deserialize(deserializer).map_err(|_| {
            de::Error::custom(
                "expected a list of names, or one string of names separated by commas or spaces",
            )
        })?;
        Ok(NameList(match given {
            Given::One(text) => text
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect(),
            Given::Many(list) => list.into_iter().map(|s| s.0).collect(),
        }))
    }
}

/// Deserialize an optional [`NameList`] into `Option<Vec<String>>`.
pub fn opt_name_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<NameList>::deserialize(deserializer)?.map(|list| list.0))
}

/// A boolean as Ansible's `bool` filter reads it: `true`/`false`, a number
/// (0 is false), or a string `yes/no`, `true/false` (any case), `on/off`,
/// `y/n`, `t/f`, `1/0`; the empty string is false.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnsibleBool(pub bool);

impl<'de> Deserialize<'de> for AnsibleBool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AnsibleBool, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AnsibleBool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true or false (or yes/no, on/off, 1/0)")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AnsibleBool, E> {
                Ok(AnsibleBool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AnsibleBool, E> {
                Ok(AnsibleBool(v != 0))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AnsibleBool, E> {
                Ok(AnsibleBool(v != 0))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<AnsibleBool, E> {
                Ok(AnsibleBool(v != 0.0))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AnsibleBool, E> {
                match v.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" | "1" | "y" | "t" => Ok(AnsibleBool(true)),
                    "false" | "no" | "off" | "0" | "n" | "f" | "" => Ok(AnsibleBool(false)),
                    _ => Err(E::custom(format!(
                        "expected true or false (or yes/no, on/off, 1/0), found `{v}`"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Deserialize an optional [`AnsibleBool`] into `Option<bool>`.
pub fn opt_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(Option::<AnsibleBool>::deserialize(deserializer)?.map(|b| b.0))
}

/// A TCP port given as an integer or a string of digits, 1-65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port(pub u16);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Port, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port number (1-65535)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Port, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Port, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Port, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Port, E> {
                v.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|port| *port != 0)
                    .map(Port)
                    .ok_or_else(|| E::custom(format!("`{v}` is not a port number (1-65535)")))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Deserialize a port.
pub fn port<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    Ok(Port::deserialize(deserializer)?.0)
}

/// Deserialize an optional port.
pub fn opt_port<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u16>, D::Error> {
    Ok(Option::<Port>::deserialize(deserializer)?.map(|p| p.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse<T: for<'de> Deserialize<'de>>(value: Value) -> Result<T, String> {
        serde_json::from_value(value).map_err(|err| err.to_string())
    }

    #[test]
    fn ansible_booleans() {
        for (value, want) in [
            (json!(true), true),
            (json!(false), false),
            (json!("yes"), true),
            (json!("True"), true),
            (json!("on"), true),
            (json!("1"), true),
            (json!(1), true),
            (json!("no"), false),
            (json!("False"), false),
            (json!("off"), false),
            (json!("0"), false),
            (json!(0), false),
            (json!(""), false),
        ] {
            assert_eq!(
                parse::<AnsibleBool>(value.clone()),
                Ok(AnsibleBool(want)),
                "{value}"
            );
        }
        for value in [json!("maybe"), json!([true]), json!({"a": 1})] {
            let err = parse::<AnsibleBool>(value.clone()).unwrap_err();
            assert!(err.contains("expected true or false"), "{value}: {err}");
        }
    }

    #[test]
    fn name_lists_from_a_list_or_one_string() {
        for (value, want) in [
            (
                json!(["docker.io", "containerd"]),
                vec!["docker.io", "containerd"],
            ),
            (json!("docker.io"), vec!["docker.io"]),
            (
                json!("docker-ce, docker-ce-cli"),
                vec!["docker-ce", "docker-ce-cli"],
            ),
            (json!("a b\tc"), vec!["a", "b", "c"]),
            (json!(""), vec![]),
            (json!([]), vec![]),
        ] {
            assert_eq!(parse::<NameList>(value.clone()).unwrap().0, want, "{value}");
        }
        for value in [json!(1), json!({"a": 1}), json!([["nested"]])] {
            let err = parse::<NameList>(value.clone()).unwrap_err();
            assert!(err.contains("expected a list of names"), "{value}: {err}");
        }
    }

    #[test]
    fn ports() {
        for value in [json!(5000), json!("5000"), json!(" 5000 ")] {
            assert_eq!(parse::<Port>(value.clone()), Ok(Port(5000)), "{value}");
        }
        for value in [
            json!(0),
            json!(70000),
            json!("http"),
            json!(-1),
            json!(5000.5),
        ] {
            let err = parse::<Port>(value.clone()).unwrap_err();
            assert!(
                err.contains("is not a port number (1-65535)"),
                "{value}: {err}"
            );
        }
        let err = parse::<Port>(json!(true)).unwrap_err();
        assert!(err.contains("expected a port number"), "{err}");
    }
}
