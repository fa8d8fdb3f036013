//! Upgrading a root written before blobs belonged to repositories (no
//! `layout` file): every blob was readable through every repository then.
//! Each repository is given a link to every blob its manifests reference
//! (config and layers; index members are manifests it already holds), so
//! every image keeps being pullable through its own repository and through
//! no other. A blob no manifest references (a push that had not reached its
//! manifest yet) gets no link: a client that pushes it again uploads it
//! again, and `prune` removes the old copy. A derived link gets the blob's
//! modification time, so it ages with the content it stands for.
//!
//! The upgrade is idempotent: killed half-way, it simply runs again on the
//! next open, because the `layout` file is written last.

use super::Root;
use crate::server::manifests;
use crate::server::storage::{At, Result};

pub(super) fn derive_blob_links(storage: &Root) -> Result<()> {
    let mut derived = 0usize;
    for name in storage.repositories()? {
        for (manifest, _) in storage.manifests(&name)? {
            let Some(bytes) = storage.read_blob(&manifest)? else {
                continue;
            };
            let (blobs, _members) = manifests::stored_references(&bytes);
            for blob in blobs {
                let blob_path = storage.blob_path(&blob);
                let Some(meta) = super::aside::not_found_is_none(std::fs::metadata(&blob_path))
                    .at("read", &blob_path)?
                else {
                    continue;
                };
                if storage.blob_linked(&name, &blob)? {
                    continue;
                }
                storage.link_blob(&name, &blob)?;
                let link = storage.layer_path(&name, &blob);
                let when = meta.modified().at("read the time of", &blob_path)?;
                std::fs::File::open(&link)
                    .and_then(|file| file.set_modified(when))
                    .at("set the time of", &link)?;
                derived += 1;
            }
        }
    }
    if derived > 0 {
        tracing::info!(
            "storage `{}`: gave repositories {derived} links to the blobs their manifests use",
            storage.root().display()
        );
    }
    Ok(())
}
