//! An in-process OCI registry over TLS for fault injection: enough of the
//! distribution API for the copy engine (blobs, uploads, mounts, manifests),
//! Basic or Bearer auth, and switches that make it misbehave (429 with
//! `Retry-After`, corrupt blob bytes, refused monolithic uploads) or honour
//! `Range` on blob GETs (by default it ignores `Range` and sends 200). It logs
//! every request so tests can count what a copy did.
//!
//! It stands in only where a real registry cannot be made to fail on
//! purpose; the happy paths run against real distribution too.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How clients must authenticate.
#[derive(Clone)]
pub enum Auth {
    Basic {
        user: String,
        password: String,
    },
    /// A token service at `/token` that wants these Basic credentials.
    Bearer {
        user: String,
        password: String,
    },
}

#[derive(Default)]
struct Store {
    blobs: HashMap<String, Bytes>,
    /// Which repositories hold a blob (mount sources).
    links: HashSet<(String, String)>,
    /// (repository, tag or digest) -> (media type, bytes).
    manifests: HashMap<(String, String), (String, Bytes)>,
    uploads: HashMap<String, (String, BytesMut)>,
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: Method,
    pub path: String,
    pub query: String,
    /// The `Range` header, when the request had one.
    pub range: Option<String>,
    pub status: StatusCode,
}

pub struct Fake {
    auth: Auth,
    store: Mutex<Store>,
    log: Mutex<Vec<Logged>>,
    next_id: AtomicUsize,
    /// Answer this many of the next manifest and blob requests with 429.
    pub throttle: AtomicU32,
    /// Serve these blobs with one byte flipped.
    pub corrupt: Mutex<HashSet<String>>,
    /// Answer blob GETs with `Range: bytes=N-` with 206 and the rest.
    pub ranges: std::sync::atomic::AtomicBool,
    /// Serve the bytes of 206 answers with their first byte flipped.
    pub corrupt_ranges: std::sync::atomic::AtomicBool,
    /// Refuse uploads whose PUT carries a body (413).
    pub refuse_monolithic: std::sync::atomic::AtomicBool,
    tokens_issued: AtomicU32,
}

pub struct Server {
    pub fake: Arc<Fake>,
    pub addr: SocketAddr,
    pub ca_pem: String,
}

impl Server {
    /// `127.0.0.1:port` or `[::1]:port`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }
}

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

impl Fake {
    pub fn put_blob(&self, repository: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let mut store = self.store.lock().unwrap();
        store
            .blobs
            .insert(digest.clone(), Bytes::copy_from_slice(data));
        store.links.insert((repository.to_owned(), digest.clone()));
        digest
    }

    pub fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        data: &[u8],
    ) -> String {
        let digest = sha256(data);
        let mut store = self.store.lock().unwrap();
        let value = (media_type.to_owned(), Bytes::copy_from_slice(data));
        store
            .manifests
            .insert((repository.to_owned(), digest.clone()), value.clone());
        store
            .manifests
            .insert((repository.to_owned(), reference.to_owned()), value);
        digest
    }

    /// The manifest stored under `repository:reference`.
    pub fn manifest(&self, repository: &str, reference: &str) -> Option<(String, Bytes)> {
        self.store
            .lock()
            .unwrap()
            .manifests
            .get(&(repository.to_owned(), reference.to_owned()))
            .cloned()
    }

    pub fn has_blob(&self, repository: &str, digest: &str) -> bool {
        self.store
            .lock()
            .unwrap()
            .links
            .contains(&(repository.to_owned(), digest.to_owned()))
    }

    pub fn log(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }

    /// Requests with `method` whose path contains `part`.
    pub fn count(&self, method: &Method, part: &str) -> usize {
        self.log()
            .iter()
            .filter(|l| l.method == *method && l.path.contains(part))
            .count()
    }

    pub fn tokens_issued(&self) -> u32 {
        self.tokens_issued.load(Ordering::SeqCst)
    }
}

/// Start a fake registry on `bind` (`127.0.0.1:0`, `[::1]:0`).
pub async fn start(bind: &str, auth: Auth) -> Server {
    let fake = Arc::new(Fake {
        auth,
        store: Mutex::default(),
        log: Mutex::default(),
        next_id: AtomicUsize::new(1),
        throttle: AtomicU32::new(0),
        corrupt: Mutex::default(),
        refuse_monolithic: Default::default(),
        ranges: Default::default(),
        corrupt_ranges: Default::default(),
        tokens_issued: AtomicU32::new(0),
    });
    let (ca_pem, config) = tls_config();
    let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(handle).with_state(fake.clone());
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
            });
        }
    });
    Server { fake, addr, ca_pem }
}

fn tls_config() -> (String, rustls::ServerConfig) {
    let certs = crate::support::tls::server_certs(&[]);
    let chain = rustls_pemfile::certs(&mut certs.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut certs.key_pem.as_bytes())
        .unwrap()
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    (certs.ca_pem, config)
}

fn error(status: StatusCode, code: &str) -> Response {
    let body = serde_json::json!({"errors": [{"code": code, "message": code.to_lowercase(), "detail": null}]});
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn basic_ok(headers: &HeaderMap, user: &str, password: &str) -> bool {
    use base64::Engine;
    let want = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Basic {want}"))
}

async fn handle(State(fake): State<Arc<Fake>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let response = route(&fake, request, &host).await;
    fake.log.lock().unwrap().push(Logged {
        method,
        path,
        query,
        range,
        status: response.status(),
    });
    response
}

async fn route(fake: &Fake, request: Request, host: &str) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if path == "/token" {
        let Auth::Bearer { user, password } = &fake.auth else {
            return error(StatusCode::NOT_FOUND, "NOT_FOUND");
        };
        if !basic_ok(&parts.headers, user, password) {
            return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        }
        let n = fake.tokens_issued.fetch_add(1, Ordering::SeqCst);
        let scope = query.get("scope").cloned().unwrap_or_default();
        let token = format!("token-{n}-{}", hex::encode(scope.as_bytes()));
        return axum::Json(serde_json::json!({"token": token, "expires_in": 300})).into_response();
    }
    match &fake.auth {
        Auth::Basic { user, password } => {
            if !basic_ok(&parts.headers, user, password) {
                let mut response = error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"fake\"".parse().unwrap(),
                );
                return response;
            }
        }
        Auth::Bearer { .. } => {
            let ok = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("Bearer token-"));
            if !ok {
                let mut response = error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
                let challenge = format!("Bearer realm=\"https://{host}/token\",service=\"fake\"");
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge.parse().unwrap());
                return response;
            }
        }
    }
    if path == "/v2/" {
        return StatusCode::OK.into_response();
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND");
    };
    let throttled = fake
        .throttle
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if throttled {
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS");
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, "1".parse().unwrap());
        return response;
    }
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if let Some((repo, id)) = rest.split_once("/blobs/uploads/") {
        return upload(fake, &parts.method, repo, id, &query, &parts.headers, body);
    }
    if let Some((repo, digest)) = rest.rsplit_once("/blobs/") {
        let store = fake.store.lock().unwrap();
        if !store.links.contains(&(repo.to_owned(), digest.to_owned())) {
            return error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
        }
        let mut data = store.blobs[digest].clone();
        if fake.corrupt.lock().unwrap().contains(digest) {
            let mut copy = data.to_vec();
            copy[0] ^= 0xff;
            data = Bytes::from(copy);
        }
        let size = data.len();
        let from = parts
            .headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("bytes="))
            .and_then(|v| v.strip_suffix('-'))
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|from| *from < size && parts.method == Method::GET);
        if let (Some(from), true) = (from, fake.ranges.load(Ordering::SeqCst)) {
            let mut rest = data.slice(from..).to_vec();
            if fake.corrupt_ranges.load(Ordering::SeqCst) {
                rest[0] ^= 0xff;
            }
            return Response::builder()
                .status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_LENGTH, rest.len())
                .header(
                    header::CONTENT_RANGE,
                    format!("bytes {from}-{}/{size}", size - 1),
                )
                .header("docker-content-digest", digest)
                .body(Body::from(rest))
                .unwrap();
        }
        let body = if parts.method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(data)
        };
        return Response::builder()
            .header(header::CONTENT_LENGTH, size)
            .header("docker-content-digest", digest)
            .body(body)
            .unwrap();
    }
    if let Some((repo, reference)) = rest.rsplit_once("/manifests/") {
        let key = (repo.to_owned(), reference.to_owned());
        if parts.method == Method::PUT {
            let media_type = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let digest = sha256(&body);
            if reference.starts_with("sha256:") && reference != digest {
                return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
            }
            let mut store = fake.store.lock().unwrap();
            // Like distribution: every referenced blob or manifest must exist.
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let mut needed: Vec<String> = Vec::new();
            for list in ["layers", "manifests"] {
                for entry in value[list].as_array().into_iter().flatten() {
                    needed.push(entry["digest"].as_str().unwrap_or("").to_owned());
                }
            }
            if let Some(config) = value["config"]["digest"].as_str() {
                needed.push(config.to_owned());
            }
            for digest in needed {
                let known = store.links.contains(&(repo.to_owned(), digest.clone()))
                    || store
                        .manifests
                        .contains_key(&(repo.to_owned(), digest.clone()));
                if !known {
                    return error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
                }
            }
            let value = (media_type, body);
            store
                .manifests
                .insert((repo.to_owned(), digest.clone()), value.clone());
            store.manifests.insert(key, value);
            return Response::builder()
                .status(StatusCode::CREATED)
                .header("docker-content-digest", digest)
                .body(Body::empty())
                .unwrap();
        }
        let store = fake.store.lock().unwrap();
        let Some((media_type, data)) = store.manifests.get(&key).cloned() else {
            return error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
        };
        let length = data.len();
        let body = if parts.method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(data.clone())
        };
        return Response::builder()
            .header(header::CONTENT_TYPE, media_type)
            .header(header::CONTENT_LENGTH, length)
            .header("docker-content-digest", sha256(&data))
            .body(body)
            .unwrap();
    }
    error(StatusCode::NOT_FOUND, "NOT_FOUND")
}

fn upload(
    fake: &Fake,
    method: &Method,
    repo: &str,
    id: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let mut store = fake.store.lock().unwrap();
    let accepted = |id: &str, size: usize| {
        Response::builder()
            .status(StatusCode::ACCEPTED)
            .header(header::LOCATION, format!("/v2/{repo}/blobs/uploads/{id}"))
            .header(header::RANGE, format!("0-{}", size.saturating_sub(1)))
            .header("docker-upload-uuid", id)
            .body(Body::empty())
            .unwrap()
    };
    if *method == Method::POST && id.is_empty() {
        if let (Some(digest), Some(from)) = (query.get("mount"), query.get("from")) {
            if store.links.contains(&(from.clone(), digest.clone())) {
                store.links.insert((repo.to_owned(), digest.clone()));
                return Response::builder()
                    .status(StatusCode::CREATED)
                    .header(header::LOCATION, format!("/v2/{repo}/blobs/{digest}"))
                    .header("docker-content-digest", digest.as_str())
                    .body(Body::empty())
                    .unwrap();
            }
        }
        let id = format!("u{}", fake.next_id.fetch_add(1, Ordering::SeqCst));
        store
            .uploads
            .insert(id.clone(), (repo.to_owned(), BytesMut::new()));
        return accepted(&id, 0);
    }
    let Some((upload_repo, data)) = store.uploads.get_mut(id) else {
        return error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    };
    if upload_repo != repo {
        return error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    }
    match *method {
        Method::PATCH => {
            if let Some(range) = headers.get("content-range").and_then(|v| v.to_str().ok()) {
                let start: usize = range.split('-').next().unwrap_or("0").parse().unwrap_or(0);
                if start != data.len() {
                    return error(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID");
                }
            }
            data.extend_from_slice(&body);
            let size = data.len();
            accepted(id, size)
        }
        Method::PUT => {
            if !body.is_empty() && fake.refuse_monolithic.load(Ordering::SeqCst) {
                return error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
            }
            data.extend_from_slice(&body);
            let Some(digest) = query.get("digest") else {
                return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
            };
            let actual = sha256(data);
            if &actual != digest {
                store.uploads.remove(id);
                return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
            }
            let data = data.clone().freeze();
            store.uploads.remove(id);
            store.blobs.insert(actual.clone(), data);
            store.links.insert((repo.to_owned(), actual.clone()));
            Response::builder()
                .status(StatusCode::CREATED)
                .header(header::LOCATION, format!("/v2/{repo}/blobs/{actual}"))
                .header("docker-content-digest", actual)
                .body(Body::empty())
                .unwrap()
        }
        Method::DELETE => {
            store.uploads.remove(id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED"),
    }
}
