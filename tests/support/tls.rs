//! Test certificates: a CA and a server certificate for 127.0.0.1, ::1 and
//! localhost (plus any extra names), as PEM, made with rcgen.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

pub struct TestCerts {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// A fresh CA and a server certificate it signed for `names`, 127.0.0.1,
/// ::1 and localhost.
pub fn server_certs(names: &[&str]) -> TestCerts {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "zuul-image test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let mut sans: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    sans.extend(names.iter().map(|name| name.to_string()));
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(sans).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "zuul-image test server");
    let cert = params.signed_by(&key, &issuer).unwrap();
    TestCerts {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// Which key `openssl req -x509 -newkey` makes.
#[derive(Debug, Clone, Copy)]
pub enum KeyKind {
    Rsa,
    /// P-256.
    Ec,
}

/// A self-signed server certificate made the way sites make one, with the
/// real `openssl` command: `openssl req -x509 -newkey … -nodes -subj
/// /CN=<cn> -addext subjectAltName=<san>`. Debian's openssl.cnf marks it
/// `CA:TRUE`. The certificate is its own trust (`ca_pem == cert_pem`).
pub fn openssl_self_signed(kind: KeyKind, cn: &str, san: &str) -> TestCerts {
    let dir = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new("openssl");
    command.args(["req", "-x509", "-nodes", "-days", "30"]);
    match kind {
        KeyKind::Rsa => command.args(["-newkey", "rsa:2048"]),
        KeyKind::Ec => command.args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]),
    };
    command
        .arg("-keyout")
        .arg(dir.path().join("key.pem"))
        .arg("-out")
        .arg(dir.path().join("cert.pem"))
        .arg("-subj")
        .arg(format!("/CN={cn}"))
        .arg("-addext")
        .arg(format!("subjectAltName={san}"));
    super::run(&mut command);
    let cert_pem = std::fs::read_to_string(dir.path().join("cert.pem")).unwrap();
    let text = super::run(
        std::process::Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(dir.path().join("cert.pem")),
    );
    assert!(
        text.contains("CA:TRUE"),
        "openssl made a non-CA certificate:\n{text}"
    );
    TestCerts {
        ca_pem: cert_pem.clone(),
        cert_pem,
        key_pem: std::fs::read_to_string(dir.path().join("key.pem")).unwrap(),
    }
}
