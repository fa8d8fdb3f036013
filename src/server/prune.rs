//! Garbage collection for a long-lived registry (`registry prune`): a
//! mark-and-sweep over the storage layout. Tags are the roots; marking
//! follows indexes and manifest lists to their members, image manifests to
//! their config and layers, and keeps referrers whose subject is kept. What
//! is unmarked and older than the cut-off goes: manifest links first, then
//! blobs no repository references, then abandoned uploads. Young content is
//! always kept, so a push in progress is safe. Talks to storage only.

use super::manifests;
use super::storage::{Storage, list_names};
use crate::digest::Digest;
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime};

/// What a prune removed (or would remove, with `dry_run`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub manifests: Vec<(String, Digest)>,
    pub blobs: Vec<Digest>,
    pub uploads: Vec<String>,
    pub bytes: u64,
}

fn older(time: Option<SystemTime>, cutoff: SystemTime) -> bool {
    time.is_some_and(|time| time < cutoff)
}

/// Remove what is untagged, unreferenced and older than `older_than`.
pub fn prune(storage: &Storage, older_than: Duration, dry_run: bool) -> std::io::Result<Report> {
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut report = Report::default();
    let mut marked: HashSet<Digest> = HashSet::new();
    for name in storage.repositories()? {
        let linked: Vec<(Digest, String)> = storage.manifests(&name)?;
        let linked_set: HashSet<&Digest> = linked.iter().map(|(d, _)| d).collect();
        let mut keep: BTreeSet<Digest> = BTreeSet::new();
        let mut queue: Vec<Digest> = Vec::new();
        for tag in storage.tags(&name)?.unwrap_or_default() {
            if let Some(digest) = storage.tag(&name, &tag)? {
                queue.push(digest);
            }
        }
        // Young manifests are kept whatever references them.
        for (digest, _) in &linked {
            if !older(storage.link_modified(&name, digest)?, cutoff) {
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
            for (digest, _) in &linked {
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
                break;
            }
        }
        for (digest, _) in &linked {
            if keep.contains(digest) {
                marked.insert(digest.clone());
                if let Some(bytes) = storage.read_blob(digest)? {
                    marked.extend(manifests::references(&bytes));
                }
                continue;
            }
            report.manifests.push((name.clone(), digest.clone()));
            if !dry_run {
                if let Some(bytes) = storage.read_blob(digest)? {
                    if let Some(subject) = manifests::subject_of(&bytes) {
                        storage.remove_referrer(&name, &subject, digest)?;
                    }
                }
                storage.unlink_manifest(&name, digest)?;
            }
        }
    }
    for (digest, modified) in storage.blobs()? {
        if marked.contains(&digest) || modified >= cutoff {
            continue;
        }
        report.bytes += storage.blob_size(&digest)?.unwrap_or(0);
        if !dry_run {
            storage.delete_blob(&digest)?;
        }
        report.blobs.push(digest);
    }
    let uploads = storage.uploads_dir();
    for id in list_names(&uploads)? {
        let path = uploads.join(&id);
        let meta = std::fs::metadata(&path)?;
        if meta.modified()? < cutoff {
            report.bytes += meta.len();
            if !dry_run {
                std::fs::remove_file(&path)?;
            }
            report.uploads.push(id);
        }
    }
    report.blobs.sort();
    report.uploads.sort();
    Ok(report)
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

    fn image(storage: &Storage, name: &str, layer: &[u8]) -> (Digest, Digest, usize) {
        let config = blob(storage, b"{}");
        let layer = blob(storage, layer);
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
