//! What to tell the user when a registry refuses for good: a certificate
//! zuul-image does not trust, a TLS handshake the registry refuses,
//! credentials rejected after a fresh login, access denied. Each message
//! names the registry, where trust or credentials came from (the variable,
//! the `certs.d` file, the auth file) and what to change.
//!
//! Callers describe the sources ([`Origins`]); [`super::tls::trust`] adds
//! what it found on disk. Pure text: no I/O, and no secret is known here.

use rustls::{AlertDescription, CertificateError};
use std::path::PathBuf;

/// Where a registry's trust and credentials can come from, as the caller
/// (which knows the variables) describes them.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// The variable that can hold the registry's CA or own certificate
    /// (`intermediate_registry.cert`).
    pub cert_variable: Option<String>,
    /// Where the credentials in use came from (`intermediate_registry`'s
    /// `username` and `password`, an auth file); `None` without credentials.
    pub credentials: Option<String>,
    /// How to give credentials when there are none
    /// (`intermediate_registry.username` and `.password`).
    pub credential_variables: Option<String>,
}

/// The advice for one registry.
#[derive(Debug, Clone, Default)]
pub struct Advice {
    /// `host:port`.
    pub registry: String,
    pub origins: Origins,
    /// What is trusted for it besides the system CAs: variable labels and
    /// `certs.d` files.
    pub trusted: Vec<String>,
    /// The per-registry directories looked in (`/etc/docker/certs.d/<registry>`).
    pub dirs: Vec<PathBuf>,
}

/// `a`, `` `a` or `b` ``, `` `a`, `b` or `c` `` (with `word` for "or").
fn quoted(items: &[String], word: &str) -> String {
    let items: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}

impl Advice {
    /// The registry's host without the port (and without IPv6 brackets).
    fn host(&self) -> &str {
        let host = match self.registry.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => &self.registry,
        };
        host.trim_start_matches('[').trim_end_matches(']')
    }

    /// Where a CA for it can go: the variable and the first directory.
    fn where_to_put(&self) -> String {
        let mut places = Vec::new();
        if let Some(variable) = &self.origins.cert_variable {
            places.push(format!("as `{variable}`"));
        }
        if let Some(dir) = self.dirs.first() {
            places.push(format!("as `{}`", dir.join("ca.crt").display()));
        }
        places.join(" or ")
    }

    /// What is trusted for the registry, in words.
    fn trust(&self) -> String {
        if self.trusted.is_empty() {
            let mut nothing: Vec<String> = self.origins.cert_variable.iter().cloned().collect();
            nothing.extend(
                self.dirs
                    .iter()
                    .map(|dir| format!("{}/*.crt", dir.display())),
            );
            if nothing.is_empty() {
                return "trusted for it: the system CAs only".into();
            }
            return format!(
                "trusted for it: the system CAs only (no {})",
                quoted(&nothing, "or")
            );
        }
        format!(
            "trusted for it: {}, and the system CAs",
            quoted(&self.trusted, "and")
        )
    }

    /// After a refused server certificate: where trust came from and what
    /// to change.
    pub fn certificate(&self, problem: &CertificateError) -> String {
        let trust = self.trust();
        let todo = match problem {
            CertificateError::UnknownIssuer if self.trusted.is_empty() => format!(
                "give the CA that issued its certificate (or a self-signed certificate itself) {}",
                self.where_to_put()
            ),
            CertificateError::UnknownIssuer => format!(
                "none of these issued its certificate nor is it: give the right CA (or the self-signed certificate itself) {}",
                self.where_to_put()
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let host = self.host();
                let kind = if host.parse::<std::net::IpAddr>().is_ok() { "IP" } else { "DNS" };
                format!(
                    "the certificate does not name `{host}`: reach the registry by a name the certificate holds, or reissue it with `{kind}:{host}` in its subjectAltName"
                )
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => "renew the registry's certificate (or check this machine's clock)".into(),
            _ => "the certificate itself is refused: give the registry a valid TLS server certificate".into(),
        };
        format!("; {trust}; {todo}")
    }

    /// After the registry refused the TLS handshake with `alert`.
    pub fn handshake(&self, alert: &AlertDescription) -> String {
        match alert {
            AlertDescription::HandshakeFailure
            | AlertDescription::ProtocolVersion
            | AlertDescription::InsufficientSecurity => "; it shares no TLS version or cipher suite with zuul-image (TLS 1.2 and 1.3, modern suites): enable TLS 1.2 or newer on the registry".into(),
            _ => "; it wants a client certificate, which zuul-image does not present: let clients in without one (distribution: no `http.tls.clientcas`)".into(),
        }
    }

    /// After a 401 the registry kept answering with fresh credentials.
    pub fn unauthorized(&self) -> String {
        match (
            &self.origins.credentials,
            &self.origins.credential_variables,
        ) {
            (Some(from), _) => format!(
                "; the credentials came from {from} and a fresh login was refused too: correct them"
            ),
            (None, Some(variables)) => format!(
                "; none are configured for it: set {variables}, or log in with `docker login {}`",
                self.registry
            ),
            (None, None) => format!(
                "; none are configured for it: log in with `docker login {}` (or podman's `auth.json`)",
                self.registry
            ),
        }
    }

    /// After a 403.
    pub fn denied(&self) -> String {
        match &self.origins.credentials {
            Some(from) => format!(
                "; the credentials from {from} were accepted but may not do this: give that account access to the repository, or use another"
            ),
            None => "; anonymous access may not do this: configure credentials for it".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advice(trusted: &[&str]) -> Advice {
        Advice {
            registry: "reg.example:5000".into(),
            origins: Origins {
                cert_variable: Some("intermediate_registry.cert".into()),
                credentials: None,
                credential_variables: Some(
                    "`intermediate_registry.username` and `.password`".into(),
                ),
            },
            trusted: trusted.iter().map(|t| t.to_string()).collect(),
            dirs: vec![
                "/etc/docker/certs.d/reg.example:5000".into(),
                "/etc/containers/certs.d/reg.example:5000".into(),
            ],
        }
    }

    #[test]
    fn certificate_advice_names_the_trust_and_what_to_do() {
        let none = advice(&[]).certificate(&CertificateError::UnknownIssuer);
        assert!(
            none.starts_with("; trusted for it: the system CAs only (no `intermediate_registry.cert`, `/etc/docker/certs.d/reg.example:5000/*.crt` or `/etc/containers/certs.d/reg.example:5000/*.crt`)"),
            "{none}"
        );
        assert!(
            none.ends_with("as `intermediate_registry.cert` or as `/etc/docker/certs.d/reg.example:5000/ca.crt`"),
            "{none}"
        );
        let some = advice(&[
            "intermediate_registry.cert",
            "/etc/docker/certs.d/reg.example:5000/ca.crt",
        ])
        .certificate(&CertificateError::UnknownIssuer);
        assert!(
            some.contains("trusted for it: `intermediate_registry.cert` and `/etc/docker/certs.d/reg.example:5000/ca.crt`, and the system CAs"),
            "{some}"
        );
        assert!(some.contains("none of these issued"), "{some}");
        let name =
            advice(&["intermediate_registry.cert"]).certificate(&CertificateError::NotValidForName);
        assert!(name.contains("does not name `reg.example`"), "{name}");
        assert!(name.contains("`DNS:reg.example`"), "{name}");
        let mut ip = advice(&[]);
        ip.registry = "[::1]:5000".into();
        let name = ip.certificate(&CertificateError::NotValidForName);
        assert!(name.contains("`IP:::1`"), "{name}");
        let old = advice(&[]).certificate(&CertificateError::Expired);
        assert!(old.contains("renew"), "{old}");
    }

    #[test]
    fn credential_advice_says_where_they_came_from() {
        let mut advice = advice(&[]);
        assert!(
            advice
                .unauthorized()
                .contains("set `intermediate_registry.username` and `.password`")
        );
        assert!(advice.denied().contains("anonymous"));
        advice.origins.credentials = Some("`/root/.docker/config.json`".into());
        assert!(
            advice
                .unauthorized()
                .contains("came from `/root/.docker/config.json`")
        );
        assert!(
            advice
                .denied()
                .contains("from `/root/.docker/config.json` were accepted")
        );
        advice.origins = Origins::default();
        assert!(
            advice
                .unauthorized()
                .contains("docker login reg.example:5000")
        );
    }
}
