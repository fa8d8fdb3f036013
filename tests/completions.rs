//! The completion scripts committed under `completions/` match what the
//! binary generates. Regenerate with `ZUUL_IMAGE_BLESS=1 cargo test completions`.

use crate::support::{COMMANDS, zuul_image};
use std::path::Path;

const SCRIPTS: [(&str, &str); 5] = [
    ("bash", "zuul-image.bash"),
    ("zsh", "_zuul-image"),
    ("fish", "zuul-image.fish"),
    ("elvish", "zuul-image.elv"),
    ("powershell", "_zuul-image.ps1"),
];

#[test]
fn committed_completions_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let bless = std::env::var_os("ZUUL_IMAGE_BLESS").is_some();
    let mut stale = Vec::new();
    for (shell, file) in SCRIPTS {
        let output = zuul_image().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "completions {shell} failed");
        assert!(
            !output.stdout.is_empty(),
            "completions {shell} printed nothing"
        );
        let path = dir.join(file);
        if bless {
            std::fs::write(&path, &output.stdout).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&output.stdout[..]) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "stale completion scripts {stale:?}: run `ZUUL_IMAGE_BLESS=1 cargo test completions` and commit completions/"
    );
}

#[test]
fn bash_completion_knows_every_command() {
    let output = zuul_image().args(["completions", "bash"]).output().unwrap();
    let script = String::from_utf8(output.stdout).unwrap();
    for command in COMMANDS.iter().filter(|c| **c != "completions") {
        assert!(
            script.contains(command),
            "bash completion lacks `{command}`"
        );
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    zuul_image().args(["completions", "tcsh"]).assert().code(2);
}
