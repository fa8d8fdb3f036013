//! The file operations that make `prune` safe while the server serves:
//! [`touch`] (the server's "I rely on this", then a check that it is still
//! there) and [`remove_if_older`] (prune's "remove it only if nobody relied
//! on it meanwhile"), with the put-back of files an interrupted prune left
//! aside. See `server::prune` for the protocol; this module only knows files.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub(super) fn not_found_is_none<T>(result: std::io::Result<T>) -> std::io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// The prefix of a file moved aside by [`remove_if_older`]; names starting
/// with `.` are hidden from every listing.
const SET_ASIDE: &str = ".prune-";

pub(super) fn set_aside_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{SET_ASIDE}{name}"))
}

/// Set the modification time of `path` to now, then check that the file is
/// still there: `false` when it is absent or was removed meanwhile. Touching
/// first and checking second is what makes it safe against
/// [`remove_if_older`]: see `prune`.
pub(super) fn touch(path: &Path) -> std::io::Result<bool> {
    let Some(file) = not_found_is_none(std::fs::File::open(path))? else {
        return Ok(false);
    };
    file.set_modified(SystemTime::now())?;
    Ok(not_found_is_none(std::fs::metadata(path))?.is_some())
}

/// Put a file moved aside back, unless a new one took its place meanwhile
/// (a hard link never replaces).
fn put_back(aside: &Path, path: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(aside, path) {
        Err(err) if err.kind() != ErrorKind::AlreadyExists => return Err(err),
        _ => {}
    }
    std::fs::remove_file(aside)
}

/// Remove `path` if it was last modified before `cutoff`; the size removed.
/// The file is renamed aside first and its time read there, so a
/// concurrent [`touch`] either lands before that read (the file is young and
/// goes back) or finds the file gone (and its request fails).
pub(super) fn remove_if_older(path: &Path, cutoff: SystemTime) -> std::io::Result<Option<u64>> {
    let aside = set_aside_path(path);
    if not_found_is_none(std::fs::rename(path, &aside))?.is_none() {
        return Ok(None);
    }
    let old =
        std::fs::metadata(&aside).and_then(|meta| Ok((meta.modified()? < cutoff, meta.len())));
    match old {
        Ok((true, len)) => std::fs::remove_file(&aside).map(|()| Some(len)),
        other => put_back(&aside, path).and(other.map(|_| None)),
    }
}

/// Put back whatever an interrupted [`remove_if_older`] left aside in `dir`.
pub(super) fn put_back_all(dir: &Path) -> std::io::Result<()> {
    let Some(entries) = not_found_is_none(std::fs::read_dir(dir))? else {
        return Ok(());
    };
    for entry in entries {
        let aside = entry?.path();
        let name = aside.file_name().unwrap_or_default().to_string_lossy();
        if let Some(original) = name.strip_prefix(SET_ASIDE) {
            put_back(&aside, &dir.join(original))?;
        }
    }
    Ok(())
}
