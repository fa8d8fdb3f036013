//! podman behind the [`Engine`] trait: `podman build` (with `--platform …
//! --manifest` for a multi-platform list), `podman tag`, `podman push` or
//! `podman manifest push --all`, `podman image exists` and `podman image
//! inspect`. Builds and pushes work where `podman run` does not (no
//! container is started). Shared with buildah: [`super::storage`].

use super::storage::{ImageFields, StorageCli, StorageTool};
use super::{Answer, Error, ImageInfo};
use serde::Deserialize;

/// podman, with the global flags every call gets.
#[derive(Debug, Clone)]
pub struct Podman {
    pub storage: StorageCli,
}

impl Podman {
    /// podman with `global` flags (`--root DIR --storage-driver vfs` for a
    /// private storage). `--cgroup-manager cgroupfs` is always added, as
    /// the roles do: build nodes often have no systemd user session.
    pub fn new(global: impl IntoIterator<Item = impl Into<String>>) -> Podman {
        let mut global: Vec<String> = global.into_iter().map(Into::into).collect();
        global.extend(["--cgroup-manager".to_owned(), "cgroupfs".to_owned()]);
        Podman {
            storage: StorageCli::new("podman", global),
        }
    }
}

/// The fields of `podman image inspect` read here.
#[derive(Deserialize)]
struct Inspected {
    #[serde(rename = "Id")]
    id: String,
    #[serde(flatten)]
    fields: ImageFields,
}

impl StorageTool for Podman {
    fn storage(&self) -> &StorageCli {
        &self.storage
    }

    fn inspect_image<'a>(&'a self, image: &'a str) -> Answer<'a, Option<ImageInfo>> {
        Box::pin(async move {
            if !self.image_exists(image).await? {
                return Ok(None);
            }
            let args = ["image", "inspect", image].map(String::from);
            let text = self.storage.cli.output(&args).await?;
            let parsed: Vec<Inspected> =
                serde_json::from_str(&text).map_err(|err| Error::Output {
                    command: "podman image inspect".into(),
                    message: err.to_string(),
                })?;
            Ok(parsed
                .into_iter()
                .next()
                .map(|found| found.fields.info(found.id)))
        })
    }

    fn image_exists<'a>(&'a self, image: &'a str) -> Answer<'a, bool> {
        Box::pin(async move {
            let args = ["image", "exists", image].map(String::from);
            self.storage.cli.check(&args, &[1]).await
        })
    }
}
