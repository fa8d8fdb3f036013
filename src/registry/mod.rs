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
    /// were available).
    #[error("`{registry}` refused the credentials: {message}")]
    Unauthorized { registry: String, message: String },
    /// The credentials are valid but may not do this (403).
    #[error("`{registry}` denied access: {message}")]
    Denied { registry: String, message: String },
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
    /// does not help; the trust configuration must change.
    #[error("{method} {url}: {message}")]
    Certificate {
        method: String,
        url: String,
        message: String,
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
    /// when TLS refused the server's certificate, else [`Error::Transport`].
    pub fn transport(method: &str, url: &Url, err: &reqwest::Error) -> Error {
        let (method, url, message) = (method.to_owned(), show_url(url), describe(err));
        if refused_certificate(err) {
            Error::Certificate {
                method,
                url,
                message,
            }
        } else {
            Error::Transport {
                method,
                url,
                message,
            }
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

/// Whether TLS refused the server's certificate (rather than the network
/// failing): rustls' `InvalidCertificate` somewhere in the causes.
fn refused_certificate(err: &reqwest::Error) -> bool {
    causes(err).into_iter().any(|cause| {
        matches!(
            cause.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        )
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
