//! `Env`: the parts of the process environment commands read, captured once
//! when the run starts ([`Env::capture`]) and passed down in the context, so
//! no module calls `std::env::var` and tests give any environment they like.
//! An empty variable counts as unset.

use std::ffi::OsString;
use std::path::PathBuf;

/// The process environment, as far as commands use it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    /// `HOME`: defaults under `~` (`buildset_registry_root`, auth files).
    pub home: Option<PathBuf>,
    /// `SUDO_USER`: who ran `sudo zuul-image ensure-docker` (docker group).
    pub sudo_user: Option<String>,
    /// `PATH`, split: where `dockerd` or `docker-compose` would run from.
    pub path: Vec<PathBuf>,
    /// `DOCKER_CONFIG`: docker's config directory instead of `~/.docker`.
    pub docker_config: Option<PathBuf>,
    /// `REGISTRY_AUTH_FILE`: podman's auth file.
    pub registry_auth_file: Option<PathBuf>,
    /// `XDG_RUNTIME_DIR`: podman's `containers/auth.json` lives there.
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `NO_COLOR` is set.
    pub no_color: bool,
    /// The user this process runs as.
    pub uid: u32,
}

impl Env {
    /// Read the environment of this process.
    pub fn capture() -> Env {
        Env::from_lookup(
            |name| std::env::var_os(name),
            nix::unistd::getuid().as_raw(),
        )
    }

    /// Build from a lookup of variable names (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>, uid: u32) -> Env {
        let var = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let string = |name: &str| var(name).and_then(|value| value.into_string().ok());
        Env {
            home: var("HOME").map(PathBuf::from),
            sudo_user: string("SUDO_USER"),
            path: var("PATH")
                .map(|path| std::env::split_paths(&path).collect())
                .unwrap_or_default(),
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            registry_auth_file: var("REGISTRY_AUTH_FILE").map(PathBuf::from),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
            no_color: var("NO_COLOR").is_some(),
            uid,
        }
    }

    /// Whether `program` is a file in a `PATH` directory (of the real
    /// machine: binaries run from there whatever `--root` is).
    pub fn on_path(&self, program: &str) -> bool {
        self.path.iter().any(|dir| dir.join(program).is_file())
    }

    /// `~/rest` expanded with `HOME`; other paths, and `~/…` without a
    /// `HOME`, as given.
    pub fn expand_home(&self, path: &str) -> PathBuf {
        match (path.strip_prefix("~/"), &self.home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(path),
        }
    }

    /// The auth files registry clients consult, in order: docker's
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, then
    /// podman's `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`
    /// and `~/.config/containers/auth.json`.
    pub fn auth_files(&self) -> Vec<PathBuf> {
        let home = self.home.as_deref();
        let docker = match (&self.docker_config, home) {
            (Some(dir), _) => Some(dir.join("config.json")),
            (None, Some(home)) => Some(home.join(".docker/config.json")),
            (None, None) => None,
        };
        let runtime = self.xdg_runtime_dir.as_deref();
        [
            docker,
            self.registry_auth_file.clone(),
            runtime.map(|dir| dir.join("containers/auth.json")),
            home.map(|home| home.join(".config/containers/auth.json")),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::Path;

    fn env(pairs: &[(&str, &str)]) -> Env {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        Env::from_lookup(|name| map.get(name).cloned(), 1000)
    }

    #[test]
    fn captured_values_and_empty_is_unset() {
        let env = env(&[
            ("HOME", "/home/zuul"),
            ("SUDO_USER", ""),
            ("PATH", "/usr/sbin:/usr/bin"),
            ("NO_COLOR", "1"),
        ]);
        assert_eq!(env.home.as_deref(), Some(Path::new("/home/zuul")));
        assert_eq!(env.sudo_user, None);
        assert_eq!(
            env.path,
            [PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")]
        );
        assert!(env.no_color);
        assert_eq!(env.uid, 1000);
        assert_eq!(env.expand_home("~/reg"), PathBuf::from("/home/zuul/reg"));
        assert_eq!(env.expand_home("/srv/reg"), PathBuf::from("/srv/reg"));
    }

    #[test]
    fn auth_files_in_the_order_clients_read_them() {
        let all = env(&[
            ("HOME", "/h"),
            ("DOCKER_CONFIG", "/d"),
            ("REGISTRY_AUTH_FILE", "/a.json"),
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
        ]);
        let want: Vec<PathBuf> = [
            "/d/config.json",
            "/a.json",
            "/run/user/1000/containers/auth.json",
            "/h/.config/containers/auth.json",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(all.auth_files(), want);
        assert_eq!(
            env(&[("HOME", "/h")]).auth_files(),
            [
                PathBuf::from("/h/.docker/config.json"),
                PathBuf::from("/h/.config/containers/auth.json")
            ]
        );
        assert!(env(&[]).auth_files().is_empty());
    }

    #[test]
    fn programs_on_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dockerd"), "").unwrap();
        let env = Env {
            path: vec![PathBuf::from("/nonexistent"), dir.path().to_owned()],
            ..Env::default()
        };
        assert!(env.on_path("dockerd"));
        assert!(!env.on_path("docker-compose"));
    }
}
