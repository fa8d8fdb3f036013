//! Manifests and indexes as raw bytes with their media type: GET (with
//! every `Accept` type, since distribution 404s a type it was not offered),
//! HEAD, PUT, and the descriptors a manifest points at.
//!
//! Never re-serialises: what is fetched is what is pushed, so digests hold.
//! Parses only the fields needed to walk an image (`manifests`, `config`,
//! `layers`).

use super::Error;
use super::auth::Scopes;
use super::client::Registry;
use super::digest::digest_like;
use crate::digest::{Algorithm, Digest};
use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Every manifest type we copy, for `Accept`.
pub const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// A manifest or index exactly as a registry served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub media_type: String,
    pub digest: Digest,
    pub bytes: Bytes,
}

/// A content descriptor inside a manifest, its digest validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: Option<String>,
    pub digest: Digest,
    pub size: u64,
}

/// A descriptor as written, before its digest is checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    #[serde(default)]
    media_type: Option<String>,
    digest: String,
    size: u64,
    #[serde(default)]
    urls: Option<Vec<String>>,
}

/// What a manifest points at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Children {
    /// Index entries (child manifests).
    pub manifests: Vec<Descriptor>,
    /// Config and layers (blobs), foreign layers left out.
    pub blobs: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Walk {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<RawDescriptor>>,
    #[serde(default)]
    config: Option<RawDescriptor>,
    #[serde(default)]
    layers: Option<Vec<RawDescriptor>>,
}

impl Manifest {
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_LIST
    }

    /// Parse the descriptors; `registry` and `what` name it in errors.
    pub fn children(&self, registry: &str, what: &str) -> Result<Children, Error> {
        let bad = |message: String| Error::Protocol {
            registry: registry.to_owned(),
            message: format!("served manifest `{what}` that {message}"),
        };
        let walk: Walk = serde_json::from_slice(&self.bytes)
            .map_err(|err| bad(format!("is not valid JSON: {err}")))?;
        let (manifests, blobs) = if self.is_index() {
            let manifests = walk
                .manifests
                .ok_or_else(|| bad("has no `manifests`".into()))?;
            (manifests, Vec::new())
        } else {
            let config = walk.config.ok_or_else(|| bad("has no `config`".into()))?;
            let mut blobs = vec![config];
            for layer in walk.layers.unwrap_or_default() {
                // Foreign (non-distributable) layers live elsewhere.
                let foreign = layer.urls.as_ref().is_some_and(|urls| !urls.is_empty())
                    || layer
                        .media_type
                        .as_deref()
                        .is_some_and(|t| t.contains("foreign") || t.contains("nondistributable"));
                if !foreign {
                    blobs.push(layer);
                }
            }
            (Vec::new(), blobs)
        };
        let checked = |raw: Vec<RawDescriptor>| -> Result<Vec<Descriptor>, Error> {
            raw.into_iter()
                .map(|raw| {
                    Ok(Descriptor {
                        digest: Digest::parse(&raw.digest)
                            .map_err(|err| bad(format!("has a bad descriptor: {err}")))?,
                        media_type: raw.media_type,
                        size: raw.size,
                    })
                })
                .collect()
        };
        Ok(Children {
            manifests: checked(manifests)?,
            blobs: checked(blobs)?,
        })
    }
}

/// The media type of manifest bytes when the server's `Content-Type` is
/// missing or generic: the `mediaType` field, else guessed from the shape.
fn sniff_media_type(bytes: &[u8]) -> Option<String> {
    let walk: Walk = serde_json::from_slice(bytes).ok()?;
    if let Some(media_type) = walk.media_type {
        return Some(media_type);
    }
    if walk.manifests.is_some() {
        Some(OCI_INDEX.to_owned())
    } else if walk.config.is_some() {
        Some(OCI_MANIFEST.to_owned())
    } else {
        None
    }
}

impl Registry {
    /// GET a manifest by tag or digest. A digest reference, and the
    /// `Docker-Content-Digest` header when present, are checked against the
    /// bytes received.
    pub async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
        scopes: &Scopes,
    ) -> Result<Manifest, Error> {
        let url = self.url(&format!("{repository}/manifests/{reference}"));
        let response = self
            .send(Method::GET, &url, scopes, |r| r.header(ACCEPT, ACCEPT_ALL))
            .await?;
        let response = self
            .expect(&Method::GET, &url, response, &[StatusCode::OK])
            .await?;
        let header_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        let header_digest = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .map_err(|err| self.transport_error(&Method::GET, &url, &err))?;
        let what = format!("{}/{repository}@{reference}", self.address());
        let is_digest = reference.contains(':');
        let like = if is_digest {
            reference
        } else {
            header_digest.as_deref().unwrap_or("sha256:")
        };
        let digest = digest_like(like, &bytes);
        let expected = if is_digest {
            Some(reference.to_owned())
        } else {
            header_digest
        };
        // A digest with another algorithm than the one computed says nothing.
        if let Some(expected) = expected.filter(|e| Algorithm::of(e) == Some(digest.algorithm)) {
            if expected != digest.to_string() {
                return Err(Error::DigestMismatch {
                    what,
                    expected,
                    actual: digest.to_string(),
                });
            }
        }
        let media_type = match header_type {
            Some(t) if t.contains("manifest") || t.contains("image.index") => t,
            _ => sniff_media_type(&bytes).ok_or_else(|| Error::Protocol {
                registry: self.address().to_owned(),
                message: format!("served `{what}` without a recognisable media type"),
            })?,
        };
        Ok(Manifest {
            media_type,
            digest,
            bytes,
        })
    }

    /// HEAD a manifest: its digest when it exists, `None` on 404 (and when
    /// the registry names no valid `Docker-Content-Digest`).
    pub async fn manifest_digest(
        &self,
        repository: &str,
        reference: &str,
        scopes: &Scopes,
    ) -> Result<Option<Digest>, Error> {
        let url = self.url(&format!("{repository}/manifests/{reference}"));
        let response = self
            .send(Method::HEAD, &url, scopes, |r| r.header(ACCEPT, ACCEPT_ALL))
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self
            .expect(&Method::HEAD, &url, response, &[StatusCode::OK])
            .await?;
        Ok(response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Digest::parse(v).ok()))
    }

    /// PUT a manifest's exact bytes under `reference` (a tag or its digest).
    pub async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        manifest: &Manifest,
        scopes: &Scopes,
    ) -> Result<(), Error> {
        let url = self.url(&format!("{repository}/manifests/{reference}"));
        let response = self
            .send(Method::PUT, &url, scopes, |r| {
                r.header(CONTENT_TYPE, manifest.media_type.as_str())
                    .body(manifest.bytes.clone())
            })
            .await?;
        let response = self
            .expect(
                &Method::PUT,
                &url,
                response,
                &[StatusCode::CREATED, StatusCode::OK, StatusCode::ACCEPTED],
            )
            .await?;
        if let Some(returned) = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            if Algorithm::of(returned) == Some(manifest.digest.algorithm)
                && returned != manifest.digest.to_string()
            {
                return Err(Error::DigestMismatch {
                    what: format!("{}/{repository}:{reference} as stored", self.address()),
                    expected: manifest.digest.to_string(),
                    actual: returned.to_owned(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(value: serde_json::Value, media_type: &str) -> Manifest {
        let bytes = Bytes::from(serde_json::to_vec(&value).unwrap());
        Manifest {
            media_type: media_type.into(),
            digest: digest_like("sha256:", &bytes),
            bytes,
        }
    }

    fn d(n: char) -> String {
        format!("sha256:{}", n.to_string().repeat(64))
    }

    #[test]
    fn walks_manifests_and_indexes() {
        let image = manifest(
            json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d('a'), "size": 10},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d('b'), "size": 20},
                {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "digest": d('c'), "size": 30, "urls": ["https://x"]},
            ]}),
            OCI_MANIFEST,
        );
        let children = image.children("r", "x").unwrap();
        assert!(children.manifests.is_empty());
        assert_eq!(
            children.blobs.iter().map(|b| b.size).collect::<Vec<_>>(),
            vec![10, 20]
        );
        let index = manifest(
            json!({"schemaVersion": 2, "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": d('d'), "size": 300, "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": OCI_MANIFEST, "digest": d('e'), "size": 301, "platform": {"architecture": "arm64", "os": "linux"}},
            ]}),
            OCI_INDEX,
        );
        let children = index.children("r", "x").unwrap();
        assert_eq!(children.manifests.len(), 2);
        assert!(children.blobs.is_empty());
    }

    #[test]
    fn bad_manifests_are_named() {
        let bad = manifest(
            json!({"config": {"digest": "sha256:short", "size": 1}}),
            OCI_MANIFEST,
        );
        let err = bad
            .children("reg:5000", "org/app:latest")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("reg:5000") && err.contains("org/app:latest"),
            "{err}"
        );
        let junk = Manifest {
            media_type: OCI_MANIFEST.into(),
            digest: Digest::sha256_of(b"<html>"),
            bytes: Bytes::from_static(b"<html>"),
        };
        assert!(
            junk.children("r", "x")
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
    }

    #[test]
    fn media_types_are_sniffed() {
        assert_eq!(
            sniff_media_type(br#"{"mediaType": "x"}"#).as_deref(),
            Some("x")
        );
        assert_eq!(
            sniff_media_type(br#"{"manifests": []}"#).as_deref(),
            Some(OCI_INDEX)
        );
        assert_eq!(
            sniff_media_type(br#"{"config": {"digest": "d", "size": 1}}"#).as_deref(),
            Some(OCI_MANIFEST)
        );
        assert_eq!(sniff_media_type(b"nope"), None);
    }
}
