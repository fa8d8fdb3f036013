//! Content-addressed storage under `--root`: the global blob store (layers,
//! configs and manifests alike), per-repository manifest links, tags and
//! referrer markers. It owns the on-disk layout and nothing else: no HTTP,
//! no auth, no upload bookkeeping (that is `uploads`).
//!
//! ```text
//! <root>/blobs/<alg>/<hh>/<hex>                       blob bytes, immutable
//! <root>/uploads/<id>                                 upload in progress
//! <root>/repositories/<name>/_manifests/<alg>/<hex>   manifest in repo; holds its media type
//! <root>/repositories/<name>/_tags/<tag>              holds the tagged digest
//! <root>/repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>   subject -> referrer
//! ```
//!
//! A blob becomes visible only by `rename` of a fully written and verified
//! file whose data was flushed to disk (`sync_data`), so readers never see a
//! partial blob, not even after a power cut. Uploads start writeback while
//! they stream, so that flush mostly finds the data already on disk. Small
//! metadata files are replaced atomically through `crate::fs`. Path
//! components of repository names cannot start with `_`, so the `_…`
//! directories never collide with a nested repository.
//!
//! Modification times carry meaning: a blob or manifest link is young when it
//! was written or [touched](Storage::touch_blob) recently, and `prune` only
//! removes old files, through [`remove_if_older`], which re-checks the time
//! after moving the file aside (`.prune-<name>`, hidden from listings).

use crate::digest::{Algorithm, Digest};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// Storage rooted at one directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    root: Arc<PathBuf>,
}

fn not_found_is_none<T>(result: std::io::Result<T>) -> std::io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

fn remove_if_exists(path: &Path) -> std::io::Result<bool> {
    not_found_is_none(std::fs::remove_file(path)).map(|removed| removed.is_some())
}

const SET_ASIDE: &str = ".prune-";

fn set_aside_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{SET_ASIDE}{name}"))
}

/// Set the modification time of `path` to now, then check that the file is
/// still there: `false` when it is absent or was removed meanwhile. Touching
/// first and checking second is what makes it safe against
/// [`remove_if_older`]: see `prune`.
fn touch(path: &Path) -> std::io::Result<bool> {
    let Some(file) = not_found_is_none(std::fs::File::open(path))? else {
        return Ok(false);
    };
    file.set_modified(SystemTime::now())?;
    Ok(not_found_is_none(std::fs::metadata(path))?.is_some())
}

/// Put a file moved aside back, unless a new one took its place meanwhile
/// (a hard link never replaces).
fn put_back(aside: &Path, path: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(aside, path) {
        Err(err) if err.kind() != ErrorKind::AlreadyExists => return Err(err),
        _ => {}
    }
    std::fs::remove_file(aside)
}

/// Remove `path` if it was last modified before `cutoff`; the size removed.
/// The file is renamed aside first and its time read there, so a
/// concurrent [`touch`] either lands before that read (the file is young and
/// goes back) or finds the file gone (and its request fails).
pub fn remove_if_older(path: &Path, cutoff: SystemTime) -> std::io::Result<Option<u64>> {
    let aside = set_aside_path(path);
    if not_found_is_none(std::fs::rename(path, &aside))?.is_none() {
        return Ok(None);
    }
    let old =
        std::fs::metadata(&aside).and_then(|meta| Ok((meta.modified()? < cutoff, meta.len())));
    match old {
        Ok((true, len)) => std::fs::remove_file(&aside).map(|()| Some(len)),
        other => put_back(&aside, path).and(other.map(|_| None)),
    }
}

/// Put back whatever an interrupted [`remove_if_older`] left aside in `dir`.
fn put_back_all(dir: &Path) -> std::io::Result<()> {
    let Some(entries) = not_found_is_none(std::fs::read_dir(dir))? else {
        return Ok(());
    };
    for entry in entries {
        let aside = entry?.path();
        let name = aside.file_name().unwrap_or_default().to_string_lossy();
        if let Some(original) = name.strip_prefix(SET_ASIDE) {
            put_back(&aside, &dir.join(original))?;
        }
    }
    Ok(())
}

impl Storage {
    /// Open (and create) the layout under `root`.
    pub fn open(root: &Path) -> std::io::Result<Storage> {
        for dir in ["blobs", "uploads", "repositories"] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        Ok(Storage {
            root: Arc::new(root.to_path_buf()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm.as_str())
            .join(&digest.hex[..2])
            .join(&digest.hex)
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.root.join("uploads")
    }

    fn repo_dir(&self, name: &str) -> PathBuf {
        self.root.join("repositories").join(name)
    }

    fn link_path(&self, name: &str, digest: &Digest) -> PathBuf {
        self.repo_dir(name)
            .join("_manifests")
            .join(digest.algorithm.as_str())
            .join(&digest.hex)
    }

    fn tag_path(&self, name: &str, tag: &str) -> PathBuf {
        self.repo_dir(name).join("_tags").join(tag)
    }

    fn referrers_dir(&self, name: &str, subject: &Digest) -> PathBuf {
        self.repo_dir(name)
            .join("_referrers")
            .join(subject.algorithm.as_str())
            .join(&subject.hex)
    }

    /// The size of a stored blob, `None` when absent.
    pub fn blob_size(&self, digest: &Digest) -> std::io::Result<Option<u64>> {
        not_found_is_none(std::fs::metadata(self.blob_path(digest))).map(|m| m.map(|m| m.len()))
    }

    /// Read a whole (small) blob, e.g. a manifest.
    pub fn read_blob(&self, digest: &Digest) -> std::io::Result<Option<Vec<u8>>> {
        not_found_is_none(std::fs::read(self.blob_path(digest)))
    }

    /// Make a fully written, verified file at `source` (in `uploads/`, same
    /// filesystem) visible as blob `digest`. Its data is flushed to disk
    /// first, so not even a power cut can leave a visible blob whose bytes
    /// do not match its name. (The upload writer has already started
    /// writeback, so the flush mostly waits for the last window.) Content
    /// addressing makes the last of two concurrent renames of the same
    /// digest harmless.
    /// The blob is young from here on, even when the upload was not
    /// written to for a long time.
    pub fn commit_file(&self, source: &Path, digest: &Digest) -> std::io::Result<()> {
        let file = std::fs::File::open(source)?;
        file.set_modified(SystemTime::now())?;
        file.sync_data()?;
        drop(file);
        let target = self.blob_path(digest);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(source, &target)
    }

    /// Store small content (a manifest) as a blob.
    pub fn put_bytes(&self, digest: &Digest, bytes: &[u8]) -> std::io::Result<()> {
        if self.blob_size(digest)? == Some(bytes.len() as u64) {
            return Ok(());
        }
        let mut tmp = tempfile::Builder::new()
            .prefix("manifest-")
            .tempfile_in(self.uploads_dir())?;
        tmp.write_all(bytes)?;
        let (_, path) = tmp.keep().map_err(|err| err.error)?;
        let result = self.commit_file(&path, digest);
        if result.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        result
    }

    pub fn delete_blob(&self, digest: &Digest) -> std::io::Result<bool> {
        remove_if_exists(&self.blob_path(digest))
    }

    /// Make blob `digest` young; `false` when it is not (or no longer) stored.
    pub fn touch_blob(&self, digest: &Digest) -> std::io::Result<bool> {
        touch(&self.blob_path(digest))
    }

    /// Delete blob `digest` if it is older than `cutoff`; the size removed.
    pub fn delete_blob_if_older(
        &self,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> std::io::Result<Option<u64>> {
        remove_if_older(&self.blob_path(digest), cutoff)
    }

    /// Record that repository `name` holds manifest `digest` of `media_type`.
    pub fn link_manifest(
        &self,
        name: &str,
        digest: &Digest,
        media_type: &str,
    ) -> anyhow::Result<()> {
        crate::fs::write_if_changed(
            &self.link_path(name, digest),
            media_type.as_bytes(),
            crate::fs::PUBLIC,
        )
        .map(|_| ())
        .map_err(anyhow::Error::from)
    }

    /// The media type of manifest `digest` in `name`, `None` when the
    /// repository does not hold it.
    pub fn manifest_media_type(
        &self,
        name: &str,
        digest: &Digest,
    ) -> std::io::Result<Option<String>> {
        not_found_is_none(std::fs::read_to_string(self.link_path(name, digest)))
    }

    pub fn unlink_manifest(&self, name: &str, digest: &Digest) -> std::io::Result<bool> {
        remove_if_exists(&self.link_path(name, digest))
    }

    /// Make the link of manifest `digest` in `name` young; `false` when the
    /// repository does not (or no longer) hold it.
    pub fn touch_link(&self, name: &str, digest: &Digest) -> std::io::Result<bool> {
        touch(&self.link_path(name, digest))
    }

    /// Unlink manifest `digest` from `name` if the link is older than `cutoff`.
    pub fn unlink_manifest_if_older(
        &self,
        name: &str,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> std::io::Result<bool> {
        remove_if_older(&self.link_path(name, digest), cutoff).map(|removed| removed.is_some())
    }

    /// Put back blobs, manifest links and uploads an interrupted prune left
    /// aside.
    pub fn put_back_set_aside(&self) -> std::io::Result<()> {
        put_back_all(&self.uploads_dir())?;
        for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = self.root.join("blobs").join(algorithm.as_str());
            for prefix in list_names(&dir)? {
                put_back_all(&dir.join(prefix))?;
            }
            for name in self.repositories()? {
                put_back_all(
                    &self
                        .repo_dir(&name)
                        .join("_manifests")
                        .join(algorithm.as_str()),
                )?;
            }
        }
        Ok(())
    }

    /// Every manifest linked in `name` with its media type.
    pub fn manifests(&self, name: &str) -> std::io::Result<Vec<(Digest, String)>> {
        let mut found = Vec::new();
        for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = self
                .repo_dir(name)
                .join("_manifests")
                .join(algorithm.as_str());
            for hex in list_names(&dir)? {
                let Ok(digest) = Digest::parse(&format!("{}:{hex}", algorithm.as_str())) else {
                    continue;
                };
                if let Some(media_type) = self.manifest_media_type(name, &digest)? {
                    found.push((digest, media_type));
                }
            }
        }
        Ok(found)
    }

    pub fn set_tag(&self, name: &str, tag: &str, digest: &Digest) -> anyhow::Result<()> {
        crate::fs::write_if_changed(
            &self.tag_path(name, tag),
            digest.to_string().as_bytes(),
            crate::fs::PUBLIC,
        )
        .map(|_| ())
        .map_err(anyhow::Error::from)
    }

    pub fn tag(&self, name: &str, tag: &str) -> std::io::Result<Option<Digest>> {
        let text = not_found_is_none(std::fs::read_to_string(self.tag_path(name, tag)))?;
        Ok(text.and_then(|text| Digest::parse(text.trim()).ok()))
    }

    pub fn delete_tag(&self, name: &str, tag: &str) -> std::io::Result<bool> {
        remove_if_exists(&self.tag_path(name, tag))
    }

    /// The tags of `name`, sorted; `None` when the repository is unknown.
    pub fn tags(&self, name: &str) -> std::io::Result<Option<Vec<String>>> {
        if !self.repo_dir(name).join("_manifests").is_dir() {
            return Ok(None);
        }
        let mut tags: Vec<String> = list_names(&self.repo_dir(name).join("_tags"))?
            .into_iter()
            .filter(|tag| crate::reference::validate_tag(tag).is_ok())
            .collect();
        tags.sort();
        Ok(Some(tags))
    }

    /// Tags of `name` pointing at `digest`.
    pub fn tags_of(&self, name: &str, digest: &Digest) -> std::io::Result<Vec<String>> {
        let mut found = Vec::new();
        for tag in self.tags(name)?.unwrap_or_default() {
            if self.tag(name, &tag)?.as_ref() == Some(digest) {
                found.push(tag);
            }
        }
        Ok(found)
    }

    pub fn add_referrer(
        &self,
        name: &str,
        subject: &Digest,
        referrer: &Digest,
    ) -> anyhow::Result<()> {
        let marker = self.referrers_dir(name, subject).join(format!(
            "{}-{}",
            referrer.algorithm.as_str(),
            referrer.hex
        ));
        crate::fs::write_if_changed(&marker, b"", crate::fs::PUBLIC)
            .map(|_| ())
            .map_err(anyhow::Error::from)
    }

    pub fn remove_referrer(
        &self,
        name: &str,
        subject: &Digest,
        referrer: &Digest,
    ) -> std::io::Result<()> {
        let marker = self.referrers_dir(name, subject).join(format!(
            "{}-{}",
            referrer.algorithm.as_str(),
            referrer.hex
        ));
        remove_if_exists(&marker).map(|_| ())
    }

    /// Digests of the manifests in `name` whose subject is `subject`.
    pub fn referrers(&self, name: &str, subject: &Digest) -> std::io::Result<Vec<Digest>> {
        let mut found: Vec<Digest> = list_names(&self.referrers_dir(name, subject))?
            .into_iter()
            .filter_map(|marker| Digest::parse(&marker.replacen('-', ":", 1)).ok())
            .collect();
        found.sort();
        Ok(found)
    }

    /// Every repository that holds at least one manifest, sorted.
    pub fn repositories(&self) -> std::io::Result<Vec<String>> {
        let mut found = Vec::new();
        let base = self.root.join("repositories");
        let mut stack = vec![(base.clone(), String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            for entry in list_names(&dir)? {
                if entry.starts_with('_') || entry.starts_with('.') {
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
                if path.join("_manifests").is_dir() {
                    found.push(name.clone());
                }
                stack.push((path, name));
            }
        }
        found.sort();
        Ok(found)
    }

    /// Every stored blob digest with its modification time.
    pub fn blobs(&self) -> std::io::Result<Vec<(Digest, std::time::SystemTime)>> {
        let mut found = Vec::new();
        for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = self.root.join("blobs").join(algorithm.as_str());
            for prefix in list_names(&dir)? {
                for hex in list_names(&dir.join(&prefix))? {
                    let path = dir.join(&prefix).join(&hex);
                    let Ok(digest) = Digest::parse(&format!("{}:{hex}", algorithm.as_str())) else {
                        continue;
                    };
                    if let Some(meta) = not_found_is_none(std::fs::metadata(&path))? {
                        found.push((digest, meta.modified()?));
                    }
                }
            }
        }
        Ok(found)
    }

    /// The modification time of a manifest link.
    pub fn link_modified(
        &self,
        name: &str,
        digest: &Digest,
    ) -> std::io::Result<Option<std::time::SystemTime>> {
        not_found_is_none(std::fs::metadata(self.link_path(name, digest)))?
            .map(|meta| meta.modified())
            .transpose()
    }
}

/// File names in `dir` (not starting with `.`); empty when `dir` is absent.
pub fn list_names(dir: &Path) -> std::io::Result<Vec<String>> {
    let Some(entries) = not_found_is_none(std::fs::read_dir(dir))? else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        if let Ok(name) = entry.file_name().into_string() {
            if !name.starts_with('.') {
                names.push(name);
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let bytes = b"{\"schemaVersion\":2}";
        let digest = Digest::sha256_of(bytes);
        assert_eq!(storage.blob_size(&digest).unwrap(), None);
        storage.put_bytes(&digest, bytes).unwrap();
        assert_eq!(storage.read_blob(&digest).unwrap().unwrap(), bytes);
        storage
            .link_manifest(
                "quay.io/org/app",
                &digest,
                "application/vnd.oci.image.manifest.v1+json",
            )
            .unwrap();
        storage.set_tag("quay.io/org/app", "v1", &digest).unwrap();
        storage.link_manifest("org", &digest, "x").unwrap();
        assert_eq!(
            storage.tags("quay.io/org/app").unwrap().unwrap(),
            vec!["v1"]
        );
        assert_eq!(storage.tags("nothing").unwrap(), None);
        assert_eq!(
            storage.repositories().unwrap(),
            vec!["org".to_owned(), "quay.io/org/app".to_owned()]
        );
        assert_eq!(
            storage.tags_of("quay.io/org/app", &digest).unwrap(),
            vec!["v1"]
        );
        storage.add_referrer("org", &digest, &digest).unwrap();
        assert_eq!(
            storage.referrers("org", &digest).unwrap(),
            vec![digest.clone()]
        );
        assert_eq!(storage.manifests("org").unwrap().len(), 1);
        assert_eq!(storage.blobs().unwrap().len(), 1);
    }

    #[test]
    fn removal_rechecks_the_time_and_touches_see_removals() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let digest = Digest::sha256_of(b"x");
        storage.put_bytes(&digest, b"x").unwrap();
        let path = storage.blob_path(&digest);
        let age = |when| {
            std::fs::File::open(&path)
                .unwrap()
                .set_modified(when)
                .unwrap()
        };
        let hour = std::time::Duration::from_secs(3600);
        let cutoff = SystemTime::now() - hour;
        age(cutoff - hour);
        // Touched after the sweep listed it as old: put back.
        assert!(storage.touch_blob(&digest).unwrap());
        assert_eq!(storage.delete_blob_if_older(&digest, cutoff).unwrap(), None);
        assert!(path.exists() && !set_aside_path(&path).exists());
        // A prune that died with the blob set aside: the next one puts it back.
        std::fs::rename(&path, set_aside_path(&path)).unwrap();
        assert!(
            !storage.touch_blob(&digest).unwrap(),
            "a touch sees it gone"
        );
        storage.put_back_set_aside().unwrap();
        assert!(path.exists() && !set_aside_path(&path).exists());
        age(cutoff - hour);
        assert_eq!(
            storage.delete_blob_if_older(&digest, cutoff).unwrap(),
            Some(1)
        );
        assert!(!path.exists() && !set_aside_path(&path).exists());
        assert!(!storage.touch_blob(&digest).unwrap());
    }
}
