//! The [`Store`] operations of [`S3Store`] over the key layout of
//! [`super::keys`]: reads are GETs, HEADs and listings; writes that prune
//! might race go through [`super::guard`]; uploads are
//! [`super::uploads`]'.

use super::S3Store;
use super::keys::{BlobPart, Keys};
use crate::digest::Digest;
use crate::server::error::Result as ServerResult;
use crate::server::storage::{BlobSource, ByteStream, Error, OpenBlob, Result, Store, UploadFile};
use crate::server::uploads::ChunkRange;
use async_trait::async_trait;
use axum::body::Body;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Requests in flight when one operation reads many small objects.
const FAN_OUT: usize = 16;

/// A blob's bytes, fetched when the response streams.
struct ObjectSource {
    objects: Arc<AmazonS3>,
    key: Path,
    size: u64,
}

impl BlobSource for ObjectSource {
    fn stream(self: Box<Self>, start: u64, len: u64) -> ByteStream {
        let ObjectSource { objects, key, size } = *self;
        let range = (start > 0 || len < size).then_some(GetRange::Bounded(start..start + len));
        futures_util::stream::once(async move {
            let options = GetOptions {
                range,
                ..GetOptions::default()
            };
            objects
                .get_opts(&key, options)
                .await
                .map(|result| result.into_stream().map_err(std::io::Error::other))
                .map_err(std::io::Error::other)
        })
        .try_flatten()
        .boxed()
    }
}

impl S3Store {
    async fn exists(&self, key: &Path) -> Result<bool> {
        Ok(self.head(key).await?.is_some())
    }

    /// Remove `key`; whether it was there.
    async fn remove(&self, key: &Path) -> Result<bool> {
        if !self.exists(key).await? {
            return Ok(false);
        }
        self.delete(key).await?;
        Ok(true)
    }

    async fn text(&self, key: &Path) -> Result<Option<String>> {
        Ok(self
            .get(key)
            .await?
            .map(|(bytes, _)| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Whether anything is stored under `prefix`.
    async fn any_under(&self, prefix: &Path) -> Result<bool> {
        match self.objects.list(Some(prefix)).next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(err)) => Err(self.error("list", prefix, err)),
        }
    }

    /// The digests linked under `prefix` (`…/_layers` or `…/_manifests`)
    /// with the link's time.
    async fn links(&self, prefix: &Path) -> Result<Vec<(Digest, SystemTime)>> {
        Ok(self
            .list(prefix)
            .await?
            .into_iter()
            .filter_map(|meta| {
                Keys::parse_link(&meta.location).map(|digest| (digest, meta.last_modified.into()))
            })
            .collect())
    }

    /// Repositories whose key prefix holds one of `markers` (`_manifests`,
    /// `_layers`), walked one listing per level, sorted.
    async fn walk(&self, markers: &[&str]) -> Result<Vec<String>> {
        let mut found = Vec::new();
        let mut level = vec![self.keys.repositories()];
        while !level.is_empty() {
            let listed: Vec<(Path, Vec<Path>)> = futures_util::stream::iter(level)
                .map(|prefix| async move {
                    let (_, children) = self.list_dir(&prefix).await?;
                    Ok::<_, Error>((prefix, children))
                })
                .buffer_unordered(FAN_OUT)
                .try_collect()
                .await?;
            level = Vec::new();
            for (prefix, children) in listed {
                let names: Vec<&str> = children.iter().filter_map(|c| c.filename()).collect();
                if prefix != self.keys.repositories()
                    && markers.iter().any(|marker| names.contains(marker))
                {
                    found.extend(self.keys.repository_name(&prefix));
                }
                level.extend(
                    children
                        .into_iter()
                        .filter(|child| child.filename().is_some_and(|n| !n.starts_with('_'))),
                );
            }
        }
        found.sort();
        Ok(found)
    }
}

#[async_trait]
impl Store for S3Store {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn shared(&self) -> bool {
        true
    }

    async fn now(&self) -> Result<SystemTime> {
        self.clock().await
    }

    async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        Ok(self
            .head(&self.keys.blob(digest))
            .await?
            .map(|meta| meta.size))
    }

    async fn read_blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get(&self.keys.blob(digest))
            .await?
            .map(|(bytes, _)| bytes.to_vec()))
    }

    async fn open_blob(&self, digest: &Digest) -> Result<Option<OpenBlob>> {
        let key = self.keys.blob(digest);
        Ok(self.head(&key).await?.map(|meta| OpenBlob {
            size: meta.size,
            source: Box::new(ObjectSource {
                objects: Arc::clone(&self.objects),
                key,
                size: meta.size,
            }),
        }))
    }

    async fn put_bytes(&self, digest: &Digest, bytes: Bytes) -> Result<()> {
        self.place_bytes(digest, bytes)
            .await
            .map_err(|err| match err {
                crate::server::error::Error::Storage(err) => err,
                other => Error::Corrupt {
                    store: self.name.clone(),
                    key: self.keys.blob(digest).to_string(),
                    what: "a manifest",
                    message: other.to_string(),
                },
            })
    }

    async fn touch_blob(&self, digest: &Digest) -> Result<bool> {
        self.touch_companion(&self.keys.blob(digest), &self.keys.blob_used(digest))
            .await
    }

    async fn delete_blob_if_older(
        &self,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<Option<u64>> {
        let used = self.keys.blob_used(digest);
        Ok(self
            .remove_if_older(&self.keys.blob(digest), &[used], cutoff)
            .await?
            .map(|meta| meta.size))
    }

    async fn blobs(&self) -> Result<Vec<(Digest, SystemTime)>> {
        let mut found: HashMap<Digest, (bool, SystemTime)> = HashMap::new();
        for meta in self.list(&self.keys.blobs()).await? {
            let Some((digest, part)) = self.keys.parse_blob(&meta.location) else {
                continue;
            };
            let time: SystemTime = meta.last_modified.into();
            let entry = found
                .entry(digest)
                .or_insert((false, SystemTime::UNIX_EPOCH));
            entry.0 |= part == BlobPart::Data;
            entry.1 = entry.1.max(time);
        }
        Ok(found
            .into_iter()
            .filter(|(_, (data, _))| *data)
            .map(|(digest, (_, time))| (digest, time))
            .collect())
    }

    async fn link_blob(&self, name: &str, digest: &Digest) -> Result<()> {
        self.put_guarded(&self.keys.layer(name, digest), Bytes::new())
            .await
    }

    async fn blob_linked(&self, name: &str, digest: &Digest) -> Result<bool> {
        self.exists(&self.keys.layer(name, digest)).await
    }

    async fn unlink_blob(&self, name: &str, digest: &Digest) -> Result<bool> {
        self.remove(&self.keys.layer(name, digest)).await
    }

    async fn touch_blob_link(&self, name: &str, digest: &Digest) -> Result<bool> {
        self.touch_guarded(&self.keys.layer(name, digest)).await
    }

    async fn unlink_blob_if_older(
        &self,
        name: &str,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<bool> {
        Ok(self
            .remove_if_older(&self.keys.layer(name, digest), &[], cutoff)
            .await?
            .is_some())
    }

    async fn blob_links(&self, name: &str) -> Result<Vec<(Digest, SystemTime)>> {
        self.links(&self.keys.layers(name)).await
    }

    async fn link_manifest(&self, name: &str, digest: &Digest, media_type: &str) -> Result<()> {
        let bytes = Bytes::from(media_type.to_owned());
        self.put_guarded(&self.keys.manifest(name, digest), bytes)
            .await
    }

    async fn manifest_media_type(&self, name: &str, digest: &Digest) -> Result<Option<String>> {
        self.text(&self.keys.manifest(name, digest)).await
    }

    async fn unlink_manifest(&self, name: &str, digest: &Digest) -> Result<bool> {
        self.remove(&self.keys.manifest(name, digest)).await
    }

    async fn touch_manifest_link(&self, name: &str, digest: &Digest) -> Result<bool> {
        self.touch_guarded(&self.keys.manifest(name, digest)).await
    }

    async fn unlink_manifest_if_older(
        &self,
        name: &str,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<bool> {
        Ok(self
            .remove_if_older(&self.keys.manifest(name, digest), &[], cutoff)
            .await?
            .is_some())
    }

    async fn manifests(&self, name: &str) -> Result<Vec<(Digest, String)>> {
        let linked = self.links(&self.keys.manifests(name)).await?;
        let typed: Vec<Option<(Digest, String)>> = futures_util::stream::iter(linked)
            .map(|(digest, _)| async move {
                let media_type = self.manifest_media_type(name, &digest).await?;
                Ok::<_, Error>(media_type.map(|media_type| (digest, media_type)))
            })
            .buffer_unordered(FAN_OUT)
            .try_collect()
            .await?;
        Ok(typed.into_iter().flatten().collect())
    }

    async fn manifest_link_modified(
        &self,
        name: &str,
        digest: &Digest,
    ) -> Result<Option<SystemTime>> {
        Ok(self
            .head(&self.keys.manifest(name, digest))
            .await?
            .map(|meta| meta.last_modified.into()))
    }

    async fn set_tag(&self, name: &str, tag: &str, digest: &Digest) -> Result<()> {
        let key = self.keys.tag(name, tag);
        self.put(
            &key,
            Bytes::from(digest.to_string()),
            object_store::PutMode::Overwrite,
        )
        .await
        .map(|_| ())
    }

    async fn tag(&self, name: &str, tag: &str) -> Result<Option<Digest>> {
        let text = self.text(&self.keys.tag(name, tag)).await?;
        Ok(text.and_then(|text| Digest::parse(text.trim()).ok()))
    }

    async fn delete_tag(&self, name: &str, tag: &str) -> Result<bool> {
        self.remove(&self.keys.tag(name, tag)).await
    }

    async fn tags(&self, name: &str) -> Result<Option<Vec<String>>> {
        if !self.any_under(&self.keys.manifests(name)).await? {
            return Ok(None);
        }
        let tags: BTreeSet<String> = self
            .list(&self.keys.tags(name))
            .await?
            .into_iter()
            .filter_map(|meta| meta.location.filename().map(str::to_owned))
            .filter(|tag| crate::reference::validate_tag(tag).is_ok())
            .collect();
        Ok(Some(tags.into_iter().collect()))
    }

    async fn add_referrer(&self, name: &str, subject: &Digest, referrer: &Digest) -> Result<()> {
        self.put_guarded(&self.keys.referrer(name, subject, referrer), Bytes::new())
            .await
    }

    async fn remove_referrer(&self, name: &str, subject: &Digest, referrer: &Digest) -> Result<()> {
        self.delete(&self.keys.referrer(name, subject, referrer))
            .await
    }

    async fn referrers(&self, name: &str, subject: &Digest) -> Result<Vec<Digest>> {
        let mut found: Vec<Digest> = self
            .list(&self.keys.referrers(name, subject))
            .await?
            .into_iter()
            .filter_map(|meta| {
                let marker = meta.location.filename()?.replacen('-', ":", 1);
                Digest::parse(&marker).ok()
            })
            .collect();
        found.sort();
        Ok(found)
    }

    async fn repositories(&self) -> Result<Vec<String>> {
        self.walk(&["_manifests"]).await
    }

    async fn linked_repositories(&self) -> Result<Vec<String>> {
        self.walk(&["_manifests", "_layers"]).await
    }

    async fn start_upload(&self, name: &str) -> ServerResult<String> {
        self.upload_start(name).await
    }

    async fn upload_status(&self, name: &str, id: &str) -> ServerResult<u64> {
        S3Store::upload_status(self, name, id).await
    }

    async fn append_upload(
        &self,
        name: &str,
        id: &str,
        range: Option<ChunkRange>,
        body: Body,
    ) -> ServerResult<u64> {
        self.upload_append(name, id, range, body).await
    }

    async fn finish_upload(
        &self,
        name: &str,
        id: &str,
        body: Body,
        digest: &Digest,
    ) -> ServerResult<u64> {
        self.upload_finish(name, id, body, digest).await
    }

    async fn cancel_upload(&self, name: &str, id: &str) -> ServerResult<()> {
        self.upload_cancel(name, id).await
    }

    async fn expire_uploads(&self, idle: Duration) -> ServerResult<Vec<String>> {
        self.uploads_expire(idle).await
    }

    async fn uploads(&self) -> Result<Vec<UploadFile>> {
        self.upload_list().await
    }

    async fn remove_upload_if_older(&self, id: &str, cutoff: SystemTime) -> Result<Option<u64>> {
        self.upload_remove_if_older(id, cutoff).await
    }

    async fn recover(&self) -> Result<()> {
        let now = self.clock().await?;
        let removed = self.clear_stale_markers(now).await?;
        if removed > 0 {
            tracing::info!(
                "{}: removed {removed} markers of prunes that died",
                self.name
            );
        }
        Ok(())
    }
}
