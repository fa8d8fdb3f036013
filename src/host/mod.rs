//! Host configuration: pure editors for the files container clients read
//! (`daemon.json`, `registries.conf`, `buildkitd.toml`, containerd's
//! `hosts.toml` and `config.toml`, `/etc/hosts`, docker and podman auth
//! files), the plans that combine them for `use-buildset-registry` and
//! `ensure-docker`, the edges that act on the machine (services,
//! packages), and the two host operations those commands call
//! ([`ensure_docker::ensure`], [`use_registry::apply`]).
//!
//! Editors are functions from a parsed document to a document and never
//! touch the disk; a [`plan::Plan`] collects the new contents and only
//! [`crate::fs`] writes them. Every path goes through [`Host::path`], so a
//! `--root DIR` sends all of it under DIR. Nothing here reads Zuul
//! variables: commands resolve them and pass typed inputs.

pub mod auth;
pub mod buildkitd;
pub mod buildset;
pub mod ca_trust;
pub mod containerd;
pub mod daemon_json;
pub mod docker_setup;
pub mod dockerd;
pub mod ensure_docker;
pub mod etc_hosts;
pub mod network;
pub mod nudge;
pub mod packages;
pub mod plan;
pub mod privilege;
pub mod registries_conf;
pub mod services;
pub mod toml;
pub mod use_registry;
pub mod users;

use std::path::{Path, PathBuf};
use thiserror::Error;

/// An existing file, an input or a machine that cannot be used as it is.
/// Every variant is an input error (exit 2) and names the file, variable or
/// flag to change; nothing has been written when one is returned.
#[derive(Debug, Error)]
pub enum Error {
    #[error("failed to parse `{file}`{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Parse {
        file: String,
        line: Option<usize>,
        message: String,
    },
    #[error("`{file}`: {message}")]
    Unsupported { file: String, message: String },
    #[error("user `{user}` is not in `{file}`")]
    UnknownUser { user: String, file: String },
    /// A host command (a package manager) that acts on `/` whatever the root.
    #[error("cannot {action} with `--root {}`: package managers act on `/`", root.display())]
    NotRealRoot { action: String, root: PathBuf },
    /// The distribution is unknown and the package list is not given.
    #[error("no {what} packages known for `{os}`: set {fix}")]
    NoPackages {
        what: &'static str,
        os: String,
        fix: &'static str,
    },
    #[error("`docker_mirror_base_url` is empty while `use_upstream_docker` is true")]
    EmptyMirrorBaseUrl,
    /// The command changes the machine and this process is not root.
    #[error("`{command}` must run as root ({why}): use sudo, or `become: true` in Ansible")]
    NotRoot { command: String, why: String },
}

impl crate::exit::Classify for Error {
    fn is_input(&self) -> bool {
        true
    }
}

impl Error {
    /// A parse error at byte `offset` of `text`.
    pub fn parse_at(file: &str, text: &str, offset: Option<usize>, message: String) -> Error {
        Error::Parse {
            file: file.to_owned(),
            line: offset.map(|offset| line_of(text, offset)),
            message,
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The machine being configured: every host path is resolved under `root`
/// (`/` on a real node, a temporary directory in tests).
#[derive(Debug, Clone)]
pub struct Host {
    root: PathBuf,
}

impl Host {
    pub fn new(root: impl Into<PathBuf>) -> Host {
        Host { root: root.into() }
    }

    /// Where the absolute host path `path` lives under the root.
    pub fn path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        let relative = path.strip_prefix("/").unwrap_or(path);
        self.root.join(relative)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this is the real machine (`--root /`): only then are host
    /// commands (`update-ca-certificates`, `systemctl`, package managers)
    /// run, since they act on `/` whatever the root is.
    pub fn is_real(&self) -> bool {
        self.root == Path::new("/")
    }

    /// Whether systemd manages this machine (`sd_booted()`: the directory
    /// `/run/systemd/system` exists).
    pub fn has_systemd(&self) -> bool {
        self.path("/run/systemd/system").is_dir()
    }

    pub fn exists(&self, path: impl AsRef<Path>) -> bool {
        self.path(path).exists()
    }

    /// Whether an executable `name` is installed in one of the usual
    /// directories under the root.
    pub fn has_binary(&self, name: &str) -> bool {
        [
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ]
        .iter()
        .any(|dir| self.path(dir).join(name).is_file())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_under_the_root() {
        let host = Host::new("/tmp/r");
        assert_eq!(host.path("/etc/hosts"), Path::new("/tmp/r/etc/hosts"));
        assert!(!host.is_real());
        let real = Host::new("/");
        assert_eq!(real.path("/etc/hosts"), Path::new("/etc/hosts"));
        assert!(real.is_real());
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }
}
