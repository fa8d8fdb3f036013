//! Binding and serving: the only place the registry touches a socket. It
//! binds (dual-stack for `[::]`), wraps connections in TLS when configured,
//! serves HTTP/1.1 and HTTP/2 through hyper with the [`router`](super::router),
//! and shuts down gracefully on SIGTERM or SIGINT (stops accepting, lets
//! requests in flight finish, up to a deadline). A socket it cannot bind is
//! a [`BindError`] that says why in the user's terms (`port 5000 on
//! 127.0.0.1 is in use`). No protocol logic here.

use super::auth::Auth;
use super::config::ServerConfig;
use super::storage::Storage;
use super::token::Signer;
use super::{State, router, tls};
use crate::output::Printer;
use anyhow::{Context, Result};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
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
    let storage = Storage::open(&config.root)
        .with_context(|| format!("failed to open storage under `{}`", config.root.display()))?;
    let acceptor = match &config.tls {
        Some((cert, key)) => Some(TlsAcceptor::from(Arc::new(tls::server_config(cert, key)?))),
        None => None,
    };
    let open = config.users.is_empty();
    let auth = Auth::new(
        config.users,
        config.anonymous_read,
        Signer::random(config.token_ttl),
    );
    let state = Arc::new(State::new(
        storage,
        auth,
        config.public_url,
        acceptor.is_some(),
    ));
    let listener = bind(config.listen)?;
    let local = listener.local_addr()?;
    listening(local);
    if open && !local.ip().is_loopback() {
        printer.warn(format!(
            "no users are configured: this is an open registry, and anyone who reaches {local} may push and delete"
        ));
    }
    printer.status(format!(
        "registry listening on {local} ({}), storage `{}`",
        if acceptor.is_some() { "https" } else { "http" },
        config.root.display()
    ));
    run(listener, acceptor, router(state), shutdown_signal()).await;
    printer.status("registry stopped");
    Ok(())
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
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http2()
        .adaptive_window(true)
        .max_concurrent_streams(256);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let result = match acceptor {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => {
                        let conn = builder.serve_connection(TokioIo::new(tls), service);
                        watcher.watch(conn.into_owned()).await
                    }
                    Err(err) => {
                        tracing::debug!("TLS handshake with {peer} failed: {err}");
                        return;
                    }
                },
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(err) = result {
                tracing::debug!("connection from {peer} ended: {err}");
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
