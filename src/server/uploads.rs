//! Blob uploads: sessions, streamed appends with incremental hashing, and
//! verified completion. A request body is never held in memory: it flows in
//! bounded chunks to `uploads/<id>` on disk while a hasher runs over it, on a
//! blocking thread so the network side keeps reading meanwhile. Completion
//! compares the client's digest with the hash and only then renames the file
//! into the blob store; a mismatch deletes the upload and stores nothing.
//! The data is flushed to disk before the rename (unlike distribution's
//! filesystem driver), so neither a killed server nor a power cut exposes a
//! blob whose bytes do not match its digest. So that this final flush finds
//! little left to do, the writer asks the kernel to start writeback of each
//! completed 16 MiB window while the body is still streaming (`Writeback`);
//! that is only a hint, the flush at completion is what makes the blob
//! durable.
//!
//! Session state (offset, hash so far) lives in memory. After a restart an
//! upload file on disk is picked up again and re-hashed on first use, so a
//! restart loses no upload; a blob is never visible before it is complete.
//! This module knows nothing of HTTP status codes or auth.

use super::error::{Error, Result};
use super::storage::Storage;
use crate::digest::{Algorithm, Digest, Hasher};
use axum::body::Body;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Bytes handed to the writer thread at a time.
const CHUNK: usize = 1 << 20;

/// Bytes of an upload between two early writeback requests.
const WRITEBACK_WINDOW: u64 = 16 << 20;

struct Session {
    name: String,
    offset: u64,
    /// sha256 of the bytes so far; `None` until rebuilt after a restart.
    hasher: Option<Hasher>,
}

/// All upload sessions of one server.
pub struct Uploads {
    storage: Storage,
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Session>>>>,
}

/// A `Content-Range: <start>-<end>` of a PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRange {
    pub start: u64,
    pub end: u64,
}

impl ChunkRange {
    pub fn parse(text: &str) -> Result<ChunkRange> {
        let bad = || Error::UploadInvalid(format!("malformed Content-Range `{text}`"));
        let text = text.trim();
        let text = text
            .strip_prefix("bytes=")
            .or_else(|| text.strip_prefix("bytes "))
            .unwrap_or(text);
        let text = text.split('/').next().unwrap_or(text);
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let start = start.trim().parse::<u64>().map_err(|_| bad())?;
        let end = end.trim().parse::<u64>().map_err(|_| bad())?;
        if end < start {
            return Err(bad());
        }
        Ok(ChunkRange { start, end })
    }
}

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|err| Error::Io(std::io::Error::other(err)))?
        .map_err(Error::Io)
}

fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

impl Uploads {
    pub fn new(storage: Storage) -> Uploads {
        Uploads {
            storage,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.storage.upload_path(id)
    }

    /// Open a new session for repository `name`; returns its id.
    pub async fn start(&self, name: &str) -> Result<String> {
        let id = new_id();
        let path = self.path(&id);
        blocking(move || std::fs::File::create(path).map(|_| ())).await?;
        let session = Session {
            name: name.to_owned(),
            offset: 0,
            hasher: Some(Hasher::new(Algorithm::Sha256)),
        };
        self.lock_map()
            .insert(id.clone(), Arc::new(tokio::sync::Mutex::new(session)));
        Ok(id)
    }

    fn lock_map(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<Session>>>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The session `id`, picked up from disk after a restart.
    async fn session(&self, name: &str, id: &str) -> Result<Arc<tokio::sync::Mutex<Session>>> {
        if let Some(session) = self.lock_map().get(id) {
            return Ok(session.clone());
        }
        let path = self.path(id);
        let len = blocking(move || std::fs::metadata(path).map(|m| m.len()))
            .await
            .map_err(|_| Error::UploadUnknown(id.to_owned()))?;
        let session = Arc::new(tokio::sync::Mutex::new(Session {
            name: name.to_owned(),
            offset: len,
            hasher: None,
        }));
        Ok(self
            .lock_map()
            .entry(id.to_owned())
            .or_insert(session)
            .clone())
    }

    /// How many bytes upload `id` holds.
    pub async fn status(&self, name: &str, id: &str) -> Result<u64> {
        let session = self.session(name, id).await?;
        let session = session.lock().await;
        check_name(&session, name, id)?;
        Ok(session.offset)
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
        let mut session = session.lock().await;
        check_name(&session, name, id)?;
        if let Some(range) = range {
            if range.start != session.offset {
                return Err(Error::RangeOutOfOrder {
                    start: range.start,
                    offset: session.offset,
                });
            }
        }
        let written = self.write_body(&mut session, id, body).await?;
        if let Some(range) = range {
            if written != range.end - range.start + 1 {
                let keep = session.offset - written;
                self.truncate(&mut session, id, keep).await?;
                return Err(Error::UploadInvalid(format!(
                    "Content-Range `{}-{}` announced {} bytes but the body held {written}",
                    range.start,
                    range.end,
                    range.end - range.start + 1
                )));
            }
        }
        Ok(session.offset)
    }

    /// Append an optional last body, verify `digest`, and move the upload
    /// into the blob store. Returns the blob size.
    pub async fn finish(&self, name: &str, id: &str, body: Body, digest: &Digest) -> Result<u64> {
        let session = self.session(name, id).await?;
        let mut session = session.lock().await;
        check_name(&session, name, id)?;
        self.write_body(&mut session, id, body).await?;
        let actual = match (&session.hasher, digest.algorithm) {
            (Some(hasher), Algorithm::Sha256) => hasher.peek(),
            _ => {
                let path = self.path(id);
                let algorithm = digest.algorithm;
                blocking(move || hash_file(&path, algorithm)).await?
            }
        };
        let path = self.path(id);
        if actual != *digest {
            let _ = blocking(move || std::fs::remove_file(path)).await;
            self.lock_map().remove(id);
            return Err(Error::DigestMismatch {
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        let storage = self.storage.clone();
        let (blob, repository) = (digest.clone(), name.to_owned());
        let upload = id.to_owned();
        // The blob first, then the link: a crash between leaves content no
        // repository links, which prune removes; never a link to nothing.
        tokio::task::spawn_blocking(move || {
            storage.commit_upload(&upload, &blob)?;
            storage.link_blob(&repository, &blob)
        })
        .await
        .map_err(|err| Error::Io(std::io::Error::other(err)))??;
        drop(path);
        self.lock_map().remove(id);
        Ok(session.offset)
    }

    /// Drop an upload and its bytes.
    pub async fn cancel(&self, name: &str, id: &str) -> Result<()> {
        let session = self.session(name, id).await?;
        let session = session.lock().await;
        check_name(&session, name, id)?;
        let path = self.path(id);
        blocking(move || std::fs::remove_file(path)).await?;
        self.lock_map().remove(id);
        Ok(())
    }

    /// Stream `body` onto the end of the upload file, hashing as it goes.
    /// On any failure the file and hash are put back as they were, so the
    /// client can resend the chunk.
    async fn write_body(&self, session: &mut Session, id: &str, body: Body) -> Result<u64> {
        let path = self.path(id);
        let start = session.offset;
        let hasher = match session.hasher.take() {
            Some(hasher) => hasher,
            None => {
                let rehash = path.clone();
                let len = start;
                blocking(move || rehash_prefix(&rehash, len)).await?
            }
        };
        let saved = hasher.clone();
        let open = path.clone();
        let file = blocking(move || {
            let mut file = std::fs::OpenOptions::new().write(true).open(open)?;
            file.seek(std::io::SeekFrom::Start(start))?;
            Ok(file)
        })
        .await
        .map_err(|_| Error::UploadUnknown(id.to_owned()))?;
        match stream_into(file, hasher, Writeback::new(start), body).await {
            Ok((hasher, written)) => {
                session.offset = start + written;
                session.hasher = Some(hasher);
                Ok(written)
            }
            Err(err) => {
                session.hasher = Some(saved);
                blocking(move || {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(path)?
                        .set_len(start)
                })
                .await?;
                Err(err)
            }
        }
    }

    async fn truncate(&self, session: &mut Session, id: &str, len: u64) -> Result<()> {
        let path = self.path(id);
        let rehash = path.clone();
        blocking(move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)?
                .set_len(len)
        })
        .await?;
        session.offset = len;
        session.hasher = Some(blocking(move || rehash_prefix(&rehash, len)).await?);
        Ok(())
    }
}

fn check_name(session: &Session, name: &str, id: &str) -> Result<()> {
    if session.name == name {
        Ok(())
    } else {
        Err(Error::UploadUnknown(id.to_owned()))
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

/// The digest of a whole file with `algorithm`.
pub fn hash_file(path: &std::path::Path, algorithm: Algorithm) -> std::io::Result<Digest> {
    let mut hasher = Hasher::new(algorithm);
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(
            ChunkRange::parse("0-9").unwrap(),
            ChunkRange { start: 0, end: 9 }
        );
        assert_eq!(
            ChunkRange::parse("bytes=10-19").unwrap(),
            ChunkRange { start: 10, end: 19 }
        );
        assert!(ChunkRange::parse("9-0").is_err());
        assert!(ChunkRange::parse("x").is_err());
    }

    #[tokio::test]
    async fn chunks_hash_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
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
        let storage = Storage::open(dir.path()).unwrap();
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
