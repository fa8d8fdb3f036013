//! Completing an upload: verify the digest, then make the bytes a blob
//! under its content key only if no blob is there yet, and link it.
//!
//! Three ways, cheapest first: a blob smaller than one part is one PUT
//! with `If-None-Match: *`; a blob whose digest was known from its first
//! byte (`POST ?digest=`, or a PUT with the whole body) was written as
//! parts of a multipart object at its content key, completed only now and
//! with `If-None-Match: *`; any other blob is completed at the upload's own
//! key and copied inside the store, in parallel ranges, into a multipart
//! object at its content key completed the same way. When a blob of that
//! digest exists already, it is made young instead (and written again if a
//! prune removed it meanwhile); the bytes are the same by construction.

use super::S3Store;
use super::Written;
use super::guard::ATTEMPTS;
use super::raw::{Part, RawError};
use super::state::Multipart;
use super::uploads::Writer;
use crate::digest::{Algorithm, Digest, Hasher};
use crate::server::error::{Error, Result};
use crate::server::storage::Error as StorageError;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode};

/// Bytes per part of an in-store copy, and copies in flight.
const COPY_PART: u64 = 64 << 20;
const COPIES: usize = 4;

impl S3Store {
    fn raw_error(&self, op: &'static str, key: &Path, err: RawError) -> Error {
        Error::Storage(StorageError::Object {
            op,
            key: key.to_string(),
            store: self.name.clone(),
            source: Box::new(object_store::Error::Generic {
                store: "S3",
                source: Box::new(err),
            }),
        })
    }

    fn gone_error(&self, key: &Path) -> Error {
        Error::Storage(StorageError::Corrupt {
            store: self.name.clone(),
            key: key.to_string(),
            what: "a blob",
            message: "prunes kept removing it while it was stored again".into(),
        })
    }

    /// Verify, store and link the blob a claimed upload holds; its size.
    pub(super) async fn complete(
        &self,
        name: &str,
        digest: &Digest,
        writer: &mut Writer<'_>,
    ) -> Result<u64> {
        let size = writer.size();
        let mismatch = |actual: Digest| Error::DigestMismatch {
            expected: digest.to_string(),
            actual: actual.to_string(),
        };
        let rest = writer.take_rest().await?;
        match writer.multipart().cloned() {
            None => {
                let actual = match digest.algorithm {
                    Algorithm::Sha256 => writer.digest(),
                    other => hash_chunks(other, &rest),
                };
                if actual != *digest {
                    return Err(mismatch(actual));
                }
                self.place_bytes(digest, rest.concat().into()).await?;
            }
            Some(multipart) => {
                if digest.algorithm == Algorithm::Sha256 && writer.digest() != *digest {
                    return Err(mismatch(writer.digest()));
                }
                let parts = writer.last_part(rest).await?;
                let content = self.keys.blob(digest);
                if multipart.key == content.as_ref() {
                    self.place_multipart(digest, &multipart, &parts).await?;
                } else {
                    let data = Path::from(multipart.key.as_str());
                    self.raw
                        .complete(&data, &multipart.id, &parts, false)
                        .await
                        .map_err(|err| self.raw_error("complete", &data, err))?;
                    if digest.algorithm != Algorithm::Sha256 {
                        let actual = self.hash_object(&data, digest.algorithm).await?;
                        if actual != *digest {
                            return Err(mismatch(actual));
                        }
                    }
                    self.place_copy(digest, &data, size).await?;
                }
            }
        }
        // The blob first, then the link: a failure between leaves content
        // no repository links, which prune removes; never a link to nothing.
        self.put_guarded(&self.keys.layer(name, digest), Bytes::new())
            .await?;
        let id = writer.id().to_owned();
        if let Err(err) = self.close_upload(&id, &writer.version).await {
            tracing::warn!("upload `{id}` is stored but could not be cleaned up: {err}");
        }
        Ok(size)
    }

    /// Make sure blob `digest` exists and is young, given it existed when
    /// a conditional write found it; `false` when a prune removed it.
    async fn keep_existing(&self, digest: &Digest) -> Result<bool> {
        Ok(self
            .touch_companion(&self.keys.blob(digest), &self.keys.blob_used(digest))
            .await?)
    }

    /// A small blob in one conditional PUT.
    pub(super) async fn place_bytes(&self, digest: &Digest, bytes: Bytes) -> Result<()> {
        let content = self.keys.blob(digest);
        for _ in 0..ATTEMPTS {
            match self.put(&content, bytes.clone(), PutMode::Create).await? {
                Written::Done(_) => return Ok(()),
                _ if self.keep_existing(digest).await? => return Ok(()),
                _ => continue,
            }
        }
        Err(self.gone_error(&content))
    }

    /// Complete the multipart object at the content key, if still absent.
    async fn place_multipart(
        &self,
        digest: &Digest,
        multipart: &Multipart,
        parts: &[Part],
    ) -> Result<()> {
        let content = self.keys.blob(digest);
        for _ in 0..ATTEMPTS {
            let created = self
                .raw
                .complete(&content, &multipart.id, parts, true)
                .await
                .map_err(|err| self.raw_error("complete", &content, err))?;
            if created {
                return Ok(());
            }
            if self.keep_existing(digest).await? {
                let _ = self
                    .objects
                    .abort_multipart(&content, &multipart.id.clone())
                    .await;
                return Ok(());
            }
        }
        Err(self.gone_error(&content))
    }

    /// Copy `data` (`size` bytes) to the content key inside the store.
    async fn place_copy(&self, digest: &Digest, data: &Path, size: u64) -> Result<()> {
        let content = self.keys.blob(digest);
        for _ in 0..ATTEMPTS {
            let id = self
                .objects
                .create_multipart(&content)
                .await
                .map_err(|err| self.error("start a multipart upload of", &content, err))?;
            let ranges: Vec<(u32, (u64, u64))> = (0..size.div_ceil(COPY_PART))
                .map(|index| {
                    let start = index * COPY_PART;
                    let end = (start + COPY_PART).min(size) - 1;
                    (index as u32 + 1, (start, end))
                })
                .collect();
            let copied: std::result::Result<Vec<Part>, RawError> =
                futures_util::stream::iter(ranges)
                    .map(|(number, range)| {
                        let (content, id) = (&content, &id);
                        async move {
                            let etag = self.raw.copy_part(content, id, number, data, range).await?;
                            Ok(Part {
                                number,
                                etag,
                                size: range.1 - range.0 + 1,
                            })
                        }
                    })
                    .buffered(COPIES)
                    .try_collect()
                    .await;
            let created = match copied {
                Ok(parts) => self.raw.complete(&content, &id, &parts, true).await,
                Err(err) => Err(err),
            };
            let created = match created {
                Ok(created) => created,
                Err(err) => {
                    let _ = self.objects.abort_multipart(&content, &id).await;
                    return Err(self.raw_error("copy into", &content, err));
                }
            };
            if created {
                return Ok(());
            }
            let _ = self.objects.abort_multipart(&content, &id).await;
            if self.keep_existing(digest).await? {
                return Ok(());
            }
        }
        Err(self.gone_error(&content))
    }

    /// The digest of a stored object with `algorithm`, read back.
    async fn hash_object(&self, key: &Path, algorithm: Algorithm) -> Result<Digest> {
        let result = self
            .objects
            .get(key)
            .await
            .map_err(|err| self.error("read", key, err))?;
        let mut stream = result.into_stream();
        let mut hasher = Hasher::new(algorithm);
        while let Some(chunk) = stream.next().await {
            hasher.update(&chunk.map_err(|err| self.error("read", key, err))?);
        }
        Ok(hasher.finish())
    }
}

fn hash_chunks(algorithm: Algorithm, chunks: &[Bytes]) -> Digest {
    let mut hasher = Hasher::new(algorithm);
    for chunk in chunks {
        hasher.update(chunk);
    }
    hasher.finish()
}
