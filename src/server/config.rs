//! The registry's settings, resolved once from flags and an optional YAML
//! config file (flags win): listen address, storage root, TLS files, users
//! (config entries and an htpasswd file of bcrypt lines), anonymous read,
//! public URL, token lifetime, and the connection and request [`Limits`]. Passwords come only from files, never
//! from the command line. Errors here are input errors (exit 2) and name the
//! file or flag. Reads files; writes none.

use super::auth::{Access, Credential, User};
use super::storage::s3::settings::{EnvKeys, StorageFile};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

mod storage;

use storage::resolve_token_key;
pub use storage::{MIN_TOKEN_KEY, StorageConfig};

pub const DEFAULT_LISTEN: &str = "[::]:5000";
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);

/// What one client, connection or request may hold, and for how long
/// (`limits:` in the config file). Every connection has a deadline at every
/// stage, so a slow or stalled client cannot hold resources forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; more are refused (closed at once), not
    /// queued. Also capped by the open-file limit.
    pub max_connections: usize,
    /// From the first byte of a request (or the start of a connection, or
    /// the end of the previous request on a kept-alive HTTP/1.1
    /// connection) to the end of its headers.
    pub header_timeout: Duration,
    /// For the TLS handshake.
    pub handshake_timeout: Duration,
    /// A connection with no request in flight and no bytes either way is
    /// closed after this (HTTP/2 connections; a response the client stops
    /// reading is cut off after it too).
    pub idle_timeout: Duration,
    /// The longest wait for the next piece of a request body.
    pub body_timeout: Duration,
    /// TCP keepalive probes start after this much silence.
    pub tcp_keepalive: Duration,
    /// Uploads nobody wrote to for this long are removed.
    pub upload_expiry: Duration,
    /// Failed Basic logins allowed per client address and minute (a burst
    /// of as many, refilled evenly); beyond them, logins are refused
    /// without being checked until the allowance refills.
    pub failed_logins_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 4096,
            header_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            body_timeout: Duration::from_secs(60),
            tcp_keepalive: Duration::from_secs(60),
            upload_expiry: Duration::from_secs(3600),
            failed_logins_per_minute: 10,
        }
    }
}

/// The `limits:` section of the config file; durations as `30s`, `2m`, `1h`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LimitsFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_keepalive: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_expiry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_logins_per_minute: Option<u32>,
}

impl LimitsFile {
    fn resolve(&self, file: &str) -> Result<Limits, Error> {
        let defaults = Limits::default();
        let invalid = |message: String| Error::Invalid {
            file: file.to_owned(),
            message,
        };
        let duration = |key: &str, value: &Option<String>, default: Duration| match value {
            None => Ok(default),
            Some(text) => match humantime::parse_duration(text) {
                Ok(duration) if !duration.is_zero() => Ok(duration),
                Ok(_) => Err(invalid(format!(
                    "limits.{key} `{text}` must be longer than 0"
                ))),
                Err(err) => Err(invalid(format!("limits.{key} `{text}`: {err}"))),
            },
        };
        let max_connections = self.max_connections.unwrap_or(defaults.max_connections);
        if max_connections == 0 {
            return Err(invalid("limits.max-connections must be at least 1".into()));
        }
        Ok(Limits {
            max_connections,
            header_timeout: duration(
                "header-timeout",
                &self.header_timeout,
                defaults.header_timeout,
            )?,
            handshake_timeout: duration(
                "handshake-timeout",
                &self.handshake_timeout,
                defaults.handshake_timeout,
            )?,
            idle_timeout: duration("idle-timeout", &self.idle_timeout, defaults.idle_timeout)?,
            body_timeout: duration("body-timeout", &self.body_timeout, defaults.body_timeout)?,
            tcp_keepalive: duration("tcp-keepalive", &self.tcp_keepalive, defaults.tcp_keepalive)?,
            upload_expiry: duration("upload-expiry", &self.upload_expiry, defaults.upload_expiry)?,
            failed_logins_per_minute: self
                .failed_logins_per_minute
                .unwrap_or(defaults.failed_logins_per_minute),
        })
    }
}

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
    #[error("no storage: pass `--storage DIR`, or set `root` or `storage.s3` in the config file")]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsFile>,
    /// Object storage instead of `root` (see [`StorageConfig`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageFile>,
    /// The key tokens are signed with, shared by every replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_key: Option<Secret>,
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
    /// S3 keys from the environment, for `storage.s3`.
    pub env_keys: EnvKeys,
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub storage: StorageConfig,
    /// The token signing key; required with shared storage.
    pub token_key: Option<Secret>,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub users: HashMap<String, User>,
    pub anonymous_read: bool,
    pub public_url: Option<String>,
    pub token_ttl: Duration,
    pub limits: Limits,
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
        check_bcrypt(hash)
            .map_err(|message| fail(&format!("user `{name}`: {message} (`htpasswd -B`)")))?;
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

/// Whether `hash` is a bcrypt hash this registry can check a password
/// against: `$2a$`, `$2b$` or `$2y$`, a two-digit cost from 04 to 31, and
/// 53 characters of bcrypt's base64 (salt and hash). The error never
/// quotes the hash.
pub fn check_bcrypt(hash: &str) -> Result<(), String> {
    let fields: Vec<&str> = hash.split('$').collect();
    let valid = match fields.as_slice() {
        ["", version, cost, rest] => {
            ["2a", "2b", "2y"].contains(version)
                && cost.len() == 2
                && cost
                    .parse::<u32>()
                    .is_ok_and(|cost| (4..=31).contains(&cost))
                && rest.len() == 53
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
        }
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err("not a bcrypt hash: expected `$2y$<cost>$` and 53 characters, as `htpasswd -nbB USER PASSWORD` prints after the colon".into())
    }
}

/// The certificate and key can be read and make a TLS configuration;
/// `file` (the flag or the config file) and `what` say where their paths
/// came from. The error names the resolved paths.
fn check_tls(file: &str, what: &str, cert: &Path, key: &Path) -> Result<(), Error> {
    super::tls::server_config(cert, key)
        .map(|_| ())
        .map_err(|err| Error::Invalid {
            file: file.to_owned(),
            message: format!("{what}{err:#}"),
        })
}

/// A warning when the config file `path` holds plain-text passwords and
/// its group or others may read it; `None` otherwise (or when it cannot be
/// read: loading it reports that).
pub fn readable_passwords_warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return None;
    }
    let config = FileConfig::load(path).ok()?;
    let users: Vec<String> = config
        .users
        .iter()
        .filter(|user| user.password.is_some())
        .map(|user| format!("`{}`", user.name))
        .collect();
    if users.is_empty() {
        return None;
    }
    Some(format!(
        "`{}` holds plain-text passwords (users {}) and others may read it (mode {mode:04o}): `chmod 600 {}`, or give `password-hash` instead",
        path.display(),
        users.join(", "),
        path.display()
    ))
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
        let storage = StorageConfig::resolve(
            flags.root.clone(),
            file.root.clone(),
            file.storage.as_ref(),
            &config_name,
            &flags.env_keys,
        )?;
        let token_key = resolve_token_key(file.token_key.clone(), &storage, &config_name)?;
        let cert = flags.tls_cert.clone().or(file.tls_cert);
        let key = flags.tls_key.clone().or(file.tls_key);
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => {
                match &flags.tls_cert {
                    Some(_) => check_tls("--tls-cert", "", &cert, &key)?,
                    None => check_tls(&config_name, "`tls-cert`/`tls-key`: ", &cert, &key)?,
                }
                Some((cert, key))
            }
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
                (None, Some(hash)) => {
                    check_bcrypt(&hash).map_err(|message| Error::Invalid {
                        file: config_name.clone(),
                        message: format!("user `{}`: `password-hash` is {message}", entry.name),
                    })?;
                    Credential::Bcrypt(hash)
                }
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
        let limits = file
            .limits
            .clone()
            .unwrap_or_default()
            .resolve(&config_name)?;
        Ok(ServerConfig {
            listen,
            storage,
            token_key,
            tls,
            users,
            anonymous_read: !flags.no_anonymous_read && file.anonymous_read.unwrap_or(true),
            public_url: flags.public_url.clone().or(file.public_url),
            token_ttl,
            limits,
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
        assert_eq!(
            resolved.storage,
            StorageConfig::Filesystem(dir.path().join("storage"))
        );
        assert_eq!(resolved.users.len(), 3);
        assert_eq!(resolved.token_ttl, Duration::from_secs(300));
        assert!(resolved.anonymous_read);
        assert_eq!(resolved.limits, Limits::default());
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

    /// Issue 9: `"x"` and the README's own `"$2y$…"` were accepted as
    /// hashes, and that user could never log in.
    #[test]
    fn issue_9_password_hashes_must_be_bcrypt() {
        let real = bcrypt::hash("secret", 4).unwrap();
        assert_eq!(check_bcrypt(&real), Ok(()));
        let htpasswd_style = real.replacen("$2b$", "$2y$", 1);
        assert_eq!(check_bcrypt(&htpasswd_style), Ok(()));
        for bad in [
            "x",
            "$2y$…",
            "",
            "$1$abc$def",
            &real.replacen("$04$", "$99$", 1),
            &real[..real.len() - 1],
            &format!("{}!", &real[..real.len() - 1]),
        ] {
            let err = check_bcrypt(bad).unwrap_err();
            assert!(err.starts_with("not a bcrypt hash"), "{bad}: {err}");
        }

        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("registry.yaml");
        for hash in ["x", "$2y$…"] {
            let yaml = format!(
                "root: storage\nusers:\n  - {{name: reader, password-hash: \"{hash}\", access: read}}\n"
            );
            std::fs::write(&config, yaml).unwrap();
            let flags = Flags {
                config: Some(config.clone()),
                ..Flags::default()
            };
            let err = ServerConfig::resolve(&flags).unwrap_err().to_string();
            assert!(err.contains("registry.yaml"), "{err}");
            assert!(err.contains("user `reader`"), "{err}");
            assert!(err.contains("not a bcrypt hash"), "{err}");
        }
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, format!("ok:{real}\nci:$2y$05$short\n")).unwrap();
        let flags = Flags {
            root: Some(dir.path().into()),
            htpasswd: Some(htpasswd),
            ..Flags::default()
        };
        let err = ServerConfig::resolve(&flags).unwrap_err().to_string();
        assert!(
            err.contains("line 2: user `ci`: not a bcrypt hash"),
            "{err}"
        );
    }

    /// Issue 9: a missing relative `tls/cert.pem` was reported without the
    /// config file, and as an operation failure.
    #[test]
    fn issue_9_tls_files_are_checked_naming_the_config_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("registry.yaml");
        std::fs::write(
            &config,
            "root: storage\ntls-cert: tls/cert.pem\ntls-key: tls/cert.key\n",
        )
        .unwrap();
        let flags = Flags {
            config: Some(config.clone()),
            ..Flags::default()
        };
        let err = ServerConfig::resolve(&flags).unwrap_err();
        assert!(crate::exit::Classify::is_input(&err));
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("`{}`: `tls-cert`", config.display())),
            "{text}"
        );
        let resolved = dir.path().join("tls/cert.pem");
        assert!(
            text.contains(&format!("`{}`", resolved.display())),
            "{text}"
        );

        let generated = super::super::tls::generate(&["localhost".into()]).unwrap();
        std::fs::create_dir(dir.path().join("tls")).unwrap();
        std::fs::write(&resolved, &generated.cert_pem).unwrap();
        std::fs::write(dir.path().join("tls/cert.key"), "not a key").unwrap();
        let err = ServerConfig::resolve(&flags).unwrap_err().to_string();
        assert!(err.contains("cert.key"), "{err}");
        std::fs::write(dir.path().join("tls/cert.key"), &generated.key_pem).unwrap();
        assert!(ServerConfig::resolve(&flags).unwrap().tls.is_some());
        let flags = Flags {
            root: Some(dir.path().into()),
            tls_cert: Some("/nonexistent/cert.pem".into()),
            tls_key: Some("/nonexistent/key.pem".into()),
            ..Flags::default()
        };
        let err = ServerConfig::resolve(&flags).unwrap_err().to_string();
        assert!(
            err.starts_with("`--tls-cert`: failed to read TLS certificate `/nonexistent/cert.pem`"),
            "{err}"
        );
    }

    #[test]
    fn issue_9_readable_plain_passwords_get_a_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("registry.yaml");
        let mode = |mode| {
            std::fs::set_permissions(&config, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        std::fs::write(
            &config,
            "root: storage\nusers:\n  - {name: zuul, password: hunter2, access: write}\n",
        )
        .unwrap();
        mode(0o644);
        let warning = readable_passwords_warning(&config).unwrap();
        assert!(
            warning.contains("users `zuul`") && warning.contains("0644"),
            "{warning}"
        );
        assert!(warning.contains("chmod 600"), "{warning}");
        assert!(!warning.contains("hunter2"), "{warning}");
        mode(0o600);
        assert_eq!(readable_passwords_warning(&config), None);
        std::fs::write(&config, "root: storage\n").unwrap();
        mode(0o644);
        assert_eq!(readable_passwords_warning(&config), None);
    }

    #[test]
    fn limits_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("registry.yaml");
        std::fs::write(
            &config,
            "root: s\nlimits:\n  max-connections: 50\n  header-timeout: 2s\n  upload-expiry: 10m\n",
        )
        .unwrap();
        let flags = Flags {
            config: Some(config.clone()),
            ..Flags::default()
        };
        let limits = ServerConfig::resolve(&flags).unwrap().limits;
        assert_eq!(limits.max_connections, 50);
        assert_eq!(limits.header_timeout, Duration::from_secs(2));
        assert_eq!(limits.upload_expiry, Duration::from_secs(600));
        assert_eq!(limits.body_timeout, Limits::default().body_timeout);
        for (bad, needle) in [
            ("header-timeout: 0s", "longer than 0"),
            ("idle-timeout: soon", "limits.idle-timeout"),
            ("max-connections: 0", "at least 1"),
            ("header-timout: 1s", "header-timout"),
        ] {
            std::fs::write(&config, format!("root: s\nlimits:\n  {bad}\n")).unwrap();
            let err = ServerConfig::resolve(&flags).unwrap_err().to_string();
            assert!(
                err.contains(needle) && err.contains("registry.yaml"),
                "{err}"
            );
        }
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
