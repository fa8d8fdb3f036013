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
    if let Err(err) = tmp.persist(path) {
        // A bind-mounted file (`/etc/hosts` in a container) cannot be
        // replaced by a rename; overwrite it in place instead.
        if err.error.raw_os_error() != Some(nix::libc::EBUSY) {
            return Err(err.error)
                .with_context(|| format!("failed to replace `{}`", path.display()));
        }
        std::fs::write(path, contents)
            .with_context(|| format!("failed to overwrite `{}`", path.display()))?;
    }
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

/// Like [`write_if_changed`], and also give the file `owner` (uid, gid)
/// and make sure an unchanged private file is not readable by others.
pub fn write_if_changed_owned(
    path: &Path,
    contents: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<bool> {
    let changed = write_if_changed(path, contents, mode)?;
    if !changed {
        let current = std::fs::metadata(path)
            .with_context(|| format!("failed to read the mode of `{}`", path.display()))?
            .permissions()
            .mode()
            & 0o777;
        if current & !mode != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("failed to set the mode of `{}`", path.display()))?;
        }
    }
    if let Some((uid, gid)) = owner {
        chown(path, uid, gid)?;
    }
    Ok(changed)
}

/// Create directory `path` (and its parents) if missing; a directory this
/// call creates gets `mode` and `owner`.
pub fn create_dir(path: &Path, mode: u32, owner: Option<(u32, u32)>) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(path)
        .with_context(|| format!("failed to create directory `{}`", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("failed to set the mode of `{}`", path.display()))?;
    if let Some((uid, gid)) = owner {
        chown(path, uid, gid)?;
    }
    Ok(())
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("failed to stat `{}`", path.display()))?;
    if meta.uid() == uid && meta.gid() == gid {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .with_context(|| format!("failed to change the owner of `{}`", path.display()))
}

/// Make `link` a symbolic link to `target` unless it already is one;
/// returns whether it changed. An existing regular file is left alone and
/// reported as an error, since it may hold the site's data.
pub fn symlink_if_changed(link: &Path, target: &Path) -> Result<bool> {
    match std::fs::read_link(link) {
        Ok(current) if current == target => return Ok(false),
        Ok(_) => std::fs::remove_file(link)
            .with_context(|| format!("failed to replace the link `{}`", link.display()))?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) if link.exists() => {
            anyhow::bail!(
                "`{}` exists and is not a symbolic link; not replacing it",
                link.display()
            )
        }
        Err(err) => {
            return Err(err)
                .with_context(|| format!("failed to read the link `{}`", link.display()));
        }
    }
    std::os::unix::fs::symlink(target, link).with_context(|| {
        format!(
            "failed to link `{}` to `{}`",
            link.display(),
            target.display()
        )
    })?;
    Ok(true)
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
