//! Prune-safe writes and removals without `rename`: the S3 form of the
//! filesystem store's touch-then-check and rename-aside (`fs::aside`).
//!
//! Prune removes an object `K` only through [`S3Store::remove_if_older`]:
//! (1) create the marker `_pruning/K` (`If-None-Match: *`: one prune per
//! key), (2) read the `LastModified` of `K` (and of its companions, e.g. a
//! blob's `used`), (3) when all are older than the cut-off, delete `K` and
//! its companions, (4) delete the marker.
//!
//! The server writes or touches `K` and only then checks: (a) write `K`,
//! (b) the marker is absent, (c) `K` is still there. If (b) finds the
//! marker absent, either (b) came before (1) — then (a) came before (2)
//! and prune read a young time and kept `K` — or after (4), and then (c)
//! sees whether (3) removed `K`. A marker that is present means prune is
//! between (1) and (4): the server waits for it to go and checks again,
//! rewriting `K` when what it wrote was removed. So whatever the server
//! answers success for stays, and all times are the store's own.
//!
//! A prune killed between (1) and (4) leaves a marker behind; the server
//! gives up waiting for it after [`MARKER_WAIT`] (the request fails and the
//! client retries), and markers older than [`STALE_MARKER`] are removed by
//! the next prune or upload expiry round.

use super::{S3Store, Written};
use crate::server::storage::{Error, Result};
use bytes::Bytes;
use object_store::ObjectMeta;
use object_store::PutMode;
use object_store::path::Path;
use std::time::{Duration, SystemTime};

/// How long a request waits for a prune to finish with one key.
const MARKER_WAIT: Duration = Duration::from_secs(5);

/// A marker this old belongs to a prune that died.
pub(super) const STALE_MARKER: Duration = Duration::from_secs(600);

/// How often a write is retried while prunes keep removing what it wrote.
pub(super) const ATTEMPTS: usize = 5;

impl S3Store {
    /// `true` once no prune is removing `key` (at once when none is);
    /// `false` when a marker stayed for [`MARKER_WAIT`].
    async fn unmarked(&self, key: &Path) -> Result<bool> {
        let marker = self.keys.marker(key);
        let mut pause = Duration::from_millis(20);
        let mut waited = Duration::ZERO;
        loop {
            if self.head(&marker).await?.is_none() {
                return Ok(true);
            }
            if waited >= MARKER_WAIT {
                return Ok(false);
            }
            tokio::time::sleep(pause).await;
            waited += pause;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    fn held(&self, key: &Path) -> Error {
        Error::Corrupt {
            store: self.name.clone(),
            key: key.to_string(),
            what: "a prune marker",
            message: format!(
                "a prune kept removing it for more than {}s",
                MARKER_WAIT.as_secs()
            ),
        }
    }

    /// Write `key` so that a concurrent prune cannot remove it unseen.
    pub(super) async fn put_guarded(&self, key: &Path, bytes: Bytes) -> Result<()> {
        for _ in 0..ATTEMPTS {
            self.put(key, bytes.clone(), PutMode::Overwrite).await?;
            if !self.unmarked(key).await? {
                return Err(self.held(key));
            }
            if self.head(key).await?.is_some() {
                return Ok(());
            }
        }
        Err(self.held(key))
    }

    /// Make `key` young by writing it again as it is, if it exists; `false`
    /// when it does not or a prune removed it.
    pub(super) async fn touch_guarded(&self, key: &Path) -> Result<bool> {
        for _ in 0..ATTEMPTS {
            let Some((bytes, meta)) = self.get(key).await? else {
                return Ok(false);
            };
            let written = match &meta.e_tag {
                Some(e_tag) => self.update(key, bytes, e_tag).await?,
                None => self.put(key, bytes, PutMode::Overwrite).await?,
            };
            if matches!(written, Written::Conflict) {
                // Removed or rewritten meanwhile: look again.
                continue;
            }
            if !self.unmarked(key).await? {
                return Ok(false);
            }
            return Ok(self.head(key).await?.is_some());
        }
        Ok(false)
    }

    /// Make content `data` young through its companion `used` (the bytes
    /// are never rewritten); `false` when the content is not stored.
    pub(super) async fn touch_companion(&self, data: &Path, used: &Path) -> Result<bool> {
        if self.head(data).await?.is_none() {
            return Ok(false);
        }
        self.put(used, Bytes::new(), PutMode::Overwrite).await?;
        if !self.unmarked(data).await? {
            return Ok(false);
        }
        Ok(self.head(data).await?.is_some())
    }

    /// Prune's half: remove `key` and its `companions` if the youngest of
    /// them is older than `cutoff`; the metadata of `key` when removed.
    pub(super) async fn remove_if_older(
        &self,
        key: &Path,
        companions: &[Path],
        cutoff: SystemTime,
    ) -> Result<Option<ObjectMeta>> {
        let marker = self.keys.marker(key);
        match self.put(&marker, Bytes::new(), PutMode::Create).await? {
            Written::Done(_) => {}
            // Another prune is at it.
            _ => return Ok(None),
        }
        let removed = self.remove_marked(key, companions, cutoff).await;
        let unmarked = self.delete(&marker).await;
        let removed = removed?;
        unmarked?;
        Ok(removed)
    }

    async fn remove_marked(
        &self,
        key: &Path,
        companions: &[Path],
        cutoff: SystemTime,
    ) -> Result<Option<ObjectMeta>> {
        let Some(meta) = self.head(key).await? else {
            return Ok(None);
        };
        let mut youngest: SystemTime = meta.last_modified.into();
        for companion in companions {
            if let Some(other) = self.head(companion).await? {
                youngest = youngest.max(other.last_modified.into());
            }
        }
        if youngest >= cutoff {
            return Ok(None);
        }
        self.delete(key).await?;
        for companion in companions {
            self.delete(companion).await?;
        }
        Ok(Some(meta))
    }

    /// Remove markers a dead prune left (older than [`STALE_MARKER`] by
    /// the store's clock `now`); how many.
    pub(super) async fn clear_stale_markers(&self, now: SystemTime) -> Result<usize> {
        let cutoff = now
            .checked_sub(STALE_MARKER)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut removed = 0;
        for meta in self.list(&self.keys.markers()).await? {
            if SystemTime::from(meta.last_modified) < cutoff {
                self.delete(&meta.location).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::test_store;
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs real components: run tests/run-all.sh"]
    async fn issue_13_removal_rechecks_the_time_and_touches_wait_for_a_marker() {
        let store = test_store().await;
        let key = store
            .keys
            .layer("org/app", &crate::digest::Digest::sha256_of(b"x"));
        store.put_guarded(&key, Bytes::new()).await.unwrap();
        // Young by the store's clock: kept, marker gone again.
        let before = store.clock().await.unwrap() - Duration::from_secs(5);
        assert!(
            store
                .remove_if_older(&key, &[], before)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .head(&store.keys.marker(&key))
                .await
                .unwrap()
                .is_none()
        );

        // A prune between its marker and its removal: the touch waits,
        // then sees the key gone.
        let marker = store.keys.marker(&key);
        store
            .put(&marker, Bytes::new(), PutMode::Create)
            .await
            .unwrap();
        let touch = store.touch_guarded(&key);
        let prune = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            store.delete(&key).await.unwrap();
            store.delete(&marker).await.unwrap();
        };
        let (touched, ()) = tokio::join!(touch, prune);
        assert!(!touched.unwrap(), "the touch saw the removal");

        // A write during a prune that then kept nothing is written again.
        store
            .put(&marker, Bytes::new(), PutMode::Create)
            .await
            .unwrap();
        let write = store.put_guarded(&key, Bytes::new());
        let prune = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            store.delete(&key).await.unwrap();
            store.delete(&marker).await.unwrap();
        };
        let (written, ()) = tokio::join!(write, prune);
        written.unwrap();
        assert!(store.head(&key).await.unwrap().is_some(), "written again");

        // Old by the store's clock: removed.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let cutoff = store.clock().await.unwrap();
        assert!(
            store
                .remove_if_older(&key, &[], cutoff)
                .await
                .unwrap()
                .is_some()
        );
        assert!(!store.touch_guarded(&key).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs real components: run tests/run-all.sh"]
    async fn issue_13_a_dead_prunes_marker_holds_writes_back_until_cleared() {
        let store = test_store().await;
        let key = store.keys.tag("org/app", "v1");
        let marker = store.keys.marker(&key);
        store
            .put(&marker, Bytes::new(), PutMode::Create)
            .await
            .unwrap();
        let began = std::time::Instant::now();
        assert!(store.put_guarded(&key, Bytes::new()).await.is_err());
        assert!(began.elapsed() >= MARKER_WAIT);
        let now = store.clock().await.unwrap();
        assert_eq!(
            store.clear_stale_markers(now).await.unwrap(),
            0,
            "still fresh"
        );
        let later = now + STALE_MARKER + Duration::from_secs(1);
        assert_eq!(store.clear_stale_markers(later).await.unwrap(), 1);
        store.put_guarded(&key, Bytes::new()).await.unwrap();
    }
}
