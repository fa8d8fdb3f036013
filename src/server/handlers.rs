//! The request handlers behind the router: one function per route and
//! method, each turning a parsed [`Route`](super::path::Route) into storage
//! and upload calls and a response with the spec's status and headers. Auth
//! has been decided before these run; errors are returned as
//! [`Error`](super::error::Error) and rendered by it.

use super::State;
use super::error::{Error, Result};
use super::manifests;
use super::path::{ManifestRef, parse_digest};
use super::prune;
use super::uploads::ChunkRange;
use crate::digest::{Digest, Hasher};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::sync::Arc;

/// Query parameters as pairs, in order.
pub type Query = Vec<(String, String)>;

pub fn query_get<'a>(query: &'a Query, key: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn respond(status: StatusCode, headers: Vec<(&'static str, String)>, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

fn empty(status: StatusCode, headers: Vec<(&'static str, String)>) -> Response {
    let mut headers = headers;
    headers.push(("content-length", "0".into()));
    respond(status, headers, Body::empty())
}

fn json(
    value: &serde_json::Value,
    content_type: &str,
    extra: Vec<(&'static str, String)>,
) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut headers = extra;
    headers.push(("content-type", content_type.to_owned()));
    respond(StatusCode::OK, headers, Body::from(bytes))
}

pub fn base() -> Response {
    json(&serde_json::json!({}), "application/json", Vec::new())
}

/// `n`/`last` pagination over a sorted list; the page and the `Link`.
fn paginate(all: Vec<String>, query: &Query, path: &str) -> Result<(Vec<String>, Option<String>)> {
    let n = match query_get(query, "n") {
        Some(n) => Some(
            n.parse::<usize>()
                .map_err(|_| Error::Unsupported(format!("invalid page size `n={n}`")))?,
        ),
        None => None,
    };
    let last = query_get(query, "last");
    let rest: Vec<String> = all
        .into_iter()
        .filter(|item| last.is_none_or(|last| item.as_str() > last))
        .collect();
    match n {
        Some(n) if rest.len() > n => {
            let page: Vec<String> = rest.into_iter().take(n).collect();
            let link = page
                .last()
                .map(|last| format!("<{path}?n={n}&last={last}>; rel=\"next\""));
            Ok((page, link))
        }
        _ => Ok((rest, None)),
    }
}

pub async fn catalog(state: Arc<State>, query: Query) -> Result<Response> {
    let all = state.storage.repositories().await?;
    let (page, link) = paginate(all, &query, "/v2/_catalog")?;
    let extra = link.map(|l| vec![("link", l)]).unwrap_or_default();
    Ok(json(
        &serde_json::json!({ "repositories": page }),
        "application/json",
        extra,
    ))
}

pub async fn tags(state: Arc<State>, name: String, query: Query) -> Result<Response> {
    let all = state
        .storage
        .tags(&name)
        .await?
        .ok_or_else(|| Error::NameUnknown(name.clone()))?;
    let (page, link) = paginate(all, &query, &format!("/v2/{name}/tags/list"))?;
    let extra = link.map(|l| vec![("link", l)]).unwrap_or_default();
    Ok(json(
        &serde_json::json!({ "name": name, "tags": page }),
        "application/json",
        extra,
    ))
}

pub async fn get_manifest(
    state: Arc<State>,
    method: &Method,
    name: String,
    reference: ManifestRef,
    headers: &HeaderMap,
) -> Result<Response> {
    let accept: Vec<String> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let storage = &state.storage;
    let unknown = || Error::ManifestUnknown(format!("{name}:{reference}"));
    let digest = match &reference {
        ManifestRef::Tag(tag) => storage.tag(&name, tag).await?.ok_or_else(unknown)?,
        ManifestRef::Digest(digest) => digest.clone(),
    };
    let media_type = storage
        .manifest_media_type(&name, &digest)
        .await?
        .ok_or_else(unknown)?;
    if matches!(reference, ManifestRef::Tag(_))
        && !manifests::acceptable(accept.iter().map(String::as_str), &media_type)
    {
        // Not what the client takes: 404 sends it upstream.
        return Err(unknown());
    }
    let bytes = storage.read_blob(&digest).await?.ok_or_else(unknown)?;
    let headers = vec![
        ("content-type", media_type),
        ("docker-content-digest", digest.to_string()),
        ("etag", format!("\"{digest}\"")),
        ("content-length", bytes.len().to_string()),
    ];
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    Ok(respond(StatusCode::OK, headers, body))
}

/// A manifest body, refused past [`manifests::MAX_SIZE`]; a body that
/// fails (or stalls past the body timeout) is a body error.
async fn read_manifest(body: Body) -> Result<Vec<u8>> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|err| Error::Body(err.to_string()))?;
        if bytes.len() + frame.len() > manifests::MAX_SIZE {
            return Err(Error::ManifestInvalid(format!(
                "a manifest may be at most {} bytes",
                manifests::MAX_SIZE
            )));
        }
        bytes.extend_from_slice(&frame);
    }
    Ok(bytes)
}

/// The tags a manifest PUT applies: the reference when it is a tag, and
/// every `tag` query parameter (distribution spec 1.1, "push manifest with
/// tags"), each validated before anything is stored.
fn tags_to_apply(reference: &ManifestRef, query: &Query) -> Result<Vec<String>> {
    let mut tags: Vec<String> = Vec::new();
    if let ManifestRef::Tag(tag) = reference {
        tags.push(tag.clone());
    }
    for (key, tag) in query {
        if key != "tag" {
            continue;
        }
        crate::reference::validate_tag(tag).map_err(|_| Error::TagInvalid(tag.clone()))?;
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    Ok(tags)
}

/// `PUT /v2/<name>/manifests/<reference>[?tag=…]`: store the exact bytes
/// under their digest (sha256 when pushed by tag, the given algorithm when
/// pushed by digest), then point every tag at it, all or none; with `tag`
/// parameters the answer names each tag applied in an `OCI-Tag` header.
pub async fn put_manifest(
    state: Arc<State>,
    name: String,
    reference: ManifestRef,
    query: Query,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    let tags = tags_to_apply(&reference, &query)?;
    let announce = query.iter().any(|(key, _)| key == "tag");
    let bytes = read_manifest(body).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let digest = match &reference {
        ManifestRef::Digest(digest) => {
            if !digest.matches(&bytes) {
                let mut hasher = Hasher::new(digest.algorithm);
                hasher.update(&bytes);
                return Err(Error::DigestMismatch {
                    expected: digest.to_string(),
                    actual: hasher.finish().to_string(),
                });
            }
            digest.clone()
        }
        ManifestRef::Tag(_) => Digest::sha256_of(&bytes),
    };
    let storage = &state.storage;
    let accepted = manifests::validate(storage, &name, content_type.as_deref(), &bytes).await?;
    storage.put_bytes(&digest, bytes.into()).await?;
    storage
        .link_manifest(&name, &digest, &accepted.media_type)
        .await?;
    // Before the tag and the answer: a concurrent prune keeps it all.
    prune::confirm(storage, &name, &digest).await?;
    storage.set_tags(&name, &tags, &digest).await?;
    if let Some(subject) = &accepted.subject {
        storage.add_referrer(&name, subject, &digest).await?;
    }
    let mut headers = vec![
        ("location", format!("/v2/{name}/manifests/{digest}")),
        ("docker-content-digest", digest.to_string()),
    ];
    if let Some(subject) = accepted.subject {
        headers.push(("oci-subject", subject.to_string()));
    }
    if announce {
        headers.extend(tags.into_iter().map(|tag| ("oci-tag", tag)));
    }
    Ok(empty(StatusCode::CREATED, headers))
}

pub async fn delete_manifest(
    state: Arc<State>,
    name: String,
    reference: ManifestRef,
) -> Result<Response> {
    let storage = &state.storage;
    let unknown = || Error::ManifestUnknown(format!("{name}:{reference}"));
    match &reference {
        ManifestRef::Tag(tag) => {
            if !storage.delete_tag(&name, tag).await? {
                return Err(unknown());
            }
        }
        ManifestRef::Digest(digest) => {
            if storage.manifest_media_type(&name, digest).await?.is_none() {
                return Err(unknown());
            }
            for tag in storage.tags_of(&name, digest).await? {
                storage.delete_tag(&name, &tag).await?;
            }
            if let Some(bytes) = storage.read_blob(digest).await? {
                if let Some(subject) = manifests::subject_of(&bytes) {
                    storage.remove_referrer(&name, &subject, digest).await?;
                }
            }
            storage.unlink_manifest(&name, digest).await?;
        }
    }
    Ok(empty(StatusCode::ACCEPTED, Vec::new()))
}

pub async fn referrers(
    state: Arc<State>,
    name: String,
    subject: Digest,
    query: Query,
) -> Result<Response> {
    let filter = query_get(&query, "artifactType").map(str::to_owned);
    let storage = &state.storage;
    let mut descriptors = Vec::new();
    for digest in storage.referrers(&name, &subject).await? {
        let Some(media_type) = storage.manifest_media_type(&name, &digest).await? else {
            continue;
        };
        let Some(bytes) = storage.read_blob(&digest).await? else {
            continue;
        };
        let descriptor = manifests::referrer_descriptor(&digest, &media_type, &bytes);
        let keep = filter
            .as_deref()
            .is_none_or(|want| descriptor["artifactType"] == want);
        if keep {
            descriptors.push(descriptor);
        }
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": manifests::OCI_INDEX,
        "manifests": descriptors,
    });
    let extra = match filter {
        Some(_) => vec![("oci-filters-applied", "artifactType".to_owned())],
        None => Vec::new(),
    };
    Ok(json(&index, manifests::OCI_INDEX, extra))
}

/// A `Range: bytes=…` request against a blob of `size`: (start, length).
pub fn parse_range(value: &str, size: u64) -> Result<(u64, u64)> {
    let bad = || Error::RangeNotSatisfiable { size };
    let spec = value.trim().strip_prefix("bytes=").ok_or_else(bad)?;
    if spec.contains(',') {
        return Err(bad());
    }
    let (start, end) = spec.split_once('-').ok_or_else(bad)?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (start, "") => (start.parse().map_err(|_| bad())?, size.saturating_sub(1)),
        (start, end) => {
            let start: u64 = start.parse().map_err(|_| bad())?;
            let end: u64 = end.parse().map_err(|_| bad())?;
            (start, end.min(size.saturating_sub(1)))
        }
    };
    if start >= size || end < start {
        return Err(bad());
    }
    Ok((start, end - start + 1))
}

pub async fn get_blob(
    state: Arc<State>,
    method: &Method,
    name: String,
    digest: Digest,
    headers: &HeaderMap,
) -> Result<Response> {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let head = method == Method::HEAD;
    let storage = &state.storage;
    // Only what this repository holds: a digest known elsewhere is unknown here.
    let unknown = || Error::BlobUnknown(digest.to_string());
    if !storage.holds(&name, &digest).await? {
        return Err(unknown());
    }
    let blob = storage.open_blob(&digest).await?.ok_or_else(unknown)?;
    let size = blob.size;
    let mut headers = vec![
        ("docker-content-digest", digest.to_string()),
        ("content-type", "application/octet-stream".to_owned()),
        ("accept-ranges", "bytes".to_owned()),
        ("etag", format!("\"{digest}\"")),
    ];
    let (status, start, len) = match range {
        Some(range) if !head => {
            let (start, len) = parse_range(&range, size)?;
            headers.push((
                "content-range",
                format!("bytes {start}-{}/{size}", start + len - 1),
            ));
            (StatusCode::PARTIAL_CONTENT, start, len)
        }
        _ => (StatusCode::OK, 0, size),
    };
    headers.push(("content-length", len.to_string()));
    if head {
        return Ok(respond(status, headers, Body::empty()));
    }
    let stream = blob.source.stream(start, len);
    Ok(respond(status, headers, Body::from_stream(stream)))
}

/// `DELETE /v2/<name>/blobs/<digest>`: `name` stops holding the blob. The
/// content stays for every other repository that holds it, until `prune`.
pub async fn delete_blob(state: Arc<State>, name: String, digest: Digest) -> Result<Response> {
    if state.storage.unlink_blob(&name, &digest).await? {
        Ok(empty(StatusCode::ACCEPTED, Vec::new()))
    } else {
        Err(Error::BlobUnknown(digest.to_string()))
    }
}

fn upload_headers(name: &str, id: &str, offset: u64) -> Vec<(&'static str, String)> {
    vec![
        ("location", format!("/v2/{name}/blobs/uploads/{id}")),
        ("docker-upload-uuid", id.to_owned()),
        ("range", format!("0-{}", offset.saturating_sub(1))),
    ]
}

fn created_blob(name: &str, digest: &Digest) -> Response {
    empty(
        StatusCode::CREATED,
        vec![
            ("location", format!("/v2/{name}/blobs/{digest}")),
            ("docker-content-digest", digest.to_string()),
        ],
    )
}

fn digest_param(query: &Query) -> Result<Digest> {
    let text = query_get(query, "digest")
        .ok_or_else(|| Error::DigestInvalid("(missing `digest` parameter)".into()))?;
    parse_digest(text)
}

/// `POST /v2/<name>/blobs/uploads/`: mount, monolithic, or a new session.
/// `mount_from` is the `from` repository when the caller may read it; a
/// mount from anywhere else, or of a blob `from` does not hold, is a plain
/// upload session (202), as the spec asks.
pub async fn start_upload(
    state: Arc<State>,
    name: String,
    query: Query,
    mount_from: Option<String>,
    body: Body,
) -> Result<Response> {
    if let Some(mount) = query_get(&query, "mount") {
        let digest = parse_digest(mount)?;
        if let Some(from) = mount_from {
            if prune::mount(&state.storage, &from, &name, &digest).await? {
                return Ok(created_blob(&name, &digest));
            }
        }
    } else if query_get(&query, "digest").is_some() {
        let digest = digest_param(&query)?;
        state.storage.put_blob(&name, body, &digest).await?;
        return Ok(created_blob(&name, &digest));
    }
    let id = state.storage.start_upload(&name).await?;
    Ok(empty(StatusCode::ACCEPTED, upload_headers(&name, &id, 0)))
}

pub async fn upload_status(state: Arc<State>, name: String, id: String) -> Result<Response> {
    let offset = state.storage.upload_status(&name, &id).await?;
    Ok(empty(
        StatusCode::NO_CONTENT,
        upload_headers(&name, &id, offset),
    ))
}

fn content_range(headers: &HeaderMap) -> Result<Option<ChunkRange>> {
    match headers.get(header::CONTENT_RANGE) {
        None => Ok(None),
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| Error::UploadInvalid("Content-Range is not text".into()))?;
            ChunkRange::parse(text).map(Some)
        }
    }
}

pub async fn patch_upload(
    state: Arc<State>,
    name: String,
    id: String,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    let range = content_range(headers)?;
    let offset = state.storage.append_upload(&name, &id, range, body).await?;
    Ok(empty(
        StatusCode::ACCEPTED,
        upload_headers(&name, &id, offset),
    ))
}

pub async fn put_upload(
    state: Arc<State>,
    name: String,
    id: String,
    query: Query,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    let digest = digest_param(&query)?;
    if let Some(range) = content_range(headers)? {
        let offset = state.storage.upload_status(&name, &id).await?;
        if range.start != offset {
            return Err(Error::RangeOutOfOrder {
                start: range.start,
                offset,
            });
        }
    }
    state
        .storage
        .finish_upload(&name, &id, body, &digest)
        .await?;
    Ok(created_blob(&name, &digest))
}

pub async fn cancel_upload(state: Arc<State>, name: String, id: String) -> Result<Response> {
    state.storage.cancel_upload(&name, &id).await?;
    Ok(empty(StatusCode::NO_CONTENT, Vec::new()))
}

pub fn method_not_allowed() -> Response {
    Error::MethodNotAllowed.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), (0, 10));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), (90, 10));
        assert_eq!(parse_range("bytes=-5", 100).unwrap(), (95, 5));
        assert_eq!(parse_range("bytes=95-200", 100).unwrap(), (95, 5));
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=5-1", 100).is_err());
        assert!(parse_range("items=0-1", 100).is_err());
    }

    #[test]
    fn pagination() {
        let all: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let query = vec![("n".to_owned(), "2".to_owned())];
        let (page, link) = paginate(all.clone(), &query, "/v2/x/tags/list").unwrap();
        assert_eq!(page, vec!["a", "b"]);
        assert_eq!(link.unwrap(), "</v2/x/tags/list?n=2&last=b>; rel=\"next\"");
        let query = vec![
            ("n".to_owned(), "2".to_owned()),
            ("last".to_owned(), "b".to_owned()),
        ];
        let (page, link) = paginate(all, &query, "/p").unwrap();
        assert_eq!(page, vec!["c"]);
        assert!(link.is_none());
    }
}
