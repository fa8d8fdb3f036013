//! Which certificates a registry connection trusts and how: PEMs handed
//! over in memory (the `cert` of `buildset_registry` or
//! `intermediate_registry`), the system roots, and the per-registry
//! directories docker and containers use (`<dir>/<host:port>/*.crt`).
//!
//! A server is trusted when its certificate is exactly one of the
//! configured ones (pinning: a site's self-signed `openssl req -x509`
//! certificate, which carries `CA:TRUE` and which webpki would refuse as
//! `CaUsedAsEndEntity`), checked for its names and validity period; else
//! when webpki verifies its chain to a configured CA or a system root.
//! System roots are never pinned.
//!
//! Builds a rustls `ClientConfig` with the ring provider; it does not open
//! connections. Only certificate files are read here, never keys.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
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

/// What one registry's connections trust: the roots webpki verifies chains
/// against (system roots and every configured certificate) and the
/// configured certificates a server may present as they are; and, for
/// errors, where they came from.
#[derive(Debug, Clone)]
pub struct Trust {
    pub roots: RootCertStore,
    pub pinned: Vec<CertificateDer<'static>>,
    /// The labels of the PEMs and the `certs.d` files trusted.
    pub origins: Vec<String>,
    /// The per-registry directories looked in (`<dir>/<registry>`).
    pub dirs: Vec<PathBuf>,
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

/// The trust for `registry` (`host:port` as written in references):
/// `pems` (with a label for errors), the system roots, and every `*.crt` in
/// `<dir>/<registry>/` for each of `certs_dirs`.
pub fn trust(
    registry: &str,
    pems: &[(String, String)],
    certs_dirs: &[PathBuf],
) -> Result<Trust, Error> {
    let mut trust = Trust {
        roots: RootCertStore::empty(),
        pinned: Vec::new(),
        origins: Vec::new(),
        dirs: Vec::new(),
    };
    let (added, ignored) = trust
        .roots
        .add_parsable_certificates(system_roots().iter().cloned());
    tracing::trace!("{added} system CAs trusted, {ignored} ignored");
    for (origin, pem) in pems {
        trust.origins.push(origin.clone());
        for cert in parse_pem(registry, origin, pem.as_bytes())? {
            trust.roots.add(cert.clone()).map_err(|err| Error::BadPem {
                registry: registry.to_owned(),
                origin: origin.clone(),
                message: err.to_string(),
            })?;
            trust.pinned.push(cert);
        }
    }
    for dir in certs_dirs {
        let dir = dir.join(registry);
        trust.dirs.push(dir.clone());
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
                match trust.roots.add(cert.clone()) {
                    Ok(()) => trust.pinned.push(cert),
                    Err(err) => tracing::warn!("ignoring a certificate in `{origin}`: {err}"),
                }
            }
            trust.origins.push(origin.clone());
            tracing::debug!("trusting certificates from `{origin}` for `{registry}`");
        }
    }
    Ok(trust)
}

/// A rustls client configuration for one registry. HTTP/1.1 only: blob
/// transfers run on parallel connections, which moves bulk data faster than
/// multiplexing them over one HTTP/2 connection with its flow-control windows.
pub fn client_config(trust: Trust) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Verifier::new(trust, &provider)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::Config(err.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Pinned certificates first, then webpki's chain verification.
#[derive(Debug)]
struct Verifier {
    pinned: Vec<CertificateDer<'static>>,
    /// None when there is no root at all (webpki refuses to be built so):
    /// then only pinned certificates are trusted.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Verifier {
    fn new(trust: Trust, provider: &Arc<CryptoProvider>) -> Result<Verifier, Error> {
        let webpki = if trust.roots.is_empty() {
            None
        } else {
            let verifier = WebPkiServerVerifier::builder_with_provider(
                Arc::new(trust.roots),
                Arc::clone(provider),
            )
            .build()
            .map_err(|err| Error::Config(err.to_string()))?;
            Some(verifier)
        };
        Ok(Verifier {
            pinned: trust.pinned,
            webpki,
            algorithms: provider.signature_verification_algorithms,
        })
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pinned.iter().any(|pinned| pinned == end_entity) {
            let parsed = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            check_validity(end_entity, now)?;
            tracing::trace!("the server presented a configured certificate");
            return Ok(ServerCertVerified::assertion());
        }
        match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            None => Err(CertificateError::UnknownIssuer.into()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Refuse a certificate outside its `notBefore`..`notAfter` (webpki checks
/// this for chains; a pinned certificate skips webpki).
fn check_validity(cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let (not_before, not_after) =
        validity(cert).map_err(|_| rustls::Error::from(CertificateError::BadEncoding))?;
    let time = now.as_secs() as i64;
    let unix =
        |secs: i64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs.max(0) as u64));
    if time < not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before: unix(not_before),
        }
        .into());
    }
    if time > not_after {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after: unix(not_after),
        }
        .into());
    }
    Ok(())
}

/// `notBefore` and `notAfter` of a DER certificate, in Unix seconds.
fn validity(cert: &[u8]) -> yasna::ASN1Result<(i64, i64)> {
    use yasna::{BERReader, Tag, TagClass};
    fn time(reader: BERReader<'_, '_>) -> yasna::ASN1Result<i64> {
        if reader.lookahead_tag()? == yasna::tags::TAG_UTCTIME {
            Ok(reader.read_utctime()?.datetime().unix_timestamp())
        } else {
            Ok(reader.read_generalized_time()?.datetime().unix_timestamp())
        }
    }
    yasna::parse_der(cert, |reader| {
        reader.read_sequence(|certificate| {
            let validity = certificate.next().read_sequence(|tbs| {
                // version [0] EXPLICIT (optional), serialNumber, signature, issuer
                tbs.read_optional(|reader| {
                    reader.read_tagged(
                        Tag {
                            tag_class: TagClass::ContextSpecific,
                            tag_number: 0,
                        },
                        |reader| reader.read_der(),
                    )
                })?;
                for _ in 0..3 {
                    tbs.next().read_der()?;
                }
                let validity = tbs.next().read_sequence(|validity| {
                    Ok((time(validity.next())?, time(validity.next())?))
                })?;
                // subject, subjectPublicKeyInfo and the optional rest.
                while tbs.read_optional(|reader| reader.read_der())?.is_some() {}
                Ok(validity)
            })?;
            // signatureAlgorithm, signatureValue
            certificate.next().read_der()?;
            certificate.next().read_der()?;
            Ok(validity)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    fn ca_pem() -> String {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    /// A self-signed `CA:TRUE` server certificate, as `openssl req -x509`
    /// makes (the real command is used by the integration tests).
    fn self_signed(names: &[&str], years: std::ops::Range<i32>) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_before = rcgen::date_time_ymd(years.start, 1, 1);
        params.not_after = rcgen::date_time_ymd(years.end, 1, 1);
        params.self_signed(&key).unwrap().der().clone()
    }

    fn verify(trust: Trust, cert: &CertificateDer<'_>, name: &str) -> Result<(), rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Verifier::new(trust, &provider).unwrap();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        verifier
            .verify_server_cert(cert, &[], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    fn pinning(cert: &CertificateDer<'static>) -> Trust {
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, cert)
        );
        trust(
            "reg:5000",
            &[("intermediate_registry.cert".into(), pem)],
            &[],
        )
        .unwrap()
    }

    #[test]
    fn pems_and_certs_dirs_are_trusted() {
        let base = trust("reg:5000", &[], &[]).unwrap().roots.len();
        let dir = tempfile::tempdir().unwrap();
        let host_dir = dir.path().join("[::1]:5000");
        std::fs::create_dir_all(&host_dir).unwrap();
        std::fs::write(host_dir.join("ca.crt"), ca_pem()).unwrap();
        std::fs::write(host_dir.join("client.key"), "not a cert").unwrap();
        let pems = vec![("buildset_registry.cert".to_owned(), ca_pem())];
        let found = trust("[::1]:5000", &pems, &[dir.path().to_owned()]).unwrap();
        assert_eq!(found.roots.len(), base + 2);
        assert_eq!(found.pinned.len(), 2);
        let file = host_dir.join("ca.crt").display().to_string();
        assert_eq!(found.origins, ["buildset_registry.cert".to_owned(), file]);
        assert_eq!(found.dirs, std::slice::from_ref(&host_dir));
        // Another registry's directory is not read.
        let other = trust("other:5000", &[], &[dir.path().to_owned()]).unwrap();
        assert_eq!(other.roots.len(), base);
        assert!(other.pinned.is_empty());
        assert!(client_config(other).is_ok());
    }

    #[test]
    fn bad_pem_names_its_origin() {
        let pems = vec![("intermediate_registry.cert".to_owned(), "junk".to_owned())];
        let err = trust("reg:5000", &pems, &[]).unwrap_err().to_string();
        assert!(err.contains("intermediate_registry.cert"), "{err}");
        assert!(err.contains("reg:5000"), "{err}");
    }

    /// Issue 9: webpki alone refuses a self-signed `CA:TRUE` server
    /// certificate (`CaUsedAsEndEntity`); pinned, it is accepted for its
    /// names only.
    #[test]
    fn issue_9_a_pinned_self_signed_certificate_is_trusted_for_its_names() {
        let cert = self_signed(&["127.0.0.1", "localhost"], 2020..2090);
        let webpki_alone = WebPkiServerVerifier::builder_with_provider(
            Arc::new(pinning(&cert).roots),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap()
        .verify_server_cert(
            &cert,
            &[],
            &ServerName::try_from("localhost").unwrap(),
            &[],
            UnixTime::now(),
        );
        assert!(
            matches!(&webpki_alone, Err(err) if err.to_string().contains("CaUsedAsEndEntity")),
            "{webpki_alone:?}"
        );
        verify(pinning(&cert), &cert, "127.0.0.1").unwrap();
        verify(pinning(&cert), &cert, "localhost").unwrap();
        let err = verify(pinning(&cert), &cert, "other.example").unwrap_err();
        assert!(err.to_string().contains("not valid for name"), "{err}");
        let err = verify(pinning(&cert), &cert, "127.0.0.2").unwrap_err();
        assert!(err.to_string().contains("not valid for name"), "{err}");
    }

    #[test]
    fn issue_9_a_pinned_certificate_outside_its_validity_is_refused() {
        let expired = self_signed(&["localhost"], 2000..2001);
        let err = verify(pinning(&expired), &expired, "localhost").unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        let future = self_signed(&["localhost"], 2090..2091);
        let err = verify(pinning(&future), &future, "localhost").unwrap_err();
        assert!(err.to_string().contains("not valid yet"), "{err}");
    }

    #[test]
    fn issue_9_another_self_signed_certificate_is_not_pinned() {
        let configured = self_signed(&["localhost"], 2020..2090);
        let presented = self_signed(&["localhost"], 2020..2090);
        assert!(verify(pinning(&configured), &presented, "localhost").is_err());
        // Without any root (no system CAs), pinning still works and the
        // rest is refused.
        let mut only_pins = pinning(&configured);
        only_pins.roots = RootCertStore::empty();
        verify(only_pins.clone(), &configured, "localhost").unwrap();
        let err = verify(only_pins, &presented, "localhost").unwrap_err();
        assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    }

    /// A CA and a leaf it signed work as before, through webpki.
    #[test]
    fn a_chain_to_a_configured_ca_is_trusted() {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let trust = trust("reg:5000", &[("cert".into(), ca.pem())], &[]).unwrap();
        verify(trust.clone(), leaf.der(), "localhost").unwrap();
        assert!(verify(trust, leaf.der(), "other.example").is_err());
    }

    #[test]
    fn validity_is_read_from_the_der() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2001, 2, 3);
        // After 2049: a GeneralizedTime instead of a UTCTime.
        params.not_after = rcgen::date_time_ymd(2051, 6, 7);
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(validity(cert.der()).unwrap(), (981158400, 2569708800));
        assert!(validity(b"junk").is_err());
    }
}
