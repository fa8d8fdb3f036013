//! What one repository holds: blob links (`_layers`), manifest links
//! (`_manifests`, holding the media type), tags and referrer markers. A
//! link is an empty file (or, for a manifest, its media type) named by the
//! digest; its modification time is when the repository last relied on it.

use super::aside::{not_found_is_none, remove_if_older, touch};
use super::{ALGORITHMS, Root, digests_in, list_names};
use crate::digest::Digest;
use crate::server::storage::{At, Result};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

fn remove_if_exists(path: &Path) -> Result<bool> {
    not_found_is_none(std::fs::remove_file(path))
        .map(|removed| removed.is_some())
        .at("remove", path)
}

fn modified(path: &Path) -> Result<Option<SystemTime>> {
    not_found_is_none(std::fs::metadata(path))
        .at("read", path)?
        .map(|meta| meta.modified().at("read the time of", path))
        .transpose()
}

/// Write a small metadata file atomically, leaving an equal one alone.
fn write_small(path: &Path, contents: &[u8]) -> Result<()> {
    crate::fs::write_if_changed(path, contents, crate::fs::PUBLIC)
        .map(|_| ())
        .map_err(std::io::Error::other)
        .at("write", path)
}

impl Root {
    pub(super) fn layer_path(&self, name: &str, digest: &Digest) -> PathBuf {
        self.repo_dir(name)
            .join("_layers")
            .join(digest.algorithm.as_str())
            .join(&digest.hex)
    }

    fn manifest_path(&self, name: &str, digest: &Digest) -> PathBuf {
        self.repo_dir(name)
            .join("_manifests")
            .join(digest.algorithm.as_str())
            .join(&digest.hex)
    }

    fn tag_path(&self, name: &str, tag: &str) -> PathBuf {
        self.repo_dir(name).join("_tags").join(tag)
    }

    fn referrer_path(&self, name: &str, subject: &Digest, referrer: &Digest) -> PathBuf {
        self.referrers_dir(name, subject).join(format!(
            "{}-{}",
            referrer.algorithm.as_str(),
            referrer.hex
        ))
    }

    fn referrers_dir(&self, name: &str, subject: &Digest) -> PathBuf {
        self.repo_dir(name)
            .join("_referrers")
            .join(subject.algorithm.as_str())
            .join(&subject.hex)
    }

    /// Record that repository `name` holds blob `digest`, or make an
    /// existing link young. The caller makes sure the blob is stored.
    pub fn link_blob(&self, name: &str, digest: &Digest) -> Result<()> {
        let path = self.layer_path(name, digest);
        if touch(&path).at("touch", &path)? {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).at("create", dir)?;
        }
        std::fs::File::create(&path).map(|_| ()).at("create", &path)
    }

    /// Whether repository `name` links blob `digest` (an upload or a mount).
    pub fn blob_linked(&self, name: &str, digest: &Digest) -> Result<bool> {
        Ok(modified(&self.layer_path(name, digest))?.is_some())
    }

    /// Whether repository `name` holds `digest` at all: as a blob it linked
    /// or as one of its manifests. This is what it may read and mount from.
    pub fn holds(&self, name: &str, digest: &Digest) -> Result<bool> {
        Ok(self.blob_linked(name, digest)? || self.manifest_media_type(name, digest)?.is_some())
    }

    /// Remove repository `name`'s link to blob `digest`; the content stays
    /// for other repositories (and for `prune`).
    pub fn unlink_blob(&self, name: &str, digest: &Digest) -> Result<bool> {
        remove_if_exists(&self.layer_path(name, digest))
    }

    /// Make the blob link of `digest` in `name` young; `false` when the
    /// repository does not (or no longer) link it.
    pub fn touch_blob_link(&self, name: &str, digest: &Digest) -> Result<bool> {
        let path = self.layer_path(name, digest);
        touch(&path).at("touch", &path)
    }

    /// Unlink blob `digest` from `name` if the link is older than `cutoff`.
    pub fn unlink_blob_if_older(
        &self,
        name: &str,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<bool> {
        let path = self.layer_path(name, digest);
        remove_if_older(&path, cutoff)
            .map(|removed| removed.is_some())
            .at("remove", &path)
    }

    /// Every blob `name` links, with the link's modification time.
    pub fn blob_links(&self, name: &str) -> Result<Vec<(Digest, SystemTime)>> {
        let mut found = Vec::new();
        for algorithm in ALGORITHMS {
            let dir = self.repo_dir(name).join("_layers").join(algorithm.as_str());
            for (digest, path) in digests_in(&dir, algorithm)? {
                if let Some(time) = modified(&path)? {
                    found.push((digest, time));
                }
            }
        }
        Ok(found)
    }

    /// Record that repository `name` holds manifest `digest` of `media_type`.
    pub fn link_manifest(&self, name: &str, digest: &Digest, media_type: &str) -> Result<()> {
        write_small(&self.manifest_path(name, digest), media_type.as_bytes())
    }

    /// The media type of manifest `digest` in `name`, `None` when the
    /// repository does not hold it.
    pub fn manifest_media_type(&self, name: &str, digest: &Digest) -> Result<Option<String>> {
        let path = self.manifest_path(name, digest);
        not_found_is_none(std::fs::read_to_string(&path)).at("read", &path)
    }

    pub fn unlink_manifest(&self, name: &str, digest: &Digest) -> Result<bool> {
        remove_if_exists(&self.manifest_path(name, digest))
    }

    /// Make the link of manifest `digest` in `name` young; `false` when the
    /// repository does not (or no longer) hold it.
    pub fn touch_manifest_link(&self, name: &str, digest: &Digest) -> Result<bool> {
        let path = self.manifest_path(name, digest);
        touch(&path).at("touch", &path)
    }

    /// Unlink manifest `digest` from `name` if the link is older than `cutoff`.
    pub fn unlink_manifest_if_older(
        &self,
        name: &str,
        digest: &Digest,
        cutoff: SystemTime,
    ) -> Result<bool> {
        let path = self.manifest_path(name, digest);
        remove_if_older(&path, cutoff)
            .map(|removed| removed.is_some())
            .at("remove", &path)
    }

    /// Every manifest linked in `name` with its media type.
    pub fn manifests(&self, name: &str) -> Result<Vec<(Digest, String)>> {
        let mut found = Vec::new();
        for algorithm in ALGORITHMS {
            let dir = self
                .repo_dir(name)
                .join("_manifests")
                .join(algorithm.as_str());
            for (digest, _) in digests_in(&dir, algorithm)? {
                if let Some(media_type) = self.manifest_media_type(name, &digest)? {
                    found.push((digest, media_type));
                }
            }
        }
        Ok(found)
    }

    /// The modification time of a manifest link.
    pub fn manifest_link_modified(
        &self,
        name: &str,
        digest: &Digest,
    ) -> Result<Option<SystemTime>> {
        modified(&self.manifest_path(name, digest))
    }

    pub fn set_tag(&self, name: &str, tag: &str, digest: &Digest) -> Result<()> {
        write_small(&self.tag_path(name, tag), digest.to_string().as_bytes())
    }

    pub fn tag(&self, name: &str, tag: &str) -> Result<Option<Digest>> {
        let path = self.tag_path(name, tag);
        let text = not_found_is_none(std::fs::read_to_string(&path)).at("read", &path)?;
        Ok(text.and_then(|text| Digest::parse(text.trim()).ok()))
    }

    pub fn delete_tag(&self, name: &str, tag: &str) -> Result<bool> {
        remove_if_exists(&self.tag_path(name, tag))
    }

    /// The tags of `name`, sorted; `None` when the repository is unknown.
    pub fn tags(&self, name: &str) -> Result<Option<Vec<String>>> {
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
    pub fn tags_of(&self, name: &str, digest: &Digest) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for tag in self.tags(name)?.unwrap_or_default() {
            if self.tag(name, &tag)?.as_ref() == Some(digest) {
                found.push(tag);
            }
        }
        Ok(found)
    }

    pub fn add_referrer(&self, name: &str, subject: &Digest, referrer: &Digest) -> Result<()> {
        write_small(&self.referrer_path(name, subject, referrer), b"")
    }

    pub fn remove_referrer(&self, name: &str, subject: &Digest, referrer: &Digest) -> Result<()> {
        remove_if_exists(&self.referrer_path(name, subject, referrer)).map(|_| ())
    }

    /// Digests of the manifests in `name` whose subject is `subject`.
    pub fn referrers(&self, name: &str, subject: &Digest) -> Result<Vec<Digest>> {
        let mut found: Vec<Digest> = list_names(&self.referrers_dir(name, subject))?
            .into_iter()
            .filter_map(|marker| Digest::parse(&marker.replacen('-', ":", 1)).ok())
            .collect();
        found.sort();
        Ok(found)
    }
}
