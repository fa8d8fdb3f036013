//! Whether this process may change the machine: the commands that write
//! system files or talk to a root daemon (`ensure-docker`,
//! `use-buildset-registry`, `run-buildset-registry` on a privileged port)
//! check it before doing anything, so a node logged in as an unprivileged
//! user gets one clear message instead of a permission error halfway.

use super::{Error, Host};

/// Fail with [`Error::NotRoot`] unless this process runs as root. Only on
/// the real machine: under `--root DIR` every file is the caller's own.
pub fn require_root(command: &str, host: &Host) -> Result<(), Error> {
    let why = match command {
        "ensure-docker" => "it installs, configures and starts Docker",
        _ => "it writes files under `/etc` and reloads the container daemons",
    };
    let is_root = nix::unistd::geteuid().is_root();
    check(command, host.is_real(), is_root, why)
}

/// Fail unless root when `port` is privileged (below 1024).
pub fn require_root_for_port(command: &str, port: u16) -> Result<(), Error> {
    check(
        command,
        port < 1024,
        nix::unistd::geteuid().is_root(),
        &format!("it listens on port {port}"),
    )
}

fn check(command: &str, needs_root: bool, is_root: bool, why: &str) -> Result<(), Error> {
    if needs_root && !is_root {
        return Err(Error::NotRoot {
            command: command.to_owned(),
            why: why.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_real_machine_needs_root() {
        assert!(check("ensure-docker", false, false, "x").is_ok());
        assert!(check("ensure-docker", true, true, "x").is_ok());
        let err = check(
            "ensure-docker",
            true,
            false,
            "it writes `/etc/docker/daemon.json`",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`ensure-docker` must run as root (it writes `/etc/docker/daemon.json`): \
             use sudo, or `become: true` in Ansible"
        );
    }
}
