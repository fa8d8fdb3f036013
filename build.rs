//! Names the git commit the binary is built from, for `zuul-image
//! --version`: `0.1.0 (1a2b3c4)`, `0.1.0 (1a2b3c4-dirty)` when tracked
//! files differ from that commit, or `0.1.0 (commit unknown)` outside a git
//! checkout of this crate (a crate tarball). A packager who knows the
//! commit sets `ZUUL_IMAGE_GIT_COMMIT`.
//!
//! The tests include this file (`tests/version.rs`) to run [`commit_of`]
//! against real git repositories.
// Cargo reads a build script's instructions from its stdout.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-env-changed=ZUUL_IMAGE_GIT_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");
    // A commit, a checkout or `git add` changes one of these.
    // Only paths that exist: cargo reruns the script (and rebuilds the
    // crate) on every build while a watched path is missing, and a fresh
    // clone or worktree may have no packed-refs or loose branch ref.
    let branch = git(&dir, &["symbolic-ref", "-q", "HEAD"]);
    let names = ["HEAD", "index", "packed-refs"]
        .into_iter()
        .chain(branch.as_deref());
    for path in names.filter_map(|name| git_path(&dir, name)) {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let commit = match std::env::var("ZUUL_IMAGE_GIT_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => commit_of(&dir).unwrap_or_else(|| "commit unknown".to_owned()),
    };
    println!(
        "cargo:rustc-env=ZUUL_IMAGE_VERSION={} ({commit})",
        std::env::var("CARGO_PKG_VERSION").expect("set by cargo")
    );
}

/// The short commit of the git checkout whose top level is `dir`, with
/// `-dirty` when a tracked file differs from it; None when `dir` is not
/// the top of a git checkout (or git is missing).
pub fn commit_of(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    // Inside some other repository (a vendored copy): not our commit.
    if std::fs::canonicalize(&top).ok()? != std::fs::canonicalize(dir).ok()? {
        return None;
    }
    let short = git(dir, &["rev-parse", "--short", "HEAD"])?;
    let status = git(dir, &["status", "--porcelain", "--untracked-files=no"])?;
    Some(if status.is_empty() {
        short
    } else {
        format!("{short}-dirty")
    })
}

/// `git ARGS` in `dir`, trimmed stdout when it succeeds. Never takes
/// git's optional locks (a build must not write the index).
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8(output.stdout).ok()?.trim().to_owned())
}

/// Where git keeps `name` (worktrees keep HEAD and index apart from refs).
fn git_path(dir: &Path, name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(git(dir, &["rev-parse", "--git-path", name])?);
    Some(if path.is_absolute() {
        path
    } else {
        dir.join(path)
    })
}
