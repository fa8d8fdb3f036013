//! buildah behind the [`Engine`] trait, for nodes with buildah and no
//! podman: `buildah build` (`bud`; `--platform … --manifest` for a
//! multi-platform list), `buildah tag`, `buildah push` or `buildah
//! manifest push --all`, and `buildah inspect --type image`. Shared with
//! podman: [`super::storage`].

use super::storage::{ImageFields, StorageCli, StorageTool};
use super::{Answer, Error, ImageInfo};
use crate::host::services;
use serde::Deserialize;

/// buildah, with the global flags every call gets.
#[derive(Debug, Clone)]
pub struct Buildah {
    pub storage: StorageCli,
}

impl Buildah {
    /// buildah with `global` flags (`--root DIR --storage-driver vfs`).
    pub fn new(global: impl IntoIterator<Item = impl Into<String>>) -> Buildah {
        Buildah {
            storage: StorageCli::new("buildah", global),
        }
    }

    /// Flags for every build, e.g. `--isolation chroot` where no runtime
    /// may create namespaces.
    pub fn build_flags(mut self, flags: impl IntoIterator<Item = impl Into<String>>) -> Buildah {
        self.storage
            .build_flags
            .extend(flags.into_iter().map(Into::into));
        self
    }
}

/// The fields of `buildah inspect --type image` read here.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inspected {
    #[serde(rename = "FromImageID")]
    from_image_id: String,
    #[serde(rename = "OCIv1", default)]
    oci: Option<ImageFields>,
}

impl StorageTool for Buildah {
    fn storage(&self) -> &StorageCli {
        &self.storage
    }

    fn inspect_image<'a>(&'a self, image: &'a str) -> Answer<'a, Option<ImageInfo>> {
        Box::pin(async move {
            let args = ["inspect", "--type", "image", image].map(String::from);
            let text = match self.storage.cli.output(&args).await {
                Ok(text) => text,
                // buildah has no exit status of its own for "no such image".
                Err(Error::Command(services::Error::Failed { stderr, .. }))
                    if stderr.contains("image not known") =>
                {
                    return Ok(None);
                }
                Err(err) => return Err(err),
            };
            let found: Inspected = serde_json::from_str(&text).map_err(|err| Error::Output {
                command: "buildah inspect".into(),
                message: err.to_string(),
            })?;
            let fields = found.oci.unwrap_or_default();
            Ok(Some(fields.info(found.from_image_id)))
        })
    }
}
