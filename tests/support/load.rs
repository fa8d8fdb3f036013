//! The reliability suite's HTTP client and load generator: a reqwest client
//! that trusts one test CA and sends Basic credentials, the distribution API
//! calls the suite needs (monolithic and chunked blob pushes, manifest PUT,
//! verified GETs), and [`run_for`], which keeps N workers busy for a bounded
//! time and records every latency and error. Figures are printed by the
//! tests and copied into `docs/reliability.md`; nothing here asserts on time.

use anyhow::{Context, Result, bail};
use sha2::Digest as _;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    auth: Option<String>,
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

impl Client {
    /// `base` is `https://host:port`; `basic` the user and password.
    pub fn new(base: &str, ca_pem: &str, basic: Option<(&str, &str)>) -> Client {
        use base64::Engine;
        use zuul_image::registry::tls;
        let address = base.trim_start_matches("https://");
        let trust = tls::trust(address, &[("test CA".into(), ca_pem.to_owned())], &[]).unwrap();
        let config = tls::client_config(trust).unwrap();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build()
            .unwrap();
        let auth = basic.map(|(user, password)| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        });
        Client {
            http,
            base: base.to_owned(),
            auth,
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let request = self.http.request(method, url);
        match &self.auth {
            Some(auth) => request.header("authorization", auth),
            None => request,
        }
    }

    /// Push `bytes` as a blob of `name`: in one POST, or (with `chunk`)
    /// POST, PATCHes of `chunk` bytes and a closing PUT.
    pub async fn push_blob(&self, name: &str, bytes: &[u8], chunk: Option<usize>) -> Result<()> {
        let digest = sha256(bytes);
        let Some(chunk) = chunk else {
            let reply = self
                .request(
                    reqwest::Method::POST,
                    &format!("/v2/{name}/blobs/uploads/?digest={digest}"),
                )
                .header("content-type", "application/octet-stream")
                .body(bytes.to_vec())
                .send()
                .await?;
            return expect(reply, 201, "monolithic blob push").await;
        };
        let reply = self
            .request(reqwest::Method::POST, &format!("/v2/{name}/blobs/uploads/"))
            .send()
            .await?;
        let mut location = location(&reply)?;
        expect(reply, 202, "upload start").await?;
        let mut offset = 0;
        for piece in bytes.chunks(chunk.max(1)) {
            let reply = self
                .request(reqwest::Method::PATCH, &location)
                .header("content-type", "application/octet-stream")
                .header(
                    "content-range",
                    format!("{offset}-{}", offset + piece.len() - 1),
                )
                .body(piece.to_vec())
                .send()
                .await?;
            location = location_of(&reply).unwrap_or(location);
            expect(reply, 202, "upload chunk").await?;
            offset += piece.len();
        }
        let separator = if location.contains('?') { '&' } else { '?' };
        let reply = self
            .request(
                reqwest::Method::PUT,
                &format!("{location}{separator}digest={digest}"),
            )
            .send()
            .await?;
        expect(reply, 201, "upload close").await
    }

    pub async fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<()> {
        let reply = self
            .request(
                reqwest::Method::PUT,
                &format!("/v2/{name}/manifests/{reference}"),
            )
            .header("content-type", media_type)
            .body(bytes.to_vec())
            .send()
            .await?;
        expect(reply, 201, "manifest put").await
    }

    /// GET `/v2/<name>/<kind>/<reference>`: `None` on 404, the body on 200,
    /// an error otherwise.
    pub async fn get(&self, name: &str, kind: &str, reference: &str) -> Result<Option<Vec<u8>>> {
        let reply = self
            .request(reqwest::Method::GET, &format!("/v2/{name}/{kind}/{reference}"))
            .header(
                "accept",
                "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
            )
            .send()
            .await?;
        match reply.status().as_u16() {
            404 => Ok(None),
            200 => Ok(Some(reply.bytes().await?.to_vec())),
            status => bail!(
                "GET {name}/{kind}/{reference}: {status} {}",
                reply.text().await.unwrap_or_default()
            ),
        }
    }
}

fn location_of(reply: &reqwest::Response) -> Option<String> {
    Some(reply.headers().get("location")?.to_str().ok()?.to_owned())
}

fn location(reply: &reqwest::Response) -> Result<String> {
    location_of(reply).context("no Location header")
}

/// `reply` must have `status`; its body is read either way, so the
/// connection goes back to the pool.
pub async fn expect(reply: reqwest::Response, status: u16, what: &str) -> Result<()> {
    let got = reply.status().as_u16();
    let body = reply.text().await.unwrap_or_default();
    if got != status {
        bail!("{what}: {got} {body}");
    }
    Ok(())
}

/// An OCI image manifest over `config` and `layers` (raw blobs).
pub fn manifest(config: &[u8], layers: &[&[u8]]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": config.len()},
        "layers": layers.iter().map(|layer| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(layer), "size": layer.len(),
        })).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// Latencies and errors of one kind of request.
#[derive(Default, Clone)]
pub struct Stats {
    pub latencies: Vec<Duration>,
    pub errors: Vec<String>,
    pub bytes: u64,
    pub elapsed: Duration,
}

impl Stats {
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index]
    }

    pub fn summary(&self, what: &str) -> String {
        let seconds = self.elapsed.as_secs_f64().max(1e-9);
        format!(
            "{what}: {} requests, {} errors, p50 {:.1} ms, p99 {:.1} ms, {:.0} req/s, {:.1} MiB/s",
            self.latencies.len(),
            self.errors.len(),
            self.percentile(0.50).as_secs_f64() * 1000.0,
            self.percentile(0.99).as_secs_f64() * 1000.0,
            self.latencies.len() as f64 / seconds,
            self.bytes as f64 / seconds / (1 << 20) as f64,
        )
    }
}

/// Run `workers` tasks, each calling `op(worker, iteration)` again and
/// again until `duration` has passed (a request in flight then finishes);
/// `op` answers the bytes it moved. Every call's latency and error is
/// recorded.
pub async fn run_for<F, Fut>(workers: usize, duration: Duration, op: F) -> Stats
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<u64>> + Send,
{
    let op = Arc::new(op);
    let stats = Arc::new(Mutex::new(Stats::default()));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let op = op.clone();
        let stats = stats.clone();
        tasks.push(tokio::spawn(async move {
            let mut iteration = 0;
            while Instant::now() < deadline {
                let begun = Instant::now();
                let outcome = op(worker, iteration).await;
                let latency = begun.elapsed();
                let mut stats = stats.lock().unwrap();
                match outcome {
                    Ok(bytes) => {
                        stats.latencies.push(latency);
                        stats.bytes += bytes;
                    }
                    Err(err) => stats.errors.push(format!("{err:#}")),
                }
                iteration += 1;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut stats = Arc::try_unwrap(stats)
        .unwrap_or_else(|_| unreachable!())
        .into_inner()
        .unwrap();
    stats.elapsed = started.elapsed();
    stats
}

/// A number from the environment (the soak scripts scale the suite up
/// with these), or `default` for the short pass CI runs.
pub fn scale(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Print one `reliability:` figures line (what `docs/reliability.md`
/// quotes) and, when `ZUUL_IMAGE_RELIABILITY_LOG` names a file, append it
/// there too (the soak script collects them so).
#[allow(clippy::print_stdout)]
pub fn report(line: &str) {
    println!("reliability: {line}");
    if let Ok(path) = std::env::var("ZUUL_IMAGE_RELIABILITY_LOG") {
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }
}
