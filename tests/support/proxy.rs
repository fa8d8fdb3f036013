//! TCP proxies on 127.0.0.1 in front of a registry; TLS passes through
//! untouched.
//!
//! - [`start`] cuts, once, the first connection whose server-to-client
//!   traffic passes a given number of bytes: a network failure in the
//!   middle of a blob download.
//! - [`start_resetting`] resets connections at random: each new connection
//!   is, with a given probability, reset (RST, both sides) after a random
//!   number of bytes in either direction, so uploads and downloads alike
//!   are cut at random offsets. Seeded, so a failing run can be replayed.

use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

pub struct Proxy {
    pub addr: SocketAddr,
    /// Set once a connection was cut.
    pub cut: Arc<AtomicBool>,
}

/// Forward to `target`; cut the first connection whose server-to-client
/// traffic passes `cut_after` bytes.
pub async fn start(target: SocketAddr, cut_after: u64) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cut = Arc::new(AtomicBool::new(false));
    let flag = cut.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let flag = flag.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let upstream = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                    let _ = server_write.shutdown().await;
                });
                let seen = AtomicU64::new(0);
                let mut buffer = vec![0u8; 16 * 1024];
                loop {
                    let n = match server_read.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let total = seen.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                    if total > cut_after && !flag.swap(true, Ordering::SeqCst) {
                        // Deliver part of this read, then drop both sides.
                        let _ = client_write.write_all(&buffer[..n / 2]).await;
                        upstream.abort();
                        return;
                    }
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = client_write.shutdown().await;
                upstream.abort();
            });
        }
    });
    Proxy { addr, cut }
}

/// How a [`start_resetting`] proxy misbehaves.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// The chance that a new connection is reset at some point.
    pub probability: f64,
    /// A reset connection is cut after a uniformly drawn number of bytes
    /// (both directions counted) below this.
    pub max_offset: u64,
    pub seed: u64,
}

/// What a [`start_resetting`] proxy did.
#[derive(Debug, Default)]
pub struct Counts {
    pub connections: AtomicU64,
    pub resets: AtomicU64,
    /// The offsets the resets happened at, for the report.
    pub offsets: Mutex<Vec<u64>>,
}

pub struct ResettingProxy {
    pub addr: SocketAddr,
    pub counts: Arc<Counts>,
}

/// Forward to `target`, resetting connections at random as `faults` says.
pub async fn start_resetting(target: SocketAddr, faults: Faults) -> ResettingProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(Counts::default());
    let shared = counts.clone();
    tokio::spawn(async move {
        let mut rng = rand::rngs::StdRng::seed_from_u64(faults.seed);
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            shared.connections.fetch_add(1, Ordering::SeqCst);
            let cut_at = rng
                .gen_bool(faults.probability)
                .then(|| rng.gen_range(0..faults.max_offset.max(1)));
            let counts = shared.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                if let Some(offset) = pipe(client, server, cut_at).await {
                    counts.resets.fetch_add(1, Ordering::SeqCst);
                    counts.offsets.lock().unwrap().push(offset);
                }
            });
        }
    });
    ResettingProxy { addr, counts }
}

/// Forward both ways until both sides are done, or reset both once
/// `cut_at` bytes went through; answers the offset of a reset.
async fn pipe(client: TcpStream, server: TcpStream, cut_at: Option<u64>) -> Option<u64> {
    let seen = Arc::new(AtomicU64::new(0));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let mut up = tokio::spawn(forward(client_read, server_write, seen.clone(), cut_at));
    let mut down = tokio::spawn(forward(server_read, client_write, seen, cut_at));
    tokio::select! {
        cut = &mut up => match cut.ok().flatten() {
            Some(offset) => { down.abort(); Some(offset) }
            None => down.await.ok().flatten(),
        },
        cut = &mut down => match cut.ok().flatten() {
            Some(offset) => { up.abort(); Some(offset) }
            None => up.await.ok().flatten(),
        },
    }
}

/// Copy `from` to `to`; past `cut_at` bytes in total (shared with the
/// other direction), forward only part of the read and reset both sockets
/// (`SO_LINGER` 0, so dropping them sends RST).
async fn forward(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    seen: Arc<AtomicU64>,
    cut_at: Option<u64>,
) -> Option<u64> {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = seen.fetch_add(n as u64, Ordering::SeqCst);
        if let Some(cut_at) = cut_at.filter(|&cut_at| before + n as u64 > cut_at) {
            let keep = cut_at.saturating_sub(before) as usize;
            let _ = to.write_all(&buffer[..keep.min(n)]).await;
            for stream in [from.as_ref(), to.as_ref()] {
                let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
            }
            return Some(cut_at);
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
    None
}
