//! [`FsStore`]: the filesystem layout of [`Root`] behind the
//! [`Store`] trait. Every operation runs [`Root`]'s blocking code on a
//! blocking thread, and uploads are [`Uploads`]' sessions; nothing here
//! changes what the filesystem store does, it only makes it one of the
//! stores the server can run on.

use super::Root;
use super::uploads::Uploads;
use crate::digest::Digest;
use crate::server::error::Result as ServerResult;
use crate::server::storage::{BlobSource, ByteStream, Error, OpenBlob, Result, Store, UploadFile};
use crate::server::uploads::ChunkRange;
use async_trait::async_trait;
use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, SystemTime};
use tokio::io::AsyncReadExt;

/// The filesystem store: one directory, one server.
pub struct FsStore {
    root: Root,
    uploads: Uploads,
}

impl std::fmt::Debug for FsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsStore")
            .field("root", &self.root.root())
            .finish()
    }
}

impl FsStore {
    /// Open (and create, or upgrade) the layout under `dir`.
    pub fn open(dir: &Path) -> Result<FsStore> {
        Ok(FsStore::new(Root::open(dir)?))
    }

    pub fn new(root: Root) -> FsStore {
        FsStore {
            uploads: Uploads::new(root.clone()),
            root,
        }
    }

    /// The blocking layout, for what only the filesystem has.
    pub fn layout(&self) -> &Root {
        &self.root
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Root) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || job(&root))
            .await
            .map_err(|err| Error::Io {
                op: "run a storage task for",
                path: self.root.root().to_path_buf(),
                source: std::io::Error::other(err),
            })?
    }
}

/// An open blob file.
struct FileSource(std::fs::File);

impl BlobSource for FileSource {
    fn stream(self: Box<Self>, start: u64, len: u64) -> ByteStream {
        let mut file = self.0;
        if start > 0 {
            if let Err(err) = file.seek(SeekFrom::Start(start)) {
                return futures_util::stream::once(async move { Err(err) }).boxed();
            }
        }
        let reader = tokio::fs::File::from_std(file).take(len);
        tokio_util::io::ReaderStream::with_capacity(reader, 256 << 10).boxed()
    }
}

/// Clone the arguments into a blocking call of the same-named `Root` method.
macro_rules! blocking {
    ($self:ident, $method:ident $(, $arg:ident)*) => {{
        $(let $arg = $arg.to_owned();)*
        $self.run(move |root| root.$method($(&$arg),*)).await
    }};
}

#[async_trait]
impl Store for FsStore {
    fn describe(&self) -> String {
        format!("`{}`", self.root.root().display())
    }

    fn shared(&self) -> bool {
        false
    }

    async fn now(&self) -> Result<SystemTime> {
        Ok(SystemTime::now())
    }

    async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        blocking!(self, blob_size, digest)
    }

    async fn read_blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        blocking!(self, read_blob, digest)
    }

    async fn open_blob(&self, digest: &Digest) -> Result<Option<OpenBlob>> {
        let opened = blocking!(self, open_blob, digest)?;
        Ok(opened.map(|(file, size)| OpenBlob {
            size,
            source: Box::new(FileSource(file)),
        }))
    }

    async fn put_bytes(&self, digest: &Digest, bytes: Bytes) -> Result<()> {
        let digest = digest.clone();
        self.run(move |root| root.put_bytes(&digest, &bytes)).await
    }

    async fn touch_blob(&self, digest: &Digest) -> Result<bool> {
        blocking!(self, touch_blob, digest)
    }

    async fn delete_blob_if_older(
        &self,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<Option<u64>> {
        let digest = digest.clone();
        self.run(move |root| root.delete_blob_if_older(&digest, cutoff))
            .await
    }

    async fn blobs(&self) -> Result<Vec<(Digest, SystemTime)>> {
        blocking!(self, blobs)
    }

    async fn link_blob(&self, name: &str, digest: &Digest) -> Result<()> {
        blocking!(self, link_blob, name, digest)
    }

    async fn blob_linked(&self, name: &str, digest: &Digest) -> Result<bool> {
        blocking!(self, blob_linked, name, digest)
    }

    async fn unlink_blob(&self, name: &str, digest: &Digest) -> Result<bool> {
        blocking!(self, unlink_blob, name, digest)
    }

    async fn touch_blob_link(&self, name: &str, digest: &Digest) -> Result<bool> {
        blocking!(self, touch_blob_link, name, digest)
    }

    async fn unlink_blob_if_older(
        &self,
        name: &str,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<bool> {
        let (name, digest) = (name.to_owned(), digest.clone());
        self.run(move |root| root.unlink_blob_if_older(&name, &digest, cutoff))
            .await
    }

    async fn blob_links(&self, name: &str) -> Result<Vec<(Digest, SystemTime)>> {
        blocking!(self, blob_links, name)
    }

    async fn link_manifest(&self, name: &str, digest: &Digest, media_type: &str) -> Result<()> {
        blocking!(self, link_manifest, name, digest, media_type)
    }

    async fn manifest_media_type(&self, name: &str, digest: &Digest) -> Result<Option<String>> {
        blocking!(self, manifest_media_type, name, digest)
    }

    async fn unlink_manifest(&self, name: &str, digest: &Digest) -> Result<bool> {
        blocking!(self, unlink_manifest, name, digest)
    }

    async fn touch_manifest_link(&self, name: &str, digest: &Digest) -> Result<bool> {
        blocking!(self, touch_manifest_link, name, digest)
    }

    async fn unlink_manifest_if_older(
        &self,
        name: &str,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<bool> {
        let (name, digest) = (name.to_owned(), digest.clone());
        self.run(move |root| root.unlink_manifest_if_older(&name, &digest, cutoff))
            .await
    }

    async fn manifests(&self, name: &str) -> Result<Vec<(Digest, String)>> {
        blocking!(self, manifests, name)
    }

    async fn manifest_link_modified(
        &self,
        name: &str,
        digest: &Digest,
    ) -> Result<Option<SystemTime>> {
        blocking!(self, manifest_link_modified, name, digest)
    }

    async fn set_tag(&self, name: &str, tag: &str, digest: &Digest) -> Result<()> {
        blocking!(self, set_tag, name, tag, digest)
    }

    async fn tag(&self, name: &str, tag: &str) -> Result<Option<Digest>> {
        blocking!(self, tag, name, tag)
    }

    async fn delete_tag(&self, name: &str, tag: &str) -> Result<bool> {
        blocking!(self, delete_tag, name, tag)
    }

    async fn tags(&self, name: &str) -> Result<Option<Vec<String>>> {
        blocking!(self, tags, name)
    }

    async fn add_referrer(&self, name: &str, subject: &Digest, referrer: &Digest) -> Result<()> {
        blocking!(self, add_referrer, name, subject, referrer)
    }

    async fn remove_referrer(&self, name: &str, subject: &Digest, referrer: &Digest) -> Result<()> {
        blocking!(self, remove_referrer, name, subject, referrer)
    }

    async fn referrers(&self, name: &str, subject: &Digest) -> Result<Vec<Digest>> {
        blocking!(self, referrers, name, subject)
    }

    async fn repositories(&self) -> Result<Vec<String>> {
        blocking!(self, repositories)
    }

    async fn linked_repositories(&self) -> Result<Vec<String>> {
        blocking!(self, linked_repositories)
    }

    async fn start_upload(&self, name: &str) -> ServerResult<String> {
        self.uploads.start(name).await
    }

    async fn upload_status(&self, name: &str, id: &str) -> ServerResult<u64> {
        self.uploads.status(name, id).await
    }

    async fn append_upload(
        &self,
        name: &str,
        id: &str,
        range: Option<ChunkRange>,
        body: Body,
    ) -> ServerResult<u64> {
        self.uploads.append(name, id, range, body).await
    }

    async fn finish_upload(
        &self,
        name: &str,
        id: &str,
        body: Body,
        digest: &Digest,
    ) -> ServerResult<u64> {
        self.uploads.finish(name, id, body, digest).await
    }

    async fn cancel_upload(&self, name: &str, id: &str) -> ServerResult<()> {
        self.uploads.cancel(name, id).await
    }

    async fn expire_uploads(&self, idle: Duration) -> ServerResult<Vec<String>> {
        self.uploads.expire(idle).await
    }

    async fn uploads(&self) -> Result<Vec<UploadFile>> {
        blocking!(self, uploads)
    }

    async fn remove_upload_if_older(&self, id: &str, cutoff: SystemTime) -> Result<Option<u64>> {
        let id = id.to_owned();
        self.run(move |root| root.remove_upload_if_older(&id, cutoff))
            .await
    }

    async fn recover(&self) -> Result<()> {
        blocking!(self, put_back_set_aside)
    }
}
