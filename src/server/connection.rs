//! One accepted connection from handshake to close, with a deadline at
//! every stage, so that no slow or stalled client holds a connection (and
//! its file descriptor, buffers and permit) forever:
//!
//! - the TLS handshake must finish within `handshake-timeout`;
//! - the first request's headers must arrive within `header-timeout` of the
//!   connection's start (this covers the bytes hyper reads to tell HTTP/1.1
//!   from HTTP/2, which have no timer of their own); later HTTP/1.1 requests
//!   get the same from hyper's own header timer, which runs as soon as the
//!   previous response is done;
//! - with no request in flight, the connection is closed after
//!   `idle-timeout` (an HTTP/2 connection nobody uses; HTTP/2 pings do not
//!   keep it open);
//! - a response the client stops reading (a write pending longer than
//!   `idle-timeout`) is cut off;
//! - request bodies are timed per read by the router (`body-timeout`).
//!
//! A watchdog per connection checks these from the activity the connection's
//! I/O ([`Watched`]) and its requests ([`Tracked`] response bodies) record.
//! This module serves one connection; accepting and limits across
//! connections are `listen`'s.

use super::config::Limits;
use axum::Router;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::Watcher;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower::ServiceExt;

/// What a connection has been doing, as its I/O and requests record it.
/// Times are milliseconds since `epoch`; `0` in `write_blocked` means no
/// write is waiting.
struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    idle_since: AtomicU64,
    write_blocked: AtomicU64,
}

/// Why a watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    NoRequest,
    Idle,
    NotReading,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            write_blocked: AtomicU64::new(0),
        })
    }

    fn now(&self) -> u64 {
        // +1: zero means "not set".
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Whether the connection has outlived one of its deadlines.
    fn expired(&self, limits: &Limits) -> Option<Expired> {
        let now = self.now();
        let past =
            |since: u64, limit: Duration| now.saturating_sub(since) > limit.as_millis() as u64;
        let blocked = self.write_blocked.load(Ordering::SeqCst);
        if blocked != 0 && past(blocked, limits.idle_timeout) {
            return Some(Expired::NotReading);
        }
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        if self.requests.load(Ordering::SeqCst) == 0 && past(1, limits.header_timeout) {
            return Some(Expired::NoRequest);
        }
        let idle = self.idle_since.load(Ordering::SeqCst);
        past(idle.max(1), limits.idle_timeout).then_some(Expired::Idle)
    }

    /// Resolve when a deadline passes.
    async fn watchdog(&self, limits: &Limits) -> Expired {
        let shortest = limits.header_timeout.min(limits.idle_timeout);
        let tick = (shortest / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        loop {
            tokio::time::sleep(tick).await;
            if let Some(why) = self.expired(limits) {
                return why;
            }
        }
    }
}

/// A request in flight; dropped when its response body is done.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.idle_since.store(activity.now(), Ordering::SeqCst);
        activity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request counted as in flight until it
/// has been sent (or dropped).
struct Tracked {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connection's I/O, recording when a write has to wait for the client.
struct Watched<I> {
    io: I,
    activity: Arc<Activity>,
}

impl<I> Watched<I> {
    fn wrote<T>(&self, poll: Poll<T>) -> Poll<T> {
        let blocked = &self.activity.write_blocked;
        match &poll {
            Poll::Ready(_) => blocked.store(0, Ordering::SeqCst),
            Poll::Pending => {
                let _ = blocked.compare_exchange(
                    0,
                    self.activity.now(),
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
            }
        }
        poll
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.wrote(poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serve HTTP/1.1 or HTTP/2 on one connection (already through TLS, if
/// any) until the client closes it, a deadline passes, or the server
/// shuts down. Requests carry the client's address as `ConnectInfo`.
pub async fn serve<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    builder: Arc<Builder<TokioExecutor>>,
    watcher: Watcher,
    limits: Arc<Limits>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new();
    let io = Watched {
        io,
        activity: activity.clone(),
    };
    let requests = activity.clone();
    let service = tower::service_fn(move |mut request: axum::http::Request<_>| {
        let in_flight = requests.begin();
        request.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await?;
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                axum::body::Body::new(Tracked {
                    body,
                    _in_flight: in_flight,
                })
            }))
        }
    });
    let conn = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    let conn = watcher.watch(conn.into_owned());
    tokio::select! {
        result = conn => {
            if let Err(err) = result {
                tracing::debug!("connection from {peer} ended: {err}");
            }
        }
        why = activity.watchdog(&limits) => {
            tracing::debug!("closed the connection from {peer}: {why:?}");
        }
    }
}

/// Log a recurring failure at most once per `every`, saying how many were
/// left out meanwhile.
pub struct Throttle {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    pub fn new(every: Duration) -> Throttle {
        Throttle {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(left out since the last one)` when this occurrence may be
    /// logged.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_timeout: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(300),
            ..Limits::default()
        }
    }

    #[test]
    fn deadlines() {
        let limits = limits();
        let activity = Activity::new();
        assert_eq!(activity.expired(&limits), None);
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(activity.expired(&limits), Some(Expired::NoRequest));
        // A request in flight is never idle, however long it takes.
        let request = activity.begin();
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(activity.expired(&limits), None);
        drop(request);
        assert_eq!(activity.expired(&limits), None, "idle from now");
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(activity.expired(&limits), Some(Expired::Idle));
        // A response the client does not read.
        let _request = activity.begin();
        activity
            .write_blocked
            .store(activity.now(), Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(activity.expired(&limits), Some(Expired::NotReading));
    }

    #[test]
    fn throttled_logging() {
        let mut throttle = Throttle::new(Duration::from_secs(10));
        let start = Instant::now();
        assert_eq!(throttle.allow(start), Some(0));
        for i in 1..1000 {
            assert_eq!(throttle.allow(start + Duration::from_millis(i)), None);
        }
        assert_eq!(throttle.allow(start + Duration::from_secs(11)), Some(999));
        assert_eq!(throttle.allow(start + Duration::from_secs(12)), None);
    }
}
