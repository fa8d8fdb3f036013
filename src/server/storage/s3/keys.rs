//! The key layout in the bucket, under the configured prefix: the
//! filesystem layout's names, with the few objects S3 needs besides. Pure.
//!
//! ```text
//! <prefix>/layout                                               layout version (`2`)
//! <prefix>/blobs/<alg>/<hh>/<hex>/data                          blob bytes, written once
//! <prefix>/blobs/<alg>/<hh>/<hex>/used                          written to make the blob young
//! <prefix>/repositories/<name>/_layers/<alg>/<hex>              repo holds blob (empty)
//! <prefix>/repositories/<name>/_manifests/<alg>/<hex>           repo holds manifest; its media type
//! <prefix>/repositories/<name>/_tags/<tag>                      the tagged digest
//! <prefix>/repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>
//! <prefix>/_uploads/<id>/state                                  upload state (JSON, compare-and-swap)
//! <prefix>/_uploads/<id>/data                                   the upload's multipart object
//! <prefix>/_uploads/<id>/staged/<offset>                        bytes short of a part
//! <prefix>/_pruning/<key>                                       prune is removing <key>
//! <prefix>/_clock                                               written to read the store's clock
//! ```
//!
//! A blob's bytes are never rewritten, so making it young writes the tiny
//! `used` object beside it; its age is that of the younger of the two.

use crate::digest::{Algorithm, Digest};
use object_store::path::Path;

/// The layout version this code writes and reads (as on the filesystem).
pub const LAYOUT_VERSION: &str = "2";

/// Key builder for one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Empty, or ending in `/`.
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Keys {
        let trimmed = prefix.trim_matches('/');
        Keys {
            prefix: if trimmed.is_empty() {
                String::new()
            } else {
                format!("{trimmed}/")
            },
        }
    }

    fn key(&self, rest: &str) -> Path {
        Path::from(format!("{}{rest}", self.prefix))
    }

    /// The part of `key` after the prefix.
    pub fn relative<'a>(&self, key: &'a Path) -> &'a str {
        key.as_ref()
            .strip_prefix(&self.prefix)
            .unwrap_or(key.as_ref())
    }

    pub fn layout(&self) -> Path {
        self.key("layout")
    }

    pub fn clock(&self) -> Path {
        self.key("_clock")
    }

    /// A throw-away object for checking what the store supports.
    pub fn probe(&self, id: &str) -> Path {
        self.key(&format!("_probe/{id}"))
    }

    fn blob_dir(digest: &Digest) -> String {
        format!(
            "blobs/{}/{}/{}",
            digest.algorithm.as_str(),
            &digest.hex[..2],
            digest.hex
        )
    }

    pub fn blob(&self, digest: &Digest) -> Path {
        self.key(&format!("{}/data", Keys::blob_dir(digest)))
    }

    pub fn blob_used(&self, digest: &Digest) -> Path {
        self.key(&format!("{}/used", Keys::blob_dir(digest)))
    }

    pub fn blobs(&self) -> Path {
        self.key("blobs")
    }

    /// The digest and kind (`data` or `used`) of a key under [`Self::blobs`].
    pub fn parse_blob(&self, key: &Path) -> Option<(Digest, BlobPart)> {
        let rest = self.relative(key).strip_prefix("blobs/")?;
        let mut parts = rest.split('/');
        let (alg, _, hex, kind) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let digest = parse_digest(alg, hex)?;
        let kind = match kind {
            "data" => BlobPart::Data,
            "used" => BlobPart::Used,
            _ => return None,
        };
        Some((digest, kind))
    }

    pub fn repositories(&self) -> Path {
        self.key("repositories")
    }

    /// `repositories/<name>/` as a prefix of keys.
    pub fn repository(&self, name: &str) -> Path {
        self.key(&format!("repositories/{name}"))
    }

    /// The repository name of a `repositories/<name>` prefix.
    pub fn repository_name(&self, prefix: &Path) -> Option<String> {
        self.relative(prefix)
            .strip_prefix("repositories/")
            .map(str::to_owned)
    }

    pub fn layers(&self, name: &str) -> Path {
        self.key(&format!("repositories/{name}/_layers"))
    }

    pub fn layer(&self, name: &str, digest: &Digest) -> Path {
        self.key(&format!(
            "repositories/{name}/_layers/{}/{}",
            digest.algorithm.as_str(),
            digest.hex
        ))
    }

    pub fn manifests(&self, name: &str) -> Path {
        self.key(&format!("repositories/{name}/_manifests"))
    }

    pub fn manifest(&self, name: &str, digest: &Digest) -> Path {
        self.key(&format!(
            "repositories/{name}/_manifests/{}/{}",
            digest.algorithm.as_str(),
            digest.hex
        ))
    }

    /// The digest of a link key `…/_layers/<alg>/<hex>` or `…/_manifests/<alg>/<hex>`.
    pub fn parse_link(key: &Path) -> Option<Digest> {
        let mut parts = key.as_ref().rsplit('/');
        let (hex, alg) = (parts.next()?, parts.next()?);
        parse_digest(alg, hex)
    }

    pub fn tags(&self, name: &str) -> Path {
        self.key(&format!("repositories/{name}/_tags"))
    }

    pub fn tag(&self, name: &str, tag: &str) -> Path {
        self.key(&format!("repositories/{name}/_tags/{tag}"))
    }

    pub fn referrers(&self, name: &str, subject: &Digest) -> Path {
        self.key(&format!(
            "repositories/{name}/_referrers/{}/{}",
            subject.algorithm.as_str(),
            subject.hex
        ))
    }

    pub fn referrer(&self, name: &str, subject: &Digest, referrer: &Digest) -> Path {
        self.key(&format!(
            "repositories/{name}/_referrers/{}/{}/{}-{}",
            subject.algorithm.as_str(),
            subject.hex,
            referrer.algorithm.as_str(),
            referrer.hex
        ))
    }

    pub fn uploads(&self) -> Path {
        self.key("_uploads")
    }

    pub fn upload(&self, id: &str) -> Path {
        self.key(&format!("_uploads/{id}"))
    }

    pub fn upload_state(&self, id: &str) -> Path {
        self.key(&format!("_uploads/{id}/state"))
    }

    pub fn upload_data(&self, id: &str) -> Path {
        self.key(&format!("_uploads/{id}/data"))
    }

    pub fn upload_staged(&self, id: &str, offset: u64) -> Path {
        self.key(&format!("_uploads/{id}/staged/{offset:020}"))
    }

    /// The id of a `_uploads/<id>/state` key.
    pub fn parse_upload_state(&self, key: &Path) -> Option<String> {
        let rest = self.relative(key).strip_prefix("_uploads/")?;
        let (id, file) = rest.split_once('/')?;
        (file == "state").then(|| id.to_owned())
    }

    pub fn markers(&self) -> Path {
        self.key("_pruning")
    }

    /// The marker prune writes while it removes `key`.
    pub fn marker(&self, key: &Path) -> Path {
        self.key(&format!("_pruning/{}", self.relative(key)))
    }
}

/// The two objects of a stored blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobPart {
    Data,
    Used,
}

fn parse_digest(alg: &str, hex: &str) -> Option<Digest> {
    let digest = Digest::parse(&format!("{alg}:{hex}")).ok()?;
    matches!(digest.algorithm, Algorithm::Sha256 | Algorithm::Sha512).then_some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let keys = Keys::new("/site/reg/");
        let digest = Digest::sha256_of(b"x");
        let blob = keys.blob(&digest);
        assert_eq!(
            blob.as_ref(),
            format!(
                "site/reg/blobs/sha256/{}/{}/data",
                &digest.hex[..2],
                digest.hex
            )
        );
        assert_eq!(
            keys.parse_blob(&blob),
            Some((digest.clone(), BlobPart::Data))
        );
        assert_eq!(
            keys.parse_blob(&keys.blob_used(&digest)),
            Some((digest.clone(), BlobPart::Used))
        );
        assert_eq!(
            Keys::parse_link(&keys.layer("quay.io/org/app", &digest)),
            Some(digest.clone())
        );
        assert_eq!(
            keys.marker(&keys.layer("a", &digest)).as_ref(),
            format!(
                "site/reg/_pruning/repositories/a/_layers/sha256/{}",
                digest.hex
            )
        );
        let state = keys.upload_state("0123");
        assert_eq!(keys.parse_upload_state(&state).as_deref(), Some("0123"));
        assert_eq!(keys.parse_upload_state(&keys.upload_data("0123")), None);
        assert_eq!(Keys::new("").layout().as_ref(), "layout");
        assert_eq!(
            keys.repository_name(&keys.repository("org/app")).as_deref(),
            Some("org/app")
        );
    }
}
