//! Blob downloads that survive a broken connection: [`Download`] yields a
//! source blob's bytes and, when the GET breaks part-way, asks the source
//! for the rest with `Range: bytes=<received>-` and carries on with the
//! same stream, so the caller's hasher and destination upload see every
//! byte exactly once.
//!
//! A resume is taken only when the source answers `206 Partial Content`
//! with a `Content-Range` that starts where the bytes stopped and ends at
//! the blob's end. Anything else (a 200 with the whole blob, another range,
//! an error) ends the stream with an error, and the copy engine starts the
//! blob over from a fresh upload session. Resumes are bounded by the source
//! registry's retry policy (attempts and time budget). This module checks no
//! digest: the caller wraps the stream in [`super::digest::Verified`].

use super::Error;
use super::auth::Scopes;
use super::client::Registry;
use super::retry::{Backoff, Failed};
use crate::digest::Digest;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use std::sync::Arc;

/// A parsed `Content-Range: bytes <first>-<last>/<total>` (RFC 9110
/// §14.4); `total` is `None` for `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub first: u64,
    pub last: u64,
    pub total: Option<u64>,
}

impl ContentRange {
    /// Parse a satisfied byte range; `None` for anything else (another
    /// unit, `bytes */N`, `last` before `first` or past `total`).
    pub fn parse(value: &str) -> Option<ContentRange> {
        let (unit, rest) = value.trim().split_once(' ')?;
        if !unit.eq_ignore_ascii_case("bytes") {
            return None;
        }
        let (range, total) = rest.trim().split_once('/')?;
        let (first, last) = range.split_once('-')?;
        let number = |text: &str| -> Option<u64> {
            let text = text.trim();
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            text.parse().ok()
        };
        let first = number(first)?;
        let last = number(last)?;
        let total = match total.trim() {
            "*" => None,
            other => Some(number(other)?),
        };
        if last < first || total.is_some_and(|total| last >= total) {
            return None;
        }
        Some(ContentRange { first, last, total })
    }

    /// Whether this is the rest of a `size`-byte blob from `offset` on.
    pub fn is_rest_of(&self, offset: u64, size: u64) -> bool {
        self.first == offset
            && self.last.checked_add(1) == Some(size)
            && self.total.is_none_or(|total| total == size)
    }
}

/// Which blob to fetch, from where.
struct Source {
    registry: Arc<Registry>,
    repository: String,
    digest: Digest,
    size: u64,
    scopes: Scopes,
}

struct State {
    source: Source,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    received: u64,
    /// Resumes are bounded by the source registry's retry policy.
    backoff: Backoff,
    done: bool,
}

/// A blob's bytes from its source, resumed with `Range` after a break.
pub struct Download {
    inner: BoxStream<'static, Result<Bytes, Error>>,
}

impl Download {
    /// Start the GET of `digest` (`size` bytes) from `repository`; errors
    /// of this first request are returned as they are.
    pub async fn start(
        registry: &Arc<Registry>,
        repository: &str,
        digest: &Digest,
        size: u64,
        scopes: &Scopes,
    ) -> Result<Download, Error> {
        let response = registry.get_blob(repository, digest, size, scopes).await?;
        let state = State {
            source: Source {
                registry: registry.clone(),
                repository: repository.to_owned(),
                digest: digest.clone(),
                size,
                scopes: scopes.clone(),
            },
            body: response.bytes_stream().boxed(),
            received: 0,
            backoff: Backoff::new(&registry.retry),
            done: false,
        };
        Ok(Download {
            inner: futures_util::stream::unfold(state, next).boxed(),
        })
    }
}

impl Stream for Download {
    type Item = Result<Bytes, Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// The next chunk; after a break, a resume within the retry policy.
async fn next(mut state: State) -> Option<(Result<Bytes, Error>, State)> {
    if state.done {
        return None;
    }
    loop {
        let broke = match state.body.next().await {
            Some(Ok(chunk)) => {
                state.received += chunk.len() as u64;
                return Some((Ok(chunk), state));
            }
            // Short or not, the verifying stream judges the length.
            None => return None,
            Some(Err(err)) => err,
        };
        let source = &state.source;
        let registry = &source.registry;
        let url = registry.url(&format!("{}/blobs/{}", source.repository, source.digest));
        let broke = registry.transport_error(&reqwest::Method::GET, &url, &broke);
        if state.received >= source.size {
            state.done = true;
            return Some((Err(broke), state));
        }
        let broke = Failed::from(broke);
        let Some(delay) = state.backoff.after(&broke) else {
            state.done = true;
            return Some((Err(broke.error), state));
        };
        tracing::warn!(
            "{}; resuming `{}` at byte {} of {} in {delay:?}",
            broke.error,
            source.digest,
            state.received,
            source.size
        );
        tokio::time::sleep(delay).await;
        let resumed = registry
            .get_blob_from(
                &source.repository,
                &source.digest,
                source.size,
                state.received,
                &source.scopes,
            )
            .await;
        match resumed {
            Ok(response) => state.body = response.bytes_stream().boxed(),
            Err(err) => {
                state.done = true;
                return Some((Err(err), state));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u64, last: u64, total: Option<u64>) -> Option<ContentRange> {
        Some(ContentRange { first, last, total })
    }

    #[test]
    fn parses_satisfied_byte_ranges() {
        let cases = [
            ("bytes 0-99/100", range(0, 99, Some(100))),
            ("bytes 42-99/100", range(42, 99, Some(100))),
            ("bytes 42-99/*", range(42, 99, None)),
            ("Bytes 7-7/8", range(7, 7, Some(8))),
            ("  bytes  1-2/3 ", range(1, 2, Some(3))),
            ("bytes */100", None),
            ("bytes 50-40/100", None),
            ("bytes 0-100/100", None),
            ("bytes 0-99", None),
            ("bytes -5-99/100", None),
            ("bytes +5-99/100", None),
            ("bytes 5-/100", None),
            ("items 0-99/100", None),
            ("0-99/100", None),
            ("bytes 0-99/1x0", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(ContentRange::parse(value), want, "{value:?}");
        }
    }

    #[test]
    fn only_the_exact_rest_of_the_blob_is_a_resume() {
        let rest = ContentRange::parse("bytes 40-99/100").unwrap();
        assert!(rest.is_rest_of(40, 100));
        assert!(!rest.is_rest_of(41, 100), "starts elsewhere");
        assert!(!rest.is_rest_of(40, 101), "ends early");
        let open = ContentRange::parse("bytes 40-99/*").unwrap();
        assert!(open.is_rest_of(40, 100));
        let other_total = ContentRange::parse("bytes 40-99/200").unwrap();
        assert!(!other_total.is_rest_of(40, 100));
    }
}
