//! TLS for the registry: loading a PEM certificate chain and key into a
//! rustls server config (ring provider, ALPN h2 and http/1.1), and making a
//! throw-away CA plus a server certificate for the buildset registry with
//! rcgen. The CA key is never written anywhere: once the server certificate
//! is signed it is dropped. Writes no files; callers do that through `fs`.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// The rustls crypto provider everything here uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls server config from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig> {
    let cert_pem = std::fs::read(cert)
        .with_context(|| format!("failed to read TLS certificate `{}`", cert.display()))?;
    let key_pem = std::fs::read(key)
        .with_context(|| format!("failed to read TLS key `{}`", key.display()))?;
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .with_context(|| format!("`{}` is not a PEM certificate", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("`{}` holds no PEM certificate", cert.display());
    }
    let key_der: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .with_context(|| format!("`{}` is not a PEM private key", key.display()))?
        .with_context(|| format!("`{}` holds no PEM private key", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("failed to set up TLS")?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .with_context(|| {
            format!(
                "the key `{}` does not match the certificate `{}`",
                key.display(),
                cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A CA and a server certificate it signed.
pub struct Generated {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// Make a CA and a server certificate valid for `names` (DNS names or IP
/// addresses, e.g. the alias, the host, `127.0.0.1`, `::1`).
pub fn generate(names: &[String]) -> Result<Generated> {
    let ca_key = KeyPair::generate().context("failed to generate the CA key")?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "zuul-image buildset registry CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .context("failed to sign the CA certificate")?;
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().context("failed to generate the server key")?;
    let mut params = CertificateParams::new(names.to_vec())
        .with_context(|| format!("invalid certificate names {names:?}"))?;
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_default(),
    );
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .signed_by(&key, &issuer)
        .context("failed to sign the server certificate")?;
    Ok(Generated {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_load() {
        let generated = generate(&[
            "zuul-jobs.buildset-registry".into(),
            "203.0.113.7".into(),
            "127.0.0.1".into(),
            "::1".into(),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cert.pem"), &generated.cert_pem).unwrap();
        std::fs::write(dir.path().join("key.pem"), &generated.key_pem).unwrap();
        server_config(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap();
        assert!(generated.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(server_config(&dir.path().join("key.pem"), &dir.path().join("cert.pem")).is_err());
    }
}
