//! `Registry`: one registry endpoint (`host:port`) with its HTTP client,
//! trust store, auth state, retry policy and concurrency limit, and the
//! request path every call goes through (auth challenges, retries through
//! [`super::retry`], errors from OCI error bodies).
//!
//! Knows HTTP, not images: blob and manifest operations live in `blobs` and
//! `manifests`, whole-image copies in `copy`.

use super::advice::{Advice, Origins};
use super::auth::{Authenticator, Retry, Scopes};
use super::credentials::Credential;
use super::retry::{Failed, RetryPolicy, retry, retry_after, retryable_status};
use super::{Error, show_url, tls};
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use url::Url;

/// How to reach and trust one registry.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// `host:port` as written in image references (`[::1]:5000`).
    pub address: String,
    pub credential: Option<Credential>,
    /// CA PEMs to trust, each with a label for errors (`buildset_registry.cert`).
    pub ca_pems: Vec<(String, String)>,
    /// Per-registry CA directories (`/etc/docker/certs.d`, …).
    pub certs_dirs: Vec<PathBuf>,
    pub retry: RetryPolicy,
    /// Concurrent blob transfers against this registry.
    pub concurrency: usize,
    /// Where trust and credentials came from, for errors that say what
    /// to change.
    pub origins: Origins,
}

impl RegistryOptions {
    pub fn new(address: impl Into<String>) -> RegistryOptions {
        RegistryOptions {
            address: address.into(),
            credential: None,
            ca_pems: Vec::new(),
            certs_dirs: tls::default_certs_dirs(),
            retry: RetryPolicy::default(),
            concurrency: 8,
            origins: Origins::default(),
        }
    }
}

/// A connection to one registry, shared by every copy that uses it.
#[derive(Debug)]
pub struct Registry {
    address: String,
    base: Url,
    pub(super) http: reqwest::Client,
    auth: Authenticator,
    pub(super) retry: RetryPolicy,
    /// Bounds the blob transfers running against this registry.
    pub(super) transfers: Arc<Semaphore>,
    /// Set once the registry refused a monolithic upload.
    pub(super) chunked_only: AtomicBool,
    advice: Advice,
}

/// An OCI error body: `{"errors": [{"code", "message", "detail"}]}`.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl Registry {
    /// Build the client for `options.address`. Docker Hub's name
    /// (`docker.io`) is reached at `registry-1.docker.io`.
    pub fn new(options: RegistryOptions) -> Result<Registry, Error> {
        let endpoint = match options.address.as_str() {
            "docker.io" | "index.docker.io" => "registry-1.docker.io",
            other => other,
        };
        let base = Url::parse(&format!("https://{endpoint}/")).map_err(|err| Error::Protocol {
            registry: options.address.clone(),
            message: format!("is not a usable registry address: {err}"),
        })?;
        let trust = tls::trust(&options.address, &options.ca_pems, &options.certs_dirs)?;
        let advice = Advice {
            registry: options.address.clone(),
            origins: options.origins.clone(),
            trusted: trust.origins.clone(),
            dirs: trust.dirs.clone(),
        };
        let config = tls::client_config(trust)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(config)
            .user_agent(concat!("zuul-image/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(options.concurrency.max(1) * 2)
            .tcp_nodelay(true)
            .build()
            .map_err(|err| Error::Protocol {
                registry: options.address.clone(),
                message: format!("failed to set up an HTTP client: {err}"),
            })?;
        Ok(Registry {
            auth: Authenticator::new(&options.address, options.credential, advice.clone()),
            advice,
            address: options.address,
            base,
            http,
            retry: options.retry,
            transfers: Arc::new(Semaphore::new(options.concurrency.max(1))),
            chunked_only: AtomicBool::new(false),
        })
    }

    /// `host:port` as given.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// `https://host:port/v2/<path>`.
    pub fn url(&self, path: &str) -> Url {
        // Repository names and digests never need escaping in a path.
        self.base
            .join(&format!("v2/{path}"))
            .unwrap_or_else(|_| self.base.clone())
    }

    /// Resolve a `Location` header against the registry.
    pub fn location(&self, response: &Response) -> Result<Url, Error> {
        let value = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Protocol {
                registry: self.address.clone(),
                message: format!("answered {} without a `Location` header", response.status()),
            })?;
        response.url().join(value).map_err(|err| Error::Protocol {
            registry: self.address.clone(),
            message: format!("sent a `Location` that is not a URL: {err}"),
        })
    }

    fn authorize(&self, request: RequestBuilder, scopes: &Scopes) -> (RequestBuilder, bool) {
        match self.auth.header(scopes) {
            Some(value) => (request.header(reqwest::header::AUTHORIZATION, value), true),
            None => (request, false),
        }
    }

    /// Send a request whose body can be rebuilt (`build` is called once per
    /// attempt), answering auth challenges and retrying transient failures
    /// within the retry policy. Returns the response for any other status;
    /// callers check it with [`Registry::expect`].
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        scopes: &Scopes,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        // Answering a challenge is not a failed attempt, but a registry
        // gets two challenges per request at most.
        let challenges = AtomicU32::new(0);
        retry(
            &self.retry,
            |_| self.attempt(&method, url, scopes, &build, &challenges),
            |failure, delay| tracing::debug!("{failure}; retrying in {delay:?}"),
        )
        .await
    }

    /// One attempt of [`Registry::send`], auth challenges included.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        scopes: &Scopes,
        build: &impl Fn(RequestBuilder) -> RequestBuilder,
        challenges: &AtomicU32,
    ) -> Result<Response, Failed> {
        loop {
            self.auth.prepare(&self.http, &self.retry, scopes).await?;
            let request = build(self.http.request(method.clone(), url.clone()));
            let (request, sent) = self.authorize(request, scopes);
            let sent_at = Instant::now();
            let outcome = request.send().await;
            trace_request(method, url, &outcome, sent_at);
            let response = match outcome {
                Ok(response) => response,
                Err(err) => return Err(self.transport_error(method, url, &err).into()),
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && challenges.load(Ordering::Relaxed) < 2 {
                challenges.fetch_add(1, Ordering::Relaxed);
                let header = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                if sent {
                    self.auth.forget(scopes);
                }
                match self
                    .auth
                    .challenge(&self.http, &self.retry, header.as_deref(), scopes, sent)
                    .await?
                {
                    Retry::Again => continue,
                    Retry::GiveUp(message) => {
                        return Err(Error::Unauthorized {
                            registry: self.address.clone(),
                            message,
                            advice: self.advice.unauthorized(),
                        }
                        .into());
                    }
                }
            }
            if !retryable_status(status) {
                return Ok(response);
            }
            let retry_after = retry_after(&response);
            return Err(Failed {
                error: self.error(method, url, response).await,
                retry_after,
            });
        }
    }

    /// Send a request once, with the auth already established (a streamed
    /// body cannot be replayed). A 401 drops the cached token so the next
    /// attempt of the whole operation re-authenticates.
    pub async fn send_once(
        &self,
        request: RequestBuilder,
        method: &Method,
        url: &Url,
        scopes: &Scopes,
    ) -> Result<Response, Error> {
        self.auth.prepare(&self.http, &self.retry, scopes).await?;
        let (request, _) = self.authorize(request, scopes);
        let sent_at = Instant::now();
        let outcome = request.send().await;
        trace_request(method, url, &outcome, sent_at);
        match outcome {
            Ok(response) if response.status() == StatusCode::UNAUTHORIZED => {
                self.auth.forget(scopes);
                Err(self.error(method, url, response).await)
            }
            Ok(response) => Ok(response),
            Err(err) => Err(self.transport_error(method, url, &err)),
        }
    }

    /// Pass `response` through when its status is one of `ok`, else turn it
    /// into an error.
    pub async fn expect(
        &self,
        method: &Method,
        url: &Url,
        response: Response,
        ok: &[StatusCode],
    ) -> Result<Response, Error> {
        if ok.contains(&response.status()) {
            Ok(response)
        } else {
            Err(self.error(method, url, response).await)
        }
    }

    pub(super) fn transport_error(
        &self,
        method: &Method,
        url: &Url,
        err: &reqwest::Error,
    ) -> Error {
        Error::transport(method.as_str(), url, err, &self.advice)
    }

    /// The error for an unexpected response, from its OCI error body.
    pub async fn error(&self, method: &Method, url: &Url, response: Response) -> Error {
        let status = response.status();
        // A 401 that says the (fresh) token grants too little is a denial.
        let insufficient = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("insufficient_scope"));
        let body = response.bytes().await.unwrap_or_default();
        let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        let first = parsed.and_then(|body| body.errors.into_iter().next());
        let code = first.as_ref().and_then(|e| e.code.clone());
        let message = first.and_then(|e| e.message).unwrap_or_default();
        let what = url.path().trim_start_matches("/v2/").to_owned();
        match status {
            StatusCode::NOT_FOUND => Error::NotFound {
                registry: self.address.clone(),
                what,
                code,
            },
            StatusCode::UNAUTHORIZED if insufficient => Error::Denied {
                registry: self.address.clone(),
                message: format!("{method} {what}: the token grants too little"),
                advice: self.advice.denied(),
            },
            StatusCode::UNAUTHORIZED => Error::Unauthorized {
                registry: self.address.clone(),
                message: if message.is_empty() {
                    format!("{method} {what} needs credentials")
                } else {
                    message
                },
                advice: self.advice.unauthorized(),
            },
            StatusCode::FORBIDDEN => Error::Denied {
                registry: self.address.clone(),
                message: if message.is_empty() {
                    format!("{method} {what}")
                } else {
                    message
                },
                advice: self.advice.denied(),
            },
            status => Error::Http {
                method: method.to_string(),
                url: show_url(url),
                status,
                code,
                message,
            },
        }
    }

    /// Check that the registry answers and the credentials work (`GET /v2/`).
    pub async fn ping(&self) -> Result<(), Error> {
        let url = self.url("");
        let response = self.send(Method::GET, &url, &Scopes::none(), |r| r).await?;
        self.expect(&Method::GET, &url, response, &[StatusCode::OK])
            .await?;
        Ok(())
    }

    pub(super) fn uses_chunked(&self) -> bool {
        self.chunked_only.load(Ordering::Relaxed)
    }

    pub(super) fn refuse_monolithic(&self) {
        if !self.chunked_only.swap(true, Ordering::Relaxed) {
            tracing::info!(
                "`{}` refused a monolithic upload; using chunked uploads",
                self.address
            );
        }
    }
}

/// One `trace` line per request: method, path, status and the time to the
/// response headers (how `-vv` shows where a copy spends its round trips).
fn trace_request(
    method: &Method,
    url: &Url,
    outcome: &Result<Response, reqwest::Error>,
    sent_at: Instant,
) {
    if tracing::enabled!(tracing::Level::TRACE) {
        let status = match outcome {
            Ok(response) => response.status().as_u16().to_string(),
            Err(_) => "error".to_owned(),
        };
        tracing::trace!(
            "{method} {} -> {status} in {:.1} ms",
            url.path(),
            sent_at.elapsed().as_secs_f64() * 1000.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A TLS server on loopback with a certificate for `names`, signed by
    /// a fresh CA; counts the connections it accepts. Returns its port,
    /// the CA and the counter.
    async fn tls_server(names: &[&str]) -> (u16, String, Arc<AtomicUsize>) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let generated = crate::server::tls::generate(&names).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, &generated.cert_pem).unwrap();
        std::fs::write(&key, &generated.key_pem).unwrap();
        let config = crate::server::tls::server_config(&cert, &key).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _ = acceptor.accept(stream).await;
                });
            }
        });
        (port, generated.ca_pem, accepted)
    }

    fn registry(port: u16, ca: Option<String>) -> Registry {
        let mut options = RegistryOptions::new(format!("127.0.0.1:{port}"));
        options.certs_dirs = Vec::new();
        options.ca_pems = ca.into_iter().map(|pem| ("test CA".into(), pem)).collect();
        Registry::new(options).unwrap()
    }

    /// Issue 8: certificate errors are permanent; the default policy would
    /// retry a transient failure six times over several seconds.
    #[tokio::test]
    async fn certificate_errors_are_not_retried() {
        // Unknown issuer: the CA is not trusted.
        let (port, _, accepted) = tls_server(&["127.0.0.1"]).await;
        let started = Instant::now();
        let err = registry(port, None).ping().await.unwrap_err();
        assert!(matches!(err, Error::Certificate { .. }), "{err:?}");
        assert!(err.to_string().contains("UnknownIssuer"), "{err}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one attempt");
        assert!(started.elapsed() < Duration::from_secs(2));
        // Trusted CA, but the certificate names another host.
        let (port, ca, accepted) = tls_server(&["other.example"]).await;
        let err = registry(port, Some(ca)).ping().await.unwrap_err();
        assert!(matches!(err, Error::Certificate { .. }), "{err:?}");
        assert!(err.to_string().contains("not valid for name"), "{err}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one attempt");
    }

    #[tokio::test]
    async fn connection_failures_are_transient() {
        // Nothing listens: a transport error, retried within the policy.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut options = RegistryOptions::new(format!("127.0.0.1:{port}"));
        options.certs_dirs = Vec::new();
        options.retry = RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            budget: Duration::from_secs(5),
        };
        let err = Registry::new(options).unwrap().ping().await.unwrap_err();
        match err {
            Error::GaveUp { attempts, last, .. } => {
                assert_eq!(attempts, 2);
                assert!(matches!(*last, Error::Transport { .. }), "{last:?}");
            }
            other => panic!("{other:?}"),
        }
    }
}
