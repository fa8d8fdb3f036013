//! Manifest rules: which media type a pushed manifest has, what it must
//! reference before it is accepted (blobs and manifests the repository
//! itself holds: a digest known elsewhere in the registry is not enough), which stored manifest satisfies a
//! client's `Accept`, and the descriptors the referrers API lists. Bytes are
//! never rewritten: the digest is always that of the exact bytes received.
//! Reads storage to check references; writes nothing itself.

use super::error::{Error, Result};
use super::storage::Storage;
use crate::digest::Digest;
use serde::Deserialize;
use serde_json::{Map, Value};

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The largest manifest accepted (the spec suggests at least 4 MiB).
pub const MAX_SIZE: usize = 4 << 20;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    size: Option<i64>,
    #[serde(default)]
    urls: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    subject: Option<Descriptor>,
    #[serde(default)]
    annotations: Option<Map<String, Value>>,
}

/// What a valid pushed manifest turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub media_type: String,
    pub subject: Option<Digest>,
}

fn essence(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

fn generic(content_type: &str) -> bool {
    matches!(
        content_type,
        "" | "application/json" | "application/octet-stream" | "text/plain"
    )
}

/// Check a pushed manifest against the store: media type agreement,
/// referenced blobs (image manifests) and manifests (indexes) held by
/// repository `name`, with the sizes given.
pub async fn validate(
    storage: &Storage,
    name: &str,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<Accepted> {
    let header = content_type.map(essence).unwrap_or("");
    let known = [DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX];
    let parsed: Option<Manifest> = serde_json::from_slice(bytes).ok();
    let Some(manifest) = parsed else {
        if known.contains(&header) || generic(header) {
            return Err(Error::ManifestInvalid(
                "the body is not a JSON manifest".into(),
            ));
        }
        // Some other media type: stored as it is.
        return Ok(Accepted {
            media_type: header.to_owned(),
            subject: None,
        });
    };
    let media_type = match (&manifest.media_type, generic(header)) {
        (Some(body), false) if body != header => {
            return Err(Error::ManifestInvalid(format!(
                "Content-Type `{header}` does not match the manifest's mediaType `{body}`"
            )));
        }
        (_, false) => header.to_owned(),
        (Some(body), true) => body.clone(),
        (None, true) if manifest.manifests.is_some() => OCI_INDEX.to_owned(),
        (None, true) if manifest.config.is_some() => OCI_MANIFEST.to_owned(),
        (None, true) => {
            return Err(Error::ManifestInvalid(
                "no Content-Type and no mediaType: cannot tell what this manifest is".into(),
            ));
        }
    };
    match media_type.as_str() {
        DOCKER_MANIFEST | OCI_MANIFEST => {
            let config = manifest
                .config
                .as_ref()
                .ok_or_else(|| Error::ManifestInvalid("an image manifest needs `config`".into()))?;
            check_blob(storage, name, config).await?;
            for layer in manifest.layers.iter().flatten() {
                check_blob(storage, name, layer).await?;
            }
        }
        DOCKER_LIST | OCI_INDEX => {
            let members = manifest.manifests.as_ref().ok_or_else(|| {
                Error::ManifestInvalid("an index needs a `manifests` list".into())
            })?;
            for member in members {
                let digest = descriptor_digest(member)?;
                if storage.manifest_media_type(name, &digest).await?.is_none() {
                    return Err(Error::ManifestBlobUnknown(digest.to_string()));
                }
                check_size(member, &digest, storage.blob_size(&digest).await?)?;
            }
        }
        _ => {}
    }
    let subject = match &manifest.subject {
        Some(subject) => Some(descriptor_digest(subject)?),
        None => None,
    };
    Ok(Accepted {
        media_type,
        subject,
    })
}

fn descriptor_digest(descriptor: &Descriptor) -> Result<Digest> {
    Digest::parse(&descriptor.digest).map_err(|_| {
        Error::ManifestInvalid(format!(
            "invalid digest `{}` in a descriptor",
            descriptor.digest
        ))
    })
}

async fn check_blob(storage: &Storage, name: &str, descriptor: &Descriptor) -> Result<()> {
    let digest = descriptor_digest(descriptor)?;
    if descriptor
        .urls
        .as_ref()
        .is_some_and(|urls| !urls.is_empty())
    {
        // A foreign layer lives elsewhere.
        return Ok(());
    }
    let stored = match storage.holds(name, &digest).await? {
        true => storage.blob_size(&digest).await?,
        false => None,
    };
    if stored.is_none() {
        return Err(Error::ManifestBlobUnknown(digest.to_string()));
    }
    check_size(descriptor, &digest, stored)
}

fn check_size(descriptor: &Descriptor, digest: &Digest, stored: Option<u64>) -> Result<()> {
    match (descriptor.size, stored) {
        (Some(size), Some(stored)) if size != stored as i64 => Err(Error::ManifestInvalid(
            format!("`{digest}` is {stored} bytes, the manifest says {size}"),
        )),
        (None, _) => Err(Error::ManifestInvalid(format!(
            "the descriptor of `{digest}` has no size"
        ))),
        _ => Ok(()),
    }
}

/// Whether a client sending `accept` values takes `media_type`. No Accept
/// at all, or a wildcard, takes anything.
pub fn acceptable<'a>(accept: impl IntoIterator<Item = &'a str>, media_type: &str) -> bool {
    let mut any = false;
    for value in accept {
        for item in value.split(',') {
            let item = essence(item);
            if item.is_empty() {
                continue;
            }
            any = true;
            if item == media_type || item == "*/*" || item == "application/*" {
                return true;
            }
        }
    }
    !any
}

/// The descriptor of a stored manifest for the referrers index.
pub fn referrer_descriptor(digest: &Digest, media_type: &str, bytes: &[u8]) -> Value {
    let mut descriptor = Map::new();
    descriptor.insert("mediaType".into(), media_type.into());
    descriptor.insert("digest".into(), digest.to_string().into());
    descriptor.insert("size".into(), (bytes.len() as u64).into());
    if let Ok(manifest) = serde_json::from_slice::<Manifest>(bytes) {
        let artifact_type = manifest
            .artifact_type
            .or_else(|| manifest.config.and_then(|config| config.media_type));
        if let Some(artifact_type) = artifact_type {
            descriptor.insert("artifactType".into(), artifact_type.into());
        }
        if let Some(annotations) = manifest.annotations {
            descriptor.insert("annotations".into(), Value::Object(annotations));
        }
    }
    Value::Object(descriptor)
}

/// The subject of a stored manifest, if any (for deletes and prune).
pub fn subject_of(bytes: &[u8]) -> Option<Digest> {
    let manifest: Manifest = serde_json::from_slice(bytes).ok()?;
    Digest::parse(&manifest.subject?.digest).ok()
}

/// Everything a stored manifest references: config, layers, members.
pub fn references(bytes: &[u8]) -> Vec<Digest> {
    let Ok(manifest) = serde_json::from_slice::<Manifest>(bytes) else {
        return Vec::new();
    };
    manifest
        .config
        .into_iter()
        .chain(manifest.layers.into_iter().flatten())
        .chain(manifest.manifests.into_iter().flatten())
        .filter_map(|descriptor| Digest::parse(&descriptor.digest).ok())
        .collect()
}

/// What a stored manifest needs from this registry: its blobs (config and
/// layers, foreign layers left out) and its member manifests.
pub fn stored_references(bytes: &[u8]) -> (Vec<Digest>, Vec<Digest>) {
    let Ok(manifest) = serde_json::from_slice::<Manifest>(bytes) else {
        return (Vec::new(), Vec::new());
    };
    let digests = |descriptors: Vec<Descriptor>| -> Vec<Digest> {
        descriptors
            .into_iter()
            .filter(|descriptor| descriptor.urls.as_ref().is_none_or(Vec::is_empty))
            .filter_map(|descriptor| Digest::parse(&descriptor.digest).ok())
            .collect()
    };
    let blobs = manifest
        .config
        .into_iter()
        .chain(manifest.layers.into_iter().flatten())
        .collect();
    (
        digests(blobs),
        digests(manifest.manifests.unwrap_or_default()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn store(storage: &Storage, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256_of(bytes);
        storage
            .put_bytes(&digest, bytes.to_vec().into())
            .await
            .unwrap();
        storage.link_blob("a", &digest).await.unwrap();
        digest
    }

    fn open(dir: &tempfile::TempDir) -> Storage {
        std::sync::Arc::new(crate::server::storage::fs::FsStore::open(dir.path()).unwrap())
    }

    #[tokio::test]
    async fn image_manifests_need_their_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let storage = open(&dir);
        let config = store(&storage, b"{}").await;
        let layer = Digest::sha256_of(b"layer");
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.to_string(), "size": 5}],
        })
        .to_string();
        let err = validate(&storage, "a", Some(OCI_MANIFEST), manifest.as_bytes())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ManifestBlobUnknown(d) if d == layer.to_string()));
        store(&storage, b"layer").await;
        // Stored, but held by another repository only: unknown here.
        let err = validate(&storage, "b", Some(OCI_MANIFEST), manifest.as_bytes())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ManifestBlobUnknown(d) if d == config.to_string()));
        let ok = validate(&storage, "a", Some(OCI_MANIFEST), manifest.as_bytes())
            .await
            .unwrap();
        assert_eq!(ok.media_type, OCI_MANIFEST);
        // Wrong Content-Type.
        assert!(matches!(
            validate(&storage, "a", Some(DOCKER_MANIFEST), manifest.as_bytes()).await,
            Err(Error::ManifestInvalid(_))
        ));
        // No Content-Type: taken from the body.
        assert_eq!(
            validate(&storage, "a", None, manifest.as_bytes())
                .await
                .unwrap()
                .media_type,
            OCI_MANIFEST
        );
        // Wrong size.
        let wrong = manifest.replace("\"size\":5", "\"size\":6");
        assert!(matches!(
            validate(&storage, "a", Some(OCI_MANIFEST), wrong.as_bytes()).await,
            Err(Error::ManifestInvalid(_))
        ));
        assert!(matches!(
            validate(&storage, "a", Some(OCI_MANIFEST), b"not json").await,
            Err(Error::ManifestInvalid(_))
        ));
    }

    #[tokio::test]
    async fn indexes_need_their_manifests_in_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let storage = open(&dir);
        let member = store(&storage, b"{\"member\":1}").await;
        let index = json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": member.to_string(), "size": 12}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": member.to_string(), "size": 12},
        })
        .to_string();
        assert!(matches!(
            validate(&storage, "a", Some(OCI_INDEX), index.as_bytes()).await,
            Err(Error::ManifestBlobUnknown(_))
        ));
        storage
            .link_manifest("a", &member, OCI_MANIFEST)
            .await
            .unwrap();
        let ok = validate(&storage, "a", Some(OCI_INDEX), index.as_bytes())
            .await
            .unwrap();
        assert_eq!(ok.subject, Some(member.clone()));
        assert_eq!(references(index.as_bytes()), vec![member]);
    }

    #[test]
    fn accept_negotiation() {
        assert!(acceptable([], OCI_INDEX));
        assert!(acceptable(
            [format!("{DOCKER_MANIFEST}, {OCI_INDEX};q=0.5").as_str()],
            OCI_INDEX
        ));
        assert!(!acceptable([DOCKER_MANIFEST, DOCKER_LIST], OCI_MANIFEST));
        assert!(acceptable(["*/*"], OCI_MANIFEST));
    }
}
