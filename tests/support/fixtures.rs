//! Before/after fixture folders for host-configuration commands (in the
//! manner of cargo's `cargo add` tests): copy `before/` into a temp root,
//! run the command with `--root`, compare the whole tree with `after/`
//! (bytes and symlink targets), then run again and check that no file
//! changed, not even its mtime. `ZUUL_IMAGE_BLESS=1` rewrites `after/` from
//! the result instead of comparing, for reviewing changes with `git diff`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A file or link in a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File(Vec<u8>),
    Link(PathBuf),
}

/// Every file and symlink under `dir`, by relative path. Empty `.keep`
/// files (which exist only so git keeps a directory) are skipped.
pub fn tree(dir: &Path) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix(base).unwrap().display().to_string();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            out.insert(rel, Entry::Link(std::fs::read_link(&path).unwrap()));
        } else if meta.is_dir() {
            walk(base, &path, out);
        } else if !(path.file_name().is_some_and(|n| n == ".keep") && meta.len() == 0) {
            out.insert(rel, Entry::File(std::fs::read(&path).unwrap()));
        }
    }
}

/// Modification times of every file under `dir`.
pub fn mtimes(dir: &Path) -> BTreeMap<String, SystemTime> {
    let mut out = BTreeMap::new();
    for rel in tree(dir).keys() {
        let meta = std::fs::symlink_metadata(dir.join(rel)).unwrap();
        out.insert(rel.clone(), meta.modified().unwrap());
    }
    out
}

/// Copy `from` into `to`, keeping symlinks as links.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&path).unwrap(), &dest).unwrap();
        } else if meta.is_dir() {
            copy_tree(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

fn show(entry: Option<&Entry>) -> String {
    match entry {
        None => "<missing>".into(),
        Some(Entry::Link(target)) => format!("-> {}", target.display()),
        Some(Entry::File(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Compare the tree at `got` with the fixture folder `want`, or bless it.
pub fn assert_tree(got: &Path, want: &Path) {
    if std::env::var_os("ZUUL_IMAGE_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(want);
        copy_tree(got, want);
        return;
    }
    let got_tree = tree(got);
    let want_tree = tree(want);
    let mut problems = Vec::new();
    for key in got_tree.keys().chain(want_tree.keys()) {
        let (g, w) = (got_tree.get(key), want_tree.get(key));
        if g != w
            && !problems
                .iter()
                .any(|p: &String| p.starts_with(&format!("`{key}`")))
        {
            problems.push(format!(
                "`{key}`:\n--- expected ---\n{}\n--- got ---\n{}",
                show(w),
                show(g)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} differs from {}:\n{}",
        got.display(),
        want.display(),
        problems.join("\n")
    );
}

/// The fixture folder of a command's case.
pub fn case_dir(command: &str, case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(command)
        .join(case)
}
