//! The `storage: {s3: …}` section of `registry.yaml` and its resolution:
//! endpoint (an `http://` endpoint is the only way to get plain HTTP),
//! bucket, region, key prefix, and the access keys, from the file or from
//! `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (never from a flag). Keys
//! are [`Secret`]s from the moment they are read. Errors are input errors
//! and name the file and the setting. Pure.

use crate::secret::Secret;
use crate::server::config::Error;
use serde::{Deserialize, Serialize};

pub const DEFAULT_REGION: &str = "us-east-1";

/// The `storage:` section: where the registry keeps its content when not
/// under `root`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StorageFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3File>,
}

/// `storage.s3` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct S3File {
    #[serde(default)]
    pub endpoint: String,
    #[serde(default)]
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<Secret>,
}

/// The access keys found in the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`), read once by the command.
#[derive(Debug, Clone, Default)]
pub struct EnvKeys {
    pub access_key: Option<Secret>,
    pub secret_key: Option<Secret>,
}

impl EnvKeys {
    pub fn from_env() -> EnvKeys {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.is_empty())
                .map(Secret::new)
        };
        EnvKeys {
            access_key: read("AWS_ACCESS_KEY_ID"),
            secret_key: read("AWS_SECRET_ACCESS_KEY"),
        }
    }
}

/// Resolved S3 settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// `http://host:port` or `https://host[:port]`, without a trailing `/`.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// Key prefix inside the bucket, without leading or trailing `/`.
    pub prefix: String,
    pub access_key: Secret,
    pub secret_key: Secret,
}

impl S3Settings {
    /// Whether the endpoint is plain HTTP (allowed only when it says so).
    pub fn plain_http(&self) -> bool {
        self.endpoint.starts_with("http://")
    }

    /// `endpoint`, bucket `b` (and prefix), for messages and logs.
    pub fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("S3 `{}` bucket `{}`", self.endpoint, self.bucket)
        } else {
            format!(
                "S3 `{}` bucket `{}` prefix `{}`",
                self.endpoint, self.bucket, self.prefix
            )
        }
    }
}

impl S3File {
    /// Check and complete the section read from `file`.
    pub fn resolve(&self, file: &str, env: &EnvKeys) -> Result<S3Settings, Error> {
        let invalid = |message: String| Error::Invalid {
            file: file.to_owned(),
            message,
        };
        let endpoint = validate_endpoint(&self.endpoint).map_err(|message| {
            invalid(format!(
                "storage.s3.endpoint `{}`: {message}",
                crate::secret::redact_url(&self.endpoint)
            ))
        })?;
        if !valid_bucket(&self.bucket) {
            return Err(invalid(format!(
                "storage.s3.bucket `{}` is not a bucket name (3 to 63 of a-z, 0-9, `.` and `-`, starting and ending with a letter or digit)",
                self.bucket
            )));
        }
        let region = self.region.clone().unwrap_or_else(|| DEFAULT_REGION.into());
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(invalid(format!(
                "storage.s3.region `{region}` is not a region name"
            )));
        }
        let prefix = self
            .prefix
            .clone()
            .unwrap_or_default()
            .trim_matches('/')
            .to_owned();
        let prefix_ok = prefix.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
        if !prefix.is_empty() && !prefix_ok {
            return Err(invalid(format!(
                "storage.s3.prefix `{prefix}` must be path segments of letters, digits, `.`, `_` and `-`"
            )));
        }
        let key = |from_file: &Option<Secret>, from_env: &Option<Secret>, setting, var| {
            from_file
                .clone()
                .filter(|key| !key.is_empty())
                .or_else(|| from_env.clone())
                .ok_or_else(|| {
                    invalid(format!(
                        "no S3 {setting}: set `storage.s3.{setting}` in the file or `{var}` in the environment"
                    ))
                })
        };
        Ok(S3Settings {
            endpoint,
            bucket: self.bucket.clone(),
            region,
            prefix,
            access_key: key(
                &self.access_key,
                &env.access_key,
                "access-key",
                "AWS_ACCESS_KEY_ID",
            )?,
            secret_key: key(
                &self.secret_key,
                &env.secret_key,
                "secret-key",
                "AWS_SECRET_ACCESS_KEY",
            )?,
        })
    }
}

fn validate_endpoint(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|err| format!("not a URL ({err})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with `http://` or `https://`".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("names no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials: use `access-key` and `secret-key`".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("must be only a scheme, a host and a port (the bucket is `bucket`)".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn valid_bucket(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(endpoint: &str, bucket: &str) -> S3File {
        S3File {
            endpoint: endpoint.into(),
            bucket: bucket.into(),
            ..S3File::default()
        }
    }

    fn env() -> EnvKeys {
        EnvKeys {
            access_key: Some(Secret::new("AKID")),
            secret_key: Some(Secret::new("shh")),
        }
    }

    #[test]
    fn resolves_with_keys_from_the_file_or_the_environment() {
        let mut s3 = file("http://127.0.0.1:8333/", "zuul-registry");
        s3.prefix = Some("/site/a/".into());
        let settings = s3.resolve("r.yaml", &env()).unwrap();
        assert_eq!(settings.endpoint, "http://127.0.0.1:8333");
        assert_eq!(settings.prefix, "site/a");
        assert_eq!(settings.region, DEFAULT_REGION);
        assert!(settings.plain_http());
        assert_eq!(settings.secret_key.expose(), "shh");
        s3.secret_key = Some(Secret::new("from-file"));
        let settings = s3.resolve("r.yaml", &env()).unwrap();
        assert_eq!(settings.secret_key.expose(), "from-file");
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("from-file") && !debug.contains("AKID"),
            "{debug}"
        );
        let err = s3.resolve("r.yaml", &EnvKeys::default()).unwrap_err();
        assert!(
            err.to_string().contains("AWS_ACCESS_KEY_ID") && err.to_string().contains("r.yaml"),
            "{err}"
        );
    }

    #[test]
    fn bad_settings_name_themselves() {
        for (s3, needle) in [
            (file("ftp://h", "bucket"), "storage.s3.endpoint"),
            (file("http://u:pw@h:1", "bucket"), "credentials"),
            (file("http://h:1/bucket", "bucket"), "only a scheme"),
            (file("http://h:1", "B"), "storage.s3.bucket"),
            (file("http://h:1", "-bucket"), "storage.s3.bucket"),
        ] {
            let err = s3.resolve("r.yaml", &env()).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains("r.yaml"), "{err}");
            assert!(!err.contains(":pw@"), "{err}");
        }
        let mut s3 = file("https://s3.example.org", "bucket");
        s3.prefix = Some("a/../b".into());
        assert!(
            s3.resolve("r.yaml", &env())
                .unwrap_err()
                .to_string()
                .contains("prefix")
        );
    }
}
