//! Storage under `--root`: one content-addressed blob store (layers,
//! configs and manifests alike) and, per repository, the links that say
//! which blobs and manifests the repository holds, its tags and referrer
//! markers. It owns the on-disk layout and nothing else: no HTTP, no auth,
//! no upload bookkeeping (that is `uploads`), no garbage-collection policy
//! (that is `prune`).
//!
//! ```text
//! <root>/layout                                        layout version (`2`)
//! <root>/blobs/<alg>/<hh>/<hex>                        blob bytes, immutable
//! <root>/uploads/<id>                                  upload in progress
//! <root>/repositories/<name>/_layers/<alg>/<hex>       repo holds blob (empty file)
//! <root>/repositories/<name>/_manifests/<alg>/<hex>    repo holds manifest; holds its media type
//! <root>/repositories/<name>/_tags/<tag>               holds the tagged digest
//! <root>/repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>   subject -> referrer
//! ```
//!
//! Content is shared by digest, but blobs belong to repositories, as in
//! distribution: a repository reads, mounts from and deletes only what it
//! links (`_layers`, or `_manifests` for a manifest read as a blob), and
//! deleting a blob through a repository removes only that repository's
//! link. Only `prune` removes content, once no repository links it. Every
//! operation is addressed by repository name and digest, never by path, so
//! that another backend (object storage, issue 13) can implement the same
//! operations over the same key layout; only uploads hand out a path, for
//! streaming into a local file.
//!
//! A blob becomes visible only by `rename` of a fully written and verified
//! file whose data was flushed to disk (`sync_data`), so readers never see a
//! partial blob, not even after a power cut. Uploads start writeback while
//! they stream, so that flush mostly finds the data already on disk. Small
//! metadata files are replaced atomically through `crate::fs`. Path
//! components of repository names cannot start with `_`, so the `_…`
//! directories never collide with a nested repository.
//!
//! Modification times carry meaning: a blob or link is young when it was
//! written or touched recently, and `prune` only removes old files, through
//! `aside::remove_if_older`, which re-checks the time after moving the file
//! aside (`.prune-<name>`, hidden from listings).
//!
//! A root written before links existed (no `layout` file) is upgraded when
//! it is opened: see [`migrate`].

mod aside;
mod migrate;
mod repository;

mod store;
pub mod uploads;

use super::{At, Error, Result, UploadFile};
use crate::digest::{Algorithm, Digest};
use aside::{not_found_is_none, put_back_all, remove_if_older, touch};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
pub use store::FsStore;

/// The current layout version, written to `<root>/layout`.
const LAYOUT_VERSION: &str = "2";

const ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

/// The layout under one directory, with blocking operations. Cheap to
/// clone. [`FsStore`] serves it through the [`Store`](super::Store) trait.
#[derive(Debug, Clone)]
pub struct Root {
    root: Arc<PathBuf>,
}

impl Root {
    /// Open (and create) the layout under `root`, upgrading a root of an
    /// older layout first.
    pub fn open(root: &Path) -> Result<Root> {
        for dir in ["blobs", "uploads", "repositories"] {
            let path = root.join(dir);
            std::fs::create_dir_all(&path).at("create", &path)?;
        }
        let storage = Root {
            root: Arc::new(root.to_path_buf()),
        };
        let marker = root.join("layout");
        match not_found_is_none(std::fs::read_to_string(&marker)).at("read", &marker)? {
            Some(found) if found.trim() == LAYOUT_VERSION => {}
            Some(found) => {
                return Err(Error::Layout {
                    path: marker,
                    found: found.trim().to_owned(),
                });
            }
            None => {
                migrate::derive_blob_links(&storage)?;
                crate::fs::write_atomic(&marker, LAYOUT_VERSION.as_bytes(), crate::fs::PUBLIC)
                    .map_err(std::io::Error::other)
                    .at("write", &marker)?;
            }
        }
        Ok(storage)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm.as_str())
            .join(&digest.hex[..2])
            .join(&digest.hex)
    }

    fn uploads_dir(&self) -> PathBuf {
        self.root.join("uploads")
    }

    fn repo_dir(&self, name: &str) -> PathBuf {
        self.root.join("repositories").join(name)
    }

    /// The size of a stored blob, `None` when absent.
    pub fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        let path = self.blob_path(digest);
        not_found_is_none(std::fs::metadata(&path))
            .map(|m| m.map(|m| m.len()))
            .at("read the size of", &path)
    }

    /// Read a whole (small) blob, e.g. a manifest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        let path = self.blob_path(digest);
        not_found_is_none(std::fs::read(&path)).at("read", &path)
    }

    /// Open a blob for streaming: the file and its size.
    pub fn open_blob(&self, digest: &Digest) -> Result<Option<(std::fs::File, u64)>> {
        let path = self.blob_path(digest);
        let Some(file) = not_found_is_none(std::fs::File::open(&path)).at("open", &path)? else {
            return Ok(None);
        };
        let size = file.metadata().at("read the size of", &path)?.len();
        Ok(Some((file, size)))
    }

    /// Make a fully written, verified upload file visible as blob `digest`.
    /// Its data is flushed to disk first, so not even a power cut can leave
    /// a visible blob whose bytes do not match its name. (The upload writer
    /// has already started writeback, so the flush mostly waits for the
    /// last window.) Content addressing makes the last of two concurrent
    /// renames of the same digest harmless. The blob is young from here on,
    /// even when the upload was not written to for a long time.
    pub fn commit_upload(&self, id: &str, digest: &Digest) -> Result<()> {
        self.commit_file(&self.upload_path(id), digest)
    }

    fn commit_file(&self, source: &Path, digest: &Digest) -> Result<()> {
        let file = std::fs::File::open(source).at("open", source)?;
        file.set_modified(SystemTime::now())
            .at("set the time of", source)?;
        file.sync_data().at("flush", source)?;
        drop(file);
        let target = self.blob_path(digest);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).at("create", dir)?;
        }
        std::fs::rename(source, &target).at("store", &target)
    }

    /// Store small content (a manifest) as a blob.
    pub fn put_bytes(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        if self.blob_size(digest)? == Some(bytes.len() as u64) {
            return Ok(());
        }
        let dir = self.uploads_dir();
        let mut tmp = tempfile::Builder::new()
            .prefix("manifest-")
            .tempfile_in(&dir)
            .at("create a file in", &dir)?;
        tmp.write_all(bytes).at("write", tmp.path())?;
        let (_, path) = tmp
            .keep()
            .map_err(|err| err.error)
            .at("keep a file in", &dir)?;
        let result = self.commit_file(&path, digest);
        if result.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        result
    }

    /// Make blob `digest` young; `false` when it is not (or no longer) stored.
    pub fn touch_blob(&self, digest: &Digest) -> Result<bool> {
        let path = self.blob_path(digest);
        touch(&path).at("touch", &path)
    }

    /// Delete blob `digest` if it is older than `cutoff`; the size removed.
    /// Only `prune` removes content.
    pub fn delete_blob_if_older(&self, digest: &Digest, cutoff: SystemTime) -> Result<Option<u64>> {
        let path = self.blob_path(digest);
        remove_if_older(&path, cutoff).at("remove", &path)
    }

    /// Every stored blob digest with its modification time.
    pub fn blobs(&self) -> Result<Vec<(Digest, SystemTime)>> {
        let mut found = Vec::new();
        for algorithm in ALGORITHMS {
            let dir = self.root.join("blobs").join(algorithm.as_str());
            for prefix in list_names(&dir)? {
                for (digest, path) in digests_in(&dir.join(&prefix), algorithm)? {
                    if let Some(meta) =
                        not_found_is_none(std::fs::metadata(&path)).at("read", &path)?
                    {
                        found.push((digest, meta.modified().at("read the time of", &path)?));
                    }
                }
            }
        }
        Ok(found)
    }

    /// The file upload `id` streams into.
    pub fn upload_path(&self, id: &str) -> PathBuf {
        self.uploads_dir().join(id)
    }

    /// Create the (empty) file of a new upload.
    pub fn create_upload(&self, id: &str) -> Result<()> {
        let path = self.upload_path(id);
        std::fs::File::create(&path).map(|_| ()).at("create", &path)
    }

    /// Remove an upload's file; `false` when it was already gone.
    pub fn remove_upload(&self, id: &str) -> Result<bool> {
        let path = self.upload_path(id);
        not_found_is_none(std::fs::remove_file(&path))
            .map(|removed| removed.is_some())
            .at("remove", &path)
    }

    /// The upload file `id`, `None` when there is none.
    pub fn upload(&self, id: &str) -> Result<Option<UploadFile>> {
        let path = self.upload_path(id);
        let Some(meta) = not_found_is_none(std::fs::metadata(&path)).at("read", &path)? else {
            return Ok(None);
        };
        Ok(Some(UploadFile {
            id: id.to_owned(),
            modified: meta.modified().at("read the time of", &path)?,
            len: meta.len(),
        }))
    }

    /// Every upload file (and any other file left in `uploads/`).
    pub fn uploads(&self) -> Result<Vec<UploadFile>> {
        let mut found = Vec::new();
        for id in list_names(&self.uploads_dir())? {
            found.extend(self.upload(&id)?);
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    /// Remove upload file `id` if it was last written before `cutoff`; its size.
    pub fn remove_upload_if_older(&self, id: &str, cutoff: SystemTime) -> Result<Option<u64>> {
        let path = self.upload_path(id);
        remove_if_older(&path, cutoff).at("remove", &path)
    }

    /// Put back blobs, links and uploads an interrupted prune left aside.
    pub fn put_back_set_aside(&self) -> Result<()> {
        let uploads = self.uploads_dir();
        put_back_all(&uploads).at("restore files in", &uploads)?;
        for algorithm in ALGORITHMS {
            let dir = self.root.join("blobs").join(algorithm.as_str());
            for prefix in list_names(&dir)? {
                let dir = dir.join(prefix);
                put_back_all(&dir).at("restore files in", &dir)?;
            }
            for name in self.linked_repositories()? {
                for kind in ["_manifests", "_layers"] {
                    let dir = self.repo_dir(&name).join(kind).join(algorithm.as_str());
                    put_back_all(&dir).at("restore files in", &dir)?;
                }
            }
        }
        Ok(())
    }

    /// Every repository that holds at least one manifest, sorted: the catalog.
    pub fn repositories(&self) -> Result<Vec<String>> {
        self.walk_repositories(&["_manifests"])
    }

    /// Every repository that links anything (manifests or blobs), sorted.
    pub fn linked_repositories(&self) -> Result<Vec<String>> {
        self.walk_repositories(&["_manifests", "_layers"])
    }

    fn walk_repositories(&self, markers: &[&str]) -> Result<Vec<String>> {
        let mut found = Vec::new();
        let base = self.root.join("repositories");
        let mut stack = vec![(base, String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            for entry in list_names(&dir)? {
                if entry.starts_with('_') {
                    continue;
                }
                let path = dir.join(&entry);
                if !path.is_dir() {
                    continue;
                }
                let name = if prefix.is_empty() {
                    entry.clone()
                } else {
                    format!("{prefix}/{entry}")
                };
                if markers.iter().any(|marker| path.join(marker).is_dir()) {
                    found.push(name.clone());
                }
                stack.push((path, name));
            }
        }
        found.sort();
        Ok(found)
    }
}

/// File names in `dir` (not starting with `.`); empty when `dir` is absent.
fn list_names(dir: &Path) -> Result<Vec<String>> {
    let Some(entries) = not_found_is_none(std::fs::read_dir(dir)).at("list", dir)? else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.at("list", dir)?;
        if let Ok(name) = entry.file_name().into_string() {
            if !name.starts_with('.') {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// The digests named by the files in `dir` (`<hex>` of `algorithm`) with
/// their paths; other names are skipped.
fn digests_in(dir: &Path, algorithm: Algorithm) -> Result<Vec<(Digest, PathBuf)>> {
    Ok(list_names(dir)?
        .into_iter()
        .filter_map(|hex| {
            let digest = Digest::parse(&format!("{}:{hex}", algorithm.as_str())).ok()?;
            Some((digest, dir.join(hex)))
        })
        .collect())
}

#[cfg(test)]
mod tests;
