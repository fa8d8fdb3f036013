//! Private auth files for engine CLIs: registry credentials written to a
//! fresh directory only this user can read (0700), as `config.json` (0600,
//! docker's format, which podman and buildah read as `--authfile` too), and
//! removed with the directory when the [`AuthFile`] is dropped. This is how
//! a password reaches a child process without being on its command line
//! or in its environment.

use super::{Error, RegistryAuth};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A private auth file; gone when dropped.
#[derive(Debug)]
pub struct AuthFile {
    dir: tempfile::TempDir,
}

impl AuthFile {
    /// Write `auths` (at least one) to a new private file.
    pub fn write(auths: &[RegistryAuth]) -> Result<AuthFile, Error> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| Error::AuthFile { source };
        let dir = tempfile::Builder::new()
            .prefix("zuul-image-auth-")
            .tempdir()
            .map_err(|err| failed(err.into()))?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(|err| failed(err.into()))?;
        let file = AuthFile { dir };
        let mut text: Option<String> = None;
        for auth in auths {
            let merged = crate::host::auth::merge(
                "config.json",
                text.as_deref(),
                &auth.registry,
                &auth.username,
                &auth.password,
            )
            .map_err(|err| failed(err.into()))?;
            text = Some(merged);
        }
        let text = text.unwrap_or_else(|| "{}".to_owned());
        crate::fs::write_atomic(&file.path(), text.as_bytes(), crate::fs::PRIVATE)
            .map_err(|err| failed(err.into()))?;
        Ok(file)
    }

    /// The file (`--authfile`).
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("config.json")
    }

    /// Its directory (`DOCKER_CONFIG` / `--config` for the docker CLI).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    #[test]
    fn private_while_it_lives_gone_after() {
        let auths = [
            RegistryAuth {
                registry: "127.0.0.1:5000".into(),
                username: "zuul".into(),
                password: Secret::new("s3cret"),
            },
            RegistryAuth {
                registry: "quay.io".into(),
                username: "bot".into(),
                password: Secret::new("other"),
            },
        ];
        let file = AuthFile::write(&auths).unwrap();
        let path = file.path();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(file.dir()), 0o700);
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // base64("zuul:s3cret")
        assert_eq!(doc["auths"]["127.0.0.1:5000"]["auth"], "enV1bDpzM2NyZXQ=");
        assert!(doc["auths"]["quay.io"]["auth"].is_string());
        let dir = file.dir().to_path_buf();
        drop(file);
        assert!(!path.exists() && !dir.exists());
    }
}
