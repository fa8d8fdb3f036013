//! The storage seam: one [`Store`] trait for everything the registry keeps
//! (blobs, per-repository blob and manifest links, tags, referrer markers,
//! uploads in progress, the catalog, and the operations `prune` needs), with
//! two implementations over the same layout: [`fs::FsStore`] under a local
//! directory and [`s3::S3Store`] in an S3-compatible bucket, which several
//! `registry serve` replicas may share. Handlers, `manifests` and `prune`
//! see only [`Storage`], a shared `dyn Store`.
//!
//! Rules every store keeps (see each implementation for how):
//! - blob content becomes visible under its digest only once its bytes were
//!   verified against that digest, and never changes afterwards;
//! - small writes (links, tags, markers) are atomic: a reader sees the old
//!   or the new value, never a mix;
//! - a link, a blob or an upload is *young* when it was written or touched
//!   after a cut-off taken from [`Store::now`], the store's own clock, and
//!   the `…_if_older` removals remove only what is still old at the moment
//!   of removal, while `touch_…` returns `false` when what it touched is
//!   gone (or going). `prune` builds its protocol on these two halves.
//!
//! This module owns the trait and the storage error; it holds no layout of
//! its own, no HTTP and no garbage-collection policy.

pub mod fs;
pub mod s3;

use crate::digest::Digest;
use crate::server::error::Result as ServerResult;
use crate::server::uploads::ChunkRange;
use async_trait::async_trait;
use axum::body::Body;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use thiserror::Error;

/// A storage failure. Its message names the file or key for the log; what
/// a client is told comes from [`Error::summary`] only (see `server::error`).
#[derive(Debug, Error)]
pub enum Error {
    #[error("failed to {op} `{}`: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` holds storage layout `{found}`, which this version does not know", path.display())]
    Layout { path: PathBuf, found: String },
    #[error("failed to {op} `{key}` in {store}: {source}")]
    Object {
        op: &'static str,
        key: String,
        /// The endpoint and bucket, for the log.
        store: String,
        #[source]
        source: Box<object_store::Error>,
    },
    #[error("{store}: `{key}` holds {what} this version cannot read: {message}")]
    Corrupt {
        store: String,
        key: String,
        what: &'static str,
        message: String,
    },
}

impl Error {
    /// The kind of I/O failure, for an answer that names no path.
    pub fn kind(&self) -> std::io::ErrorKind {
        match self {
            Error::Io { source, .. } => source.kind(),
            Error::Layout { .. } | Error::Corrupt { .. } => std::io::ErrorKind::InvalidData,
            Error::Object { source, .. } => match source.as_ref() {
                object_store::Error::NotFound { .. } => std::io::ErrorKind::NotFound,
                object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. } => {
                    std::io::ErrorKind::PermissionDenied
                }
                _ => std::io::ErrorKind::Other,
            },
        }
    }

    /// What a client may be told: no path, no key, no endpoint.
    pub fn summary(&self) -> String {
        match self {
            Error::Object { source, .. } => match source.as_ref() {
                object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. } => {
                    "the object store refused the registry's credentials".into()
                }
                _ => "the object store did not answer as expected; try again".into(),
            },
            other => other.kind().to_string(),
        }
    }

    /// Whether the store could not be reached or failed on its side, so that
    /// the same request may succeed later (answered 503).
    pub fn unavailable(&self) -> bool {
        match self {
            Error::Object { source, .. } => {
                matches!(source.as_ref(), object_store::Error::Generic { .. })
            }
            _ => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach the operation and the file to an I/O result.
pub(crate) trait At<T> {
    fn at(self, op: &'static str, path: &Path) -> Result<T>;
}

impl<T> At<T> for std::io::Result<T> {
    fn at(self, op: &'static str, path: &Path) -> Result<T> {
        self.map_err(|source| Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        })
    }
}

/// An upload in progress as `prune` sees it: its id, when it was last
/// written (by the store's clock), and how many bytes it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    pub id: String,
    pub modified: SystemTime,
    pub len: u64,
}

/// A blob's bytes as a stream of chunks.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Where an opened blob's bytes come from.
pub trait BlobSource: Send {
    /// `len` bytes from `start` on.
    fn stream(self: Box<Self>, start: u64, len: u64) -> ByteStream;
}

/// A blob opened for reading: its size, and its bytes on demand.
pub struct OpenBlob {
    pub size: u64,
    pub source: Box<dyn BlobSource>,
}

/// Everything the registry keeps, behind one interface. Names are
/// validated repository names and digests are validated digests: a store
/// never sees a path of a client's making.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Where the store is, for logs (never a secret).
    fn describe(&self) -> String;

    /// Whether several servers may use this store at once. A shared store
    /// needs a shared token signing key.
    fn shared(&self) -> bool;

    /// The store's clock: what its modification times are measured by.
    async fn now(&self) -> Result<SystemTime>;

    // Blobs, shared by digest.

    /// The size of a stored blob, `None` when absent.
    async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>>;
    /// A whole (small) blob, e.g. a manifest.
    async fn read_blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>>;
    /// A blob for streaming.
    async fn open_blob(&self, digest: &Digest) -> Result<Option<OpenBlob>>;
    /// Store small content (a manifest) whose digest the caller checked.
    async fn put_bytes(&self, digest: &Digest, bytes: Bytes) -> Result<()>;
    /// Make blob `digest` young; `false` when it is not (or no longer) stored.
    async fn touch_blob(&self, digest: &Digest) -> Result<bool>;
    /// Delete blob `digest` if it is older than `cutoff`; the size removed.
    async fn delete_blob_if_older(
        &self,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<Option<u64>>;
    /// Every stored blob with the time it was last written or touched.
    async fn blobs(&self) -> Result<Vec<(Digest, SystemTime)>>;

    // Blob links: which blobs a repository holds.

    /// Record that `name` holds blob `digest`, or make the link young.
    async fn link_blob(&self, name: &str, digest: &Digest) -> Result<()>;
    async fn blob_linked(&self, name: &str, digest: &Digest) -> Result<bool>;
    /// Remove `name`'s link to `digest`; the content stays.
    async fn unlink_blob(&self, name: &str, digest: &Digest) -> Result<bool>;
    async fn touch_blob_link(&self, name: &str, digest: &Digest) -> Result<bool>;
    async fn unlink_blob_if_older(
        &self,
        name: &str,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<bool>;
    /// Every blob `name` links, with the link's time.
    async fn blob_links(&self, name: &str) -> Result<Vec<(Digest, SystemTime)>>;

    // Manifest links, holding the media type.

    async fn link_manifest(&self, name: &str, digest: &Digest, media_type: &str) -> Result<()>;
    async fn manifest_media_type(&self, name: &str, digest: &Digest) -> Result<Option<String>>;
    async fn unlink_manifest(&self, name: &str, digest: &Digest) -> Result<bool>;
    async fn touch_manifest_link(&self, name: &str, digest: &Digest) -> Result<bool>;
    async fn unlink_manifest_if_older(
        &self,
        name: &str,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<bool>;
    /// Every manifest linked in `name` with its media type.
    async fn manifests(&self, name: &str) -> Result<Vec<(Digest, String)>>;
    async fn manifest_link_modified(
        &self,
        name: &str,
        digest: &Digest,
    ) -> Result<Option<SystemTime>>;

    // Tags.

    async fn set_tag(&self, name: &str, tag: &str, digest: &Digest) -> Result<()>;
    async fn tag(&self, name: &str, tag: &str) -> Result<Option<Digest>>;
    async fn delete_tag(&self, name: &str, tag: &str) -> Result<bool>;
    /// The tags of `name`, sorted; `None` when the repository is unknown.
    async fn tags(&self, name: &str) -> Result<Option<Vec<String>>>;

    // Referrer markers: subject -> referrer.

    async fn add_referrer(&self, name: &str, subject: &Digest, referrer: &Digest) -> Result<()>;
    async fn remove_referrer(&self, name: &str, subject: &Digest, referrer: &Digest) -> Result<()>;
    async fn referrers(&self, name: &str, subject: &Digest) -> Result<Vec<Digest>>;

    // The catalog.

    /// Every repository that holds at least one manifest, sorted.
    async fn repositories(&self) -> Result<Vec<String>>;
    /// Every repository that links anything, sorted.
    async fn linked_repositories(&self) -> Result<Vec<String>>;

    // Uploads: the protocol's sessions, with their state in the store.

    /// Open a new upload session for `name`; its id.
    async fn start_upload(&self, name: &str) -> ServerResult<String>;
    /// How many bytes upload `id` holds; never waits for a body in flight.
    async fn upload_status(&self, name: &str, id: &str) -> ServerResult<u64>;
    /// Append a body, at `range` when given; the new size.
    async fn append_upload(
        &self,
        name: &str,
        id: &str,
        range: Option<ChunkRange>,
        body: Body,
    ) -> ServerResult<u64>;
    /// Append a last body, verify `digest`, store the blob and link it to
    /// `name`; the blob's size.
    async fn finish_upload(
        &self,
        name: &str,
        id: &str,
        body: Body,
        digest: &Digest,
    ) -> ServerResult<u64>;
    /// A whole blob in one body whose digest is known before its first
    /// byte (`POST …/uploads/?digest=`); stored and linked like a finish.
    async fn put_blob(&self, name: &str, body: Body, digest: &Digest) -> ServerResult<u64> {
        let id = self.start_upload(name).await?;
        self.finish_upload(name, &id, body, digest).await
    }
    /// Drop an upload and its bytes.
    async fn cancel_upload(&self, name: &str, id: &str) -> ServerResult<()>;
    /// Remove uploads nobody wrote to for `idle`; the ids removed.
    async fn expire_uploads(&self, idle: Duration) -> ServerResult<Vec<String>>;

    // What `prune` needs beyond the above.

    /// Every upload in progress.
    async fn uploads(&self) -> Result<Vec<UploadFile>>;
    /// Remove upload `id` if it was last written before `cutoff`; its size.
    async fn remove_upload_if_older(&self, id: &str, cutoff: SystemTime) -> Result<Option<u64>>;
    /// Undo what an interrupted prune left half-done, before a new one.
    async fn recover(&self) -> Result<()>;

    // Provided: the same over every store.

    /// Whether `name` holds `digest` at all: as a blob it linked or as one
    /// of its manifests. This is what it may read and mount from.
    async fn holds(&self, name: &str, digest: &Digest) -> Result<bool> {
        Ok(self.blob_linked(name, digest).await?
            || self.manifest_media_type(name, digest).await?.is_some())
    }

    /// Point every one of `tags` at `digest`, or none of them: when one
    /// write fails, the tags already moved are put back as they were.
    async fn set_tags(&self, name: &str, tags: &[String], digest: &Digest) -> Result<()> {
        let mut moved: Vec<(&str, Option<Digest>)> = Vec::new();
        for tag in tags {
            let result = match self.tag(name, tag).await {
                Ok(before) => self.set_tag(name, tag, digest).await.map(|()| before),
                Err(err) => Err(err),
            };
            match result {
                Ok(before) => moved.push((tag, before)),
                Err(err) => {
                    for (tag, before) in moved.into_iter().rev() {
                        let _ = match before {
                            Some(before) => self.set_tag(name, tag, &before).await,
                            None => self.delete_tag(name, tag).await.map(|_| ()),
                        };
                    }
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    /// Tags of `name` pointing at `digest`.
    async fn tags_of(&self, name: &str, digest: &Digest) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for tag in self.tags(name).await?.unwrap_or_default() {
            if self.tag(name, &tag).await?.as_ref() == Some(digest) {
                found.push(tag);
            }
        }
        Ok(found)
    }
}

/// A store shared by everything that serves one registry. Cheap to clone.
pub type Storage = Arc<dyn Store>;
