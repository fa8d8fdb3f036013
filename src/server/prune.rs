//! Garbage collection for a long-lived registry (`registry prune`): a
//! mark-and-sweep over the storage layout. Tags are the roots; marking
//! follows indexes and manifest lists to their members, image manifests to
//! their config and layers, and keeps referrers whose subject is kept. What
//! is unmarked and older than the cut-off goes: manifest links first, then
//! blob links no kept manifest of their repository uses, then content no
//! remaining link or kept manifest references, then abandoned uploads.
//! Young content and young links are always kept, so a push in progress is
//! safe. Talks to storage only; the server's half of the protocol below is
//! [`confirm`] and [`mount`].
//!
//! Content is removed only here: a blob DELETE removes one repository's
//! link, and the bytes stay until no repository links them and they are old.
//!
//! Prune runs while `registry serve` serves, without a lock between them.
//! Marking sees a snapshot, so a request after it can make an old, unmarked
//! blob, blob link or manifest referenced again: a manifest PUT reusing an
//! old layer, a mount of an old blob, a tag PUT onto an old untagged
//! manifest, an upload of a blob that is already stored. The protocol that
//! keeps such content:
//!
//! - The server, before it answers success, sets the modification time of
//!   everything the request vouches for (the links and the blobs) to now and
//!   then checks that each file is still there ([`confirm`] for manifest
//!   PUTs, which covers tags; [`mount`] for mounts; an upload's fresh blob
//!   and link are young anyway); a missing one fails the request
//!   (`MANIFEST_BLOB_UNKNOWN`, or a plain upload session for a mount).
//! - Prune removes a blob or a link only through
//!   `storage::aside::remove_if_older`: rename it aside, read its time
//!   there, delete it when old, else put it back.
//!
//! If the server's touch reaches the file before prune's rename, prune
//! reads a young time and puts the file back. If it comes after the rename,
//! the file is gone from its path and the server's check fails the request.
//! So whenever the server answers success, what it vouched for stays. This
//! holds as long as `--older-than` is longer than any one request takes, and
//! clocks do not jump back by more than that. Left: a request that fails
//! spuriously because it met a file while it was set aside (microseconds,
//! only for content that was old and unreferenced); a blob that a client
//! found by HEAD and then finds gone at its manifest PUT (the PUT fails, the
//! client pushes the blob again); and, if prune itself dies between the
//! rename and the put-back, a file stays aside until the next prune puts it
//! back first.

use super::error::{Error, Result};
use super::manifests;
use super::storage::{self, Storage};
use crate::digest::Digest;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime};

/// What a prune removed (or would remove, with `dry_run`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub manifests: Vec<(String, Digest)>,
    /// Blob links removed from repositories (the content may stay).
    pub links: Vec<(String, Digest)>,
    pub blobs: Vec<Digest>,
    pub uploads: Vec<String>,
    pub bytes: u64,
}

/// The mark phase's result: what the sweep may remove if still old then.
pub(super) struct Plan {
    cutoff: SystemTime,
    marked: HashSet<Digest>,
    unlink: Vec<(String, Digest)>,
    unlink_blobs: Vec<(String, Digest)>,
}

fn older(time: Option<SystemTime>, cutoff: SystemTime) -> bool {
    time.is_some_and(|time| time < cutoff)
}

/// Remove what is untagged, unreferenced and older than `older_than`.
pub fn prune(storage: &Storage, older_than: Duration, dry_run: bool) -> storage::Result<Report> {
    if !dry_run {
        storage.put_back_set_aside()?;
    }
    let plan = mark(storage, older_than)?;
    sweep(storage, plan, dry_run)
}

/// The manifests of `name` to keep: those its tags reach, young ones and
/// what they reach, and referrers of kept ones.
fn kept_manifests(
    storage: &Storage,
    name: &str,
    linked: &[(Digest, String)],
    cutoff: SystemTime,
) -> storage::Result<BTreeSet<Digest>> {
    let linked_set: HashSet<&Digest> = linked.iter().map(|(d, _)| d).collect();
    let mut keep: BTreeSet<Digest> = BTreeSet::new();
    let mut queue: Vec<Digest> = Vec::new();
    for tag in storage.tags(name)?.unwrap_or_default() {
        if let Some(digest) = storage.tag(name, &tag)? {
            queue.push(digest);
        }
    }
    // Young manifests are kept whatever references them.
    for (digest, _) in linked {
        if !older(storage.manifest_link_modified(name, digest)?, cutoff) {
            queue.push(digest.clone());
        }
    }
    loop {
        while let Some(digest) = queue.pop() {
            if !keep.insert(digest.clone()) {
                continue;
            }
            if let Some(bytes) = storage.read_blob(&digest)? {
                for member in manifests::references(&bytes) {
                    if linked_set.contains(&member) {
                        queue.push(member);
                    }
                }
            }
        }
        // Referrers of kept manifests are kept too.
        for (digest, _) in linked {
            if keep.contains(digest) {
                continue;
            }
            if let Some(bytes) = storage.read_blob(digest)? {
                if manifests::subject_of(&bytes).is_some_and(|s| keep.contains(&s)) {
                    queue.push(digest.clone());
                }
            }
        }
        if queue.is_empty() {
            return Ok(keep);
        }
    }
}

/// Mark from the tags and the young links of every repository.
pub(super) fn mark(storage: &Storage, older_than: Duration) -> storage::Result<Plan> {
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut marked: HashSet<Digest> = HashSet::new();
    let mut unlink = Vec::new();
    let mut unlink_blobs = Vec::new();
    for name in storage.linked_repositories()? {
        let linked: Vec<(Digest, String)> = storage.manifests(&name)?;
        let keep = kept_manifests(storage, &name, &linked, cutoff)?;
        // What the kept manifests of this repository use.
        let mut used: HashSet<Digest> = HashSet::new();
        for (digest, _) in linked {
            if keep.contains(&digest) {
                if let Some(bytes) = storage.read_blob(&digest)? {
                    used.extend(manifests::references(&bytes));
                }
                marked.insert(digest);
            } else {
                unlink.push((name.clone(), digest));
            }
        }
        for (digest, modified) in storage.blob_links(&name)? {
            if used.contains(&digest) || modified >= cutoff {
                marked.insert(digest);
            } else {
                unlink_blobs.push((name.clone(), digest));
            }
        }
        // Kept manifests keep what they reference even without a link.
        marked.extend(used);
    }
    Ok(Plan {
        cutoff,
        marked,
        unlink,
        unlink_blobs,
    })
}

/// Remove what `plan` did not mark and is still old at the moment of removal.
pub(super) fn sweep(storage: &Storage, plan: Plan, dry_run: bool) -> storage::Result<Report> {
    let mut report = Report::default();
    for (name, digest) in plan.unlink {
        if !dry_run {
            let bytes = storage.read_blob(&digest)?;
            if !storage.unlink_manifest_if_older(&name, &digest, plan.cutoff)? {
                continue;
            }
            if let Some(subject) = bytes.as_deref().and_then(manifests::subject_of) {
                storage.remove_referrer(&name, &subject, &digest)?;
                // Pushed again meanwhile: its marker stays.
                if storage.manifest_media_type(&name, &digest)?.is_some() {
                    storage.add_referrer(&name, &subject, &digest)?;
                }
            }
        }
        report.manifests.push((name, digest));
    }
    for (name, digest) in plan.unlink_blobs {
        if dry_run || storage.unlink_blob_if_older(&name, &digest, plan.cutoff)? {
            report.links.push((name, digest));
        }
    }
    for (digest, modified) in storage.blobs()? {
        if plan.marked.contains(&digest) || modified >= plan.cutoff {
            continue;
        }
        let removed = if dry_run {
            storage.blob_size(&digest)?
        } else {
            storage.delete_blob_if_older(&digest, plan.cutoff)?
        };
        if let Some(size) = removed {
            report.bytes += size;
            report.blobs.push(digest);
        }
    }
    for upload in storage.uploads()? {
        if upload.modified >= plan.cutoff {
            continue;
        }
        let removed = if dry_run {
            Some(upload.len)
        } else {
            storage.remove_upload_if_older(&upload.id, plan.cutoff)?
        };
        if let Some(size) = removed {
            report.bytes += size;
            report.uploads.push(upload.id);
        }
    }
    report.blobs.sort();
    report.links.sort();
    Ok(report)
}

/// Make manifest `digest` of `name`, its link, and everything it needs from
/// this registry (config, layers, index members, recursively, with their
/// links in `name`) young, and check that all of it is still stored. The
/// server calls this after storing a manifest and before answering; see the
/// module docs.
pub fn confirm(storage: &Storage, name: &str, digest: &Digest) -> Result<()> {
    let mut queue = vec![digest.clone()];
    let mut seen = HashSet::new();
    while let Some(manifest) = queue.pop() {
        if !seen.insert(manifest.clone()) {
            continue;
        }
        let unknown = |digest: &Digest| Error::ManifestBlobUnknown(digest.to_string());
        if !storage.touch_manifest_link(name, &manifest)? || !storage.touch_blob(&manifest)? {
            return Err(unknown(&manifest));
        }
        let media_type = storage.manifest_media_type(name, &manifest)?;
        let bytes = storage
            .read_blob(&manifest)?
            .ok_or_else(|| unknown(&manifest))?;
        // Only what `manifests::validate` required must be there.
        let required = media_type.is_some_and(|media_type| {
            [
                manifests::DOCKER_MANIFEST,
                manifests::DOCKER_LIST,
                manifests::OCI_MANIFEST,
                manifests::OCI_INDEX,
            ]
            .contains(&media_type.as_str())
        });
        let (blobs, members) = manifests::stored_references(&bytes);
        for blob in blobs {
            let held = storage.touch_blob_link(name, &blob)?
                || storage.touch_manifest_link(name, &blob)?;
            let stored = storage.touch_blob(&blob)?;
            if required && !(held && stored) {
                return Err(unknown(&blob));
            }
        }
        for member in members {
            if required || storage.manifest_media_type(name, &member)?.is_some() {
                queue.push(member);
            }
        }
    }
    Ok(())
}

/// Mount blob `digest` of repository `from` into `name`: link it there and
/// make the blob young, then check it is still stored. `false` when `from`
/// does not hold it (or it was removed meanwhile): the client uploads it.
pub fn mount(storage: &Storage, from: &str, name: &str, digest: &Digest) -> Result<bool> {
    if !storage.holds(from, digest)? || storage.blob_size(digest)?.is_none() {
        return Ok(false);
    }
    storage.link_blob(name, digest)?;
    if storage.touch_blob(digest)? {
        return Ok(true);
    }
    storage.unlink_blob(name, digest)?;
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::manifests::{OCI_INDEX, OCI_MANIFEST};
    use serde_json::json;

    fn blob(storage: &Storage, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256_of(bytes);
        storage.put_bytes(&digest, bytes).unwrap();
        digest
    }

    fn linked(storage: &Storage, name: &str, bytes: &[u8]) -> Digest {
        let digest = blob(storage, bytes);
        storage.link_blob(name, &digest).unwrap();
        digest
    }

    fn image(storage: &Storage, name: &str, layer: &[u8]) -> (Digest, Digest, usize) {
        let config = linked(storage, name, b"{}");
        let layer = linked(storage, name, layer);
        let manifest = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "c", "digest": config.to_string(), "size": 2},
            "layers": [{"mediaType": "l", "digest": layer.to_string(), "size": 1}],
        })
        .to_string();
        let digest = blob(storage, manifest.as_bytes());
        storage.link_manifest(name, &digest, OCI_MANIFEST).unwrap();
        (digest, layer, manifest.len())
    }

    #[test]
    fn keeps_tagged_indexes_and_sweeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let (amd, amd_layer, amd_size) = image(&storage, "quay.io/org/app", b"a");
        let (arm, arm_layer, arm_size) = image(&storage, "quay.io/org/app", b"b");
        let index = json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": amd.to_string(), "size": amd_size},
                {"mediaType": OCI_MANIFEST, "digest": arm.to_string(), "size": arm_size},
            ],
        })
        .to_string();
        let index = blob(&storage, index.as_bytes());
        storage
            .link_manifest("quay.io/org/app", &index, OCI_INDEX)
            .unwrap();
        storage
            .set_tag("quay.io/org/app", "latest", &index)
            .unwrap();
        let (orphan, orphan_layer, _) = image(&storage, "org/old", b"c");
        let stray = blob(&storage, b"stray");

        // Everything is young: nothing goes.
        let report = prune(&storage, Duration::from_secs(3600), false).unwrap();
        assert_eq!(report, Report::default());

        std::thread::sleep(Duration::from_millis(20));
        let dry = prune(&storage, Duration::from_millis(1), true).unwrap();
        assert_eq!(dry.manifests, vec![("org/old".to_owned(), orphan.clone())]);
        assert!(storage.blob_size(&stray).unwrap().is_some());

        let report = prune(&storage, Duration::from_millis(1), false).unwrap();
        assert_eq!(report, dry);
        let mut gone = vec![orphan.clone(), orphan_layer, stray];
        gone.sort();
        assert_eq!(report.blobs, gone);
        for kept in [&index, &amd, &arm, &amd_layer, &arm_layer] {
            assert!(storage.blob_size(kept).unwrap().is_some(), "{kept}");
        }
        assert!(
            storage
                .manifest_media_type("org/old", &orphan)
                .unwrap()
                .is_none()
        );
    }
}
