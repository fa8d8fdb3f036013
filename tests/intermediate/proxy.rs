//! A TCP proxy on 127.0.0.1 that forwards to a registry and, once, cuts a
//! connection after it has carried a given number of bytes from the server
//! to the client: a network failure in the middle of a blob download.
//! TLS passes through untouched.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
