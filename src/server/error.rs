//! The server's error type and its wire form: every failure a handler can
//! meet is one `Error` variant, and [`IntoResponse`] turns it into the OCI
//! distribution spec's `{"errors":[{code,message,detail}]}` body with the
//! spec's status code. Handlers never build error bodies by hand.
//!
//! Messages never carry secrets: credentials are not part of any variant.
//! Nor do they carry the server's paths: a storage failure is logged with
//! the file it concerns, and the client is told only what kind of failure it
//! was (`storage failure: no storage space`). An object store that does not
//! answer is `503 UNAVAILABLE` with `Retry-After`, so clients try again.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("invalid repository name `{0}`")]
    NameInvalid(String),
    #[error("repository `{0}` is not known")]
    NameUnknown(String),
    #[error("invalid digest `{0}`")]
    DigestInvalid(String),
    #[error("content does not match digest `{expected}` (got `{actual}`)")]
    DigestMismatch { expected: String, actual: String },
    #[error("blob `{0}` is not known")]
    BlobUnknown(String),
    #[error("upload `{0}` is not known")]
    UploadUnknown(String),
    #[error("upload is invalid: {0}")]
    UploadInvalid(String),
    #[error("chunk starts at {start} but the upload holds {offset} bytes")]
    RangeOutOfOrder { start: u64, offset: u64 },
    #[error("requested range is not satisfiable for a blob of {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("manifest `{0}` is not known")]
    ManifestUnknown(String),
    #[error("manifest is invalid: {0}")]
    ManifestInvalid(String),
    #[error("manifest references `{0}`, which this repository does not hold")]
    ManifestBlobUnknown(String),
    #[error("invalid tag `{0}`")]
    TagInvalid(String),
    #[error("size is invalid: {0}")]
    SizeInvalid(String),
    #[error("authentication required")]
    Unauthorized {
        /// The `WWW-Authenticate` challenge to send.
        challenge: String,
    },
    #[error("requested access to the resource is denied")]
    Denied,
    #[error("too many failed logins from this address; try again in {}s", retry_after.as_secs())]
    TooManyRequests { retry_after: std::time::Duration },
    #[error("{0}")]
    Unsupported(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("storage failure: {}", .0.summary())]
    Storage(#[from] super::storage::Error),
    #[error("storage failure: {}", .0.kind())]
    Io(#[from] std::io::Error),
    #[error("request body failed: {0}")]
    Body(String),
}

/// One entry of the spec's error body.
#[derive(Debug, Serialize)]
struct ErrorEntry {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<serde_json::Value>,
}

/// The spec's error body.
#[derive(Debug, Serialize)]
struct ErrorBody {
    errors: Vec<ErrorEntry>,
}

impl Error {
    /// The spec's error code and HTTP status.
    pub fn code(&self) -> (&'static str, StatusCode) {
        match self {
            Error::NameInvalid(_) => ("NAME_INVALID", StatusCode::BAD_REQUEST),
            Error::NameUnknown(_) => ("NAME_UNKNOWN", StatusCode::NOT_FOUND),
            Error::DigestInvalid(_) | Error::DigestMismatch { .. } => {
                ("DIGEST_INVALID", StatusCode::BAD_REQUEST)
            }
            Error::BlobUnknown(_) => ("BLOB_UNKNOWN", StatusCode::NOT_FOUND),
            Error::UploadUnknown(_) => ("BLOB_UPLOAD_UNKNOWN", StatusCode::NOT_FOUND),
            Error::UploadInvalid(_) => ("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST),
            Error::RangeOutOfOrder { .. } => {
                ("BLOB_UPLOAD_INVALID", StatusCode::RANGE_NOT_SATISFIABLE)
            }
            Error::RangeNotSatisfiable { .. } => {
                ("BLOB_UNKNOWN", StatusCode::RANGE_NOT_SATISFIABLE)
            }
            Error::ManifestUnknown(_) => ("MANIFEST_UNKNOWN", StatusCode::NOT_FOUND),
            Error::ManifestInvalid(_) => ("MANIFEST_INVALID", StatusCode::BAD_REQUEST),
            Error::ManifestBlobUnknown(_) => ("MANIFEST_BLOB_UNKNOWN", StatusCode::BAD_REQUEST),
            Error::TagInvalid(_) => ("TAG_INVALID", StatusCode::BAD_REQUEST),
            Error::SizeInvalid(_) => ("SIZE_INVALID", StatusCode::BAD_REQUEST),
            Error::Unauthorized { .. } => ("UNAUTHORIZED", StatusCode::UNAUTHORIZED),
            Error::Denied => ("DENIED", StatusCode::FORBIDDEN),
            Error::TooManyRequests { .. } => ("TOOMANYREQUESTS", StatusCode::TOO_MANY_REQUESTS),
            Error::Unsupported(_) => ("UNSUPPORTED", StatusCode::METHOD_NOT_ALLOWED),
            Error::NotFound => ("NOT_FOUND", StatusCode::NOT_FOUND),
            Error::MethodNotAllowed => ("UNSUPPORTED", StatusCode::METHOD_NOT_ALLOWED),
            Error::Storage(err) if err.unavailable() => {
                ("UNAVAILABLE", StatusCode::SERVICE_UNAVAILABLE)
            }
            Error::Storage(_) | Error::Io(_) => ("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR),
            Error::Body(_) => ("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST),
        }
    }
}

impl Error {
    /// The whole story for the log, paths included; `Display` is what the
    /// client is told.
    pub fn detail(&self) -> String {
        match self {
            Error::Storage(err) => format!("storage failure: {err}"),
            Error::Io(err) => format!("storage failure: {err}"),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (code, status) = self.code();
        if status.is_server_error() {
            tracing::error!("{}", self.detail());
        } else {
            tracing::debug!("{code}: {self}");
        }
        let detail = match &self {
            Error::DigestMismatch { expected, actual } => {
                Some(serde_json::json!({"expected": expected, "actual": actual}))
            }
            _ => None,
        };
        let body = ErrorBody {
            errors: vec![ErrorEntry {
                code,
                message: self.to_string(),
                detail,
            }],
        };
        let text = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, text).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            "Docker-Distribution-API-Version",
            HeaderValue::from_static("registry/2.0"),
        );
        match &self {
            Error::Unauthorized { challenge } => {
                if let Ok(value) = HeaderValue::from_str(challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, value);
                }
            }
            Error::RangeOutOfOrder { offset, .. } => {
                let end = offset.saturating_sub(1);
                if let Ok(value) = HeaderValue::from_str(&format!("0-{end}")) {
                    headers.insert(header::RANGE, value);
                }
            }
            Error::TooManyRequests { retry_after } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after.as_secs()),
                );
            }
            Error::Storage(err) if err.unavailable() => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            Error::RangeNotSatisfiable { size } => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            _ => {}
        }
        response
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_are_spec_json() {
        let response = Error::DigestMismatch {
            expected: "sha256:aa".into(),
            actual: "sha256:bb".into(),
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["errors"][0]["code"], "DIGEST_INVALID");
        assert_eq!(value["errors"][0]["detail"]["expected"], "sha256:aa");
    }

    #[tokio::test]
    async fn issue_12_storage_errors_are_answered_without_paths() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::server::storage::fs::Root::open(dir.path()).unwrap();
        std::fs::remove_dir(dir.path().join("uploads")).unwrap();
        let err = Error::from(storage.create_upload("0123").unwrap_err());
        let root = dir.path().display().to_string();
        assert!(
            err.detail().contains(&root),
            "the log names the file: {}",
            err.detail()
        );
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains(&root), "{text}");
        assert!(!text.contains("/uploads/"), "{text}");
        assert!(text.contains("storage failure: entity not found"), "{text}");
    }
}
