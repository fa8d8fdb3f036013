//! Blobs: existence checks (HEAD), streaming downloads, upload sessions
//! (with cross-repository mount, where a 202 means "upload here"), the
//! monolithic streaming PUT with `Content-Length`, and the chunked PATCH
//! path for registries that refuse a monolithic upload.
//!
//! One attempt per call: resuming a broken download is
//! [`super::download`]'s business (it asks for the rest with
//! [`Registry::get_blob_from`]), retrying a whole blob from a fresh session
//! is the copy engine's decision. Every byte goes through [`Verified`], so nothing
//! is finalised unless it matches its digest.

use super::auth::Scopes;
use super::client::Registry;
use super::digest::{FailureSlot, OnBytes, Verified};
use super::download::ContentRange;
use super::{Error, show_url};
use crate::digest::Digest;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use reqwest::{Method, Response, StatusCode};
use url::Url;

/// What a POST to `…/blobs/uploads/` gave.
#[derive(Debug)]
pub enum UploadStart {
    /// The blob was mounted from another repository: nothing to upload.
    Mounted,
    /// An upload session; its `Location`, and the chunk size the registry
    /// asked for (`OCI-Chunk-Min-Length`).
    Session {
        location: Url,
        min_chunk: Option<u64>,
    },
}

/// A blob to put into a destination repository.
pub struct BlobUpload<'a> {
    pub repository: &'a str,
    pub digest: &'a Digest,
    pub size: u64,
    pub scopes: &'a Scopes,
}

/// The default PATCH size when a registry gives none.
const CHUNK: u64 = 8 << 20;

/// Statuses with which a registry refuses a monolithic PUT with a body.
fn refuses_monolithic(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::RANGE_NOT_SATISFIABLE
            | StatusCode::METHOD_NOT_ALLOWED
            | StatusCode::NOT_IMPLEMENTED
            | StatusCode::LENGTH_REQUIRED
    )
}

impl Registry {
    /// HEAD a blob: its size when present, `None` on 404.
    pub async fn blob_size(
        &self,
        repository: &str,
        digest: &Digest,
        scopes: &Scopes,
    ) -> Result<Option<u64>, Error> {
        let url = self.url(&format!("{repository}/blobs/{digest}"));
        let response = self.send(Method::HEAD, &url, scopes, |r| r).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self
            .expect(&Method::HEAD, &url, response, &[StatusCode::OK])
            .await?;
        Ok(Some(
            response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        ))
    }

    /// Start a blob download; the response body is the blob (redirects to
    /// storage backends are followed, without the registry credentials).
    pub async fn get_blob(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        scopes: &Scopes,
    ) -> Result<Response, Error> {
        let url = self.url(&format!("{repository}/blobs/{digest}"));
        let response = self.send(Method::GET, &url, scopes, |r| r).await?;
        let response = self
            .expect(&Method::GET, &url, response, &[StatusCode::OK])
            .await?;
        if let Some(length) = response.content_length() {
            if length != size {
                return Err(Error::SizeMismatch {
                    what: format!("{}/{repository}@{digest}", self.address()),
                    expected: size,
                    actual: length,
                });
            }
        }
        Ok(response)
    }

    /// Ask for the rest of a blob, from byte `offset` of `size`, with
    /// `Range: bytes=<offset>-`. Only a `206 Partial Content` whose
    /// `Content-Range` (and `Content-Length`) is exactly that rest is
    /// accepted; a 200 (Range ignored) or another range is
    /// [`Error::RangeNotHonoured`], other statuses the usual errors.
    pub async fn get_blob_from(
        &self,
        repository: &str,
        digest: &Digest,
        size: u64,
        offset: u64,
        scopes: &Scopes,
    ) -> Result<Response, Error> {
        let url = self.url(&format!("{repository}/blobs/{digest}"));
        let range = format!("bytes={offset}-");
        let response = self
            .send(Method::GET, &url, scopes, |r| {
                r.header(RANGE, range.as_str())
            })
            .await?;
        let refused = |answer: String| Error::RangeNotHonoured {
            registry: self.address().to_owned(),
            what: format!("{repository}@{digest}"),
            offset,
            answer,
        };
        match response.status() {
            StatusCode::PARTIAL_CONTENT => {
                let header = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let exact = ContentRange::parse(header).is_some_and(|r| r.is_rest_of(offset, size))
                    && response
                        .content_length()
                        .is_none_or(|length| length == size - offset);
                if !exact {
                    return Err(refused(format!("206 with `Content-Range: {header}`")));
                }
                Ok(response)
            }
            StatusCode::OK => Err(refused("200 with the whole blob".into())),
            _ => Err(self.error(&Method::GET, &url, response).await),
        }
    }

    /// Open an upload session, or mount `digest` from `mount_from` (a
    /// repository on this registry). A 202 to a mount is a session: the
    /// registry could not mount and wants the bytes.
    pub async fn start_upload(
        &self,
        repository: &str,
        mount: Option<(&Digest, &str)>,
        scopes: &Scopes,
    ) -> Result<UploadStart, Error> {
        let mut url = self.url(&format!("{repository}/blobs/uploads/"));
        if let Some((digest, from)) = mount {
            url.query_pairs_mut()
                .append_pair("mount", &digest.to_string())
                .append_pair("from", from);
        }
        let response = self
            .send(Method::POST, &url, scopes, |r| {
                r.header(CONTENT_LENGTH, "0")
            })
            .await?;
        let response = self
            .expect(
                &Method::POST,
                &url,
                response,
                &[StatusCode::CREATED, StatusCode::ACCEPTED],
            )
            .await?;
        if response.status() == StatusCode::CREATED && mount.is_some() {
            return Ok(UploadStart::Mounted);
        }
        let min_chunk = response
            .headers()
            .get("oci-chunk-min-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(UploadStart::Session {
            location: self.location(&response)?,
            min_chunk,
        })
    }

    /// Cancel an upload session (best effort, after a failure).
    pub async fn cancel_upload(&self, location: &Url, scopes: &Scopes) {
        let request = self.http.delete(location.clone());
        if let Err(err) = self
            .send_once(request, &Method::DELETE, location, scopes)
            .await
        {
            tracing::debug!("could not cancel upload {}: {err}", show_url(location));
        }
    }

    fn with_digest(location: &Url, digest: &Digest) -> Url {
        let mut url = location.clone();
        url.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        url
    }

    /// Upload `body` (a stream of exactly `blob.size` bytes, verified
    /// against `blob.digest`) into `location` in one PUT with
    /// `Content-Length`. Returns `Ok(false)` when the registry refuses a
    /// monolithic upload, so the caller can go chunked.
    pub async fn put_monolithic<S, E>(
        &self,
        blob: &BlobUpload<'_>,
        location: &Url,
        body: S,
        what: String,
        on_bytes: OnBytes,
    ) -> Result<bool, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: std::fmt::Display,
    {
        let failure = FailureSlot::default();
        let verified =
            Verified::new(body, what, blob.digest, blob.size, failure.clone()).on_bytes(on_bytes);
        let url = Registry::with_digest(location, blob.digest);
        let request = self
            .http
            .put(url.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, blob.size)
            .body(reqwest::Body::wrap_stream(verified));
        let outcome = self
            .send_once(request, &Method::PUT, &url, blob.scopes)
            .await;
        if let Some(err) = failure.lock().ok().and_then(|mut slot| slot.take()) {
            return Err(err);
        }
        let response = outcome?;
        if refuses_monolithic(response.status()) {
            self.refuse_monolithic();
            return Ok(false);
        }
        self.finished(&url, response, blob).await?;
        Ok(true)
    }

    async fn finished(
        &self,
        url: &Url,
        response: Response,
        blob: &BlobUpload<'_>,
    ) -> Result<(), Error> {
        let response = self
            .expect(
                &Method::PUT,
                url,
                response,
                &[StatusCode::CREATED, StatusCode::NO_CONTENT, StatusCode::OK],
            )
            .await?;
        if let Some(stored) = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            if stored != blob.digest.to_string() {
                return Err(Error::DigestMismatch {
                    what: format!(
                        "{}/{}@{} as stored",
                        self.address(),
                        blob.repository,
                        blob.digest
                    ),
                    expected: blob.digest.to_string(),
                    actual: stored.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Upload `body` in PATCH chunks of at least `min_chunk` bytes, then
    /// finish with an empty PUT once the whole content has been verified.
    pub async fn put_chunked<S, E>(
        &self,
        blob: &BlobUpload<'_>,
        mut location: Url,
        min_chunk: Option<u64>,
        body: S,
        what: String,
        on_bytes: OnBytes,
    ) -> Result<(), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: std::fmt::Display,
    {
        let chunk_size = min_chunk.unwrap_or(CHUNK).max(CHUNK) as usize;
        let failure = FailureSlot::default();
        let mut verified =
            Verified::new(body, what, blob.digest, blob.size, failure.clone()).on_bytes(on_bytes);
        let mut offset: u64 = 0;
        let mut buffer = BytesMut::with_capacity(chunk_size.min(blob.size as usize));
        loop {
            let next = verified.next().await;
            let end = match next {
                Some(Ok(bytes)) => {
                    buffer.extend_from_slice(&bytes);
                    false
                }
                Some(Err(_)) => {
                    let err = failure.lock().ok().and_then(|mut slot| slot.take());
                    return Err(err.unwrap_or_else(|| Error::Protocol {
                        registry: self.address().to_owned(),
                        message: "upload stream failed".into(),
                    }));
                }
                None => true,
            };
            if buffer.len() >= chunk_size || (end && !buffer.is_empty()) {
                let chunk = buffer.split().freeze();
                let last = offset + chunk.len() as u64 - 1;
                let request = self
                    .http
                    .patch(location.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, chunk.len())
                    .header("content-range", format!("{offset}-{last}"))
                    .body(chunk.clone());
                let response = self
                    .send_once(request, &Method::PATCH, &location, blob.scopes)
                    .await?;
                let response = self
                    .expect(
                        &Method::PATCH,
                        &location,
                        response,
                        &[StatusCode::ACCEPTED, StatusCode::NO_CONTENT],
                    )
                    .await?;
                location = self.location(&response)?;
                offset += chunk.len() as u64;
            }
            if end {
                break;
            }
        }
        // `Verified` ended without failing: size and digest match.
        let url = Registry::with_digest(&location, blob.digest);
        let request = self.http.put(url.clone()).header(CONTENT_LENGTH, "0");
        let response = self
            .send_once(request, &Method::PUT, &url, blob.scopes)
            .await?;
        self.finished(&url, response, blob).await
    }
}
