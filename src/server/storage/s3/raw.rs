//! The S3 requests `object_store` does not offer, signed with its public
//! SigV4 signer and sent on the same HTTP client: completing a multipart
//! upload from parts with explicit numbers (an upload's parts need not be
//! numbered without gaps, see `uploads`), optionally only if the key is
//! still absent (`If-None-Match: *`). Knows nothing of the registry.

use super::settings::S3Settings;
use axum::http::{Method, Request, StatusCode};
use bytes::Bytes;
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::{HttpClient, HttpRequestBody};
use object_store::path::Path;

/// A signed-request sender for one bucket.
pub(super) struct Raw {
    http: HttpClient,
    /// `<endpoint>/<bucket>`, path-style.
    base: String,
    bucket: String,
    credential: AwsCredential,
    region: String,
}

/// A failed raw request: no answer, or an answer other than success.
#[derive(Debug, thiserror::Error)]
pub(super) enum RawError {
    #[error("no answer: {0}")]
    Transport(String),
    #[error("answered {status}: {body}")]
    Status { status: StatusCode, body: String },
}

/// One uploaded part: its number and the store's ETag for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Part {
    #[serde(rename = "n")]
    pub number: u32,
    pub etag: String,
    pub size: u64,
}

impl Raw {
    pub(super) fn new(client: reqwest::Client, settings: &S3Settings) -> Raw {
        Raw {
            http: HttpClient::new(client),
            base: format!("{}/{}", settings.endpoint, settings.bucket),
            bucket: settings.bucket.clone(),
            credential: AwsCredential {
                key_id: settings.access_key.expose().to_owned(),
                secret_key: settings.secret_key.expose().to_owned(),
                token: None,
            },
            region: settings.region.clone(),
        }
    }

    fn url(&self, key: &Path, query: &str) -> String {
        let mut url = format!("{}/{}", self.base, key.as_ref());
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    async fn send(
        &self,
        method: Method,
        url: String,
        headers: &[(&'static str, &str)],
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), RawError> {
        let mut builder = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder
            .body(HttpRequestBody::from(body))
            .map_err(|err| RawError::Transport(err.to_string()))?;
        AwsAuthorizer::new(&self.credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|err| RawError::Transport(err.to_string()))?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|err| RawError::Transport(err.to_string()))?;
        let status = response.status();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|err| RawError::Transport(err.to_string()))?;
        Ok((status, body))
    }

    /// Complete multipart upload `id` of `key` from `parts` (ascending
    /// numbers). With `create`, only if `key` does not exist yet: `false`
    /// when it did (and nothing was written).
    pub(super) async fn complete(
        &self,
        key: &Path,
        id: &str,
        parts: &[Part],
        create: bool,
    ) -> Result<bool, RawError> {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for part in parts {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                part.number,
                escape(&part.etag)
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let query = format!(
            "uploadId={}",
            url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
        );
        let headers: &[(&'static str, &str)] = if create {
            &[("if-none-match", "*"), ("content-type", "application/xml")]
        } else {
            &[("content-type", "application/xml")]
        };
        let mut last = None;
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
            }
            match self
                .send(
                    Method::POST,
                    self.url(key, &query),
                    headers,
                    Bytes::from(xml.clone()),
                )
                .await
            {
                Ok((StatusCode::PRECONDITION_FAILED, _)) if create => return Ok(false),
                // S3 may answer 200 with an error document.
                Ok((status, body)) if status.is_success() && !contains(&body, b"<Error>") => {
                    return Ok(true);
                }
                Ok((status, body)) if status.is_server_error() || status.is_success() => {
                    last = Some(RawError::Status {
                        status,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
                Ok((status, body)) => {
                    // A completion retried after its answer was lost.
                    if status == StatusCode::NOT_FOUND && attempt > 0 {
                        return Ok(true);
                    }
                    return Err(RawError::Status {
                        status,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| RawError::Transport("no attempt was made".into())))
    }
}

impl Raw {
    /// Copy bytes `range` (inclusive) of `source` as part `number` of
    /// multipart upload `id` of `key`, inside the store; the part's ETag.
    pub(super) async fn copy_part(
        &self,
        key: &Path,
        id: &str,
        number: u32,
        source: &Path,
        range: (u64, u64),
    ) -> Result<String, RawError> {
        let query = format!(
            "partNumber={number}&uploadId={}",
            url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
        );
        let copy_source = format!("/{}/{}", self.bucket, source.as_ref());
        let copy_range = format!("bytes={}-{}", range.0, range.1);
        let headers = [
            ("x-amz-copy-source", copy_source.as_str()),
            ("x-amz-copy-source-range", copy_range.as_str()),
        ];
        let mut last = None;
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
            }
            match self
                .send(Method::PUT, self.url(key, &query), &headers, Bytes::new())
                .await
            {
                Ok((status, body)) if status.is_success() && !contains(&body, b"<Error>") => {
                    let text = String::from_utf8_lossy(&body);
                    return Ok(part_etag(&text));
                }
                Ok((status, body)) if status.is_server_error() || status.is_success() => {
                    last = Some(RawError::Status {
                        status,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
                Ok((status, body)) => {
                    return Err(RawError::Status {
                        status,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| RawError::Transport("no attempt was made".into())))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The ETag in a part id from `object_store` (plain, or its
/// `<PartMetadata>` form when checksums are on).
pub(super) fn part_etag(content_id: &str) -> String {
    match (content_id.find("<ETag>"), content_id.find("</ETag>")) {
        (Some(start), Some(end)) if start + 6 <= end => content_id[start + 6..end]
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
        _ => content_id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_etags() {
        assert_eq!(part_etag("\"abc\""), "\"abc\"");
        assert_eq!(
            part_etag("<PartMetadata><ETag>\"abc\"</ETag></PartMetadata>"),
            "\"abc\""
        );
        assert_eq!(escape("\"a&b\""), "&quot;a&amp;b&quot;");
        assert_eq!(
            part_etag("<CopyPartResult><ETag>&quot;abc&quot;</ETag></CopyPartResult>"),
            "\"abc\""
        );
    }
}
