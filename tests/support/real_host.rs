//! Changes that real-component tests make to the machine's own files
//! (`/etc/hosts`, `/etc/docker/certs.d`, `/etc/containers/certs.d`,
//! `/etc/containerd/certs.d`), each taken from what zuul-image wrote under
//! its `--root` and undone when the guard is dropped.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The real `/etc/hosts` gets a line for as long as any test holds a
/// guard; the original file comes back when the last guard is dropped.
static HOSTS: Mutex<(usize, Option<Vec<u8>>)> = Mutex::new((0, None));

pub struct HostsAlias;

impl HostsAlias {
    pub fn add(line: &str) -> HostsAlias {
        let mut state = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 == 0 {
            let original = std::fs::read("/etc/hosts").unwrap();
            let mut text = original.clone();
            if !text.ends_with(b"\n") {
                text.push(b'\n');
            }
            text.extend_from_slice(line.as_bytes());
            std::fs::write("/etc/hosts", text).unwrap();
            state.1 = Some(original);
        }
        state.0 += 1;
        HostsAlias
    }
}

impl Drop for HostsAlias {
    fn drop(&mut self) {
        let mut state = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
        state.0 -= 1;
        if state.0 == 0 {
            if let Some(original) = state.1.take() {
                let _ = std::fs::write("/etc/hosts", original);
            }
        }
    }
}

/// A per-port `certs.d/<alias>:<port>` directory of the real machine,
/// copied from what our command wrote under its root. On drop it is
/// removed, with every parent directory the copy had to create.
pub struct RealCertDir(PathBuf);

impl RealCertDir {
    pub fn copy(root: &Path, dir: &str) -> RealCertDir {
        let real = PathBuf::from(dir);
        let mut created = real.clone();
        while let Some(parent) = created.parent() {
            if parent.exists() {
                break;
            }
            created = parent.to_path_buf();
        }
        assert!(!real.exists(), "`{dir}` exists already");
        std::fs::create_dir_all(&real).unwrap();
        let ours = root.join(dir.trim_start_matches('/')).join("ca.crt");
        std::fs::copy(&ours, real.join("ca.crt")).unwrap();
        RealCertDir(created)
    }
}

impl Drop for RealCertDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
