//! The only module that writes files: atomic replacement with explicit modes,
//! and reads whose errors name the path.
//!
//! A write goes to a temporary file in the target's directory, is fsynced,
//! given its mode, and renamed over the target; the directory is fsynced so a
//! crash leaves either the old or the new file, never a torn one. Every
//! failure is an [`Error`] that says what was being done ([`Op`]), to which
//! path, and keeps the I/O error as its source, so a caller can tell
//! `NotFound` from `PermissionDenied` without parsing text.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Mode for files that may hold secrets.
pub const PRIVATE: u32 = 0o600;
/// Mode for ordinary configuration files.
pub const PUBLIC: u32 = 0o644;

/// What a file operation was doing when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
    CreateDir,
    CreateTemp,
    SetMode,
    Replace,
    Overwrite,
    Stat,
    Chown,
    ReadLink,
    Link,
    Copy,
    Remove,
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::CreateDir => "create directory",
            Op::CreateTemp => "create a temporary file in",
            Op::SetMode => "set the mode of",
            Op::Replace => "replace",
            Op::Overwrite => "overwrite",
            Op::Stat => "stat",
            Op::Chown => "change the owner of",
            Op::ReadLink => "read the link",
            Op::Link => "link",
            Op::Copy => "copy",
            Op::Remove => "remove",
        })
    }
}

/// A file operation failed: what, where, and the I/O error underneath.
#[derive(Debug, Error)]
#[error("failed to {op} `{}`", path.display())]
pub struct Error {
    pub op: Op,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl Error {
    fn new(op: Op, path: &Path, source: std::io::Error) -> Error {
        Error {
            op,
            path: path.to_owned(),
            source,
        }
    }

    /// Whether the file was not there.
    pub fn is_not_found(&self) -> bool {
        self.source.kind() == std::io::ErrorKind::NotFound
    }
}

/// `map_err` helper: `io_result.map_err(at(Op::Read, path))`.
fn at(op: Op, path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::new(op, path, source)
}

pub type Result<T> = std::result::Result<T, Error>;

/// Atomically replace `path` with `contents`, creating parent directories.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(at(Op::CreateDir, dir))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".zuul-image-")
        .tempfile_in(dir)
        .map_err(at(Op::CreateTemp, dir))?;
    // Set the mode before any byte lands, so a secret is never world-readable.
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(at(Op::SetMode, tmp.path()))?;
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(at(Op::Write, path))?;
    if let Err(err) = tmp.persist(path) {
        // A bind-mounted file (`/etc/hosts` in a container) cannot be
        // replaced by a rename; overwrite it in place instead.
        if err.error.raw_os_error() != Some(nix::libc::EBUSY) {
            return Err(Error::new(Op::Replace, path, err.error));
        }
        std::fs::write(path, contents).map_err(at(Op::Overwrite, path))?;
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
            .map_err(at(Op::Stat, path))?
            .permissions()
            .mode()
            & 0o777;
        if current & !mode != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(at(Op::SetMode, path))?;
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
    std::fs::create_dir_all(path).map_err(at(Op::CreateDir, path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(at(Op::SetMode, path))?;
    if let Some((uid, gid)) = owner {
        chown(path, uid, gid)?;
    }
    Ok(())
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).map_err(at(Op::Stat, path))?;
    if meta.uid() == uid && meta.gid() == gid {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(at(Op::Chown, path))
}

/// Make `link` a symbolic link to `target` unless it already is one;
/// returns whether it changed. An existing regular file is left alone and
/// reported as an error, since it may hold the site's data.
pub fn symlink_if_changed(link: &Path, target: &Path) -> Result<bool> {
    match std::fs::read_link(link) {
        Ok(current) if current == target => return Ok(false),
        Ok(_) => std::fs::remove_file(link).map_err(at(Op::Replace, link))?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) if link.exists() => {
            return Err(Error::new(
                Op::Replace,
                link,
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "it exists and is not a symbolic link; not replacing it",
                ),
            ));
        }
        Err(err) => return Err(Error::new(Op::ReadLink, link, err)),
    }
    std::os::unix::fs::symlink(target, link).map_err(|err| {
        // Keep the kind; say where the link was to point.
        let detail = format!("to `{}`: {err}", target.display());
        Error::new(Op::Link, link, std::io::Error::new(err.kind(), detail))
    })?;
    Ok(true)
}

/// Copy the tree at `source` (a directory or a file) to `dest`, as `cp -r`
/// does: directories and files with their permission bits, symbolic links
/// as links (not followed). `dest` must not exist; its parents are made.
pub fn copy_tree(source: &Path, dest: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(source).map_err(at(Op::Stat, source))?;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(at(Op::CreateDir, parent))?;
    }
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = std::fs::read_link(source).map_err(at(Op::ReadLink, source))?;
        std::os::unix::fs::symlink(&target, dest).map_err(at(Op::Link, dest))?;
    } else if kind.is_dir() {
        std::fs::create_dir(dest).map_err(at(Op::CreateDir, dest))?;
        for entry in std::fs::read_dir(source).map_err(at(Op::Read, source))? {
            let entry = entry.map_err(at(Op::Read, source))?;
            copy_tree(&entry.path(), &dest.join(entry.file_name()))?;
        }
        std::fs::set_permissions(dest, meta.permissions()).map_err(at(Op::SetMode, dest))?;
    } else {
        std::fs::copy(source, dest).map_err(at(Op::Copy, source))?;
    }
    Ok(())
}

/// Remove the tree at `path`; a path that is not there is no error.
pub fn remove_tree(path: &Path) -> Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::new(Op::Remove, path, err))
        }
        _ => Ok(()),
    }
}

/// Read a file as UTF-8; `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match read(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err),
    }
}

/// Read a file as UTF-8, naming it when it cannot be read.
pub fn read(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(at(Op::Read, path))?;
    String::from_utf8(bytes).map_err(|_| {
        let source = std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text");
        Error::new(Op::Read, path, source)
    })
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

    #[test]
    fn trees_are_copied_with_modes_and_links_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("src/org/lib");
        std::fs::create_dir_all(source.join("bin")).unwrap();
        std::fs::write(source.join("README"), "lib\n").unwrap();
        std::fs::write(source.join("bin/run"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            source.join("bin/run"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("README", source.join("link")).unwrap();
        let dest = dir.path().join("ctx/.zuul-siblings/org/lib");
        copy_tree(&source, &dest).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("README")).unwrap(),
            "lib\n"
        );
        let mode = std::fs::metadata(dest.join("bin/run"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_link(dest.join("link")).unwrap(),
            Path::new("README")
        );
        assert_eq!(copy_tree(&source, &dest).unwrap_err().op, Op::CreateDir);
        let top = dir.path().join("ctx/.zuul-siblings");
        remove_tree(&top).unwrap();
        assert!(!top.exists() && source.join("README").exists());
        remove_tree(&top).unwrap();
    }

    #[test]
    fn errors_name_the_operation_and_path_and_keep_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = read(&missing).unwrap_err();
        assert_eq!((err.op, err.path.as_path()), (Op::Read, missing.as_path()));
        assert!(err.is_not_found());
        assert_eq!(
            err.to_string(),
            format!("failed to read `{}`", missing.display())
        );
        assert_eq!(read_optional(&missing).unwrap(), None);

        let binary = dir.path().join("binary");
        std::fs::write(&binary, [0xff, 0xfe]).unwrap();
        let err = read_optional(&binary).unwrap_err();
        assert_eq!(err.source.kind(), std::io::ErrorKind::InvalidData);

        // A file where a directory must go.
        let blocked = binary.join("below/file");
        let err = write_atomic(&blocked, b"x", PUBLIC).unwrap_err();
        assert_eq!(err.op, Op::CreateDir);
        assert_eq!(err.path, binary.join("below"));

        let regular = dir.path().join("regular");
        std::fs::write(&regular, "site data").unwrap();
        let err = symlink_if_changed(&regular, Path::new("/elsewhere")).unwrap_err();
        assert_eq!(err.op, Op::Replace);
        assert!(err.source.to_string().contains("not a symbolic link"));
        assert_eq!(std::fs::read_to_string(&regular).unwrap(), "site data");
    }
}
