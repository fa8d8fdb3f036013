//! Packages: which distribution family the host is (`/etc/os-release`),
//! its package manager (apt; dnf or yum), the role's package lists per
//! family, and installing or removing packages, including the upstream
//! docker-ce repository definition. Runs package managers only on the real
//! machine (`--root /`).

use super::Host;
use super::services::{self, Error};

/// The facts of `/etc/os-release` that choose packages and repositories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Os {
    pub id: String,
    pub id_like: Vec<String>,
    pub version_id: String,
    pub codename: String,
}

/// The distribution families the role knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Debian,
    RedHat,
    Fedora,
    Suse,
}

impl Os {
    /// Parse the text of `/etc/os-release`.
    pub fn parse(text: &str) -> Os {
        let mut os = Os::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').trim_matches('\'').to_owned();
            match key.trim() {
                "ID" => os.id = value,
                "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_owned).collect(),
                "VERSION_ID" => os.version_id = value,
                "VERSION_CODENAME" => os.codename = value,
                "UBUNTU_CODENAME" if os.codename.is_empty() => os.codename = value,
                _ => {}
            }
        }
        os
    }

    pub fn read(host: &Host) -> Os {
        ["/etc/os-release", "/usr/lib/os-release"]
            .iter()
            .find_map(|path| std::fs::read_to_string(host.path(path)).ok())
            .map(|text| Os::parse(&text))
            .unwrap_or_default()
    }

    fn is(&self, names: &[&str]) -> bool {
        names.contains(&self.id.as_str())
            || self.id_like.iter().any(|l| names.contains(&l.as_str()))
    }

    pub fn family(&self) -> Option<Family> {
        if self.id == "fedora" {
            Some(Family::Fedora)
        } else if self.is(&["debian", "ubuntu"]) {
            Some(Family::Debian)
        } else if self.is(&["rhel", "centos", "fedora"]) {
            Some(Family::RedHat)
        } else if self.is(&["suse", "opensuse", "sles"]) {
            Some(Family::Suse)
        } else {
            None
        }
    }

    /// The directory name of docker's package repository for this OS.
    pub fn upstream_dir(&self) -> &'static str {
        match self.family() {
            Some(Family::Debian) if self.is(&["ubuntu"]) => "ubuntu",
            Some(Family::Fedora) => "fedora",
            Some(Family::RedHat) => "centos",
            _ => "debian",
        }
    }
}

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// The role's defaults for `docker_distro_packages`.
pub fn distro_packages(family: Family) -> Vec<String> {
    match family {
        Family::Debian => list(&["docker.io"]),
        _ => list(&["docker"]),
    }
}

/// `docker_upstream_distro_required_packages`.
pub fn upstream_required(family: Family) -> Vec<String> {
    match family {
        Family::Debian => list(&[
            "apparmor",
            "apt-transport-https",
            "ca-certificates",
            "curl",
            "software-properties-common",
        ]),
        Family::RedHat => list(&["yum-utils", "device-mapper-persistent-data", "lvm2"]),
        Family::Fedora => list(&["dnf-plugins-core"]),
        Family::Suse => Vec::new(),
    }
}

/// `docker_upstream_distro_packages`.
pub fn upstream_packages(family: Family) -> Vec<String> {
    match family {
        Family::Debian => list(&[
            "docker-ce",
            "docker-ce-cli",
            "docker-buildx-plugin",
            "docker-compose-plugin",
            "containerd.io",
        ]),
        Family::RedHat | Family::Fedora => list(&[
            "docker-ce",
            "docker-ce-cli",
            "docker-buildx-plugin",
            "containerd.io",
        ]),
        Family::Suse => Vec::new(),
    }
}

/// `docker_upstream_distro_remove_packages`.
pub fn upstream_remove(family: Family) -> Vec<String> {
    match family {
        Family::Debian => list(&["docker.io"]),
        Family::Fedora => list(&["docker"]),
        _ => Vec::new(),
    }
}

/// A package manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Apt,
    Dnf,
    Yum,
}

impl Manager {
    pub fn detect(host: &Host) -> Option<Manager> {
        if host.has_binary("apt-get") {
            Some(Manager::Apt)
        } else if host.has_binary("dnf") {
            Some(Manager::Dnf)
        } else if host.has_binary("yum") {
            Some(Manager::Yum)
        } else {
            None
        }
    }

    fn program(self) -> &'static str {
        match self {
            Manager::Apt => "apt-get",
            Manager::Dnf => "dnf",
            Manager::Yum => "yum",
        }
    }

    /// Run the manager; apt must never prompt in a job.
    fn run(self, args: &[&str]) -> Result<(), Error> {
        services::run_env(
            self.program(),
            args,
            &[("DEBIAN_FRONTEND", "noninteractive")],
        )
        .map(|_| ())
    }

    /// Refresh the package lists (apt only; dnf and yum do it themselves).
    pub fn update(self) -> Result<(), Error> {
        if self == Manager::Apt {
            services::run("apt-get", &["-q", "update"])?;
        }
        Ok(())
    }

    pub fn install(self, packages: &[String]) -> Result<(), Error> {
        if packages.is_empty() {
            return Ok(());
        }
        let mut args = vec!["-y", "-q", "install"];
        args.extend(packages.iter().map(String::as_str));
        self.run(&args)
    }

    pub fn remove(self, packages: &[String]) -> Result<(), Error> {
        if packages.is_empty() {
            return Ok(());
        }
        let mut args = vec!["-y", "-q", "remove"];
        args.extend(packages.iter().map(String::as_str));
        self.run(&args)
    }
}

/// The apt source line or yum repository file for docker's upstream
/// packages: `(host path, contents)`.
pub fn upstream_repo(
    manager: Manager,
    os: &Os,
    base_url: &str,
    channel: &str,
    arch: &str,
) -> (String, String) {
    let base = base_url.trim_end_matches('/');
    match manager {
        Manager::Apt => (
            "/etc/apt/sources.list.d/docker.list".to_owned(),
            format!(
                "deb [arch={arch} signed-by={APT_KEY}] {base} {} {channel}\n",
                os.codename
            ),
        ),
        Manager::Dnf | Manager::Yum => (
            "/etc/yum.repos.d/docker-ce.repo".to_owned(),
            format!(
                "[docker-ce-stable]\nname=Docker CE Stable - $basearch\nbaseurl={base}/$releasever/$basearch/{channel}\nenabled=1\ngpgcheck=1\ngpgkey={base}/gpg\n"
            ),
        ),
    }
}

/// Where the apt signing key of the upstream repository is kept.
pub const APT_KEY: &str = "/etc/apt/keyrings/docker.asc";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        let debian = Os::parse("ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n");
        assert_eq!(debian.family(), Some(Family::Debian));
        assert_eq!(debian.upstream_dir(), "debian");
        let ubuntu = Os::parse("ID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=noble\n");
        assert_eq!(
            (ubuntu.family(), ubuntu.upstream_dir()),
            (Some(Family::Debian), "ubuntu")
        );
        assert_eq!(ubuntu.codename, "noble");
        let rocky = Os::parse("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n");
        assert_eq!(
            (rocky.family(), rocky.upstream_dir()),
            (Some(Family::RedHat), "centos")
        );
        assert_eq!(Os::parse("ID=fedora\n").family(), Some(Family::Fedora));
        assert_eq!(
            Os::parse("ID=opensuse-leap\nID_LIKE=\"suse opensuse\"\n").family(),
            Some(Family::Suse)
        );
        assert_eq!(Os::parse("ID=arch\n").family(), None);
    }

    #[test]
    fn repositories() {
        let os = Os::parse("ID=debian\nVERSION_CODENAME=bookworm\n");
        let (path, line) = upstream_repo(
            Manager::Apt,
            &os,
            "https://download.docker.com/linux/debian/",
            "stable",
            "amd64",
        );
        assert_eq!(path, "/etc/apt/sources.list.d/docker.list");
        assert_eq!(
            line,
            "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/debian bookworm stable\n"
        );
        let (path, repo) = upstream_repo(
            Manager::Dnf,
            &os,
            "https://m/linux/centos",
            "stable",
            "x86_64",
        );
        assert_eq!(path, "/etc/yum.repos.d/docker-ce.repo");
        assert!(
            repo.contains("baseurl=https://m/linux/centos/$releasever/$basearch/stable\n"),
            "{repo}"
        );
    }
}
