//! Upload sessions on S3, with all their state in the store so that any
//! replica can carry on an upload another one started.
//!
//! A request that writes (PATCH, or the final PUT) first claims the upload:
//! a compare-and-swap of its state that checks `Content-Range` against the
//! committed offset and records the request as the writer. Of two requests
//! racing for one upload, through one replica or two, exactly one claim
//! succeeds; the other is answered 416 with the committed range, as is a
//! request arriving while a live writer holds the upload. A writer renews
//! its claim with every state change and at least every [`HEARTBEAT`]; a
//! claim not renewed for [`LEASE`] by the store's clock belongs to a dead
//! replica and may be taken over.
//!
//! The body streams into parts of a multipart object (never a whole blob
//! in memory: a part at a time, within the server's part memory), hashed
//! as it goes by a resumable SHA-256 whose state the claim's last swap
//! records. Each part's number is reserved in the state before the part is
//! sent, so a writer that lost its claim can never overwrite a part of the
//! one that took over. What is left short of a part at the end of a PATCH
//! is staged as a small object and goes into the next part. The state is
//! committed (offset, parts, staged bytes, hash) only when the body ended
//! well; a failed body leaves the upload at its last committed offset.
//!
//! Completion compares the digest with the hash and only then makes the
//! bytes a blob under its content key, if no blob is there yet (the
//! placement is in [`super::place`]); a mismatch discards everything. The
//! upload is then closed (a tombstone in its state) and its objects go.

use super::S3Store;
use super::raw::{self, Part};
use super::sha256::Sha256;
use super::state::{Multipart, Staged, UploadState, Versioned};
use crate::digest::{Algorithm, Digest};
use crate::server::error::{Error, Result};
use crate::server::storage::{Result as StoreResult, UploadFile};
use crate::server::uploads::{ChunkRange, new_id};
use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::PutPayload;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::OwnedSemaphorePermit;

/// Bytes per part while the upload is small; S3 wants at least 5 MiB for
/// every part but the last.
const PART: usize = 6 << 20;

/// S3's highest part number.
const MAX_PART: u32 = 10_000;

/// A writer changes the state at least this often.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// A writer looks at the state this often (between its own changes), so
/// that a DELETE through another replica stops it within about this long.
const WATCH: Duration = Duration::from_secs(1);

/// A writer whose claim was not renewed for this long is gone.
const LEASE: Duration = Duration::from_secs(45);

/// The size of part `number`: it grows with the upload so that 10,000
/// parts hold a blob of hundreds of GiB.
fn part_size(number: u32) -> usize {
    PART * (1 + number as usize / 2000)
}

impl S3Store {
    /// The open upload `id` of `name`.
    async fn open_upload(&self, name: &str, id: &str) -> Result<Versioned> {
        match self.load_state(id).await? {
            Some(version) if version.state.name == name && !version.state.closed => Ok(version),
            _ => Err(Error::UploadUnknown(id.to_owned())),
        }
    }

    pub(super) async fn upload_start(&self, name: &str) -> Result<String> {
        let id = new_id();
        self.create_state(&id, &UploadState::new(name)).await?;
        Ok(id)
    }

    pub(super) async fn upload_status(&self, name: &str, id: &str) -> Result<u64> {
        Ok(self.open_upload(name, id).await?.state.offset)
    }

    /// Claim upload `id` for one request: `range` must start at the
    /// committed offset, and no live writer may hold it.
    async fn claim(
        &self,
        id: &str,
        version: Versioned,
        range: Option<ChunkRange>,
    ) -> Result<(Versioned, String)> {
        let offset = version.state.offset;
        let busy = |start: Option<u64>| Error::RangeOutOfOrder {
            start: start.unwrap_or(offset),
            offset,
        };
        let start = range.map(|range| range.start);
        if start.is_some_and(|start| start != offset) {
            return Err(busy(start));
        }
        if version.state.writer.is_some() {
            let now = self.clock().await?;
            if version.modified + LEASE > now {
                return Err(busy(start));
            }
            tracing::info!(
                "upload `{id}`: taking over from a writer silent since {}",
                humantime::format_rfc3339_seconds(version.modified)
            );
        }
        let token = new_id();
        let mut claimed = version.state.clone();
        claimed.writer = Some(token.clone());
        match self.swap_state(id, &version, claimed).await? {
            Some(version) => Ok((version, token)),
            None => match self.load_state(id).await? {
                Some(now) if !now.state.closed => Err(Error::RangeOutOfOrder {
                    start: start.unwrap_or(now.state.offset),
                    offset: now.state.offset,
                }),
                _ => Err(Error::UploadUnknown(id.to_owned())),
            },
        }
    }

    pub(super) async fn upload_append(
        &self,
        name: &str,
        id: &str,
        range: Option<ChunkRange>,
        body: Body,
    ) -> Result<u64> {
        let version = self.open_upload(name, id).await?;
        let (version, _token) = self.claim(id, version, range).await?;
        let mut writer = Writer::new(self, id, version, None)?;
        let streamed = writer.stream(body).await;
        let result = match (streamed, range) {
            (Ok(()), Some(range)) if writer.written != range.announced() => {
                Err(range.mismatch(writer.written))
            }
            (Ok(()), _) => writer.commit().await,
            (Err(err), _) => Err(err),
        };
        if result.is_err() {
            writer.abandon().await;
        }
        result
    }

    pub(super) async fn upload_finish(
        &self,
        name: &str,
        id: &str,
        body: Body,
        digest: &Digest,
    ) -> Result<u64> {
        let version = self.open_upload(name, id).await?;
        let (version, _token) = self.claim(id, version, None).await?;
        // Known from the first byte: the parts can go to the content key
        // at once, and nothing needs copying at the end.
        let direct = (version.state.offset == 0
            && version.state.multipart.is_none()
            && digest.algorithm == Algorithm::Sha256)
            .then(|| digest.clone());
        let mut writer = Writer::new(self, id, version, direct)?;
        let result = match writer.stream(body).await {
            Ok(()) => self.complete(name, digest, &mut writer).await,
            Err(err) => Err(err),
        };
        match &result {
            Ok(_) => {}
            Err(Error::DigestMismatch { .. }) => {
                let _ = self.close_upload(id, &writer.version).await;
            }
            Err(_) => writer.abandon().await,
        }
        result
    }

    pub(super) async fn upload_cancel(&self, name: &str, id: &str) -> Result<()> {
        for _ in 0..5 {
            let version = self.open_upload(name, id).await?;
            if self.close_upload(id, &version).await? {
                return Ok(());
            }
        }
        Err(Error::UploadUnknown(id.to_owned()))
    }

    /// Close upload `id` at `version` (a tombstone first, so every other
    /// request on it fails) and remove its objects; `false` when the state
    /// changed meanwhile.
    pub(super) async fn close_upload(&self, id: &str, version: &Versioned) -> StoreResult<bool> {
        let mut closed = version.state.clone();
        closed.closed = true;
        if self.swap_state(id, version, closed).await?.is_none() {
            return Ok(false);
        }
        self.remove_upload_objects(id, &version.state).await?;
        Ok(true)
    }

    async fn remove_upload_objects(&self, id: &str, state: &UploadState) -> StoreResult<()> {
        if let Some(multipart) = &state.multipart {
            let key = Path::from(multipart.key.as_str());
            // Completed already (or never started): nothing to abort.
            let _ = self
                .objects
                .abort_multipart(&key, &multipart.id.clone())
                .await;
        }
        let state_key = self.keys.upload_state(id);
        for meta in self.list(&self.keys.upload(id)).await? {
            if meta.location != state_key {
                self.delete(&meta.location).await?;
            }
        }
        self.delete(&state_key).await
    }

    /// Every upload in progress, with the time its state last changed.
    pub(super) async fn upload_list(&self) -> StoreResult<Vec<UploadFile>> {
        let mut found = Vec::new();
        for meta in self.list(&self.keys.uploads()).await? {
            let Some(id) = self.keys.parse_upload_state(&meta.location) else {
                continue;
            };
            if let Some(version) = self.load_state(&id).await? {
                if !version.state.closed {
                    found.push(UploadFile {
                        id,
                        modified: version.modified,
                        len: version.state.offset,
                    });
                }
            }
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    /// Close upload `id` if its state is older than `cutoff` (so no writer
    /// holds it either); its size when closed.
    pub(super) async fn upload_remove_if_older(
        &self,
        id: &str,
        cutoff: SystemTime,
    ) -> StoreResult<Option<u64>> {
        let Some(version) = self.load_state(id).await? else {
            return Ok(None);
        };
        if version.modified >= cutoff {
            return Ok(None);
        }
        if version.state.closed {
            // Closed by a request that died before removing it.
            self.remove_upload_objects(id, &version.state).await?;
            return Ok(None);
        }
        let size = version.state.offset;
        Ok(self.close_upload(id, &version).await?.then_some(size))
    }

    /// Remove uploads whose state did not change for `idle`, and markers
    /// of dead prunes; the ids removed.
    pub(super) async fn uploads_expire(&self, idle: Duration) -> Result<Vec<String>> {
        let now = self.clock().await?;
        self.clear_stale_markers(now).await?;
        let cutoff = now.checked_sub(idle).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut removed = Vec::new();
        for upload in self.upload_list().await? {
            if upload.modified < cutoff
                && self
                    .upload_remove_if_older(&upload.id, cutoff)
                    .await?
                    .is_some()
            {
                removed.push(upload.id);
            }
        }
        Ok(removed)
    }

    /// Send one part (its bytes as they came, no copy).
    fn send_part(
        &self,
        key: Path,
        multipart: String,
        number: u32,
        chunks: Vec<Bytes>,
        permit: Option<OwnedSemaphorePermit>,
    ) -> tokio::task::JoinHandle<Result<Part>> {
        let objects = Arc::clone(&self.objects);
        let name = self.name.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let size: u64 = chunks.iter().map(|chunk| chunk.len() as u64).sum();
            let payload: PutPayload = chunks.into_iter().collect();
            let index = number as usize - 1;
            let part: PartId = objects
                .put_part(&key, &multipart, index, payload)
                .await
                .map_err(|source| {
                    Error::Storage(crate::server::storage::Error::Object {
                        op: "write a part of",
                        key: key.to_string(),
                        store: name,
                        source: Box::new(source),
                    })
                })?;
            Ok(Part {
                number,
                etag: raw::part_etag(&part.content_id),
                size,
            })
        })
    }
}

/// One request's writing to a claimed upload.
pub(super) struct Writer<'a> {
    store: &'a S3Store,
    id: &'a str,
    /// The state as this request last wrote it.
    pub(super) version: Versioned,
    hasher: Sha256,
    /// New bytes not yet in a part, as they came.
    buffer: Vec<Bytes>,
    buffered: usize,
    /// Room in the server's part memory for the part being filled.
    permit: Option<OwnedSemaphorePermit>,
    /// Whether the committed staged bytes went into a part of this request.
    staged_used: bool,
    /// Parts of this request, sent.
    parts: Vec<Part>,
    sending: Option<tokio::task::JoinHandle<Result<Part>>>,
    /// A staged object this request wrote (removed if it fails).
    staged_written: Option<Path>,
    pub(super) written: u64,
    /// The blob's digest when its parts go straight to its content key.
    direct: Option<Digest>,
    saved_at: Instant,
}

impl<'a> Writer<'a> {
    fn new(
        store: &'a S3Store,
        id: &'a str,
        version: Versioned,
        direct: Option<Digest>,
    ) -> Result<Writer<'a>> {
        let hasher = Sha256::resume(&version.state.hash).ok_or_else(|| {
            Error::Storage(crate::server::storage::Error::Corrupt {
                store: store.name.clone(),
                key: store.keys.upload_state(id).to_string(),
                what: "an upload state",
                message: "its hash state is damaged".into(),
            })
        })?;
        Ok(Writer {
            store,
            id,
            version,
            hasher,
            buffer: Vec::new(),
            buffered: 0,
            permit: None,
            staged_used: false,
            parts: Vec::new(),
            sending: None,
            staged_written: None,
            written: 0,
            direct,
            saved_at: Instant::now(),
        })
    }

    fn staged_pending(&self) -> u64 {
        if self.staged_used {
            0
        } else {
            self.version.state.staged_len()
        }
    }

    /// Change the state; fails when the claim was lost (the upload was
    /// closed, or a writer took over).
    async fn save(&mut self, new: UploadState) -> Result<()> {
        match self.store.swap_state(self.id, &self.version, new).await? {
            Some(version) => {
                self.version = version;
                self.saved_at = Instant::now();
                Ok(())
            }
            None => match self.store.load_state(self.id).await? {
                Some(now) if !now.state.closed => Err(Error::RangeOutOfOrder {
                    start: self.version.state.offset,
                    offset: now.state.offset,
                }),
                _ => Err(Error::UploadUnknown(self.id.to_owned())),
            },
        }
    }

    /// Renew the claim when it is due, else check that it still holds:
    /// nobody closed the upload or took it over.
    async fn watch(&mut self) -> Result<()> {
        if self.saved_at.elapsed() >= HEARTBEAT {
            let same = self.version.state.clone();
            return self.save(same).await;
        }
        match self.store.load_state(self.id).await? {
            Some(now) if now.e_tag == self.version.e_tag => Ok(()),
            Some(now) if !now.state.closed => Err(Error::RangeOutOfOrder {
                start: self.version.state.offset,
                offset: now.state.offset,
            }),
            _ => Err(Error::UploadUnknown(self.id.to_owned())),
        }
    }

    /// Stream `body` into parts, hashing it, and watching the claim.
    async fn stream(&mut self, body: Body) -> Result<()> {
        let mut frames = body.into_data_stream();
        let mut check = tokio::time::Instant::now() + WATCH;
        loop {
            let frame = tokio::select! {
                frame = frames.next() => frame,
                () = tokio::time::sleep_until(check) => {
                    self.watch().await?;
                    check = tokio::time::Instant::now() + WATCH;
                    continue;
                }
            };
            match frame {
                None => return Ok(()),
                Some(Err(err)) => return Err(Error::Body(err.to_string())),
                Some(Ok(bytes)) => self.feed(bytes).await?,
            }
        }
    }

    async fn feed(&mut self, mut bytes: Bytes) -> Result<()> {
        self.hasher.update(&bytes);
        self.written += bytes.len() as u64;
        while !bytes.is_empty() {
            let size = part_size(self.version.state.next_part);
            if self.permit.is_none() {
                let kib = u32::try_from(size >> 10).unwrap_or(u32::MAX);
                let permit = Arc::clone(&self.store.parts)
                    .acquire_many_owned(kib)
                    .await
                    .map_err(|err| Error::Io(std::io::Error::other(err)))?;
                self.permit = Some(permit);
            }
            let room = size - self.staged_pending() as usize - self.buffered;
            let piece = bytes.split_to(room.min(bytes.len()));
            self.buffered += piece.len();
            self.buffer.push(piece);
            if self.staged_pending() as usize + self.buffered == size {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// The committed staged bytes (for the next part), read back.
    async fn read_staged(&self) -> Result<Vec<Bytes>> {
        let mut chunks = Vec::new();
        for piece in &self.version.state.staged {
            let key = self.store.keys.upload_staged(self.id, piece.offset);
            let (bytes, _) = self.store.get(&key).await?.ok_or_else(|| {
                Error::Storage(crate::server::storage::Error::Corrupt {
                    store: self.store.name.clone(),
                    key: key.to_string(),
                    what: "nothing",
                    message: "staged bytes of the upload are missing".into(),
                })
            })?;
            if bytes.len() as u64 != piece.len {
                return Err(Error::UploadInvalid(format!(
                    "staged bytes at {} hold {} bytes, not {}",
                    piece.offset,
                    bytes.len(),
                    piece.len
                )));
            }
            chunks.push(bytes);
        }
        Ok(chunks)
    }

    /// Reserve the next part number (creating the multipart object first
    /// if there is none yet) in the state.
    async fn reserve(&mut self) -> Result<(Path, String, u32)> {
        let mut new = self.version.state.clone();
        let mut created = None;
        if new.multipart.is_none() {
            let key = match &self.direct {
                Some(digest) => self.store.keys.blob(digest),
                None => self.store.keys.upload_data(self.id),
            };
            let id = self
                .store
                .objects
                .create_multipart(&key)
                .await
                .map_err(|err| self.store.error("start a multipart upload of", &key, err))?;
            new.multipart = Some(Multipart {
                key: key.to_string(),
                id: id.clone(),
            });
            created = Some((key, id));
        }
        let number = new.next_part;
        if number > MAX_PART {
            return Err(Error::UploadInvalid(
                "the blob needs more parts than the object store allows".into(),
            ));
        }
        new.next_part += 1;
        if let Err(err) = self.save(new).await {
            if let Some((key, id)) = created {
                let _ = self.store.objects.abort_multipart(&key, &id).await;
            }
            return Err(err);
        }
        let multipart =
            self.version.state.multipart.clone().ok_or_else(|| {
                Error::UploadInvalid("the upload lost its multipart object".into())
            })?;
        Ok((Path::from(multipart.key), multipart.id, number))
    }

    /// Send the staged bytes (if not sent yet) and the buffer as one part.
    async fn flush(&mut self) -> Result<()> {
        let mut chunks = if self.staged_used {
            Vec::new()
        } else {
            self.read_staged().await?
        };
        self.staged_used = true;
        chunks.append(&mut self.buffer);
        self.buffered = 0;
        self.send(chunks).await
    }

    /// Send `chunks` as the next part, once the part before it was sent.
    async fn send(&mut self, chunks: Vec<Bytes>) -> Result<()> {
        let permit = self.permit.take();
        let (key, multipart, number) = self.reserve().await?;
        self.wait_sent().await?;
        self.sending = Some(self.store.send_part(key, multipart, number, chunks, permit));
        Ok(())
    }

    async fn wait_sent(&mut self) -> Result<()> {
        if let Some(sending) = self.sending.take() {
            let part = sending
                .await
                .map_err(|err| Error::Io(std::io::Error::other(err)))??;
            self.parts.push(part);
        }
        Ok(())
    }

    /// End a PATCH: stage what is short of a part and commit.
    async fn commit(&mut self) -> Result<u64> {
        self.wait_sent().await?;
        let mut new = self.version.state.clone();
        let old_staged = if self.staged_used {
            std::mem::take(&mut new.staged)
        } else {
            Vec::new()
        };
        if self.buffered > 0 {
            let offset = new.offset + self.written - self.buffered as u64;
            let key = self.store.keys.upload_staged(self.id, offset);
            let bytes: Bytes = std::mem::take(&mut self.buffer).concat().into();
            self.store
                .put(&key, bytes, object_store::PutMode::Overwrite)
                .await?;
            self.staged_written = Some(key);
            new.staged.push(Staged {
                offset,
                len: self.buffered as u64,
            });
        }
        new.parts.append(&mut self.parts);
        new.offset += self.written;
        new.hash = self.hasher.save();
        new.writer = None;
        self.save(new).await?;
        self.staged_written = None;
        self.permit = None;
        for piece in old_staged {
            let _ = self
                .store
                .delete(&self.store.keys.upload_staged(self.id, piece.offset))
                .await;
        }
        Ok(self.version.state.offset)
    }

    /// After a failure: release the claim, leaving the upload at its last
    /// committed offset (part numbers used stay reserved).
    async fn abandon(&mut self) {
        if let Some(sending) = self.sending.take() {
            sending.abort();
        }
        if let Some(key) = self.staged_written.take() {
            let _ = self.store.delete(&key).await;
        }
        let mut released = self.version.state.clone();
        if released.closed {
            return;
        }
        released.writer = None;
        let _ = self
            .store
            .swap_state(self.id, &self.version, released)
            .await;
    }

    pub(super) fn digest(&self) -> Digest {
        self.hasher.finish()
    }

    /// Everything after the committed parts: the staged bytes not sent
    /// yet and the buffer, as one last part's chunks.
    pub(super) async fn take_rest(&mut self) -> Result<Vec<Bytes>> {
        let mut chunks = if self.staged_used {
            Vec::new()
        } else {
            self.read_staged().await?
        };
        self.staged_used = true;
        chunks.append(&mut self.buffer);
        self.buffered = 0;
        Ok(chunks)
    }

    /// Send `chunks` as the last part (if any) and return every part.
    pub(super) async fn last_part(&mut self, chunks: Vec<Bytes>) -> Result<Vec<Part>> {
        if chunks.iter().any(|chunk| !chunk.is_empty()) {
            self.send(chunks).await?;
        }
        self.wait_sent().await?;
        let mut parts = self.version.state.parts.clone();
        parts.append(&mut self.parts);
        Ok(parts)
    }

    pub(super) fn multipart(&self) -> Option<&Multipart> {
        self.version.state.multipart.as_ref()
    }

    pub(super) fn size(&self) -> u64 {
        self.version.state.offset + self.written
    }

    pub(super) fn id(&self) -> &str {
        self.id
    }
}
