//! A real load balancer for tests: Debian's `haproxy` in front of several
//! registry replicas, terminating TLS on 127.0.0.1 and sending each
//! request to the next replica in turn (`balance roundrobin`, health
//! checked on `/v2/`). Every request is logged (replica, status, request
//! line, `Location` of the answer) to a file the test reads.

use super::free_port;
use super::tls::TestCerts;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Haproxy {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

/// One logged request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// `r0`, `r1`, … (or `<NOSRV>`).
    pub server: String,
    pub status: u16,
    pub method: String,
    pub path: String,
    /// The `Location` the replica answered with, if any.
    pub location: String,
}

impl Haproxy {
    /// Round-robin over the replicas listening on `backends` (plain HTTP),
    /// serving TLS with `certs`.
    pub fn round_robin(backends: &[u16], certs: &TestCerts) -> Haproxy {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let pem = dir.path().join("lb.pem");
        std::fs::write(&pem, format!("{}{}", certs.cert_pem, certs.key_pem)).unwrap();
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(index, backend)| {
                format!("  server r{index} 127.0.0.1:{backend} check inter 300 fall 2 rise 1\n")
            })
            .collect();
        let config = format!(
            "global\n  log stdout format raw local0\n  maxconn 512\n\
             defaults\n  mode http\n  log global\n  timeout connect 2s\n  timeout client 300s\n  timeout server 300s\n  retries 3\n  option redispatch\n\
             frontend registry\n  bind 127.0.0.1:{port} ssl crt {pem}\n  capture response header Location len 300\n  log-format \"%s %ST %{{+Q}}r %hs\"\n  default_backend replicas\n\
             backend replicas\n  balance roundrobin\n  option httpchk GET /v2/\n  http-check expect rstatus ^(200|401)$\n{servers}",
            pem = pem.display(),
        );
        std::fs::write(dir.path().join("haproxy.cfg"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("haproxy.log")).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(dir.path().join("haproxy.cfg"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("haproxy is installed (tests/run-all.sh installs it)");
        let haproxy = Haproxy { dir, child, port };
        super::wait_until("haproxy", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        haproxy
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }

    /// Every request logged so far.
    pub fn requests(&self) -> Vec<Logged> {
        self.log().lines().filter_map(parse).collect()
    }
}

/// `r1 202 "PATCH /v2/x/blobs/uploads/abc HTTP/1.1" {/v2/x/…}`
fn parse(line: &str) -> Option<Logged> {
    let (server, rest) = line.split_once(' ')?;
    let (status, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix('"')?;
    let (request, rest) = rest.split_once('"')?;
    let mut words = request.split(' ');
    let (method, path) = (words.next()?, words.next()?);
    let location = rest
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .to_owned();
    Some(Logged {
        server: server.to_owned(),
        status: status.parse().ok()?,
        method: method.to_owned(),
        path: path.to_owned(),
        location,
    })
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
