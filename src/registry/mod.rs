//! OCI distribution client: the transport (TLS trust, retries), auth (Basic
//! and Bearer challenges, credential discovery), blobs, downloads that
//! resume with `Range` after a break, manifests and the copy engine that
//! moves whole images (every platform of an index) between registries
//! byte-exact.
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
pub mod tls;

pub use client::{Registry, RegistryOptions};

use reqwest::StatusCode;
use thiserror::Error;

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
    /// Whether trying the same operation again could succeed: connection
    /// failures, 408, 429 and 5xx (except 501/505), truncated transfers.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Http { status, code, .. } => {
                retry::retryable_status(*status) || code.as_deref() == Some("BLOB_UPLOAD_UNKNOWN")
            }
            Error::SizeMismatch {
                expected, actual, ..
            } => actual < expected,
            Error::RangeNotHonoured { .. } => true,
            Error::GaveUp { .. } => false,
            _ => false,
        }
    }
}
