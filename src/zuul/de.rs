//! Serde helpers for values Ansible templating may hand over as a string or
//! a number (`port: "5000"`, `change: 1003`, `tags: [3.12]`).

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A string, or a number or boolean turned into its string form.
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

/// Deserialize a TCP port given as an integer or a string of digits.
pub fn port<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    let raw = StringLike::deserialize(deserializer)?.0;
    raw.trim()
        .parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| de::Error::custom(format!("`{raw}` is not a port number (1-65535)")))
}

/// Deserialize an optional port.
pub fn opt_port<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u16>, D::Error> {
    #[derive(Deserialize)]
    struct P(#[serde(deserialize_with = "port")] u16);
    Ok(Option::<P>::deserialize(deserializer)?.map(|p| p.0))
}
