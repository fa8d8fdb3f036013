//! `registry serve` against clients that hold connections without finishing
//! (issue 12, "fix first" 2): half-sent requests beyond the open-file limit
//! a systemd service starts with, connections beyond `max-connections`,
//! headers sent byte by byte, a TLS handshake that never comes, a response
//! nobody reads, an HTTP/2 connection nobody uses; plus TCP keepalive and
//! uploads that expire on their own.
//! Each runs the real binary on 127.0.0.1 with short limits.

use crate::support::wait_until;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `registry serve` with `limits` (YAML lines under `limits:`), started
/// under `ulimit` arguments, killed on drop.
struct Served {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(limits: &str, ulimit: &str, tls: bool) -> Served {
        let dir = tempfile::tempdir().unwrap();
        // Port 0, read back from the log: no race with other tests' ports.
        let mut config = format!(
            "listen: 127.0.0.1:0\nroot: storage\nlimits:\n{}",
            limits
                .lines()
                .map(|line| format!("  {line}\n"))
                .collect::<String>()
        );
        if tls {
            let generated = zuul_image::server::tls::generate(&["127.0.0.1".into()]).unwrap();
            std::fs::write(dir.path().join("cert.pem"), generated.cert_pem).unwrap();
            std::fs::write(dir.path().join("key.pem"), generated.key_pem).unwrap();
            config.push_str("tls-cert: cert.pem\ntls-key: key.pem\n");
        }
        let config_path = dir.path().join("registry.yaml");
        std::fs::write(&config_path, config).unwrap();
        let log = dir.path().join("serve.log");
        let binary = assert_cmd::cargo::cargo_bin("zuul-image");
        let child = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "ulimit {ulimit} && exec \"$0\" registry serve --config \"$1\""
            ))
            .arg(&binary)
            .arg(&config_path)
            .env_remove("ZUUL_IMAGE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut port = 0;
        wait_until("registry serve", Duration::from_secs(10), || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            port = text
                .split("listening on 127.0.0.1:")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|port| port.parse().ok())
                .unwrap_or(0);
            port != 0
        });
        Served {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        stream
    }

    /// A whole `GET /v2/` on a fresh connection: the status line.
    fn ping(&self) -> String {
        let mut stream = self.connect();
        stream
            .write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.lines().next().unwrap_or_default().to_owned()
    }

    fn root(&self) -> PathBuf {
        self._dir.path().join("storage")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The soft and hard open-file limits of the server process.
    fn open_file_limits(&self) -> (String, String) {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.child.id())).unwrap();
        let line = limits
            .lines()
            .find(|line| line.starts_with("Max open files"))
            .unwrap()
            .to_owned();
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields[3].to_owned(), fields[4].to_owned())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the server closed `stream` (EOF or reset) within `limit`,
/// ignoring anything it sent first.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

const HALF_SENT: &[u8] = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n";

#[test]
fn issue_12_half_sent_requests_beyond_the_systemd_file_limit_lock_nobody_out() {
    // This test holds 1,100 connections itself.
    zuul_image::server::listen::raise_open_file_limit();
    // systemd's default: soft 1,024; the hard limit stays what it is.
    let served = Served::start("header-timeout: 3s", "-Sn 1024", false);
    let mut held: Vec<TcpStream> = (0..1100)
        .map(|_| {
            let mut stream = served.connect();
            stream.write_all(HALF_SENT).unwrap();
            stream
        })
        .collect();
    let started = Instant::now();
    assert_eq!(served.ping(), "HTTP/1.1 200 OK");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // And the half-sent ones are dropped after the header timeout.
    let deadline = Duration::from_secs(8);
    for (index, stream) in held.iter_mut().enumerate() {
        assert!(
            closed_within(stream, deadline),
            "connection {index} still open"
        );
    }
    let (soft, hard) = served.open_file_limits();
    assert_eq!(
        soft, hard,
        "the soft open-file limit was raised to the hard one"
    );
    assert!(
        hard == "unlimited" || hard.parse::<u64>().unwrap() > 2300,
        "{hard}"
    );
}

#[test]
fn issue_12_connections_beyond_the_limit_are_refused_not_queued() {
    let served = Served::start("max-connections: 20\nheader-timeout: 2s", "-Sn 4096", false);
    let _held: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut stream = served.connect();
            stream.write_all(HALF_SENT).unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    assert_eq!(served.ping(), "HTTP/1.1 503 Service Unavailable");
    assert!(asked.elapsed() < Duration::from_secs(1), "refused at once");
    // Once the held ones time out, clients are served again.
    wait_until("a free connection", Duration::from_secs(6), || {
        served.ping() == "HTTP/1.1 200 OK"
    });
    let log = served.log();
    assert!(log.contains("refused a connection"), "{log}");
}

#[test]
fn issue_12_a_low_file_limit_caps_connections_instead_of_flooding_the_log() {
    // 80 descriptors fit 8 connections; 60 clients arrive at once.
    let served = Served::start("header-timeout: 2s", "-n 80", false);
    let _held: Vec<TcpStream> = (0..60)
        .map(|_| {
            let mut stream = served.connect();
            let _ = stream.write_all(HALF_SENT);
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(served.ping(), "HTTP/1.1 503 Service Unavailable");
    wait_until("a free connection", Duration::from_secs(6), || {
        served.ping() == "HTTP/1.1 200 OK"
    });
    let log = served.log();
    assert!(log.contains("serving at most 8 connections"), "{log}");
    let lines = log
        .lines()
        .filter(|line| line.contains("accept failed") || line.contains("refused a connection"))
        .count();
    assert!((1..=2).contains(&lines), "{lines} lines:\n{log}");
}

#[test]
fn issue_12_headers_sent_byte_by_byte_are_cut_off() {
    let served = Served::start("header-timeout: 1s", "-Sn 4096", false);
    let mut slow = served.connect();
    let mut silent = served.connect();
    let started = Instant::now();
    let request =
        b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut cut_off = None;
    for byte in request.iter().cycle().take(200) {
        if slow.write_all(&[*byte]).is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        if closed_within(&mut slow, Duration::from_millis(1)) {
            cut_off = Some(started.elapsed());
            break;
        }
    }
    let cut_off = cut_off.expect("the trickling connection was never dropped");
    assert!(cut_off < Duration::from_secs(3), "{cut_off:?}");
    assert!(cut_off >= Duration::from_millis(900), "{cut_off:?}");
    // A connection that sends nothing at all goes the same way.
    assert!(closed_within(&mut silent, Duration::from_secs(2)));
    assert_eq!(served.ping(), "HTTP/1.1 200 OK");
}

#[test]
fn issue_12_a_tls_handshake_that_never_comes_is_dropped() {
    let served = Served::start("handshake-timeout: 1s", "-Sn 4096", true);
    let mut silent = served.connect();
    let mut partial = served.connect();
    partial.write_all(&[0x16, 0x03, 0x01, 0x02]).unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(3)));
    assert!(closed_within(&mut partial, Duration::from_secs(3)));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn issue_12_a_response_nobody_reads_is_cut_off() {
    let served = Served::start("idle-timeout: 1s", "-Sn 4096", false);
    let blob: Vec<u8> = (0..(48u32 << 20)).map(|i| (i % 253) as u8).collect();
    let digest = format!("sha256:{}", sha256_hex(&blob));
    let mut push = served.connect();
    push.write_all(
        format!(
            "POST /v2/org/big/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            blob.len()
        )
        .as_bytes(),
    )
    .unwrap();
    push.write_all(&blob).unwrap();
    let mut answer = String::new();
    push.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let mut pull = served.connect();
    pull.write_all(
        format!("GET /v2/org/big/blobs/{digest} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
    .unwrap();
    // Do not read for longer than the idle timeout, then take what came.
    std::thread::sleep(Duration::from_secs(4));
    let mut received = Vec::new();
    pull.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = pull.read_to_end(&mut received);
    assert!(
        received.len() < blob.len(),
        "got all {} bytes: the stalled response was not cut off",
        received.len()
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn issue_12_connections_have_tcp_keepalive() {
    let served = Served::start("tcp-keepalive: 30s", "-Sn 4096", false);
    let _open = served.connect();
    let mut timers = String::new();
    wait_until(
        "a keepalive timer on the accepted socket",
        Duration::from_secs(5),
        || {
            let output = Command::new("ss")
                .args(["-tnoH", "state", "established"])
                .arg(format!("( sport = :{} )", served.port))
                .output()
                .unwrap();
            timers = String::from_utf8_lossy(&output.stdout).into_owned();
            // The socket may show up before the server has set its options.
            timers.contains("keepalive")
        },
    );
    assert!(timers.contains("keepalive"), "{timers}");
}

#[test]
fn issue_12_idle_uploads_expire_on_their_own() {
    let served = Served::start("upload-expiry: 1s", "-Sn 4096", false);
    let mut start = served.connect();
    start
        .write_all(b"POST /v2/org/app/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    start.read_to_string(&mut answer).unwrap();
    let location = answer
        .lines()
        .find_map(|line| line.strip_prefix("location: "))
        .unwrap()
        .trim()
        .to_owned();
    let id = location.rsplit('/').next().unwrap().to_owned();
    let file = served.root().join("uploads").join(&id);
    assert!(Path::new(&file).exists());
    wait_until("the idle upload to expire", Duration::from_secs(6), || {
        !file.exists()
    });
    let mut status = served.connect();
    status
        .write_all(
            format!("GET {location} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let mut answer = String::new();
    status.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}

/// The server's established connections on its port.
fn established(served: &Served) -> usize {
    let output = Command::new("ss")
        .args(["-tnH", "state", "established"])
        .arg(format!("( sport = :{} )", served.port))
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).lines().count()
}

#[tokio::test]
async fn issue_12_an_idle_http2_connection_is_closed() {
    let served = Served::start("idle-timeout: 1s\nheader-timeout: 30s", "-Sn 4096", false);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .http2_keep_alive_interval(Duration::from_millis(200))
        .http2_keep_alive_while_idle(true)
        .build()
        .unwrap();
    let reply = client
        .get(format!("http://127.0.0.1:{}/v2/", served.port))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.version(), reqwest::Version::HTTP_2);
    assert_eq!(reply.status(), 200);
    assert_eq!(established(&served), 1);
    // Pings every 200 ms do not count as use.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(established(&served), 0, "the idle connection is still open");
}
