//! Issue 9, defect 11: `zuul-image --version` names the version and the
//! git commit it was built from. `build.rs` computes it; its
//! [`commit_of`](build_script::commit_of) is run here against real git
//! repositories (clean, dirty, none) and the binary's answer is checked
//! against this checkout.

#[path = "../build.rs"]
#[allow(dead_code)]
mod build_script;

use crate::support::zuul_image;
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    crate::support::run(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org"),
    )
    .trim()
    .to_owned()
}

#[test]
fn issue_9_version_names_the_commit() {
    let output = zuul_image().arg("--version").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let prefix = format!("zuul-image {} (", env!("CARGO_PKG_VERSION"));
    let commit = text
        .trim()
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("`{text}` is not `{prefix}<commit>)`"));
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    match build_script::commit_of(checkout) {
        // Built from this checkout: its HEAD (dirtiness may have changed
        // since the build, in files the binary is not made from).
        Some(now) => {
            let head = git(checkout, &["rev-parse", "--short", "HEAD"]);
            assert!(now.starts_with(&head), "{now} vs {head}");
            assert!(
                commit == head || commit == format!("{head}-dirty"),
                "--version says `{commit}`, HEAD is `{head}`"
            );
        }
        None => assert_eq!(commit, "commit unknown"),
    }
    // Every command names the same commit (`zuul-image-pause 0.1.0 (…)`).
    let output = zuul_image().args(["pause", "--version"]).output().unwrap();
    let pause = String::from_utf8(output.stdout).unwrap();
    assert!(pause.ends_with(&format!(" ({commit})\n")), "{pause}");
}

#[test]
fn issue_9_commit_of_clean_dirty_and_no_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    // Not a checkout at all.
    assert_eq!(build_script::commit_of(&repo), None);
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("file"), "one\n").unwrap();
    git(&repo, &["add", "file"]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    let head = git(&repo, &["rev-parse", "--short", "HEAD"]);
    assert_eq!(build_script::commit_of(&repo), Some(head.clone()));
    // Untracked files do not make it dirty; a changed tracked file does.
    std::fs::write(repo.join("untracked"), "").unwrap();
    assert_eq!(build_script::commit_of(&repo), Some(head.clone()));
    std::fs::write(repo.join("file"), "two\n").unwrap();
    assert_eq!(
        build_script::commit_of(&repo),
        Some(format!("{head}-dirty"))
    );
    // A crate inside someone else's checkout (vendored) is not that commit.
    let nested = repo.join("vendor/crate");
    std::fs::create_dir_all(&nested).unwrap();
    assert_eq!(build_script::commit_of(&nested), None);
}
