//! Bearer tokens: HS256 JWTs signed with a random per-instance key (or,
//! for replicas sharing a store, the configured `token-key`), scoped to
//! repositories and actions, and expiring. Verification accepts exactly one
//! header algorithm (`HS256`), checks the signature in constant time with
//! this instance's key, then the issuer and the time window; anything else
//! (`alg: none`, another key, an expired token) is refused. Pure apart from
//! reading the clock; knows nothing of HTTP.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

const ISSUER: &str = "zuul-image";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error("token is malformed")]
    Malformed,
    #[error("token algorithm is not HS256")]
    Algorithm,
    #[error("token signature is invalid")]
    Signature,
    #[error("token has expired or is not valid yet")]
    Expired,
}

/// One granted scope: `repository:<name>:<actions>` or `registry:catalog:*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub jti: String,
    pub access: Vec<Access>,
}

impl Claims {
    /// Whether the token grants `action` on repository `name`.
    pub fn allows(&self, name: &str, action: &str) -> bool {
        self.access.iter().any(|access| {
            access.kind == "repository"
                && access.name == name
                && access.actions.iter().any(|a| a == action || a == "*")
        })
    }

    pub fn allows_catalog(&self) -> bool {
        self.access
            .iter()
            .any(|access| access.kind == "registry" && access.name == "catalog")
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
}

/// Signs and checks tokens with one key.
pub struct Signer {
    key: [u8; 32],
    ttl: Duration,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl Signer {
    /// A signer with a fresh random key.
    pub fn random(ttl: Duration) -> Signer {
        Signer {
            key: rand::random(),
            ttl,
        }
    }

    /// A signer with a configured key, so that every server configured
    /// alike accepts the tokens of the others. The HMAC key is the SHA-256
    /// of the configured text.
    pub fn with_key(key: &crate::secret::Secret, ttl: Duration) -> Signer {
        use sha2::Digest as _;
        Signer {
            key: Sha256::digest(key.expose().as_bytes()).into(),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; this cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    /// Issue a token for `subject` with `access`.
    pub fn issue(&self, subject: &str, audience: &str, access: Vec<Access>) -> (String, Claims) {
        let iat = now();
        let jti: [u8; 16] = rand::random();
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: subject.to_owned(),
            aud: audience.to_owned(),
            iat,
            nbf: iat.saturating_sub(5),
            exp: iat + self.ttl.as_secs(),
            jti: hex::encode(jti),
            access,
        };
        let header = Header {
            alg: "HS256".into(),
            typ: Some("JWT".into()),
        };
        let encode = |value: &[u8]| URL_SAFE_NO_PAD.encode(value);
        let signing_input = format!(
            "{}.{}",
            encode(&serde_json::to_vec(&header).unwrap_or_default()),
            encode(&serde_json::to_vec(&claims).unwrap_or_default())
        );
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = encode(&mac.finalize().into_bytes());
        (format!("{signing_input}.{signature}"), claims)
    }

    /// Check a token and return its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Malformed);
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| Error::Malformed);
        let parsed: Header =
            serde_json::from_slice(&decode(header)?).map_err(|_| Error::Malformed)?;
        if parsed.alg != "HS256" {
            return Err(Error::Algorithm);
        }
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&decode(signature)?)
            .map_err(|_| Error::Signature)?;
        let claims: Claims =
            serde_json::from_slice(&decode(payload)?).map_err(|_| Error::Malformed)?;
        let now = now();
        if claims.iss != ISSUER || claims.exp <= now || claims.nbf > now {
            return Err(Error::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A token signed with `key` (for forgery tests).
    pub fn forge(header: &str, claims: &serde_json::Value, key: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    fn push(name: &str) -> Vec<Access> {
        vec![Access {
            kind: "repository".into(),
            name: name.into(),
            actions: vec!["pull".into(), "push".into()],
        }]
    }

    #[test]
    fn issued_tokens_verify_and_are_scoped() {
        let signer = Signer::random(Duration::from_secs(60));
        let (token, _) = signer.issue("zuul", "svc", push("org/app"));
        let claims = signer.verify(&token).unwrap();
        assert!(claims.allows("org/app", "push"));
        assert!(!claims.allows("org/other", "pull"));
        assert!(!claims.allows_catalog());
    }

    #[test]
    fn forgeries_are_refused() {
        let signer = Signer::random(Duration::from_secs(60));
        let (token, claims) = signer.issue("zuul", "svc", push("org/app"));
        let claims = serde_json::to_value(claims).unwrap();
        let hs256 = r#"{"alg":"HS256","typ":"JWT"}"#;
        // zuul-registry's fixed key.
        assert_eq!(
            signer.verify(&forge(hs256, &claims, b"secret")),
            Err(Error::Signature)
        );
        // alg: none with an empty signature.
        let parts: Vec<&str> = token.split('.').collect();
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert_eq!(signer.verify(&none), Err(Error::Algorithm));
        // A token of another instance.
        let other = Signer::random(Duration::from_secs(60));
        assert_eq!(
            signer.verify(&other.issue("zuul", "svc", push("org/app")).0),
            Err(Error::Signature)
        );
        // Expired, signed with the right key.
        let expired = Signer {
            key: signer.key,
            ttl: Duration::ZERO,
        };
        assert_eq!(
            signer.verify(&expired.issue("zuul", "svc", push("org/app")).0),
            Err(Error::Expired)
        );
        // Tampered payload.
        let mut tampered = claims.clone();
        tampered["access"][0]["name"] = "org/other".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(tampered.to_string()),
            parts[2]
        );
        assert_eq!(signer.verify(&forged), Err(Error::Signature));
        assert_eq!(signer.verify("a.b"), Err(Error::Malformed));
    }

    #[test]
    fn issue_13_servers_with_one_key_accept_each_others_tokens() {
        let key = crate::secret::Secret::new("k".repeat(32));
        let one = Signer::with_key(&key, Duration::from_secs(60));
        let two = Signer::with_key(&key, Duration::from_secs(60));
        let (token, _) = one.issue("zuul", "svc", push("org/app"));
        assert!(two.verify(&token).unwrap().allows("org/app", "push"));
        let other = Signer::with_key(
            &crate::secret::Secret::new("x".repeat(32)),
            Duration::from_secs(60),
        );
        assert_eq!(other.verify(&token), Err(Error::Signature));
    }
}
