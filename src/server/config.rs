//! The registry's settings, resolved once from flags and an optional YAML
//! config file (flags win): listen address, storage root, TLS files, users
//! (config entries and an htpasswd file of bcrypt lines), anonymous read,
//! public URL and token lifetime. Passwords come only from files, never
//! from the command line. Errors here are input errors (exit 2) and name the
//! file or flag. Reads files; writes none.

use super::auth::{Access, Credential, User};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

pub const DEFAULT_LISTEN: &str = "[::]:5000";
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Error)]
pub enum Error {
    #[error("failed to read `{file}`: {message}")]
    Read { file: String, message: String },
    #[error("`{file}`: {message}")]
    Invalid { file: String, message: String },
    #[error("`{file}` line {line}: {message}")]
    Htpasswd {
        file: String,
        line: usize,
        message: String,
    },
    #[error("invalid `{flag}` value `{value}`: {message}")]
    Flag {
        flag: String,
        value: String,
        message: String,
    },
    #[error("no storage directory: pass `--storage DIR` or set `root` in the config file")]
    NoRoot,
    #[error("`--tls-cert` and `--tls-key` go together (got only `{0}`)")]
    TlsPair(String),
}

impl crate::exit::Classify for Error {
    /// Flags and the config file are the user's input.
    fn is_input(&self) -> bool {
        true
    }
}

/// One user in the config file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    /// Plain-text password (the file must be private).
    #[serde(default, alias = "pass", skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// A bcrypt hash instead of a plain password.
    #[serde(
        default,
        rename = "password-hash",
        skip_serializing_if = "Option::is_none"
    )]
    pub password_hash: Option<String>,
    pub access: Access,
}

/// The YAML config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub htpasswd: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Token lifetime, e.g. `15m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserEntry>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, Error> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| Error::Read {
            file: file.clone(),
            message: err.to_string(),
        })?;
        let mut config: FileConfig =
            serde_yaml_ng::from_str(&text).map_err(|err| Error::Invalid {
                file: file.clone(),
                message: err.to_string(),
            })?;
        // Relative paths are relative to the config file.
        let base = path.parent().unwrap_or(Path::new("."));
        for slot in [
            &mut config.root,
            &mut config.tls_cert,
            &mut config.tls_key,
            &mut config.htpasswd,
        ] {
            if let Some(p) = slot.as_mut() {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(config)
    }
}

/// Flags of `registry serve`, before resolution.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub listen: Option<String>,
    pub root: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub htpasswd: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub no_anonymous_read: bool,
    pub public_url: Option<String>,
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub root: PathBuf,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub users: HashMap<String, User>,
    pub anonymous_read: bool,
    pub public_url: Option<String>,
    pub token_ttl: Duration,
}

/// Parse `ADDR:PORT` (`[::]:5000`, `127.0.0.1:0`).
pub fn parse_listen(flag: &str, value: &str) -> Result<SocketAddr, Error> {
    value.parse().map_err(|_| Error::Flag {
        flag: flag.to_owned(),
        value: value.to_owned(),
        message: "expected ADDR:PORT, e.g. `[::]:5000` or `127.0.0.1:5000`".into(),
    })
}

/// Read an htpasswd file of bcrypt lines; its users get write access.
pub fn load_htpasswd(path: &Path) -> Result<HashMap<String, User>, Error> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| Error::Read {
        file: file.clone(),
        message: err.to_string(),
    })?;
    let mut users = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |message: &str| Error::Htpasswd {
            file: file.clone(),
            line: index + 1,
            message: message.to_owned(),
        };
        let (name, hash) = line
            .split_once(':')
            .ok_or_else(|| fail("expected `user:hash`"))?;
        if !(hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$")) {
            return Err(fail("only bcrypt hashes are supported (`htpasswd -B`)"));
        }
        users.insert(
            name.to_owned(),
            User {
                access: Access::Write,
                credential: Credential::Bcrypt(hash.to_owned()),
            },
        );
    }
    Ok(users)
}

impl ServerConfig {
    pub fn resolve(flags: &Flags) -> Result<ServerConfig, Error> {
        let file = match &flags.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let config_name = flags
            .config
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let listen = match (&flags.listen, &file.listen) {
            (Some(value), _) => parse_listen("--listen", value)?,
            (None, Some(value)) => parse_listen(&format!("{config_name}: listen"), value)?,
            (None, None) => parse_listen("--listen", DEFAULT_LISTEN)?,
        };
        let root = flags.root.clone().or(file.root).ok_or(Error::NoRoot)?;
        let cert = flags.tls_cert.clone().or(file.tls_cert);
        let key = flags.tls_key.clone().or(file.tls_key);
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => return Err(Error::TlsPair("--tls-cert".into())),
            (None, Some(_)) => return Err(Error::TlsPair("--tls-key".into())),
        };
        let mut users = HashMap::new();
        if let Some(path) = flags.htpasswd.as_ref().or(file.htpasswd.as_ref()) {
            users.extend(load_htpasswd(path)?);
        }
        for entry in file.users {
            let credential = match (entry.password, entry.password_hash) {
                (Some(password), None) => Credential::Plain(password),
                (None, Some(hash)) => Credential::Bcrypt(hash),
                _ => {
                    return Err(Error::Invalid {
                        file: config_name.clone(),
                        message: format!(
                            "user `{}` needs exactly one of `password` and `password-hash`",
                            entry.name
                        ),
                    });
                }
            };
            users.insert(
                entry.name,
                User {
                    access: entry.access,
                    credential,
                },
            );
        }
        let token_ttl = match &file.token_ttl {
            Some(text) => humantime::parse_duration(text).map_err(|err| Error::Invalid {
                file: config_name.clone(),
                message: format!("token-ttl `{text}`: {err}"),
            })?,
            None => DEFAULT_TOKEN_TTL,
        };
        Ok(ServerConfig {
            listen,
            root,
            tls,
            users,
            anonymous_read: !flags.no_anonymous_read && file.anonymous_read.unwrap_or(true),
            public_url: flags.public_url.clone().or(file.public_url),
            token_ttl,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, format!("ci:{}\n", bcrypt::hash("x", 4).unwrap())).unwrap();
        let config = dir.path().join("registry.yaml");
        std::fs::write(
            &config,
            "listen: 127.0.0.1:5999\nroot: storage\nhtpasswd: htpasswd\ntoken-ttl: 5m\nusers:\n  - name: zuul\n    pass: 'a:b'\n    access: write\n  - name: ro\n    password: r\n    access: read\n",
        )
        .unwrap();
        let flags = Flags {
            config: Some(config.clone()),
            ..Flags::default()
        };
        let resolved = ServerConfig::resolve(&flags).unwrap();
        assert_eq!(resolved.listen.to_string(), "127.0.0.1:5999");
        assert_eq!(resolved.root, dir.path().join("storage"));
        assert_eq!(resolved.users.len(), 3);
        assert_eq!(resolved.token_ttl, Duration::from_secs(300));
        assert!(resolved.anonymous_read);
        let flags = Flags {
            config: Some(config),
            listen: Some("[::1]:6000".into()),
            no_anonymous_read: true,
            ..Flags::default()
        };
        let resolved = ServerConfig::resolve(&flags).unwrap();
        assert_eq!(resolved.listen.to_string(), "[::1]:6000");
        assert!(!resolved.anonymous_read);
    }

    #[test]
    fn bad_input_names_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, "ci:{SHA}abc\n").unwrap();
        let flags = Flags {
            root: Some(dir.path().into()),
            htpasswd: Some(htpasswd),
            ..Flags::default()
        };
        let err = ServerConfig::resolve(&flags).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("bcrypt"), "{err}");
        let flags = Flags {
            root: Some(dir.path().into()),
            listen: Some("nope".into()),
            ..Flags::default()
        };
        assert!(
            ServerConfig::resolve(&flags)
                .unwrap_err()
                .to_string()
                .contains("--listen")
        );
        assert!(matches!(
            ServerConfig::resolve(&Flags::default()),
            Err(Error::NoRoot)
        ));
        let config = dir.path().join("c.yaml");
        std::fs::write(&config, "root: x\nbogus: 1\n").unwrap();
        let flags = Flags {
            config: Some(config),
            ..Flags::default()
        };
        assert!(
            ServerConfig::resolve(&flags)
                .unwrap_err()
                .to_string()
                .contains("bogus")
        );
    }
}
