//! The start status a supervised `registry serve` leaves for the processes
//! that wait on it: one small JSON file (`run/status.json` of a buildset
//! registry), written by `serve --status-file` once it listens or once it
//! has failed to start, and read by the supervisor (no restart loop on a
//! failure that would repeat) and by `run-buildset-registry` (which fails at
//! once with the reason instead of waiting out its timeout).
//!
//! Only the file format and its reading and writing; deciding what a
//! status means is the supervisor's and `buildset_run`'s.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// How far a `registry serve` got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ServeStatus {
    /// Bound and serving on `address`.
    Listening { address: String },
    /// Never got to serve: the config is wrong, the port is in use, the
    /// address is not this machine's. `message` says why.
    Failed {
        message: String,
        #[serde(default)]
        cause: Cause,
    },
}

/// The failures a caller can say what to do about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// Another program listens on the port.
    PortInUse,
    /// The listen address is not one of this machine's.
    NotLocal,
    #[default]
    Other,
}

/// Record `status` in `path` (atomically; the file holds no secret).
pub fn write(path: &Path, status: &ServeStatus) -> Result<(), crate::fs::Error> {
    let json = serde_json::to_string(status).unwrap_or_default();
    crate::fs::write_atomic(path, json.as_bytes(), crate::fs::PUBLIC)
}

/// The status in `path`; `None` when there is none (not written yet, or
/// unreadable: a status is a hint, never a reason to fail by itself).
pub fn read(path: &Path) -> Option<ServeStatus> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Forget an earlier status before a new start.
pub fn clear(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_absence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        assert_eq!(read(&path), None);
        let failed = ServeStatus::Failed {
            message: "port 5000 on 0.0.0.0 is in use".into(),
            cause: Cause::PortInUse,
        };
        write(&path, &failed).unwrap();
        assert_eq!(read(&path), Some(failed));
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains(r#""state":"failed""#)
        );
        clear(&path);
        assert_eq!(read(&path), None);
        std::fs::write(&path, "junk").unwrap();
        assert_eq!(read(&path), None);
    }
}
