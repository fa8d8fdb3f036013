//! A plan of host file changes: every new file content is computed (and
//! every existing file parsed) before the first byte is written, so bad
//! input leaves the machine untouched. Applying it writes only the files
//! whose bytes change, through [`crate::fs`], and reports which did.

use super::Host;
use anyhow::Result;
use std::path::PathBuf;

/// One file to make hold `contents`.
#[derive(Debug, Clone)]
pub struct FileEdit {
    /// The path on the host (`/etc/docker/daemon.json`), before the root.
    pub path: String,
    pub contents: String,
    pub mode: u32,
    /// uid and gid to own the file (and directories created for it).
    pub owner: Option<(u32, u32)>,
    /// Mode for parent directories this plan creates.
    pub dir_mode: u32,
}

/// A symbolic link to make.
#[derive(Debug, Clone)]
pub struct Link {
    pub path: String,
    pub target: String,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub files: Vec<FileEdit>,
    pub links: Vec<Link>,
}

/// What applying a plan changed (host paths).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    pub changed: Vec<String>,
}

impl Applied {
    pub fn changed(&self, path: &str) -> bool {
        self.changed.iter().any(|p| p == path)
    }

    pub fn any_under(&self, prefix: &str) -> bool {
        self.changed.iter().any(|p| p.starts_with(prefix))
    }
}

impl Plan {
    /// Add a public configuration file (0644, directories 0755).
    pub fn file(&mut self, path: impl Into<String>, contents: impl Into<String>) {
        self.files.push(FileEdit {
            path: path.into(),
            contents: contents.into(),
            mode: crate::fs::PUBLIC,
            owner: None,
            dir_mode: 0o755,
        });
    }

    /// Add a file holding secrets (0600, new directories 0700), owned by
    /// `owner`.
    pub fn private_file(
        &mut self,
        path: impl Into<String>,
        contents: impl Into<String>,
        owner: Option<(u32, u32)>,
    ) {
        self.files.push(FileEdit {
            path: path.into(),
            contents: contents.into(),
            mode: crate::fs::PRIVATE,
            owner,
            dir_mode: 0o700,
        });
    }

    /// Write every file whose bytes differ and make the links.
    pub fn apply(&self, host: &Host) -> Result<Applied> {
        let mut applied = Applied::default();
        for edit in &self.files {
            let path = host.path(&edit.path);
            if let Some(dir) = path.parent() {
                crate::fs::create_dir(dir, edit.dir_mode, edit.owner)?;
            }
            if crate::fs::write_if_changed_owned(
                &path,
                edit.contents.as_bytes(),
                edit.mode,
                edit.owner,
            )? {
                applied.changed.push(edit.path.clone());
            }
        }
        for link in &self.links {
            let path = host.path(&link.path);
            if crate::fs::symlink_if_changed(&path, &PathBuf::from(&link.target))? {
                applied.changed.push(link.path.clone());
            }
        }
        Ok(applied)
    }
}
