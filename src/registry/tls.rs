//! Which certificate authorities a registry connection trusts: CA PEMs
//! handed over in memory (the `cert` of `buildset_registry` or
//! `intermediate_registry`), the system roots, and the per-registry
//! directories docker and containers use (`<dir>/<host:port>/*.crt`).
//!
//! Builds a rustls `ClientConfig` with the ring provider; it does not open
//! connections. Only CA files are read here, never keys.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error(
        "the CA certificate for `{registry}` ({origin}) is not a valid PEM certificate: {message}"
    )]
    BadPem {
        registry: String,
        origin: String,
        message: String,
    },
    #[error("failed to read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to set up TLS: {0}")]
    Config(String),
}

/// The per-registry CA directories docker, podman and skopeo read.
pub fn default_certs_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![
        PathBuf::from("/etc/docker/certs.d"),
        PathBuf::from("/etc/containers/certs.d"),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".config/containers/certs.d"));
    }
    dirs
}

/// The system roots, loaded once per process (reading them costs a few
/// milliseconds and they do not change during a run).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        for err in &loaded.errors {
            tracing::debug!("skipping a system CA: {err}");
        }
        loaded.certs
    })
}

fn parse_pem(
    registry: &str,
    origin: &str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bad = |message: String| Error::BadPem {
        registry: registry.to_owned(),
        origin: origin.to_owned(),
        message,
    };
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| bad(err.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no `BEGIN CERTIFICATE` block".into()));
    }
    Ok(certs)
}

/// The trust store for `registry` (`host:port` as written in references):
/// `pems` (with a label for errors), the system roots, and every `*.crt` in
/// `<dir>/<registry>/` for each of `certs_dirs`.
pub fn root_store(
    registry: &str,
    pems: &[(String, String)],
    certs_dirs: &[PathBuf],
) -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    let (added, ignored) = store.add_parsable_certificates(system_roots().iter().cloned());
    tracing::trace!("{added} system CAs trusted, {ignored} ignored");
    for (origin, pem) in pems {
        for cert in parse_pem(registry, origin, pem.as_bytes())? {
            store.add(cert).map_err(|err| Error::BadPem {
                registry: registry.to_owned(),
                origin: origin.clone(),
                message: err.to_string(),
            })?;
        }
    }
    for dir in certs_dirs {
        let dir = dir.join(registry);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(Error::Read { path: dir, source }),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "crt"))
            .collect();
        files.sort();
        for path in files {
            let pem = std::fs::read(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let origin = path.display().to_string();
            for cert in parse_pem(registry, &origin, &pem)? {
                if let Err(err) = store.add(cert) {
                    tracing::warn!("ignoring a CA in `{origin}`: {err}");
                }
            }
            tracing::debug!("trusting CAs from `{origin}` for `{registry}`");
        }
    }
    Ok(store)
}

/// A rustls client configuration for one registry. HTTP/1.1 only: blob
/// transfers run on parallel connections, which moves bulk data faster than
/// multiplexing them over one HTTP/2 connection with its flow-control windows.
pub fn client_config(roots: RootCertStore) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::Config(err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn pems_and_certs_dirs_are_trusted() {
        let base = root_store("reg:5000", &[], &[]).unwrap().len();
        let dir = tempfile::tempdir().unwrap();
        let host_dir = dir.path().join("[::1]:5000");
        std::fs::create_dir_all(&host_dir).unwrap();
        std::fs::write(host_dir.join("ca.crt"), ca_pem()).unwrap();
        std::fs::write(host_dir.join("client.key"), "not a cert").unwrap();
        let pems = vec![("buildset_registry.cert".to_owned(), ca_pem())];
        let store = root_store("[::1]:5000", &pems, &[dir.path().to_owned()]).unwrap();
        assert_eq!(store.len(), base + 2);
        // Another registry's directory is not read.
        let store = root_store("other:5000", &[], &[dir.path().to_owned()]).unwrap();
        assert_eq!(store.len(), base);
        assert!(client_config(store).is_ok());
    }

    #[test]
    fn bad_pem_names_its_origin() {
        let pems = vec![("intermediate_registry.cert".to_owned(), "junk".to_owned())];
        let err = root_store("reg:5000", &pems, &[]).unwrap_err().to_string();
        assert!(err.contains("intermediate_registry.cert"), "{err}");
        assert!(err.contains("reg:5000"), "{err}");
    }
}
