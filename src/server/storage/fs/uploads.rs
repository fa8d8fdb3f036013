//! Blob uploads: sessions, streamed appends with incremental hashing, and
//! verified completion. A request body is never held in memory: it flows in
//! bounded chunks to `uploads/<id>` on disk while a hasher runs over it, on a
//! blocking thread so the network side keeps reading meanwhile. Completion
//! compares the client's digest with the hash and only then renames the file
//! into the blob store and links it to the repository; a mismatch deletes
//! the upload and stores nothing. The data is flushed to disk before the
//! rename (unlike distribution's filesystem driver), so neither a killed
//! server nor a power cut exposes a blob whose bytes do not match its
//! digest. So that this final flush finds little left to do, the writer asks
//! the kernel to start writeback of each completed 16 MiB window while the
//! body is still streaming (`Writeback`); that is only a hint, the flush at
//! completion is what makes the blob durable.
//!
//! One body at a time is written to an upload (a second PATCH waits for the
//! first). The offset a status GET reports is the last committed one, read
//! without waiting for a body in flight, and a DELETE (or expiry) closes the
//! session at once: a writer in flight stops and its request fails. A body
//! that fails half-way (the client went away, or stalled longer than the
//! body timeout, which the router enforces per read) is cut off again, so
//! the upload is back at its last committed offset and the client can
//! resend that chunk. Uploads nobody wrote to for the configured time are
//! removed by [`Uploads::expire`], which the server runs periodically.
//!
//! Session state (offset, hash so far) lives in memory. After a restart an
//! upload file on disk is picked up again and re-hashed on first use, so a
//! restart loses no upload; a blob is never visible before it is complete.
//! This module knows nothing of HTTP status codes or auth.

use super::Root;
use crate::digest::{Algorithm, Digest, Hasher};
use crate::server::error::{Error, Result};
use crate::server::path::valid_upload_id;
use crate::server::uploads::{ChunkRange, hash_file, new_id};
use axum::body::Body;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// Bytes handed to the writer thread at a time.
const CHUNK: usize = 1 << 20;

/// Bytes of an upload between two early writeback requests.
const WRITEBACK_WINDOW: u64 = 16 << 20;

struct Session {
    name: String,
    /// Bytes committed: what a status GET reports. Changed only by the
    /// holder of `writer`.
    committed: AtomicU64,
    /// Cancelled when the session ends (DELETE, expiry, completion): a
    /// writer in flight stops.
    closed: CancellationToken,
    /// Held while a body is written or the upload completes: the sha256 of
    /// the committed bytes, `None` until rebuilt after a restart.
    writer: tokio::sync::Mutex<Option<Hasher>>,
}

impl Session {
    fn new(name: &str, committed: u64, hasher: Option<Hasher>) -> Arc<Session> {
        Arc::new(Session {
            name: name.to_owned(),
            committed: AtomicU64::new(committed),
            closed: CancellationToken::new(),
            writer: tokio::sync::Mutex::new(hasher),
        })
    }

    fn committed(&self) -> u64 {
        self.committed.load(Ordering::SeqCst)
    }
}

/// All upload sessions of one server.
pub struct Uploads {
    storage: Root,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|err| Error::Io(std::io::Error::other(err)))?
}

fn io<T>(result: std::io::Result<T>) -> Result<T> {
    result.map_err(Error::Io)
}

impl Uploads {
    pub fn new(storage: Root) -> Uploads {
        Uploads {
            storage,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.storage.upload_path(id)
    }

    fn lock_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Open a new session for repository `name`; returns its id.
    pub async fn start(&self, name: &str) -> Result<String> {
        let id = new_id();
        let storage = self.storage.clone();
        let create = id.clone();
        blocking(move || Ok(storage.create_upload(&create)?)).await?;
        let session = Session::new(name, 0, Some(Hasher::new(Algorithm::Sha256)));
        self.lock_map().insert(id.clone(), session);
        Ok(id)
    }

    /// The session `id` of repository `name`, picked up from disk after a
    /// restart.
    async fn session(&self, name: &str, id: &str) -> Result<Arc<Session>> {
        let unknown = || Error::UploadUnknown(id.to_owned());
        let found = self.lock_map().get(id).cloned();
        let session = match found {
            Some(session) => session,
            None => {
                let storage = self.storage.clone();
                let lookup = id.to_owned();
                let file = blocking(move || Ok(storage.upload(&lookup)?))
                    .await?
                    .ok_or_else(unknown)?;
                let session = Session::new(name, file.len, None);
                self.lock_map()
                    .entry(id.to_owned())
                    .or_insert(session)
                    .clone()
            }
        };
        if session.name != name || session.closed.is_cancelled() {
            return Err(unknown());
        }
        Ok(session)
    }

    /// Forget session `id` once its file is gone (committed or removed).
    /// Until then the session stays in the map, closed, so that no request
    /// picks the file up again as a session of its own.
    fn forget(&self, id: &str, session: &Session) {
        session.closed.cancel();
        let mut map = self.lock_map();
        if map
            .get(id)
            .is_some_and(|current| std::ptr::eq(current.as_ref(), session))
        {
            map.remove(id);
        }
    }

    /// How many bytes upload `id` holds; never waits for a body in flight.
    pub async fn status(&self, name: &str, id: &str) -> Result<u64> {
        Ok(self.session(name, id).await?.committed())
    }

    /// Append a request body; returns the new size.
    pub async fn append(
        &self,
        name: &str,
        id: &str,
        range: Option<ChunkRange>,
        body: Body,
    ) -> Result<u64> {
        let session = self.session(name, id).await?;
        let mut hasher = session.writer.lock().await;
        let start = session.committed();
        if session.closed.is_cancelled() {
            return Err(Error::UploadUnknown(id.to_owned()));
        }
        if let Some(range) = range {
            if range.start != start {
                return Err(Error::RangeOutOfOrder {
                    start: range.start,
                    offset: start,
                });
            }
        }
        let written = self.write_body(&session, &mut hasher, id, body).await?;
        if let Some(range) = range {
            if written != range.announced() {
                self.truncate(&session, &mut hasher, id, start).await?;
                return Err(range.mismatch(written));
            }
        }
        Ok(session.committed())
    }

    /// Append an optional last body, verify `digest`, move the upload into
    /// the blob store and link it to repository `name`. Returns the size.
    pub async fn finish(&self, name: &str, id: &str, body: Body, digest: &Digest) -> Result<u64> {
        let session = self.session(name, id).await?;
        let mut hasher = session.writer.lock().await;
        if session.closed.is_cancelled() {
            return Err(Error::UploadUnknown(id.to_owned()));
        }
        self.write_body(&session, &mut hasher, id, body).await?;
        let actual = match (hasher.as_ref(), digest.algorithm) {
            (Some(hasher), Algorithm::Sha256) => hasher.peek(),
            _ => {
                let path = self.path(id);
                let algorithm = digest.algorithm;
                blocking(move || io(hash_file(&path, algorithm))).await?
            }
        };
        let size = session.committed();
        // Closed before the file moves: nobody writes to it any more.
        session.closed.cancel();
        let storage = self.storage.clone();
        let (blob, repository, upload) = (digest.clone(), name.to_owned(), id.to_owned());
        let result = if actual != *digest {
            blocking(move || Ok(storage.remove_upload(&upload)?))
                .await
                .and(Err(Error::DigestMismatch {
                    expected: digest.to_string(),
                    actual: actual.to_string(),
                }))
        } else {
            // The blob first, then the link: a crash between leaves content
            // no repository links, which prune removes; never a link to
            // nothing.
            blocking(move || {
                storage.commit_upload(&upload, &blob)?;
                Ok(storage.link_blob(&repository, &blob)?)
            })
            .await
        };
        self.forget(id, &session);
        result.map(|()| size)
    }

    /// Drop an upload and its bytes; never waits for a body in flight.
    pub async fn cancel(&self, name: &str, id: &str) -> Result<()> {
        let session = self.session(name, id).await?;
        session.closed.cancel();
        let storage = self.storage.clone();
        let upload = id.to_owned();
        let removed = blocking(move || Ok(storage.remove_upload(&upload)?)).await;
        self.forget(id, &session);
        if removed? {
            Ok(())
        } else {
            Err(Error::UploadUnknown(id.to_owned()))
        }
    }

    /// Remove uploads nobody wrote to for `idle` (their files and their
    /// sessions), and manifests' temporary files as old; a session whose
    /// body is being written is left alone. Returns the names removed.
    pub async fn expire(&self, idle: Duration) -> Result<Vec<String>> {
        let storage = self.storage.clone();
        let files = blocking(move || Ok(storage.uploads()?)).await?;
        let cutoff = SystemTime::now()
            .checked_sub(idle)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut removed = Vec::new();
        for file in files {
            if file.modified >= cutoff {
                continue;
            }
            if !valid_upload_id(&file.id) {
                // A manifest's temporary file that a killed process left
                // between writing and committing it: no session holds it.
                if file.id.starts_with("manifest-") {
                    let storage = self.storage.clone();
                    let id = file.id.clone();
                    if blocking(move || Ok(storage.remove_upload_if_older(&id, cutoff)?))
                        .await?
                        .is_some()
                    {
                        removed.push(file.id);
                    }
                }
                continue;
            }
            let session = self.lock_map().get(&file.id).cloned();
            // Held while removing, so no body starts meanwhile.
            let _writer = match &session {
                Some(session) => match session.writer.try_lock() {
                    Ok(writer) => Some(writer),
                    Err(_) => continue,
                },
                None => None,
            };
            let storage = self.storage.clone();
            let id = file.id.clone();
            if blocking(move || Ok(storage.remove_upload_if_older(&id, cutoff)?))
                .await?
                .is_none()
            {
                continue;
            }
            if let Some(session) = &session {
                self.forget(&file.id, session);
            }
            removed.push(file.id);
        }
        // Sessions whose file is gone (removed by `registry prune`).
        let sessions: Vec<(String, Arc<Session>)> = self
            .lock_map()
            .iter()
            .map(|(id, session)| (id.clone(), session.clone()))
            .collect();
        for (id, session) in sessions {
            let Ok(_writer) = session.writer.try_lock() else {
                continue;
            };
            let storage = self.storage.clone();
            let lookup = id.clone();
            if blocking(move || Ok(storage.upload(&lookup)?))
                .await?
                .is_none()
            {
                self.forget(&id, &session);
            }
        }
        Ok(removed)
    }

    /// Stream `body` onto the end of the upload file, hashing as it goes,
    /// and commit the new offset. On any failure the file and hash are put
    /// back as they were, so the client can resend the chunk; when the
    /// session is closed meanwhile, the writer just stops.
    async fn write_body(
        &self,
        session: &Session,
        hasher: &mut Option<Hasher>,
        id: &str,
        body: Body,
    ) -> Result<u64> {
        let path = self.path(id);
        let start = session.committed();
        let current = match hasher.take() {
            Some(hasher) => hasher,
            None => {
                let rehash = path.clone();
                blocking(move || io(rehash_prefix(&rehash, start))).await?
            }
        };
        let saved = current.clone();
        let open = path.clone();
        let file = blocking(move || {
            let mut file = io(std::fs::OpenOptions::new().write(true).open(open))?;
            io(file.seek(std::io::SeekFrom::Start(start)))?;
            Ok(file)
        })
        .await
        .map_err(|_| Error::UploadUnknown(id.to_owned()))?;
        let streamed = tokio::select! {
            streamed = stream_into(file, current, Writeback::new(start), body) => streamed,
            () = session.closed.cancelled() => {
                return Err(Error::UploadUnknown(id.to_owned()));
            }
        };
        match streamed {
            Ok((new, written)) => {
                *hasher = Some(new);
                session.committed.store(start + written, Ordering::SeqCst);
                Ok(written)
            }
            Err(err) => {
                *hasher = Some(saved);
                if !session.closed.is_cancelled() {
                    blocking(move || {
                        io(std::fs::OpenOptions::new()
                            .write(true)
                            .open(path)
                            .and_then(|file| file.set_len(start)))
                    })
                    .await?;
                }
                Err(err)
            }
        }
    }

    async fn truncate(
        &self,
        session: &Session,
        hasher: &mut Option<Hasher>,
        id: &str,
        len: u64,
    ) -> Result<()> {
        let path = self.path(id);
        let rehash = path.clone();
        blocking(move || {
            io(std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|file| file.set_len(len)))
        })
        .await?;
        session.committed.store(len, Ordering::SeqCst);
        *hasher = Some(blocking(move || io(rehash_prefix(&rehash, len))).await?);
        Ok(())
    }
}

/// Early writeback of an upload file: once a [`WRITEBACK_WINDOW`] of new
/// bytes is written, the kernel is asked to start writing that range to
/// disk, without waiting for it. Otherwise a large blob stays dirty in the
/// page cache until `commit_file` calls `sync_data`, which then waits for
/// all of it at the end of the request.
///
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)` is not exposed by `nix` and the
/// crate forbids `unsafe`, so this uses `posix_fadvise(POSIX_FADV_DONTNEED)`,
/// which on Linux starts writeback of the dirty pages in the range in the
/// same non-waiting way (and drops pages of the range that are already
/// clean, which just-written ones are not). Errors (a filesystem that does
/// not support it, a non-Linux kernel) only turn it off for the rest of the
/// body: durability never depends on it.
struct Writeback {
    /// File offset the next write goes to.
    pos: u64,
    /// Everything before this offset was already handed to writeback.
    kicked: u64,
    enabled: bool,
}

impl Writeback {
    fn new(offset: u64) -> Writeback {
        Writeback {
            pos: offset,
            kicked: offset,
            enabled: true,
        }
    }

    /// Record `len` bytes written to `file`; start writeback of the window
    /// behind them once it is complete.
    fn wrote(&mut self, file: &std::fs::File, len: usize) {
        use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
        use std::os::fd::AsRawFd;
        self.pos += len as u64;
        if !self.enabled || self.pos - self.kicked < WRITEBACK_WINDOW {
            return;
        }
        let (Ok(offset), Ok(len)) = (
            i64::try_from(self.kicked),
            i64::try_from(self.pos - self.kicked),
        ) else {
            self.enabled = false;
            return;
        };
        let advice = PosixFadviseAdvice::POSIX_FADV_DONTNEED;
        if posix_fadvise(file.as_raw_fd(), offset, len, advice).is_err() {
            self.enabled = false;
        }
        self.kicked = self.pos;
    }
}

type Job = tokio::task::JoinHandle<std::io::Result<(std::fs::File, Hasher, Writeback)>>;

/// Copy a body into `file`, hashing on a blocking thread one chunk behind
/// the network so reading and writing overlap, and starting writeback as
/// windows complete. Returns the hasher and the byte count.
async fn stream_into(
    file: std::fs::File,
    hasher: Hasher,
    writeback: Writeback,
    body: Body,
) -> Result<(Hasher, u64)> {
    let mut stream = body.into_data_stream();
    let mut idle = Some((file, hasher, writeback));
    let mut pending: Option<Job> = None;
    // Frames are batched as they came (no copy) and handed over together.
    let mut batch: Vec<bytes::Bytes> = Vec::new();
    let mut batched = 0usize;
    let mut written = 0u64;
    let join = |job: Job| async move {
        job.await
            .map_err(|err| Error::Io(std::io::Error::other(err)))?
            .map_err(Error::Io)
    };
    let mut failure = None;
    loop {
        let next = stream.next().await;
        let last = next.is_none();
        match next {
            Some(Ok(bytes)) => {
                written += bytes.len() as u64;
                batched += bytes.len();
                batch.push(bytes);
            }
            Some(Err(err)) => {
                failure = Some(Error::Body(err.to_string()));
                break;
            }
            None => {}
        }
        if batched >= CHUNK || (last && batched > 0) {
            if let Some(job) = pending.take() {
                idle = Some(join(job).await?);
            }
            let Some((mut file, mut hasher, mut writeback)) = idle.take() else {
                return Err(Error::Io(std::io::Error::other(
                    "upload writer lost its file",
                )));
            };
            let frames = std::mem::take(&mut batch);
            batched = 0;
            pending = Some(tokio::task::spawn_blocking(move || {
                for frame in &frames {
                    hasher.update(frame);
                    file.write_all(frame)?;
                    writeback.wrote(&file, frame.len());
                }
                Ok((file, hasher, writeback))
            }));
        }
        if last {
            break;
        }
    }
    if let Some(job) = pending.take() {
        idle = Some(join(job).await?);
    }
    if let Some(err) = failure {
        return Err(err);
    }
    match idle {
        Some((_, hasher, _)) => Ok((hasher, written)),
        None => Err(Error::Io(std::io::Error::other(
            "upload writer lost its file",
        ))),
    }
}

/// The sha256 state over the first `len` bytes of a file.
fn rehash_prefix(path: &std::path::Path, len: u64) -> std::io::Result<Hasher> {
    let mut hasher = Hasher::new(Algorithm::Sha256);
    let mut file = std::fs::File::open(path)?.take(len);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher);
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_hash_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Root::open(dir.path()).unwrap();
        let uploads = Uploads::new(storage.clone());
        let id = uploads.start("a").await.unwrap();
        let big = vec![7u8; 3 * CHUNK + 5];
        let n = uploads
            .append("a", &id, None, Body::from(big.clone()))
            .await
            .unwrap();
        assert_eq!(n, big.len() as u64);
        let out_of_order = uploads
            .append(
                "a",
                &id,
                Some(ChunkRange { start: 0, end: 0 }),
                Body::from("x"),
            )
            .await;
        assert!(matches!(out_of_order, Err(Error::RangeOutOfOrder { .. })));
        let mut all = big.clone();
        all.extend_from_slice(b"tail");
        let digest = Digest::sha256_of(&all);
        // A fresh Uploads (a restart) picks the file up again.
        let restarted = Uploads::new(storage.clone());
        let size = restarted
            .finish("a", &id, Body::from("tail"), &digest)
            .await
            .unwrap();
        assert_eq!(size, all.len() as u64);
        assert_eq!(storage.blob_size(&digest).unwrap(), Some(all.len() as u64));
    }

    #[tokio::test]
    async fn mismatch_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Root::open(dir.path()).unwrap();
        let uploads = Uploads::new(storage.clone());
        let id = uploads.start("a").await.unwrap();
        let wrong = Digest::sha256_of(b"other");
        let err = uploads
            .finish("a", &id, Body::from("data"), &wrong)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }));
        assert_eq!(storage.blob_size(&wrong).unwrap(), None);
        assert!(matches!(
            uploads.status("a", &id).await,
            Err(Error::UploadUnknown(_))
        ));
    }
}
