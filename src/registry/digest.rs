//! The verifying stream every blob passes through on its way to a
//! destination; digests and hashing themselves are [`crate::digest`].
//!
//! The stream checks size and digest *before* it hands over the last byte,
//! so an upload with a `Content-Length` is never completed with content that
//! does not match: the request body fails instead and the registry discards
//! the upload. Pure data handling; no I/O of its own.

use super::Error;
use crate::digest::{Algorithm, Digest, Hasher};
use bytes::Bytes;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// The digest of `data` with the algorithm `like` names (`sha256:…`,
/// `sha512:…`; sha256 when it names none we know).
pub fn digest_like(like: &str, data: &[u8]) -> Digest {
    Digest::of(Algorithm::of(like).unwrap_or(Algorithm::Sha256), data)
}

/// Where the verifying stream leaves its reason when it fails, so the
/// caller can report "digest mismatch" rather than "error sending body".
pub type FailureSlot = Arc<Mutex<Option<Error>>>;

/// Called with the number of bytes in each chunk that passes.
pub type OnBytes = Box<dyn Fn(u64) + Send + Sync>;

/// Wraps a byte stream; yields it unchanged while hashing, and fails instead
/// of yielding the chunk that completes `size` when the digest is wrong
/// (or when the stream is longer or shorter than `size`).
pub struct Verified<S> {
    inner: S,
    what: String,
    expected: Digest,
    size: u64,
    seen: u64,
    hasher: Option<Hasher>,
    failure: FailureSlot,
    on_bytes: Option<OnBytes>,
}

impl<S> Verified<S> {
    pub fn new(
        inner: S,
        what: String,
        expected: &Digest,
        size: u64,
        failure: FailureSlot,
    ) -> Verified<S> {
        Verified {
            inner,
            what,
            expected: expected.clone(),
            size,
            seen: 0,
            hasher: Some(Hasher::new(expected.algorithm)),
            failure,
            on_bytes: None,
        }
    }

    pub fn on_bytes(mut self, callback: OnBytes) -> Verified<S> {
        self.on_bytes = Some(callback);
        self
    }

    fn fail(&mut self, err: Error) -> Poll<Option<Result<Bytes, std::io::Error>>> {
        let message = err.to_string();
        if let Ok(mut slot) = self.failure.lock() {
            slot.get_or_insert(err);
        }
        self.hasher = None;
        Poll::Ready(Some(Err(std::io::Error::other(message))))
    }
}

impl<S, E> Stream for Verified<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.hasher.is_none() {
            // Finished or failed: nothing more.
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Err(err))) => {
                let err = Error::SizeMismatch {
                    what: format!("{} (transfer broke off: {err})", this.what),
                    expected: this.size,
                    actual: this.seen,
                };
                this.fail(err)
            }
            Poll::Ready(None) => {
                if this.seen < this.size {
                    let err = Error::SizeMismatch {
                        what: this.what.clone(),
                        expected: this.size,
                        actual: this.seen,
                    };
                    return this.fail(err);
                }
                // Only an empty blob reaches the end with its hash unchecked.
                if let Some(hasher) = this.hasher.take() {
                    let actual = hasher.finish();
                    if actual != this.expected {
                        let err = Error::DigestMismatch {
                            what: this.what.clone(),
                            expected: this.expected.to_string(),
                            actual: actual.to_string(),
                        };
                        return this.fail(err);
                    }
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(chunk))) => {
                this.seen += chunk.len() as u64;
                if this.seen > this.size {
                    let err = Error::SizeMismatch {
                        what: this.what.clone(),
                        expected: this.size,
                        actual: this.seen,
                    };
                    return this.fail(err);
                }
                if let Some(hasher) = this.hasher.as_mut() {
                    hasher.update(&chunk);
                }
                if this.seen == this.size {
                    let actual = this.hasher.take().map(Hasher::finish);
                    if actual.as_ref() != Some(&this.expected) {
                        let err = Error::DigestMismatch {
                            what: this.what.clone(),
                            expected: this.expected.to_string(),
                            actual: actual.map(|d| d.to_string()).unwrap_or_default(),
                        };
                        return this.fail(err);
                    }
                }
                if let Some(on_bytes) = &this.on_bytes {
                    on_bytes(chunk.len() as u64);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use futures_util::stream;

    fn chunks(
        parts: &[&'static [u8]],
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    async fn run(
        parts: &[&'static [u8]],
        digest: &Digest,
        size: u64,
    ) -> (Vec<Result<Bytes, String>>, Option<Error>) {
        let slot = FailureSlot::default();
        let out: Vec<_> = Verified::new(chunks(parts), "blob".into(), digest, size, slot.clone())
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
            .await;
        let failure = slot.lock().unwrap().take();
        (out, failure)
    }

    #[test]
    fn digest_like_follows_the_prefix_or_falls_back_to_sha256() {
        let sha256_empty =
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(digest_like("sha256:", b"").to_string(), sha256_empty);
        assert_eq!(digest_like("md5:00", b"").to_string(), sha256_empty);
        assert_eq!(digest_like("", b"").to_string(), sha256_empty);
        assert!(
            digest_like("sha512:x", b"")
                .to_string()
                .starts_with("sha512:")
        );
    }

    #[tokio::test]
    async fn passes_matching_content() {
        let digest = digest_like("sha256:", b"hello world");
        let (out, failure) = run(&[b"hello ", b"world"], &digest, 11).await;
        assert!(failure.is_none());
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(Result::is_ok));
    }

    #[tokio::test]
    async fn withholds_the_last_chunk_on_mismatch() {
        let digest = digest_like("sha256:", b"hello world");
        let (out, failure) = run(&[b"hello ", b"WORLD"], &digest, 11).await;
        assert!(out[0].is_ok());
        assert!(out[1].is_err(), "the completing chunk must not pass");
        assert_eq!(out.len(), 2);
        match failure {
            Some(Error::DigestMismatch {
                expected, actual, ..
            }) => {
                assert_eq!(expected, digest.to_string());
                assert_eq!(actual, digest_like("sha256:", b"hello WORLD").to_string());
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn short_and_long_streams_fail() {
        let digest = digest_like("sha512:", b"abc");
        assert!(digest.to_string().starts_with("sha512:"));
        let (out, failure) = run(&[b"ab"], &digest, 3).await;
        assert!(out.last().unwrap().is_err());
        assert!(matches!(
            failure,
            Some(Error::SizeMismatch {
                expected: 3,
                actual: 2,
                ..
            })
        ));
        let (_, failure) = run(&[b"abcd"], &digest, 3).await;
        assert!(matches!(
            failure,
            Some(Error::SizeMismatch {
                expected: 3,
                actual: 4,
                ..
            })
        ));
        let (out, failure) = run(&[b"a", b"bc"], &digest, 3).await;
        assert!(failure.is_none() && out.len() == 2);
        let empty = digest_like("sha256:", b"");
        let (_, failure) = run(&[], &empty, 0).await;
        assert!(failure.is_none());
        let (_, failure) = run(&[], &digest, 0).await;
        assert!(matches!(failure, Some(Error::DigestMismatch { .. })));
    }
}
