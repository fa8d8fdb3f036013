//! Stand-ins for the two web APIs no test can reach: Docker Hub's
//! (`/v2/auth/token`, `/v2/users/login/`, the paged tag list with
//! `last_updated`, the tag DELETE) and Quay's (`/api/v1/repository/<repo>/tag/`
//! paged with `has_additional` and `last_modified`, the tag DELETE with a
//! bearer `api_token`), following their documented requests and answers.
//!
//! The registry behind them is a real distribution: a stand-in lists the
//! tags in its storage on disk and deletes a tag by removing
//! `<root>/docker/registry/v2/repositories/<name>/_manifests/tags/<tag>`,
//! which distribution itself cannot do over HTTP. Tag ages are the link
//! files' mtimes unless [`TagStore::backdate`] set one. Every request is
//! recorded (`METHOD path`, and which `Authorization` scheme it carried).

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The tags of a distribution's repositories, as its storage holds them.
pub struct TagStore {
    /// `<storage root>/docker/registry/v2/repositories`.
    repositories: PathBuf,
    ages: Mutex<HashMap<(String, String), SystemTime>>,
}

impl TagStore {
    pub fn new(storage_root: PathBuf) -> TagStore {
        TagStore {
            repositories: storage_root.join("docker/registry/v2/repositories"),
            ages: Mutex::new(HashMap::new()),
        }
    }

    fn tags_dir(&self, repository: &str) -> PathBuf {
        self.repositories.join(repository).join("_manifests/tags")
    }

    /// `(tag, last changed)` of `repository`, sorted by name.
    pub fn tags(&self, repository: &str) -> Vec<(String, SystemTime)> {
        let ages = self.ages.lock().unwrap();
        let mut tags: Vec<(String, SystemTime)> = std::fs::read_dir(self.tags_dir(repository))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| {
                        let name = entry.file_name().to_string_lossy().into_owned();
                        let modified = std::fs::metadata(entry.path().join("current/link"))
                            .and_then(|m| m.modified())
                            .unwrap_or_else(|_| SystemTime::now());
                        let age = ages
                            .get(&(repository.to_owned(), name.clone()))
                            .copied()
                            .unwrap_or(modified);
                        (name, age)
                    })
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        tags
    }

    /// Remove a tag from the storage; false when there was none.
    pub fn delete(&self, repository: &str, tag: &str) -> bool {
        std::fs::remove_dir_all(self.tags_dir(repository).join(tag)).is_ok()
    }

    /// Say `tag` last changed `age` ago.
    pub fn backdate(&self, repository: &str, tag: &str, age: Duration) {
        self.ages.lock().unwrap().insert(
            (repository.to_owned(), tag.to_owned()),
            SystemTime::now() - age,
        );
    }

    /// Tag `digest` (a manifest already in `repository`) as `tag` directly
    /// in the storage, the way distribution stores a tag.
    pub fn seed(&self, repository: &str, tag: &str, digest: &str) {
        let dir = self.tags_dir(repository).join(tag);
        let hex = digest.trim_start_matches("sha256:");
        std::fs::create_dir_all(dir.join("current")).unwrap();
        std::fs::create_dir_all(dir.join("index/sha256").join(hex)).unwrap();
        std::fs::write(dir.join("current/link"), digest).unwrap();
        std::fs::write(dir.join("index/sha256").join(hex).join("link"), digest).unwrap();
    }
}

/// What both stand-ins share.
struct State {
    store: Arc<TagStore>,
    username: String,
    password: String,
    /// Quay's `api_token`.
    token: String,
    /// Answer 500 to every tag DELETE.
    fail_deletes: AtomicBool,
    /// Hub: answer 404 on `/v2/auth/token` (an API without the current
    /// login endpoint), so clients must use `/v2/users/login/`.
    legacy_login_only: AtomicBool,
    requests: Mutex<Vec<String>>,
    port: Mutex<u16>,
}

/// A running stand-in; stops on drop.
pub struct WebApi {
    state: Arc<State>,
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone, Copy)]
enum Kind {
    Hub,
    Quay,
}

impl WebApi {
    /// Docker Hub's API for the account `username`/`password`.
    pub fn hub(store: Arc<TagStore>, username: &str, password: &str) -> WebApi {
        WebApi::hub_at("127.0.0.1:0", store, username, password)
    }

    /// Docker Hub's API on `address` (`127.0.0.1:5445`; port 0: any).
    pub fn hub_at(address: &str, store: Arc<TagStore>, username: &str, password: &str) -> WebApi {
        WebApi::start(address, Kind::Hub, store, username, password, "")
    }

    /// Quay's API accepting `token`.
    pub fn quay(store: Arc<TagStore>, token: &str) -> WebApi {
        WebApi::start("127.0.0.1:0", Kind::Quay, store, "", "", token)
    }

    fn start(
        address: &str,
        kind: Kind,
        store: Arc<TagStore>,
        username: &str,
        password: &str,
        token: &str,
    ) -> WebApi {
        let state = Arc::new(State {
            store,
            username: username.to_owned(),
            password: password.to_owned(),
            token: token.to_owned(),
            fail_deletes: AtomicBool::new(false),
            legacy_login_only: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            port: Mutex::new(0),
        });
        let listener = std::net::TcpListener::bind(address)
            .unwrap_or_else(|err| panic!("cannot listen on {address}: {err}"));
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        *state.port.lock().unwrap() = port;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let state = shared.clone();
                        async move { answer(kind, &state, method, uri, headers, body) }
                    },
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        WebApi {
            state,
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The API base a client is given: `http://127.0.0.1:<port>/v2`
    /// (Hub) or `…/api/v1` (Quay).
    pub fn base(&self, suffix: &str) -> String {
        format!("http://127.0.0.1:{}{suffix}", self.port)
    }

    pub fn fail_deletes(&self) {
        self.state.fail_deletes.store(true, Ordering::SeqCst);
    }

    pub fn legacy_login_only(&self) {
        self.state.legacy_login_only.store(true, Ordering::SeqCst);
    }

    /// The requests so far: `METHOD path?query [auth scheme]`.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for WebApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"message": message, "detail": message})),
    )
        .into_response()
}

fn query(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn answer(
    kind: Kind,
    state: &State,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let scheme = auth.split(' ').next().unwrap_or_default().to_owned();
    state.requests.lock().unwrap().push(format!(
        "{method} {}{} [{scheme}]",
        uri.path(),
        uri.query().map(|q| format!("?{q}")).unwrap_or_default()
    ));
    match kind {
        Kind::Hub => hub(state, method, &uri, &auth, &body),
        Kind::Quay => quay(state, method, &uri, &auth),
    }
}

/// A tag DELETE: 401 without the right token, 500 when told to fail.
fn delete(state: &State, repository: &str, tag: &str, authorized: bool) -> Response {
    if !authorized {
        return error(StatusCode::UNAUTHORIZED, "authentication required");
    }
    if state.fail_deletes.load(Ordering::SeqCst) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    }
    if state.store.delete(repository, tag) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "tag not found")
    }
}

/// Split `<ns>/<name>/<rest…>` off a path.
fn repository(rest: &str) -> Option<(String, Vec<&str>)> {
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    if parts.len() < 3 {
        return None;
    }
    Some((format!("{}/{}", parts[0], parts[1]), parts[2..].to_vec()))
}

fn hub(state: &State, method: Method, uri: &Uri, auth: &str, body: &[u8]) -> Response {
    let path = uri.path();
    let given: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |key: &str| given[key].as_str().unwrap_or_default().to_owned();
    if method == Method::POST && path == "/v2/auth/token" {
        if state.legacy_login_only.load(Ordering::SeqCst) {
            return error(StatusCode::NOT_FOUND, "not found");
        }
        if text("identifier") != state.username || text("secret") != state.password {
            return error(
                StatusCode::UNAUTHORIZED,
                "Incorrect authentication credentials",
            );
        }
        return axum::Json(json!({"access_token": "hub-access-token"})).into_response();
    }
    if method == Method::POST && path.trim_end_matches('/') == "/v2/users/login" {
        if text("username") != state.username || text("password") != state.password {
            return error(
                StatusCode::UNAUTHORIZED,
                "Incorrect authentication credentials",
            );
        }
        return axum::Json(json!({"token": "hub-login-token"})).into_response();
    }
    let Some(rest) = path.strip_prefix("/v2/repositories/") else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let Some((repository, rest)) = repository(rest) else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    match (method, rest.as_slice()) {
        (Method::GET, ["tags"]) => {
            let query = query(uri);
            let size: usize = query
                .get("page_size")
                .and_then(|s| s.parse().ok())
                .unwrap_or(10)
                .min(100);
            let page: usize = query.get("page").and_then(|s| s.parse().ok()).unwrap_or(1);
            let tags = state.store.tags(&repository);
            let results: Vec<Value> = tags
                .iter()
                .skip((page - 1) * size)
                .take(size)
                .map(|(name, updated)| {
                    json!({"name": name, "last_updated": humantime::format_rfc3339_micros(*updated).to_string(),
                           "tag_status": "active"})
                })
                .collect();
            let port = *state.port.lock().unwrap();
            let next = (page * size < tags.len()).then(|| {
                format!("http://127.0.0.1:{port}/v2/repositories/{repository}/tags?page={}&page_size={size}", page + 1)
            });
            axum::Json(
                json!({"count": tags.len(), "next": next, "previous": null, "results": results}),
            )
            .into_response()
        }
        (Method::DELETE, ["tags", tag]) => {
            let authorized = auth == "Bearer hub-access-token" || auth == "JWT hub-login-token";
            delete(state, &repository, tag, authorized)
        }
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}

fn quay(state: &State, method: Method, uri: &Uri, auth: &str) -> Response {
    let Some(rest) = uri.path().strip_prefix("/api/v1/repository/") else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let Some((repository, rest)) = repository(rest) else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let authorized = auth == format!("Bearer {}", state.token);
    match (method, rest.as_slice()) {
        (Method::GET, ["tag"]) => {
            let query = query(uri);
            let limit: usize = query
                .get("limit")
                .and_then(|s| s.parse().ok())
                .unwrap_or(50)
                .min(100);
            let page: usize = query.get("page").and_then(|s| s.parse().ok()).unwrap_or(1);
            let tags = state.store.tags(&repository);
            let found: Vec<Value> = tags
                .iter()
                .skip((page - 1) * limit)
                .take(limit)
                .map(|(name, updated)| {
                    let date = httpdate::fmt_http_date(*updated).replace("GMT", "-0000");
                    json!({"name": name, "reversion": false, "start_ts": 0, "last_modified": date,
                           "is_manifest_list": false})
                })
                .collect();
            axum::Json(
                json!({"tags": found, "page": page, "has_additional": page * limit < tags.len()}),
            )
            .into_response()
        }
        (Method::DELETE, ["tag", tag]) => delete(state, &repository, tag, authorized),
        _ => error(StatusCode::NOT_FOUND, "not found"),
    }
}
