//! OCI distribution client: the transport (TLS trust, retries), auth (Basic
//! and Bearer challenges, credential discovery), blobs, downloads that
//! resume with `Range` after a break, manifests, tags (retag, delete by
//! name), the copy engine that moves whole images (every platform of an
//! index) between registries byte-exact, and the Hub and Quay web APIs
//! that delete and list tags ([`tag_api`]).
//!
//! This module speaks HTTP to registries and nothing else: it does not read
//! Zuul variables, decide names or print. Callers hand it addresses,
//! credentials and CA certificates, and get back typed errors ([`Error`])
//! they can act on; progress goes through the [`progress::Observer`] hook.

pub mod advice;
pub mod auth;
pub mod blobs;
pub mod client;
pub mod copy;
pub mod credentials;
pub mod digest;
pub mod download;
pub mod manifests;
pub mod progress;
pub mod retry;
pub mod tag_api;
pub mod tags;
pub mod tls;

pub use client::{Registry, RegistryOptions};

use advice::Advice;
use reqwest::StatusCode;
use thiserror::Error;
use url::Url;

/// Why a registry operation failed. Messages name the registry and what was
/// asked for; they never carry credentials or tokens.
#[derive(Debug, Error)]
pub enum Error {
    /// The registry answered 404 (`MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`,
    /// `NAME_UNKNOWN`, or no error body).
    #[error("`{what}` not found in `{registry}`{}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    NotFound {
        registry: String,
        what: String,
        code: Option<String>,
    },
    /// The registry refused the credentials (or asked for some and none
    /// were available). `advice` (from [`Advice`]) says where they came
    /// from and what to do.
    #[error("`{registry}` refused the credentials: {message}{advice}")]
    Unauthorized {
        registry: String,
        message: String,
        advice: String,
    },
    /// The credentials are valid but may not do this (403).
    #[error("`{registry}` denied access: {message}{advice}")]
    Denied {
        registry: String,
        message: String,
        advice: String,
    },
    /// Bytes received do not hash to the digest they were asked for.
    #[error("`{what}`: content does not match its digest: expected `{expected}`, got `{actual}`")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// A blob is shorter or longer than its descriptor says.
    #[error("`{what}`: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    /// Asked for the rest of a broken blob download from byte `offset`,
    /// the registry answered something other than exactly that rest; the
    /// copy starts the blob over.
    #[error("`{registry}` did not resume `{what}` at byte {offset}: it answered {answer}")]
    RangeNotHonoured {
        registry: String,
        what: String,
        offset: u64,
        answer: String,
    },
    /// An unexpected HTTP status, with the OCI error code and message when
    /// the registry sent them.
    #[error("{method} {url} returned {status}{}{}", code.as_ref().map(|c| format!(" {c}")).unwrap_or_default(), if message.is_empty() { String::new() } else { format!(": {message}") })]
    Http {
        method: String,
        url: String,
        status: StatusCode,
        code: Option<String>,
        message: String,
    },
    /// The connection failed (refused, reset, TLS handshake, timeout).
    #[error("{method} {url}: {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
    },
    /// TLS refused the server's certificate: an unknown issuer, a name it
    /// is not valid for, an expired or malformed certificate. Trying again
    /// does not help; the trust configuration must change. `advice` names
    /// what was trusted and what to change.
    #[error("the TLS certificate of `{registry}` is not trusted ({message}){advice}")]
    Certificate {
        registry: String,
        message: String,
        advice: String,
    },
    /// The registry refused the TLS handshake: it wants a client
    /// certificate, or shares no protocol version with us. Permanent.
    #[error("`{registry}` refused the TLS handshake ({message}){advice}")]
    Handshake {
        registry: String,
        message: String,
        advice: String,
    },
    /// Retries did not help within the time budget; `last` is the final
    /// failure.
    #[error("gave up after {attempts} attempts in {elapsed_secs}s: {last}")]
    GaveUp {
        attempts: u32,
        elapsed_secs: u64,
        last: Box<Error>,
    },
    /// The registry answered something that breaks the distribution spec
    /// (no `Location`, a manifest that is not JSON, a bad descriptor).
    #[error("`{registry}` {message}")]
    Protocol { registry: String, message: String },
    #[error(transparent)]
    Tls(#[from] tls::Error),
    #[error(transparent)]
    Credentials(#[from] credentials::Error),
}

impl Error {
    /// Whether trying the same operation again could succeed (see
    /// [`retry::classify`]).
    pub fn is_transient(&self) -> bool {
        retry::classify(self) == retry::Failure::Transient
    }

    /// The error for a request that got no answer: [`Error::Certificate`]
    /// when TLS refused the server's certificate, [`Error::Handshake`] when
    /// the server refused the handshake, else [`Error::Transport`].
    /// `advice` is the registry's (for errors that say what to do).
    pub fn transport(method: &str, url: &Url, err: &reqwest::Error, advice: &Advice) -> Error {
        let registry = url.authority().to_owned();
        match tls_failure(err) {
            Some(tls @ rustls::Error::InvalidCertificate(problem)) => Error::Certificate {
                registry,
                message: tls.to_string(),
                advice: advice.certificate(problem),
            },
            Some(tls @ rustls::Error::AlertReceived(alert)) => Error::Handshake {
                registry,
                message: tls.to_string(),
                advice: advice.handshake(alert),
            },
            _ => Error::Transport {
                method: method.to_owned(),
                url: show_url(url),
                message: describe(err),
            },
        }
    }
}

/// A URL without its query (upload state tokens stay out of errors).
pub fn show_url(url: &Url) -> String {
    format!("{}://{}{}", url.scheme(), url.authority(), url.path())
}

/// The causes of `err`, outermost first. An `io::Error` wrapping another
/// error hides that one from `source()`, so wrapped errors are unpacked
/// too (rustls' error arrives inside two of them).
fn causes(err: &reqwest::Error) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut causes = Vec::new();
    let mut next = std::error::Error::source(err);
    while let Some(cause) = next {
        causes.push(cause);
        let mut wrapped = cause;
        while let Some(inner) = wrapped
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            causes.push(inner);
            wrapped = inner;
        }
        next = cause.source();
    }
    causes
}

/// The TLS failure behind `err` that trying again does not cure: rustls
/// refused the server's certificate, or the server refused the handshake
/// with an alert about certificates or versions; `None` for the rest
/// (the network failing, a reset mid-handshake).
fn tls_failure(err: &reqwest::Error) -> Option<&rustls::Error> {
    causes(err).into_iter().find_map(|cause| {
        let tls = cause.downcast_ref::<rustls::Error>()?;
        let permanent = match tls {
            rustls::Error::InvalidCertificate(_) => true,
            rustls::Error::AlertReceived(alert) => matches!(
                alert,
                rustls::AlertDescription::BadCertificate
                    | rustls::AlertDescription::UnsupportedCertificate
                    | rustls::AlertDescription::CertificateRevoked
                    | rustls::AlertDescription::CertificateExpired
                    | rustls::AlertDescription::CertificateUnknown
                    | rustls::AlertDescription::CertificateRequired
                    | rustls::AlertDescription::UnknownCA
                    | rustls::AlertDescription::AccessDenied
                    | rustls::AlertDescription::HandshakeFailure
                    | rustls::AlertDescription::ProtocolVersion
                    | rustls::AlertDescription::InsufficientSecurity
            ),
            _ => false,
        };
        permanent.then_some(tls)
    })
}

/// A short description of a transport error, with its causes (reqwest's
/// top-level message alone says little: "error sending request").
pub fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(err);
    let mut last = String::new();
    while let Some(cause) = source {
        let message = cause.to_string();
        if message != last {
            text.push_str(": ");
            text.push_str(&message);
            last = message;
        }
        source = cause.source();
    }
    text
}
