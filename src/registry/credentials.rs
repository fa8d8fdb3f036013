//! Where credentials for a registry come from when the variables do not
//! give them: `~/.docker/config.json` (`auths`, `credHelpers`, `credsStore`,
//! with helpers run as `docker-credential-<name> get` and the server name on
//! stdin) and podman's `auth.json`.
//!
//! Only reads: it never writes a config file, never puts a secret on a
//! command line and never logs one. File locations are passed in
//! ([`CredentialStore`]); [`CredentialStore::from_env`] is the one place
//! that looks at `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`
//! and `HOME`.

use crate::secret::Secret;
use base64::Engine;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("failed to read `{path}`: {message}")]
    Read { path: PathBuf, message: String },
    #[error("`{path}`: entry for `{registry}` has an `auth` that is not base64 `user:password`")]
    BadAuth { path: PathBuf, registry: String },
    #[error("credential helper `docker-credential-{helper}` failed for `{registry}`: {message}")]
    Helper {
        helper: String,
        registry: String,
        message: String,
    },
}

/// Credentials for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user name and password (or personal access token).
    Basic { username: String, password: Secret },
    /// An OAuth2 refresh token (`identitytoken`) for the token service.
    IdentityToken(Secret),
}

impl Credential {
    pub fn basic(username: impl Into<String>, password: Secret) -> Credential {
        Credential::Basic {
            username: username.into(),
            password,
        }
    }
}

/// The auth files to consult, in order.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    /// `config.json` files in docker's format (docker's, then podman's).
    pub files: Vec<PathBuf>,
}

impl CredentialStore {
    /// docker's `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`,
    /// then podman's `$REGISTRY_AUTH_FILE`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json` and
    /// `~/.config/containers/auth.json`.
    pub fn from_env() -> CredentialStore {
        let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        let home = var("HOME").map(PathBuf::from);
        let mut files = Vec::new();
        match (var("DOCKER_CONFIG"), &home) {
            (Some(dir), _) => files.push(Path::new(&dir).join("config.json")),
            (None, Some(home)) => files.push(home.join(".docker/config.json")),
            (None, None) => {}
        }
        if let Some(file) = var("REGISTRY_AUTH_FILE") {
            files.push(PathBuf::from(file));
        }
        if let Some(dir) = var("XDG_RUNTIME_DIR") {
            files.push(Path::new(&dir).join("containers/auth.json"));
        }
        if let Some(home) = &home {
            files.push(home.join(".config/containers/auth.json"));
        }
        CredentialStore { files }
    }

    /// The first credentials found for `registry` (`host:port`), or `None`.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credential>, Error> {
        Ok(self.lookup_with_file(registry)?.map(|(found, _)| found))
    }

    /// [`CredentialStore::lookup`], with the file the credentials came
    /// from (for errors that say where to correct them).
    pub fn lookup_with_file(&self, registry: &str) -> Result<Option<(Credential, PathBuf)>, Error> {
        for path in &self.files {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => {
                    return Err(Error::Read {
                        path: path.clone(),
                        message: err.to_string(),
                    });
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            let config: AuthFile = serde_json::from_str(&text).map_err(|err| Error::Read {
                path: path.clone(),
                message: err.to_string(),
            })?;
            if let Some(found) = config.lookup(path, registry, &run_helper)? {
                tracing::debug!(
                    "using credentials for `{registry}` from `{}`",
                    path.display()
                );
                return Ok(Some((found, path.clone())));
            }
        }
        Ok(None)
    }
}

#[derive(Debug, Default, Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    identitytoken: Option<Secret>,
}

/// The keys a registry may be stored under: `host:port`, with a scheme,
/// with a path, and docker.io's historical names.
fn key_matches(key: &str, registry: &str) -> bool {
    let bare = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let bare = bare.split('/').next().unwrap_or(bare);
    if bare == registry {
        return true;
    }
    let hub = ["docker.io", "index.docker.io", "registry-1.docker.io"];
    hub.contains(&registry) && hub.contains(&bare)
}

type Helper = dyn Fn(&str, &str) -> Result<Option<Credential>, Error>;

impl AuthFile {
    fn lookup(
        &self,
        path: &Path,
        registry: &str,
        helper: &Helper,
    ) -> Result<Option<Credential>, Error> {
        if let Some((_, name)) = self
            .cred_helpers
            .iter()
            .find(|(key, _)| key_matches(key, registry))
        {
            return helper(name, registry);
        }
        let mut keys: Vec<&String> = self
            .auths
            .keys()
            .filter(|key| key_matches(key, registry))
            .collect();
        // Exact `host:port` first, then the others in a stable order.
        keys.sort_by_key(|key| (key.as_str() != registry, key.as_str()));
        for key in keys {
            if let Some(found) = self.auths[key].credential(path, registry)? {
                return Ok(Some(found));
            }
        }
        match &self.creds_store {
            Some(name) if !name.is_empty() => helper(name, registry),
            _ => Ok(None),
        }
    }
}

impl AuthEntry {
    fn credential(&self, path: &Path, registry: &str) -> Result<Option<Credential>, Error> {
        if let Some(token) = self.identitytoken.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credential::IdentityToken(token.clone())));
        }
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            return Ok(Some(Credential::basic(username, password.clone())));
        }
        let Some(auth) = self.auth.as_ref().filter(|auth| !auth.is_empty()) else {
            return Ok(None);
        };
        let bad = || Error::BadAuth {
            path: path.to_owned(),
            registry: registry.to_owned(),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (username, password) = decoded.split_once(':').ok_or_else(bad)?;
        Ok(Some(Credential::basic(username, Secret::new(password))))
    }
}

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: Secret,
}

/// Run `docker-credential-<name> get` with the server on stdin.
fn run_helper(name: &str, registry: &str) -> Result<Option<Credential>, Error> {
    let fail = |message: String| Error::Helper {
        helper: name.to_owned(),
        registry: registry.to_owned(),
        message,
    };
    let mut child = Command::new(format!("docker-credential-{name}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| fail(err.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(registry.as_bytes())
            .map_err(|err| fail(err.to_string()))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|err| fail(err.to_string()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // The helpers answer "credentials not found in native keychain".
        if stdout.contains("not found") {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(fail(format!("{}: {}", output.status, stderr.trim())));
    }
    let reply: HelperReply = serde_json::from_str(&stdout)
        .map_err(|_| fail("its answer is not the expected JSON".into()))?;
    if reply.username == "<token>" {
        Ok(Some(Credential::IdentityToken(reply.secret)))
    } else {
        Ok(Some(Credential::basic(reply.username, reply.secret)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(value: serde_json::Value) -> AuthFile {
        serde_json::from_value(value).unwrap()
    }

    fn no_helper(_: &str, _: &str) -> Result<Option<Credential>, Error> {
        panic!("no helper expected")
    }

    #[test]
    fn auths_in_every_form() {
        let auth = base64::engine::general_purpose::STANDARD.encode("zuul:pw:with:colons");
        let config = file(json!({"auths": {
            "https://reg.example.org:5000/v2/": {"auth": auth},
            "[::1]:5000": {"username": "u", "password": "p"},
            "https://index.docker.io/v1/": {"identitytoken": "refresh"},
        }}));
        let path = Path::new("config.json");
        assert_eq!(
            config
                .lookup(path, "reg.example.org:5000", &no_helper)
                .unwrap(),
            Some(Credential::basic("zuul", Secret::new("pw:with:colons")))
        );
        assert_eq!(
            config.lookup(path, "[::1]:5000", &no_helper).unwrap(),
            Some(Credential::basic("u", Secret::new("p")))
        );
        assert_eq!(
            config.lookup(path, "docker.io", &no_helper).unwrap(),
            Some(Credential::IdentityToken(Secret::new("refresh")))
        );
        assert_eq!(
            config.lookup(path, "reg.example.org", &no_helper).unwrap(),
            None
        );
    }

    #[test]
    fn helpers_win_then_store() {
        let config = file(json!({
            "auths": {"quay.io": {}, "reg:5000": {"auth": base64::engine::general_purpose::STANDARD.encode("a:b")}},
            "credHelpers": {"quay.io": "quayhelper"},
            "credsStore": "desktop",
        }));
        let helper = |name: &str, registry: &str| -> Result<Option<Credential>, Error> {
            Ok(Some(Credential::basic(
                format!("{name}@{registry}"),
                Secret::new("x"),
            )))
        };
        let path = Path::new("config.json");
        let got = |registry| match config.lookup(path, registry, &helper).unwrap() {
            Some(Credential::Basic { username, .. }) => username,
            other => panic!("{other:?}"),
        };
        assert_eq!(got("quay.io"), "quayhelper@quay.io");
        assert_eq!(got("reg:5000"), "a");
        assert_eq!(got("ghcr.io"), "desktop@ghcr.io");
    }

    #[test]
    fn bad_auth_is_named_without_its_value() {
        let config = file(json!({"auths": {"reg:5000": {"auth": "!!notbase64"}}}));
        let err = config
            .lookup(
                Path::new("/root/.docker/config.json"),
                "reg:5000",
                &no_helper,
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/root/.docker/config.json") && err.contains("reg:5000"),
            "{err}"
        );
        assert!(!err.contains("notbase64"), "{err}");
    }

    #[test]
    fn store_reads_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("config.json");
        let podman = dir.path().join("auth.json");
        std::fs::write(
            &docker,
            r#"{"auths": {"a:1": {"username": "docker", "password": "p"}}}"#,
        )
        .unwrap();
        std::fs::write(&podman, r#"{"auths": {"a:1": {"username": "podman", "password": "p"}, "b:1": {"username": "podman", "password": "q"}}}"#).unwrap();
        let store = CredentialStore {
            files: vec![dir.path().join("missing.json"), docker, podman],
        };
        let user = |registry| match store.lookup(registry).unwrap() {
            Some(Credential::Basic { username, .. }) => Some(username),
            _ => None,
        };
        assert_eq!(user("a:1").as_deref(), Some("docker"));
        assert_eq!(user("b:1").as_deref(), Some("podman"));
        assert_eq!(user("c:1"), None);
    }
}
