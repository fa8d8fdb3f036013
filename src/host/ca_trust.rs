//! Where the buildset registry's CA goes so each client trusts it: the
//! system trust store (Debian's `update-ca-certificates` or the RHEL
//! family's `update-ca-trust`), docker's and containers' per-registry
//! `certs.d/<host:port>/ca.crt`, and containerd's. Pure path rules; the
//! caller writes the files and runs the trust command when its file
//! changed.

use super::Host;

/// The system trust store layout of a distribution family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemTrust {
    /// Directory for local CA files.
    pub dir: &'static str,
    /// The command that rebuilds the bundle.
    pub command: &'static str,
}

const DEBIAN: SystemTrust = SystemTrust {
    dir: "/usr/local/share/ca-certificates",
    command: "update-ca-certificates",
};
const REDHAT: SystemTrust = SystemTrust {
    dir: "/etc/pki/ca-trust/source/anchors",
    command: "update-ca-trust",
};

/// The trust store of the host: the RHEL family (CentOS, Fedora, RHEL,
/// Rocky, Alma: whichever has `/etc/pki/ca-trust`) or else Debian's layout.
/// Upstream chose by distribution name and sent RHEL and Rocky to the
/// Debian paths; the directory is the reliable sign.
pub fn system_trust(host: &Host) -> SystemTrust {
    if host.path("/etc/pki/ca-trust/source/anchors").is_dir() {
        REDHAT
    } else {
        DEBIAN
    }
}

/// The per-registry CA file docker reads: `/etc/docker/certs.d/<host:port>/ca.crt`.
pub fn docker_ca(registry: &str) -> String {
    format!("/etc/docker/certs.d/{registry}/ca.crt")
}

/// The per-registry CA file podman, buildah, skopeo and cri-o read.
pub fn containers_ca(registry: &str) -> String {
    format!("/etc/containers/certs.d/{registry}/ca.crt")
}

/// containerd's per-host CA file, also named by our `hosts.toml` entries.
pub fn containerd_ca(registry: &str) -> String {
    format!("{}/{registry}/ca.crt", super::containerd::CERTS_DIR)
}

/// The file in the system trust directory for `alias`.
pub fn system_ca(trust: &SystemTrust, alias: &str) -> String {
    format!("{}/{alias}.crt", trust.dir)
}

/// The certificate text as written: one final newline.
pub fn normalise_pem(pem: &str) -> String {
    let mut text = pem.trim().replace("\r\n", "\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_by_directory() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(dir.path());
        assert_eq!(system_trust(&host), DEBIAN);
        std::fs::create_dir_all(host.path("/etc/pki/ca-trust/source/anchors")).unwrap();
        assert_eq!(system_trust(&host), REDHAT);
        assert_eq!(
            system_ca(&REDHAT, "zuul-jobs.buildset-registry"),
            "/etc/pki/ca-trust/source/anchors/zuul-jobs.buildset-registry.crt"
        );
    }

    #[test]
    fn pem_text() {
        assert_eq!(normalise_pem("A\r\nB\n\n"), "A\nB\n");
    }
}
