//! `Registry`: one registry endpoint (`host:port`) with its HTTP client,
//! trust store, auth state, retry policy and concurrency limit, and the one
//! request loop every call goes through (auth challenges, retries with
//! backoff and `Retry-After`, errors from OCI error bodies).
//!
//! Knows HTTP, not images: blob and manifest operations live in `blobs` and
//! `manifests`, whole-image copies in `copy`.

use super::Error;
use super::auth::{Authenticator, Retry, Scopes};
use super::credentials::Credential;
use super::retry::{RetryPolicy, parse_retry_after, retryable_status};
use super::tls;
use reqwest::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};
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

/// A short description of a transport error, with its causes (reqwest's
/// top-level message alone says little: "error sending request").
pub fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(err);
    let mut last = String::new();
    while let Some(cause) = source {
        let message = cause.to_string();
        if message != last {
            text.push_str(": ");
            text.push_str(&message);
            last = message;
        }
        source = cause.source();
    }
    text
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
            auth: Authenticator::new(&options.address, options.credential),
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

    /// The URL without its query (upload state tokens stay out of errors).
    pub fn show(url: &Url) -> String {
        format!("{}://{}{}", url.scheme(), url.authority(), url.path())
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
        let started = Instant::now();
        let mut attempt = 0;
        let mut challenges = 0;
        loop {
            attempt += 1;
            self.auth.prepare(&self.http, &self.retry, scopes).await?;
            let request = build(self.http.request(method.clone(), url.clone()));
            let (request, sent) = self.authorize(request, scopes);
            let sent_at = Instant::now();
            let outcome = request.send().await;
            trace_request(&method, url, &outcome, sent_at);
            let (failure, retry_after) = match outcome {
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED && challenges < 2 => {
                    challenges += 1;
                    attempt -= 1;
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
                            });
                        }
                    }
                }
                Ok(response) if retryable_status(response.status()) => {
                    let retry_after = retry_after(&response);
                    (self.error(&method, url, response).await, retry_after)
                }
                Ok(response) => return Ok(response),
                Err(err) => (self.transport_error(&method, url, &err), None),
            };
            let delay = self.retry.next_delay(
                attempt,
                started.elapsed(),
                retry_after,
                &mut rand::thread_rng(),
            );
            match delay {
                Some(delay) => {
                    tracing::debug!("{failure}; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                None if attempt > 1 => {
                    return Err(Error::GaveUp {
                        attempts: attempt,
                        elapsed_secs: started.elapsed().as_secs(),
                        last: Box::new(failure),
                    });
                }
                None => return Err(failure),
            }
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
        Error::Transport {
            method: method.to_string(),
            url: Registry::show(url),
            message: describe(err),
        }
    }

    /// The error for an unexpected response, from its OCI error body.
    pub async fn error(&self, method: &Method, url: &Url, response: Response) -> Error {
        let status = response.status();
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
            StatusCode::UNAUTHORIZED => Error::Unauthorized {
                registry: self.address.clone(),
                message: if message.is_empty() {
                    format!("{method} {what} needs credentials")
                } else {
                    message
                },
            },
            StatusCode::FORBIDDEN => Error::Denied {
                registry: self.address.clone(),
                message: if message.is_empty() {
                    format!("{method} {what}")
                } else {
                    message
                },
            },
            status => Error::Http {
                method: method.to_string(),
                url: Registry::show(url),
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

fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}
