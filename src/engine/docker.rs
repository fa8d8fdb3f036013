//! The Docker Engine API through bollard, on a unix socket only (no TCP,
//! no TLS provider compiled in). `ping` tells whether a daemon answers;
//! `mirrors` reads the `registry-mirrors` it runs with, which shows whether
//! a reload took effect. Must not start, stop or configure the daemon.

use bollard::{ClientVersion, Docker};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// API 1.41 (Docker 20.10): every daemon still in use speaks it, and the
/// fields read here exist in it. Docker 25+ refuses clients below 1.24.
const API_VERSION: &ClientVersion = &ClientVersion {
    major_version: 1,
    minor_version: 41,
};

#[derive(Debug, Error)]
pub enum Error {
    #[error("unsupported docker host `{0}`: only `unix://` sockets are supported")]
    Scheme(String),
    #[error("docker daemon at `{socket}` did not answer")]
    Api {
        socket: String,
        #[source]
        source: bollard::errors::Error,
    },
}

/// A Docker daemon's API socket.
#[derive(Debug, Clone)]
pub struct DockerHost {
    socket: PathBuf,
}

impl DockerHost {
    /// From `unix:///path` or a plain path.
    pub fn parse(text: &str) -> Result<DockerHost, Error> {
        if let Some(path) = text.strip_prefix("unix://") {
            return Ok(DockerHost {
                socket: PathBuf::from(path),
            });
        }
        if text.contains("://") {
            return Err(Error::Scheme(text.to_owned()));
        }
        Ok(DockerHost {
            socket: PathBuf::from(text),
        })
    }

    pub fn from_path(path: impl Into<PathBuf>) -> DockerHost {
        DockerHost {
            socket: path.into(),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `unix://<socket>`, as dockerd's `-H` takes it.
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn client(&self, timeout: Duration) -> Result<Docker, Error> {
        Docker::connect_with_unix(
            &self.socket.to_string_lossy(),
            timeout.as_secs().max(1),
            API_VERSION,
        )
        .map_err(|source| self.api(source))
    }

    fn api(&self, source: bollard::errors::Error) -> Error {
        Error::Api {
            socket: self.socket.display().to_string(),
            source,
        }
    }

    /// Whether a daemon answers `GET /_ping` within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> bool {
        if !self.socket.exists() {
            return false;
        }
        let Ok(client) = self.client(timeout) else {
            return false;
        };
        matches!(
            tokio::time::timeout(timeout, client.ping()).await,
            Ok(Ok(_))
        )
    }

    /// Wait until the daemon answers, up to `limit`.
    pub async fn wait_until_up(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.ping(Duration::from_secs(2)).await {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The registry mirrors the running daemon uses.
    pub async fn mirrors(&self) -> Result<Vec<String>, Error> {
        let client = self.client(Duration::from_secs(10))?;
        let info = client.info().await.map_err(|source| self.api(source))?;
        Ok(info
            .registry_config
            .and_then(|config| config.mirrors)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            DockerHost::parse("unix:///run/d.sock").unwrap().socket(),
            Path::new("/run/d.sock")
        );
        assert_eq!(
            DockerHost::parse("/run/d.sock").unwrap().url(),
            "unix:///run/d.sock"
        );
        assert!(DockerHost::parse("tcp://1.2.3.4:2375").is_err());
    }

    #[tokio::test]
    async fn no_socket_is_no_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let host = DockerHost::from_path(dir.path().join("none.sock"));
        assert!(!host.ping(Duration::from_millis(200)).await);
    }
}
