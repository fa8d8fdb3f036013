//! The embedded OCI registry (distribution spec v1.1): the router, and the
//! pieces it is made of. [`router`] builds the whole HTTP surface from a
//! [`State`] and is tested in-process; only [`listen::serve`] binds a socket.
//!
//! One catch-all `/v2/{*rest}` route hands the path to the pure parser in
//! [`path`], because repository names contain slashes. Every request is
//! authorised by [`auth`] before a handler in [`handlers`] runs. This module
//! wires; it holds no protocol or storage logic of its own.

pub mod auth;
pub mod buildset;
pub mod buildset_run;
pub mod config;
pub mod connection;
pub mod error;
pub mod handlers;
pub mod listen;
pub mod manifests;
pub mod path;
pub mod prune;
pub mod status;
pub mod storage;
pub mod supervisor;
pub mod tls;
pub mod token;
pub mod uploads;

use auth::{Auth, Need};
use axum::Router;
use axum::extract::{ConnectInfo, Request, State as Extract};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use config::Limits;
use error::Error;
use handlers::Query;
use path::Route;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use storage::Storage;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// Everything a running registry shares between requests.
pub struct State {
    pub storage: Storage,
    pub auth: Auth,
    /// Base URL for the token realm; derived from `Host` when `None`.
    pub public_url: Option<String>,
    /// Whether the listener speaks TLS (for the derived realm's scheme).
    pub tls: bool,
    pub limits: Limits,
}

impl State {
    pub fn new(storage: Storage, auth: Auth, public_url: Option<String>, tls: bool) -> State {
        State {
            storage,
            auth,
            public_url,
            tls,
            limits: Limits::default(),
        }
    }

    pub fn with_limits(self, limits: Limits) -> State {
        State { limits, ..self }
    }

    fn realm(&self, uri: &Uri, headers: &HeaderMap) -> String {
        let base = match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
                    .or_else(|| uri.authority().map(|a| a.to_string()))
                    .unwrap_or_else(|| "localhost".into());
                let scheme = if self.tls { "https" } else { "http" };
                format!("{scheme}://{host}")
            }
        };
        format!("{base}/auth/token")
    }
}

/// The registry's whole HTTP surface. A request body that sends nothing
/// for `limits.body_timeout` fails, as if the client had gone away.
pub fn router(state: Arc<State>) -> Router {
    let body_timeout = state.limits.body_timeout;
    Router::new()
        .route("/v2", any(dispatch))
        .route("/v2/", any(dispatch))
        .route("/v2/{*rest}", any(dispatch))
        .route("/auth/token", get(token))
        .with_state(state)
        .layer(axum::middleware::map_response(api_version))
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
}

async fn api_version(mut response: Response) -> Response {
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

fn parse_query(uri: &Uri) -> Query {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// containerd's `ns` parameter: a request for `org/img` with `ns=quay.io`
/// is served from `quay.io/org/img`; `ns=docker.io` means no prefix. The
/// prefixed name must be a valid repository name like any other (so
/// `ns=QUAY.IO` or `ns=localhost:5000` is `NAME_INVALID`).
fn apply_namespace(route: Route, query: &Query) -> Result<Route, Error> {
    let Some(ns) = handlers::query_get(query, "ns") else {
        return Ok(route);
    };
    let Some(name) = route.name() else {
        return Ok(route);
    };
    if ns == crate::reference::DOCKER_HUB || name.starts_with(&format!("{ns}/")) {
        return Ok(route);
    }
    let prefixed = format!("{ns}/{name}");
    crate::reference::validate_host(ns).map_err(|_| Error::NameInvalid(prefixed.clone()))?;
    path::validate_name(&prefixed)?;
    Ok(route.with_name(prefixed))
}

fn need(method: &Method, route: &Route) -> Need {
    let name = route.name().unwrap_or_default().to_owned();
    match route {
        Route::Base => Need::Base,
        Route::Catalog => Need::Catalog,
        _ if method == Method::GET || method == Method::HEAD => Need::Pull(name),
        Route::Manifest { .. } | Route::Blob { .. } if method == Method::DELETE => {
            Need::Delete(name)
        }
        _ => Need::Push(name),
    }
}

/// The client's address, when the connection recorded it.
fn client(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

async fn dispatch(Extract(state): Extract<Arc<State>>, request: Request) -> Response {
    match route_request(state, request).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn route_request(state: Arc<State>, request: Request) -> Result<Response, Error> {
    let client = client(&request);
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let rest = uri
        .path()
        .strip_prefix("/v2")
        .unwrap_or_default()
        .trim_start_matches('/');
    let query = parse_query(&uri);
    let route = apply_namespace(path::parse(&path::percent_decode(rest)?)?, &query)?;
    let realm = state.realm(&uri, &headers);
    state
        .auth
        .authorize(&headers, client, &need(&method, &route), &realm)
        .await?;
    let (get, head) = (method == Method::GET, method == Method::HEAD);
    match route {
        Route::Base if get || head => Ok(handlers::base()),
        Route::Catalog if get => handlers::catalog(state, query).await,
        Route::Tags { name } if get => handlers::tags(state, name, query).await,
        Route::Manifest { name, reference } => match method {
            Method::GET | Method::HEAD => {
                handlers::get_manifest(state, &method, name, reference, &headers).await
            }
            Method::PUT => {
                handlers::put_manifest(state, name, reference, query, &headers, body).await
            }
            Method::DELETE => handlers::delete_manifest(state, name, reference).await,
            _ => Ok(handlers::method_not_allowed()),
        },
        Route::Blob { name, digest } => match method {
            Method::GET | Method::HEAD => {
                handlers::get_blob(state, &method, name, digest, &headers).await
            }
            Method::DELETE => handlers::delete_blob(state, name, digest).await,
            _ => Ok(handlers::method_not_allowed()),
        },
        Route::UploadStart { name } if method == Method::POST => {
            // A mount needs a `from` the caller may read; without one it
            // is a plain upload.
            let mut mount_from = None;
            if let Some(from) = handlers::query_get(&query, "from") {
                let readable = path::validate_name(from).is_ok()
                    && state
                        .auth
                        .authorize(&headers, client, &Need::Pull(from.to_owned()), &realm)
                        .await
                        .is_ok();
                if readable {
                    mount_from = Some(from.to_owned());
                }
            }
            handlers::start_upload(state, name, query, mount_from, body).await
        }
        Route::Upload { name, id } => match method {
            Method::GET => handlers::upload_status(state, name, id).await,
            Method::PATCH => handlers::patch_upload(state, name, id, &headers, body).await,
            Method::PUT => handlers::put_upload(state, name, id, query, &headers, body).await,
            Method::DELETE => handlers::cancel_upload(state, name, id).await,
            _ => Ok(handlers::method_not_allowed()),
        },
        Route::Referrers { name, digest } if get => {
            handlers::referrers(state, name, digest, query).await
        }
        _ => Ok(handlers::method_not_allowed()),
    }
}

async fn token(Extract(state): Extract<Arc<State>>, request: Request) -> Response {
    let client = client(&request);
    let (uri, headers) = (request.uri(), request.headers());
    let query = parse_query(uri);
    let scopes: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    let realm = state.realm(uri, headers);
    match state.auth.token(headers, client, &scopes, &realm).await {
        Ok(grant) => axum::Json(grant).into_response(),
        Err(err) => err.into_response(),
    }
}

#[cfg(test)]
mod tests;
