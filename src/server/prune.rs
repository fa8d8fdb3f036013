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

/// Remove what is untagged, unreferenced and older than `older_than`, by
/// the store's clock.
pub async fn prune(
    storage: &Storage,
    older_than: Duration,
    dry_run: bool,
) -> storage::Result<Report> {
    let cutoff = storage
        .now()
        .await?
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    prune_before(storage, cutoff, dry_run).await
}

/// Remove what is untagged, unreferenced and was last written before
/// `cutoff` (a time of the store's clock).
pub async fn prune_before(
    storage: &Storage,
    cutoff: SystemTime,
    dry_run: bool,
) -> storage::Result<Report> {
    if !dry_run {
        storage.recover().await?;
    }
    let plan = mark(storage, cutoff).await?;
    sweep(storage, plan, dry_run).await
}

/// The manifests of `name` to keep: those its tags reach, young ones and
/// what they reach, and referrers of kept ones.
async fn kept_manifests(
    storage: &Storage,
    name: &str,
    linked: &[(Digest, String)],
    cutoff: SystemTime,
) -> storage::Result<BTreeSet<Digest>> {
    let linked_set: HashSet<&Digest> = linked.iter().map(|(d, _)| d).collect();
    let mut keep: BTreeSet<Digest> = BTreeSet::new();
    let mut queue: Vec<Digest> = Vec::new();
    for tag in storage.tags(name).await?.unwrap_or_default() {
        if let Some(digest) = storage.tag(name, &tag).await? {
            queue.push(digest);
        }
    }
    // Young manifests are kept whatever references them.
    for (digest, _) in linked {
        if !older(storage.manifest_link_modified(name, digest).await?, cutoff) {
            queue.push(digest.clone());
        }
    }
    loop {
        while let Some(digest) = queue.pop() {
            if !keep.insert(digest.clone()) {
                continue;
            }
            if let Some(bytes) = storage.read_blob(&digest).await? {
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
            if let Some(bytes) = storage.read_blob(digest).await? {
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
pub(super) async fn mark(storage: &Storage, cutoff: SystemTime) -> storage::Result<Plan> {
    let mut marked: HashSet<Digest> = HashSet::new();
    let mut unlink = Vec::new();
    let mut unlink_blobs = Vec::new();
    for name in storage.linked_repositories().await? {
        let linked: Vec<(Digest, String)> = storage.manifests(&name).await?;
        let keep = kept_manifests(storage, &name, &linked, cutoff).await?;
        // What the kept manifests of this repository use.
        let mut used: HashSet<Digest> = HashSet::new();
        for (digest, _) in linked {
            if keep.contains(&digest) {
                if let Some(bytes) = storage.read_blob(&digest).await? {
                    used.extend(manifests::references(&bytes));
                }
                marked.insert(digest);
            } else {
                unlink.push((name.clone(), digest));
            }
        }
        for (digest, modified) in storage.blob_links(&name).await? {
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
pub(super) async fn sweep(storage: &Storage, plan: Plan, dry_run: bool) -> storage::Result<Report> {
    let mut report = Report::default();
    for (name, digest) in plan.unlink {
        if !dry_run {
            let bytes = storage.read_blob(&digest).await?;
            if !storage
                .unlink_manifest_if_older(&name, &digest, plan.cutoff)
                .await?
            {
                continue;
            }
            if let Some(subject) = bytes.as_deref().and_then(manifests::subject_of) {
                storage.remove_referrer(&name, &subject, &digest).await?;
                // Pushed again meanwhile: its marker stays.
                if storage.manifest_media_type(&name, &digest).await?.is_some() {
                    storage.add_referrer(&name, &subject, &digest).await?;
                }
            }
        }
        report.manifests.push((name, digest));
    }
    for (name, digest) in plan.unlink_blobs {
        if dry_run
            || storage
                .unlink_blob_if_older(&name, &digest, plan.cutoff)
                .await?
        {
            report.links.push((name, digest));
        }
    }
    for (digest, modified) in storage.blobs().await? {
        if plan.marked.contains(&digest) || modified >= plan.cutoff {
            continue;
        }
        let removed = if dry_run {
            storage.blob_size(&digest).await?
        } else {
            storage.delete_blob_if_older(&digest, plan.cutoff).await?
        };
        if let Some(size) = removed {
            report.bytes += size;
            report.blobs.push(digest);
        }
    }
    for upload in storage.uploads().await? {
        if upload.modified >= plan.cutoff {
            continue;
        }
        let removed = if dry_run {
            Some(upload.len)
        } else {
            storage
                .remove_upload_if_older(&upload.id, plan.cutoff)
                .await?
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
pub async fn confirm(storage: &Storage, name: &str, digest: &Digest) -> Result<()> {
    let mut queue = vec![digest.clone()];
    let mut seen = HashSet::new();
    while let Some(manifest) = queue.pop() {
        if !seen.insert(manifest.clone()) {
            continue;
        }
        let unknown = |digest: &Digest| Error::ManifestBlobUnknown(digest.to_string());
        if !storage.touch_manifest_link(name, &manifest).await?
            || !storage.touch_blob(&manifest).await?
        {
            return Err(unknown(&manifest));
        }
        let media_type = storage.manifest_media_type(name, &manifest).await?;
        let bytes = storage
            .read_blob(&manifest)
            .await?
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
            let held = storage.touch_blob_link(name, &blob).await?
                || storage.touch_manifest_link(name, &blob).await?;
            let stored = storage.touch_blob(&blob).await?;
            if required && !(held && stored) {
                return Err(unknown(&blob));
            }
        }
        for member in members {
            if required || storage.manifest_media_type(name, &member).await?.is_some() {
                queue.push(member);
            }
        }
    }
    Ok(())
}

/// Mount blob `digest` of repository `from` into `name`: link it there and
/// make the blob young, then check it is still stored. `false` when `from`
/// does not hold it (or it was removed meanwhile): the client uploads it.
pub async fn mount(storage: &Storage, from: &str, name: &str, digest: &Digest) -> Result<bool> {
    if !storage.holds(from, digest).await? || storage.blob_size(digest).await?.is_none() {
        return Ok(false);
    }
    storage.link_blob(name, digest).await?;
    if storage.touch_blob(digest).await? {
        return Ok(true);
    }
    storage.unlink_blob(name, digest).await?;
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::manifests::{OCI_INDEX, OCI_MANIFEST};
    use serde_json::json;

    async fn blob(storage: &Storage, bytes: &[u8]) -> Digest {
        let digest = Digest::sha256_of(bytes);
        storage
            .put_bytes(&digest, bytes.to_vec().into())
            .await
            .unwrap();
        digest
    }

    async fn linked(storage: &Storage, name: &str, bytes: &[u8]) -> Digest {
        let digest = blob(storage, bytes).await;
        storage.link_blob(name, &digest).await.unwrap();
        digest
    }

    async fn image(storage: &Storage, name: &str, layer: &[u8]) -> (Digest, Digest, usize) {
        let config = linked(storage, name, b"{}").await;
        let layer = linked(storage, name, layer).await;
        let manifest = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "c", "digest": config.to_string(), "size": 2},
            "layers": [{"mediaType": "l", "digest": layer.to_string(), "size": 1}],
        })
        .to_string();
        let digest = blob(storage, manifest.as_bytes()).await;
        storage
            .link_manifest(name, &digest, OCI_MANIFEST)
            .await
            .unwrap();
        (digest, layer, manifest.len())
    }

    async fn stored(storage: &Storage, digest: &Digest) -> bool {
        storage.blob_size(digest).await.unwrap().is_some()
    }

    #[tokio::test]
    async fn keeps_tagged_indexes_and_sweeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let storage: Storage =
            std::sync::Arc::new(crate::server::storage::fs::FsStore::open(dir.path()).unwrap());
        let (amd, amd_layer, amd_size) = image(&storage, "quay.io/org/app", b"a").await;
        let (arm, arm_layer, arm_size) = image(&storage, "quay.io/org/app", b"b").await;
        let index = json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": amd.to_string(), "size": amd_size},
                {"mediaType": OCI_MANIFEST, "digest": arm.to_string(), "size": arm_size},
            ],
        })
        .to_string();
        let index = blob(&storage, index.as_bytes()).await;
        storage
            .link_manifest("quay.io/org/app", &index, OCI_INDEX)
            .await
            .unwrap();
        storage
            .set_tag("quay.io/org/app", "latest", &index)
            .await
            .unwrap();
        let (orphan, orphan_layer, _) = image(&storage, "org/old", b"c").await;
        let stray = blob(&storage, b"stray").await;

        // Everything is young: nothing goes.
        let report = prune(&storage, Duration::from_secs(3600), false)
            .await
            .unwrap();
        assert_eq!(report, Report::default());

        tokio::time::sleep(Duration::from_millis(20)).await;
        let dry = prune(&storage, Duration::from_millis(1), true)
            .await
            .unwrap();
        assert_eq!(dry.manifests, vec![("org/old".to_owned(), orphan.clone())]);
        assert!(stored(&storage, &stray).await);

        let report = prune(&storage, Duration::from_millis(1), false)
            .await
            .unwrap();
        assert_eq!(report, dry);
        let mut gone = vec![orphan.clone(), orphan_layer, stray];
        gone.sort();
        assert_eq!(report.blobs, gone);
        for kept in [&index, &amd, &arm, &amd_layer, &arm_layer] {
            assert!(stored(&storage, kept).await, "{kept}");
        }
        assert!(
            storage
                .manifest_media_type("org/old", &orphan)
                .await
                .unwrap()
                .is_none()
        );
    }
}
