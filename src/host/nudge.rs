//! What must re-read its configuration after host files changed, as data:
//! a [`Nudge`] names the service and the exact command that would run on
//! the real machine, so which command follows which change is decided (and
//! unit-tested) apart from running it. Runs nothing itself.

/// One service to reload or restart, or one store to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nudge {
    /// Rebuild the system trust store with this command
    /// (`update-ca-certificates`, `update-ca-trust`).
    Trust(&'static str),
    /// containerd reads `config_path` only when it starts.
    RestartContainerd,
    /// cri-o re-reads `registries.conf` and `certs.d` on a reload.
    ReloadCrio,
    /// microk8s's containerd reads its `hosts.toml` files when it starts.
    RestartMicrok8s,
}

impl Nudge {
    /// The command that carries it out on the real machine.
    pub fn argv(&self) -> Vec<&'static str> {
        match self {
            Nudge::Trust(command) => vec![command],
            Nudge::RestartContainerd => vec!["systemctl", "restart", "containerd.service"],
            Nudge::ReloadCrio => vec!["systemctl", "reload", "crio.service"],
            Nudge::RestartMicrok8s => vec!["snap", "restart", "microk8s"],
        }
    }

    /// The systemd unit that must be active for the command to make sense;
    /// when it is not, the service reads its files when it starts.
    pub fn unit(&self) -> Option<&'static str> {
        match self {
            Nudge::RestartContainerd => Some("containerd.service"),
            Nudge::ReloadCrio => Some("crio.service"),
            Nudge::Trust(_) | Nudge::RestartMicrok8s => None,
        }
    }

    /// What it achieves, for messages (`… to <purpose>`).
    pub fn purpose(&self) -> &'static str {
        match self {
            Nudge::Trust(_) => "trust the buildset registry's CA system-wide",
            Nudge::RestartContainerd => "read `config_path`",
            Nudge::ReloadCrio => "read `registries.conf` and its CAs",
            Nudge::RestartMicrok8s => "read its new `hosts.toml` files",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_units() {
        assert_eq!(Nudge::Trust("update-ca-trust").argv(), ["update-ca-trust"]);
        assert_eq!(
            Nudge::RestartContainerd.argv(),
            ["systemctl", "restart", "containerd.service"]
        );
        assert_eq!(
            Nudge::ReloadCrio.argv(),
            ["systemctl", "reload", "crio.service"]
        );
        assert_eq!(
            Nudge::RestartMicrok8s.argv(),
            ["snap", "restart", "microk8s"]
        );
        for nudge in [Nudge::RestartContainerd, Nudge::ReloadCrio] {
            assert_eq!(nudge.unit(), Some(nudge.argv()[2]));
        }
        assert_eq!(Nudge::RestartMicrok8s.unit(), None);
    }
}
