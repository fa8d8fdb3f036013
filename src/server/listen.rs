//! Binding and serving: the only place the registry touches a socket. It
//! binds (dual-stack for `[::]`), raises the open-file limit, accepts up to
//! `limits.max-connections` connections at once (more are refused at once,
//! not left queued), sets TCP keepalive, wraps connections in TLS when
//! configured (within `limits.handshake-timeout`), hands each to
//! [`connection::serve`] for HTTP/1.1 or HTTP/2 with its deadlines, expires
//! idle uploads, and shuts down gracefully on SIGTERM or SIGINT (stops
//! accepting, lets requests in flight finish, up to a deadline). A socket it
//! cannot bind is a [`BindError`] that says why in the user's terms (`port
//! 5000 on 127.0.0.1 is in use`). No protocol logic here.

use super::auth::Auth;
use super::config::{Limits, ServerConfig, StorageConfig};
use super::connection::{self, Throttle};
use super::storage::Storage;
use super::storage::fs::FsStore;
use super::storage::s3::S3Store;
use super::token::Signer;
use super::{State, router, tls};
use crate::output::Printer;
use anyhow::{Context, Result};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// Why the registry cannot listen. Retrying does not help until something
/// else changes (an operation failure, exit 1).
#[derive(Debug, Error)]
pub enum BindError {
    #[error("port {} on {} is in use", .addr.port(), show_ip(.addr))]
    InUse { addr: SocketAddr },
    #[error("cannot listen on `{addr}`: {} is not an address of this machine", show_ip(.addr))]
    NotLocal { addr: SocketAddr },
    #[error("cannot listen on `{addr}`")]
    Other {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// An IP as users write it next to a port: IPv6 in brackets.
fn show_ip(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
    }
}

/// How long requests in flight may take to finish after SIGTERM.
const DRAIN: Duration = Duration::from_secs(20);

/// File descriptors kept free of connections (storage, logs, the listener),
/// and how many each connection may need (its socket and a blob file).
const SPARE_FILES: u64 = 64;
const FILES_PER_CONNECTION: u64 = 2;

/// Raise the soft open-file limit to the hard one (under systemd the soft
/// limit is 1,024); the soft limit in effect afterwards.
pub fn raise_open_file_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => return hard,
            Err(err) => tracing::warn!("could not raise the open-file limit from {soft}: {err}"),
        }
    }
    soft
}

/// `limits` with at most as many connections as `open_files` descriptors
/// can serve.
pub fn fit_to_open_files(limits: Limits, open_files: u64) -> Limits {
    let fit = (open_files.saturating_sub(SPARE_FILES) / FILES_PER_CONNECTION).max(1);
    let max_connections = limits.max_connections.min(fit as usize);
    Limits {
        max_connections,
        ..limits
    }
}

/// Bind `addr`; an IPv6 wildcard also accepts IPv4 clients.
pub fn bind(addr: SocketAddr) -> Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .context("failed to create a socket")?;
    if addr.is_ipv6() {
        // Best effort: dual-stack where the host allows it.
        let _ = socket.set_only_v6(false);
    }
    socket.set_reuse_address(true)?;
    socket
        .bind(&addr.into())
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AddrInUse => BindError::InUse { addr },
            std::io::ErrorKind::AddrNotAvailable => BindError::NotLocal { addr },
            _ => BindError::Other { addr, source },
        })?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into()).context("failed to register the listener")
}

/// Resolve storage, auth and TLS, bind, and serve until SIGTERM/SIGINT;
/// `listening` hears the bound address before the first request is taken.
pub async fn serve(
    config: ServerConfig,
    printer: &Printer,
    listening: impl FnOnce(SocketAddr),
) -> Result<()> {
    let open_files = raise_open_file_limit();
    let limits = fit_to_open_files(config.limits.clone(), open_files);
    if limits.max_connections < config.limits.max_connections {
        printer.warn(format!(
            "serving at most {} connections at once: the open-file limit is {open_files}",
            limits.max_connections
        ));
    }
    let storage = open_storage(&config.storage).await?;
    let acceptor = match &config.tls {
        Some((cert, key)) => Some(TlsAcceptor::from(Arc::new(tls::server_config(cert, key)?))),
        None => None,
    };
    let open = config.users.is_empty();
    let signer = match &config.token_key {
        Some(key) => Signer::with_key(key, config.token_ttl),
        None => Signer::random(config.token_ttl),
    };
    let auth = Auth::new(config.users, config.anonymous_read, signer)
        .with_failed_login_limit(limits.failed_logins_per_minute);
    let state = Arc::new(
        State::new(storage, auth, config.public_url, acceptor.is_some())
            .with_limits(limits.clone()),
    );
    let listener = bind(config.listen)?;
    let local = listener.local_addr()?;
    listening(local);
    if open && !local.ip().is_loopback() {
        printer.warn(format!(
            "no users are configured: this is an open registry, and anyone who reaches {local} may push and delete"
        ));
    }
    printer.status(format!(
        "registry listening on {local} ({}), storage {}",
        if acceptor.is_some() { "https" } else { "http" },
        state.storage.describe()
    ));
    let expiry = tokio::spawn(expire_uploads(state.clone()));
    run(listener, acceptor, router(state), limits, shutdown_signal()).await;
    expiry.abort();
    printer.status("registry stopped");
    Ok(())
}

/// Open the configured storage; an object store is checked (endpoint,
/// keys, bucket, conditional writes) before anything is served.
pub async fn open_storage(config: &StorageConfig) -> Result<Storage> {
    Ok(match config {
        StorageConfig::Filesystem(root) => Arc::new(
            FsStore::open(root)
                .with_context(|| format!("failed to open storage under `{}`", root.display()))?,
        ),
        StorageConfig::S3(settings) => Arc::new(
            S3Store::connect(settings)
                .await
                .with_context(|| format!("failed to open storage {}", settings.describe()))?,
        ),
    })
}

/// Remove idle uploads every so often, for as long as the server runs.
async fn expire_uploads(state: Arc<State>) {
    let after = state.limits.upload_expiry;
    let every = (after / 4).clamp(Duration::from_millis(250), Duration::from_secs(300));
    loop {
        tokio::time::sleep(every).await;
        match state.storage.expire_uploads(after).await {
            Ok(removed) if !removed.is_empty() => tracing::info!(
                "removed {} uploads idle for more than {}",
                removed.len(),
                humantime::format_duration(after)
            ),
            Ok(_) => {}
            Err(err) => tracing::warn!("failed to expire idle uploads: {}", err.detail()),
        }
    }
}

/// Resolve when SIGTERM or SIGINT arrives.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then drain.
pub async fn run(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.tcp_keepalive)
        .keep_alive_timeout(Duration::from_secs(20))
        .adaptive_window(true)
        .max_concurrent_streams(256);
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let limits = Arc::new(limits);
    let mut accept_errors = Throttle::new(Duration::from_secs(10));
    let mut refusals = Throttle::new(Duration::from_secs(10));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    if let Some(left_out) = accept_errors.allow(Instant::now()) {
                        tracing::warn!("accept failed: {err} ({left_out} more left out of the log)");
                    }
                    // Usually out of file descriptors: give connections
                    // time to close.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if let Some(left_out) = refusals.allow(Instant::now()) {
                tracing::warn!(
                    "refused a connection from {peer}: {} connections are open ({left_out} more refused since)",
                    limits.max_connections
                );
            }
            refuse(stream, acceptor.is_some());
            continue;
        };
        configure(&stream, &limits);
        let app = app.clone();
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let acceptor = acceptor.clone();
        let limits = limits.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match acceptor {
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    match tokio::time::timeout(limits.handshake_timeout, handshake).await {
                        Ok(Ok(tls)) => {
                            connection::serve(tls, peer, app, builder, watcher, limits).await;
                        }
                        Ok(Err(err)) => tracing::debug!("TLS handshake with {peer} failed: {err}"),
                        Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                    }
                }
                None => connection::serve(stream, peer, app, builder, watcher, limits).await,
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            tracing::warn!("requests still running after {}s; stopping anyway", DRAIN.as_secs());
        }
    }
}

/// No delay, and keepalive probes after `tcp-keepalive` of silence, so a
/// vanished peer's connection does not stay open.
fn configure(stream: &TcpStream, limits: &Limits) {
    let _ = stream.set_nodelay(true);
    let probe_every = (limits.tcp_keepalive / 4).max(Duration::from_secs(1));
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(limits.tcp_keepalive)
        .with_interval(probe_every)
        .with_retries(4);
    if let Err(err) = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!("could not set TCP keepalive: {err}");
    }
}

/// Turn away a connection over the limit at once: a plain-HTTP client is
/// told 503 (if its socket takes the bytes without waiting); then close.
fn refuse(stream: TcpStream, tls: bool) {
    if !tls {
        let _ = stream.try_write(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    drop(stream);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_fit_the_open_file_limit() {
        let limits = Limits::default();
        assert_eq!(
            fit_to_open_files(limits.clone(), 1 << 20).max_connections,
            4096
        );
        assert_eq!(fit_to_open_files(limits.clone(), 1024).max_connections, 480);
        assert_eq!(fit_to_open_files(limits, 10).max_connections, 1);
    }
}
