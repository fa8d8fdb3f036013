//! The embedded buildset registry as a fixture: `zuul-image
//! run-buildset-registry` on 127.0.0.1 with a fresh root, its returned
//! connection data, files clients need (CA dir, auth file), and `registry
//! stop` on drop. The password travels only through files.

use super::{free_port, zuul_image};
use std::path::{Path, PathBuf};

pub struct BuildsetRegistry {
    pub root: tempfile::TempDir,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub ca_pem: String,
    /// The whole `secret_data.buildset_registry` value.
    pub value: serde_json::Value,
    docker_certs: Option<PathBuf>,
}

impl BuildsetRegistry {
    pub fn start() -> BuildsetRegistry {
        BuildsetRegistry::start_with(|_| {})
    }

    /// [`BuildsetRegistry::start`], with `configure` applied to the
    /// `run-buildset-registry` command first (its environment is the
    /// registry's).
    pub fn start_with(configure: impl FnOnce(&mut assert_cmd::Command)) -> BuildsetRegistry {
        let root = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = zuul_image();
        configure(&mut command);
        let output = command
            .args(["run-buildset-registry", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .arg("--root")
            .arg(root.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "run-buildset-registry failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let envelope: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let value = envelope["secret_data"]["buildset_registry"].clone();
        BuildsetRegistry {
            port,
            username: value["username"].as_str().unwrap().to_owned(),
            password: value["password"].as_str().unwrap().to_owned(),
            ca_pem: value["cert"].as_str().unwrap().to_owned(),
            value,
            root,
            docker_certs: None,
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A directory holding only `ca.crt`.
    pub fn cert_dir(&self) -> PathBuf {
        let dir = self.root.path().join("client-trust");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.crt"), &self.ca_pem).unwrap();
        dir
    }

    /// An auth file (mode 0600) with `user:password` for this registry.
    pub fn auth_file_with(&self, user: &str, password: &str) -> PathBuf {
        use base64::Engine;
        use std::os::unix::fs::PermissionsExt;
        let path = self.root.path().join(format!("auth-{user}.json"));
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let body = serde_json::json!({"auths": {self.address(): {"auth": token}}});
        std::fs::write(&path, body.to_string()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    pub fn auth_file(&self) -> PathBuf {
        self.auth_file_with(&self.username, &self.password)
    }

    /// Push the OCI layout at `layout` to `reference` (`name:tag`) on this
    /// registry with skopeo, as its user.
    pub fn push(&self, layout: &Path, reference: &str) {
        super::images::skopeo_push(
            layout,
            &format!("{}/{reference}", self.address()),
            &self.cert_dir(),
            Some(&self.auth_file()),
        );
    }

    /// Copy `reference` (`name:tag` or `name@digest`, every platform,
    /// digests preserved) from this registry to an OCI layout at `out`
    /// with skopeo, anonymously.
    pub fn pull(&self, reference: &str, out: &Path) -> std::process::Output {
        super::skopeo()
            .args([
                "copy",
                "--all",
                "--preserve-digests",
                "--quiet",
                "--src-cert-dir",
            ])
            .arg(self.cert_dir())
            .arg(format!("docker://{}/{reference}", self.address()))
            .arg(format!("oci:{}", out.display()))
            .output()
            .unwrap()
    }

    /// Make dockerd trust the registry's CA (`/etc/docker/certs.d`),
    /// removed again on drop.
    pub fn trust_in_docker(&mut self) {
        let dir = Path::new("/etc/docker/certs.d").join(self.address());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.crt"), &self.ca_pem).unwrap();
        self.docker_certs = Some(dir);
    }

    /// What the registry holds under `repository:tag` (a tag or a
    /// digest), read with our own client; panics when it is not there.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> zuul_image::registry::manifests::Manifest {
        use zuul_image::registry::auth::Scopes;
        use zuul_image::registry::credentials::Credential;
        use zuul_image::registry::{Registry, RegistryOptions};
        use zuul_image::secret::Secret;
        let mut options = RegistryOptions::new(self.address());
        options.ca_pems = vec![("buildset CA".into(), self.ca_pem.clone())];
        options.certs_dirs = Vec::new();
        options.credential = Some(Credential::basic(
            &self.username,
            Secret::new(self.password.clone()),
        ));
        let client = Registry::new(options).unwrap();
        client
            .get_manifest(repository, reference, &Scopes::pull(repository))
            .await
            .unwrap_or_else(|err| panic!("{repository}:{reference} is not in the registry: {err}"))
    }

    /// The registry's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("run/registry.log")).unwrap_or_default()
    }
}

impl Drop for BuildsetRegistry {
    fn drop(&mut self) {
        let _ = zuul_image()
            .args(["registry", "stop", "--root"])
            .arg(self.root.path())
            .output();
        if let Some(dir) = &self.docker_certs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
