//! An upload's state object (`_uploads/<id>/state`) and its
//! compare-and-swap: every change is a PUT with `If-Match` on the version
//! read (or last written), so of two replicas changing one upload at once
//! exactly one succeeds and the other learns it lost. The state says what
//! the upload holds (its committed offset, the hash over those bytes,
//! the parts of its multipart object and the staged bytes after them),
//! which part numbers may have been used, and which request, if any, is
//! writing to it now.

use super::raw::Part;
use super::sha256::{Saved, Sha256};
use super::{S3Store, Written};
use crate::server::storage::{Error, Result};
use bytes::Bytes;
use object_store::PutMode;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// The multipart object an upload's parts go to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Multipart {
    /// The key the object will have: the upload's own `data`, or the
    /// blob's content key when the digest was known from the first byte.
    pub key: String,
    /// The store's upload id.
    pub id: String,
}

/// Committed bytes after the last part, not yet enough for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Staged {
    pub offset: u64,
    pub len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct UploadState {
    pub name: String,
    /// Bytes committed: what a status GET reports.
    pub offset: u64,
    /// SHA-256 over the committed bytes.
    pub hash: Saved,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<Multipart>,
    /// Committed parts, ascending.
    #[serde(default)]
    pub parts: Vec<Part>,
    #[serde(default)]
    pub staged: Vec<Staged>,
    /// Part numbers below this may have been used by some request.
    pub next_part: u32,
    /// The request writing to the upload now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
    /// Cancelled, expired or completed: nobody may use it any more.
    #[serde(default)]
    pub closed: bool,
}

impl UploadState {
    pub fn new(name: &str) -> UploadState {
        UploadState {
            name: name.to_owned(),
            offset: 0,
            hash: Sha256::new().save(),
            multipart: None,
            parts: Vec::new(),
            staged: Vec::new(),
            next_part: 1,
            writer: None,
            closed: false,
        }
    }

    pub fn staged_len(&self) -> u64 {
        self.staged.iter().map(|piece| piece.len).sum()
    }
}

/// A state as read (or last written) with its version.
#[derive(Debug, Clone)]
pub(super) struct Versioned {
    pub state: UploadState,
    pub e_tag: String,
    /// When it was last written, by the store's clock (as read).
    pub modified: SystemTime,
}

impl S3Store {
    fn state_error(&self, id: &str, message: String) -> Error {
        Error::Corrupt {
            store: self.name.clone(),
            key: self.keys.upload_state(id).to_string(),
            what: "an upload state",
            message,
        }
    }

    /// Write the state of a new upload; it must not exist yet.
    pub(super) async fn create_state(&self, id: &str, state: &UploadState) -> Result<()> {
        let key = self.keys.upload_state(id);
        match self.put(&key, encode(state), PutMode::Create).await? {
            Written::Done(_) => Ok(()),
            _ => Err(self.state_error(id, "an upload of this id exists already".into())),
        }
    }

    /// The state of upload `id`, `None` when there is none.
    pub(super) async fn load_state(&self, id: &str) -> Result<Option<Versioned>> {
        let key = self.keys.upload_state(id);
        let Some((bytes, meta)) = self.get(&key).await? else {
            return Ok(None);
        };
        let state: UploadState =
            serde_json::from_slice(&bytes).map_err(|err| self.state_error(id, err.to_string()))?;
        let e_tag = meta
            .e_tag
            .ok_or_else(|| self.state_error(id, "the store gave it no ETag".into()))?;
        Ok(Some(Versioned {
            state,
            e_tag,
            modified: meta.last_modified.into(),
        }))
    }

    /// Replace `current` by `new` if nobody changed it meanwhile; the new
    /// version, or `None` when someone did.
    pub(super) async fn swap_state(
        &self,
        id: &str,
        current: &Versioned,
        new: UploadState,
    ) -> Result<Option<Versioned>> {
        let key = self.keys.upload_state(id);
        match self.update(&key, encode(&new), &current.e_tag).await? {
            Written::Done(result) => {
                let e_tag = result
                    .e_tag
                    .ok_or_else(|| self.state_error(id, "the store gave it no ETag".into()))?;
                Ok(Some(Versioned {
                    state: new,
                    e_tag,
                    modified: SystemTime::now(),
                }))
            }
            _ => Ok(None),
        }
    }
}

fn encode(state: &UploadState) -> Bytes {
    Bytes::from(serde_json::to_vec(state).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_old_fields_default() {
        let mut state = UploadState::new("org/app");
        state.parts.push(Part {
            number: 3,
            etag: "\"e\"".into(),
            size: 5,
        });
        state.staged.push(Staged { offset: 5, len: 2 });
        let text = String::from_utf8(encode(&state).to_vec()).unwrap();
        assert_eq!(serde_json::from_str::<UploadState>(&text).unwrap(), state);
        assert_eq!(state.staged_len(), 2);
        let minimal =
            r#"{"name":"a","offset":0,"hash":{"state":"","len":0,"tail":""},"next_part":1}"#;
        let parsed: UploadState = serde_json::from_str(minimal).unwrap();
        assert!(!parsed.closed && parsed.writer.is_none() && parsed.parts.is_empty());
    }
}
