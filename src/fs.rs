//! The only module that writes files: atomic replacement with explicit modes,
//! and reads whose errors name the path.
//!
//! A write goes to a temporary file in the target's directory, is fsynced,
//! given its mode, and renamed over the target; the directory is fsynced so a
//! crash leaves either the old or the new file, never a torn one.

use anyhow::{Context, Result};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Mode for files that may hold secrets.
pub const PRIVATE: u32 = 0o600;
/// Mode for ordinary configuration files.
pub const PUBLIC: u32 = 0o644;

/// Atomically replace `path` with `contents`, creating parent directories.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create directory `{}`", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".zuul-image-")
        .tempfile_in(dir)
        .with_context(|| format!("failed to create a temporary file in `{}`", dir.display()))?;
    // Set the mode before any byte lands, so a secret is never world-readable.
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| {
            format!(
                "failed to set the mode of a temporary file in `{}`",
                dir.display()
            )
        })?;
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("failed to write `{}`", path.display()))?;
    tmp.persist(path)
        .map_err(|err| err.error)
        .with_context(|| format!("failed to replace `{}`", path.display()))?;
    if let Ok(handle) = std::fs::File::open(dir) {
        // Best effort: some filesystems refuse fsync on directories.
        let _ = handle.sync_all();
    }
    Ok(())
}

/// Write `contents` only when they differ from what `path` holds; returns
/// whether the file changed. Host-config edits use this so a second run
/// changes no byte and touches no mtime.
pub fn write_if_changed(path: &Path, contents: &[u8], mode: u32) -> Result<bool> {
    match std::fs::read(path) {
        Ok(existing) if existing == contents => Ok(false),
        _ => write_atomic(path, contents, mode).map(|()| true),
    }
}

/// Read a file as UTF-8; `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .with_context(|| format!("`{}` is not UTF-8", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("failed to read `{}`", path.display())),
    }
}

/// Read a file as UTF-8, naming it when it cannot be read.
pub fn read(path: &Path) -> Result<String> {
    read_optional(path)?.with_context(|| format!("`{}` does not exist", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/results.json");
        write_atomic(&path, b"one", PRIVATE).unwrap();
        write_atomic(&path, b"two", PRIVATE).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // No temporary files left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn write_if_changed_leaves_equal_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(write_if_changed(&path, b"x", PUBLIC).unwrap());
        assert!(!write_if_changed(&path, b"x", PUBLIC).unwrap());
        assert!(write_if_changed(&path, b"y", PUBLIC).unwrap());
    }
}
