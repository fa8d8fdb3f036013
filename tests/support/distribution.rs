//! A real distribution registry (Debian's `docker-registry`, 2.8) on
//! 127.0.0.1 (or the IPv6 loopback `[::1]`) with TLS and htpasswd (bcrypt),
//! in a temp dir, stopped on drop.
//!
//! It stands for the site's intermediate registry and for final registries.
//! Clients get its CA as PEM, as a `certs.d`-style directory, and an auth
//! file; no password ever goes on a command line.

use super::tls::{TestCerts, server_certs};
use super::wait_until;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Distribution {
    child: Child,
    /// The loopback address it listens on (`127.0.0.1` or `::1`).
    pub ip: IpAddr,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub certs: TestCerts,
    pub dir: tempfile::TempDir,
    docker_certs: Option<PathBuf>,
}

/// How to start it.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Require htpasswd credentials.
    pub auth: bool,
    /// Log every request (`registry.log`, see [`Distribution::requests`]).
    pub access_log: bool,
    /// Require a client certificate signed by its CA (`http.tls.clientcas`).
    pub client_certs: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            auth: true,
            access_log: false,
            client_certs: false,
        }
    }
}

impl Distribution {
    /// TLS + htpasswd, user `testuser` with a random password.
    pub fn start() -> Distribution {
        Distribution::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Distribution {
        Distribution::start_named(options, &[])
    }

    /// Like [`Distribution::start_with`], with extra DNS names in its
    /// certificate (`zuul-jobs.buildset-registry` for a buildset registry
    /// stand-in).
    pub fn start_named(options: Options, names: &[&str]) -> Distribution {
        Distribution::start_on(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            options,
            server_certs(names),
        )
    }

    /// On 127.0.0.1 with the given server certificate (a site's
    /// self-signed one, say).
    pub fn start_with_certs(options: Options, certs: TestCerts) -> Distribution {
        Distribution::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), options, certs)
    }

    /// TLS + htpasswd on the IPv6 loopback `[::1]` (its certificate
    /// covers `::1`). Panics when the machine has no IPv6 loopback, so a
    /// test that needs it fails rather than passing untested.
    pub fn start_ipv6() -> Distribution {
        Distribution::start_on(
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            Options::default(),
            server_certs(&[]),
        )
    }

    fn start_on(ip: IpAddr, options: Options, certs: TestCerts) -> Distribution {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind(SocketAddr::new(ip, 0))
            .unwrap_or_else(|err| panic!("cannot listen on {ip} on this machine: {err}"))
            .local_addr()
            .unwrap()
            .port();
        let password: String = {
            use rand::Rng;
            rand::thread_rng()
                .sample_iter(&rand::distributions::Alphanumeric)
                .take(24)
                .map(char::from)
                .collect()
        };
        let username = "testuser".to_owned();
        std::fs::write(dir.path().join("server.crt"), &certs.cert_pem).unwrap();
        std::fs::write(dir.path().join("server.key"), &certs.key_pem).unwrap();
        // Clients read every `*.key` in a cert dir as a client key, so the
        // CA they trust lives apart from the server's key pair.
        std::fs::create_dir_all(dir.path().join("trust")).unwrap();
        std::fs::write(dir.path().join("trust/ca.crt"), &certs.ca_pem).unwrap();
        let hash = bcrypt::hash(&password, 5).unwrap();
        std::fs::write(dir.path().join("htpasswd"), format!("{username}:{hash}\n")).unwrap();
        let auth = if options.auth {
            format!(
                "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                dir.path().join("htpasswd").display()
            )
        } else {
            String::new()
        };
        let client_cas = if options.client_certs {
            format!(
                "    clientcas:\n      - {}/trust/ca.crt\n",
                dir.path().display()
            )
        } else {
            String::new()
        };
        // `addr` quoted: a bare `[::1]:port` is a YAML flow sequence.
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: {quiet}\n\
             storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n\
             http:\n  addr: \"{addr}\"\n  secret: {secret}\n  tls:\n    certificate: {dir}/server.crt\n    key: {dir}/server.key\n\
             {client_cas}{auth}",
            root = dir.path().join("storage").display(),
            addr = SocketAddr::new(ip, port),
            dir = dir.path().display(),
            secret = hex_secret(),
            quiet = !options.access_log,
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(binary())
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry is installed (package docker-registry)");
        let registry = Distribution {
            child,
            ip,
            port,
            username,
            password,
            certs,
            dir,
            docker_certs: None,
        };
        wait_until("distribution to listen", Duration::from_secs(20), || {
            TcpStream::connect(SocketAddr::new(ip, port)).is_ok()
        });
        registry
    }

    /// `127.0.0.1:<port>` or `[::1]:<port>`, as in image references.
    pub fn address(&self) -> String {
        SocketAddr::new(self.ip, self.port).to_string()
    }

    /// A directory holding `ca.crt`, for skopeo's `--src-cert-dir` /
    /// `--dest-cert-dir` and podman's `--cert-dir`.
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.path().join("trust")
    }

    /// An auth file (docker config.json / containers auth.json format,
    /// mode 0600) holding this registry's credentials.
    pub fn auth_file(&self) -> PathBuf {
        use base64::Engine;
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join("auth.json");
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.username, self.password));
        let body = serde_json::json!({"auths": {self.address(): {"auth": token}}});
        std::fs::write(&path, body.to_string()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// The `intermediate_registry` variable for this registry.
    pub fn intermediate_registry_var(&self) -> serde_json::Value {
        serde_json::json!({
            "host": self.ip.to_string(),
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "cert": self.certs.ca_pem,
        })
    }

    /// Make dockerd trust this registry: `/etc/docker/certs.d/<addr>/ca.crt`,
    /// removed again on drop. The directory is per port, so parallel
    /// registries do not collide.
    pub fn trust_in_docker(&mut self) {
        let dir = Path::new("/etc/docker/certs.d").join(self.address());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.crt"), &self.certs.ca_pem).unwrap();
        self.docker_certs = Some(dir);
    }

    /// `METHOD path` of every request logged so far (with
    /// [`Options::access_log`]).
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| {
                // `127.0.0.1 - - [date] "GET /v2/ HTTP/2.0" 200 …`
                let request = line.split("] \"").nth(1)?;
                let mut parts = request.split(' ');
                Some(format!("{} {}", parts.next()?, parts.next()?))
            })
            .collect()
    }

    /// Where its storage keeps `repository`'s tags (one directory each).
    pub fn tags_dir(&self, repository: &str) -> PathBuf {
        self.dir
            .path()
            .join("storage/docker/registry/v2/repositories")
            .join(repository)
            .join("_manifests/tags")
    }

    /// The registry's log, for assertions and failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.docker_certs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn binary() -> &'static str {
    // Debian installs distribution as docker-registry.
    if Path::new("/usr/bin/docker-registry").exists() {
        "/usr/bin/docker-registry"
    } else {
        "registry"
    }
}

fn hex_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
