//! A buildset registry's directory (`buildset_registry_root`): its config,
//! certificates and connection data, written once and reused, and the probe
//! that waits until the registry answers over TLS with its own CA.
//!
//! ```text
//! <root>/conf/registry.yaml    0600  listen, storage, TLS files, user `zuul` and password
//! <root>/conf/connection.json        host and port advertised to clients, listen address
//! <root>/tls/ca.pem, cert.pem        CA (returned as `cert`) and server certificate
//! <root>/tls/cert.key          0600  server key (the CA key is never kept)
//! <root>/storage/                    blobs, manifests, uploads
//! <root>/run/                        supervisor pid, start status, registry log
//! ```
//!
//! All files go through `crate::fs`; no protocol or process logic here.

use super::auth::Access;
use super::config::{FileConfig, UserEntry};
use super::supervisor::RunDir;
use super::tls;
use crate::secret::Secret;
use crate::zuul::registries::{BUILDSET_ALIAS, BuildsetRegistry};
use anyhow::{Context, Result, bail};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const USER: &str = "zuul";
/// How long one readiness probe may take.
const PROBE_LIMIT: Duration = Duration::from_millis(500);
const PASSWORD_LEN: usize = 32;

/// The advertised address and the one the registry binds, kept beside
/// the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub host: String,
    pub port: u16,
    /// Missing from the files of earlier versions: then `[::]:0`, which no
    /// request equals, so such a root is set up anew.
    #[serde(default = "unknown_listen")]
    pub listen: SocketAddr,
}

fn unknown_listen() -> SocketAddr {
    SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
}

impl Connection {
    /// Where a probe on this machine reaches the registry: the listen
    /// address, or loopback when it listens on every interface.
    pub fn probe_address(&self) -> SocketAddr {
        let ip = self.listen.ip();
        let ip = if ip.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            ip
        };
        SocketAddr::new(ip, self.listen.port())
    }
}

pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
        }
    }

    pub fn config(&self) -> PathBuf {
        self.root.join("conf/registry.yaml")
    }

    fn connection(&self) -> PathBuf {
        self.root.join("conf/connection.json")
    }

    fn ca(&self) -> PathBuf {
        self.root.join("tls/ca.pem")
    }

    fn cert(&self) -> PathBuf {
        self.root.join("tls/cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.root.join("tls/cert.key")
    }

    pub fn run(&self) -> RunDir {
        RunDir::new(&self.root.join("run"))
    }

    /// The systemd unit name for a registry on `port`.
    pub fn unit(port: u16) -> String {
        format!("zuul-image-buildset-registry-{port}")
    }

    /// What an earlier run wrote: its connection and the return data.
    pub fn load(&self) -> Result<Option<(Connection, BuildsetRegistry)>> {
        let Some(connection) = crate::fs::read_optional(&self.connection())? else {
            return Ok(None);
        };
        let connection: Connection = serde_json::from_str(&connection)
            .with_context(|| format!("`{}` is not valid", self.connection().display()))?;
        let config = FileConfig::load(&self.config())?;
        let password = config
            .users
            .iter()
            .find(|user| user.name == USER)
            .and_then(|user| user.password.clone())
            .with_context(|| {
                format!("`{}` has no password for `{USER}`", self.config().display())
            })?;
        let ca = crate::fs::read(&self.ca())?;
        let registry = BuildsetRegistry {
            host: connection.host.clone(),
            port: connection.port,
            username: USER.to_owned(),
            password,
            cert: Some(ca),
        };
        Ok(Some((connection, registry)))
    }

    /// Write a fresh CA, certificate, password and config for `connection`.
    pub fn create(&self, connection: &Connection) -> Result<BuildsetRegistry> {
        for dir in ["conf", "tls", "run", "storage"] {
            let path = self.root.join(dir);
            std::fs::create_dir_all(&path)
                .with_context(|| format!("failed to create `{}`", path.display()))?;
        }
        for dir in ["conf", "tls"] {
            use std::os::unix::fs::PermissionsExt;
            let path = self.root.join(dir);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("failed to make `{}` private", path.display()))?;
        }
        // The probe connects to the listen address (or loopback), so both
        // are names of the certificate too.
        let mut names = vec![BUILDSET_ALIAS.to_owned(), connection.host.clone()];
        let listen = connection.listen.ip();
        let extra = (!listen.is_unspecified()).then(|| listen.to_string());
        for name in extra.into_iter().chain(["127.0.0.1".into(), "::1".into()]) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let generated = tls::generate(&names)?;
        crate::fs::write_atomic(
            &self.key(),
            generated.key_pem.as_bytes(),
            crate::fs::PRIVATE,
        )?;
        crate::fs::write_atomic(
            &self.cert(),
            generated.cert_pem.as_bytes(),
            crate::fs::PUBLIC,
        )?;
        crate::fs::write_atomic(&self.ca(), generated.ca_pem.as_bytes(), crate::fs::PUBLIC)?;
        let password = Secret::new(generate_password());
        let config = FileConfig {
            listen: Some(connection.listen.to_string()),
            root: Some(self.root.join("storage")),
            tls_cert: Some(self.cert()),
            tls_key: Some(self.key()),
            anonymous_read: Some(true),
            users: vec![UserEntry {
                name: USER.to_owned(),
                password: Some(password.clone()),
                password_hash: None,
                access: Access::Write,
            }],
            ..FileConfig::default()
        };
        let yaml =
            serde_yaml_ng::to_string(&config).context("failed to write the registry config")?;
        crate::fs::write_atomic(&self.config(), yaml.as_bytes(), crate::fs::PRIVATE)?;
        let json = serde_json::to_string_pretty(connection)?;
        crate::fs::write_atomic(&self.connection(), json.as_bytes(), crate::fs::PUBLIC)?;
        Ok(BuildsetRegistry {
            host: connection.host.clone(),
            port: connection.port,
            username: USER.to_owned(),
            password,
            cert: Some(generated.ca_pem),
        })
    }
}

/// A random password of letters and digits.
pub fn generate_password() -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(PASSWORD_LEN)
        .map(char::from)
        .collect()
}

/// One TLS request to `GET /v2/` at `address` (on this machine), verifying
/// the certificate against `ca_pem`; returns the HTTP status.
pub async fn probe(address: SocketAddr, ca_pem: &str) -> Result<u16> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        roots.add(cert.context("the CA is not PEM")?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = tokio::net::TcpStream::connect(address).await?;
    let name = rustls::pki_types::ServerName::IpAddress(address.ip().into());
    let mut stream = connector.connect(name, stream).await?;
    let request = format!("GET /v2/ HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    let text = String::from_utf8_lossy(&head);
    text.get(9..12)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("unexpected answer `{text}`"))
}

/// Wait until the registry at `address` answers over TLS. `failed` says
/// why it never will (it exited, it could not start), to fail fast; it is
/// asked every few milliseconds, also while a probe is under way (another
/// program on the port may take the connection and never answer).
pub async fn wait_ready(
    address: SocketAddr,
    ca_pem: &str,
    timeout: Duration,
    mut failed: impl FnMut() -> Option<anyhow::Error>,
) -> Result<()> {
    const POLL: Duration = Duration::from_millis(5);
    let deadline = Instant::now() + timeout;
    loop {
        let attempt = tokio::time::timeout(PROBE_LIMIT, probe(address, ca_pem));
        tokio::pin!(attempt);
        let outcome = loop {
            tokio::select! {
                outcome = &mut attempt => break outcome,
                () = tokio::time::sleep(POLL) => {
                    if let Some(err) = failed() {
                        return Err(err);
                    }
                }
            }
        };
        match outcome {
            Ok(Ok(200 | 401)) => return Ok(()),
            Ok(Ok(status)) => tracing::debug!("registry answered {status}"),
            Ok(Err(err)) => tracing::trace!("registry not ready: {err:#}"),
            Err(_) => tracing::debug!("no answer from {address} within {PROBE_LIMIT:?}"),
        }
        if let Some(err) = failed() {
            return Err(err);
        }
        if Instant::now() > deadline {
            bail!("the registry did not answer over TLS within {timeout:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn create_then_load_returns_the_same_data() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let connection = Connection {
            host: "buildset.example.org".into(),
            port: 5123,
            listen: "[::]:5123".parse().unwrap(),
        };
        let created = layout.create(&connection).unwrap();
        assert!(created.password.expose().len() >= 20);
        let (loaded_connection, loaded) = layout.load().unwrap().unwrap();
        assert_eq!(loaded_connection, connection);
        assert_eq!(loaded, created);
        for private in [layout.config(), layout.key()] {
            let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", private.display());
        }
        let config = std::fs::read_to_string(layout.config()).unwrap();
        assert!(config.contains(created.password.expose()));
        assert!(config.contains("listen: '[::]:5123'"), "{config}");
        // A connection file of an earlier version (no listen address) is
        // read, and differs from any new request.
        std::fs::write(
            layout.connection(),
            r#"{"host": "buildset.example.org", "port": 5123}"#,
        )
        .unwrap();
        let (old, _) = layout.load().unwrap().unwrap();
        assert_ne!(old, connection);
        assert!(
            !std::fs::read_to_string(layout.connection())
                .unwrap()
                .contains(created.password.expose())
        );
    }
}
