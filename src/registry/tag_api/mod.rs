//! Deleting and listing tags through the registry's own API, which is
//! what a promotion needs after the retag: the temporary tag goes, and so
//! do temporary tags older than a day.
//!
//! - Docker Hub ([`hub`]): the Hub web API, logged in with the user's
//!   password; its tag list gives `last_updated`.
//! - Quay ([`quay`]): `/api/v1` with the `api_token`; its tag list gives
//!   `last_modified`.
//! - Any other registry: `DELETE /v2/<name>/manifests/<tag>` (which many
//!   refuse, distribution among them); the distribution API has no tag
//!   ages, so nothing is cleaned up there.
//!
//! Tag lists are read through every page. Which tags are stale is
//! [`stale`]'s pure decision: the pattern matches and the tag's total age
//! is over the limit. Nothing here ever deletes by digest.

pub mod hub;
pub mod quay;

use super::advice::Advice;
use super::retry::{Failed, RetryPolicy, retry, retry_after, retryable_status};
use super::{Error, Registry, show_url, tls};
use crate::secret::Secret;
use reqwest::header::{ACCEPT, AUTHORIZATION};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use url::Url;

/// A tag and when it last changed, when the registry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagAge {
    pub name: String,
    pub updated: Option<SystemTime>,
}

/// The API that deletes a final registry's tags.
#[derive(Debug)]
pub enum TagApi {
    Hub(hub::Hub),
    Quay(quay::Quay),
    /// The distribution API of the registry itself.
    Registry(Arc<Registry>),
}

impl TagApi {
    /// Delete `tag` of `repository` (the path inside the registry).
    pub async fn delete(&self, repository: &str, tag: &str) -> Result<(), Error> {
        match self {
            TagApi::Hub(hub) => hub.delete(repository, tag).await,
            TagApi::Quay(quay) => quay.delete(repository, tag).await,
            TagApi::Registry(registry) => registry.delete_tag(repository, tag).await,
        }
    }

    /// Every tag of `repository` with its age, through every page; `None`
    /// when the API tells no ages (the distribution API).
    pub async fn tags(&self, repository: &str) -> Result<Option<Vec<TagAge>>, Error> {
        match self {
            TagApi::Hub(hub) => hub.tags(repository).await.map(Some),
            TagApi::Quay(quay) => quay.tags(repository).await.map(Some),
            TagApi::Registry(_) => Ok(None),
        }
    }

    /// The API's name for messages.
    pub fn describe(&self) -> String {
        match self {
            TagApi::Hub(hub) => format!("Docker Hub's API at `{}`", hub.base()),
            TagApi::Quay(quay) => format!("Quay's API at `{}`", quay.base()),
            TagApi::Registry(registry) => format!("`{}`", registry.address()),
        }
    }
}

/// The tags of `tags` that `pattern` matches (search semantics) and whose
/// total age at `now` is over `max_age`, in list order. A tag without an
/// age, or one from the future, is kept.
pub fn stale(
    tags: &[TagAge],
    pattern: &regex::Regex,
    max_age: Duration,
    now: SystemTime,
) -> Vec<String> {
    tags.iter()
        .filter(|tag| pattern.is_match(&tag.name))
        .filter(|tag| {
            tag.updated
                .and_then(|updated| now.duration_since(updated).ok())
                .is_some_and(|age| age > max_age)
        })
        .map(|tag| tag.name.clone())
        .collect()
}

/// Most pages a tag list is followed through (100 tags each): a guard
/// against an API whose `next` never ends.
const MAX_PAGES: usize = 10_000;

/// An HTTP client for a registry's web API: TLS trust like the registry's
/// (system roots plus the configured certificate), retries through the
/// one retry policy, errors from the API's JSON bodies. Never logs a
/// token.
#[derive(Debug)]
struct WebApi {
    base: Url,
    http: reqwest::Client,
    retry: RetryPolicy,
}

/// Retries for web API calls: three attempts (the roles' `retries: 3`),
/// short waits.
const WEB_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
    budget: Duration::from_secs(120),
};

/// An error body of Hub or Quay: `message`, `detail` or `error_message`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    detail: Option<serde_json::Value>,
    #[serde(default)]
    error_message: Option<String>,
}

impl WebApi {
    /// The API at `base` (no trailing slash), trusting `pems` besides the
    /// system roots.
    fn new(base: &str, pems: &[(String, String)]) -> Result<WebApi, Error> {
        let bad = |message: String| Error::Protocol {
            registry: base.to_owned(),
            message,
        };
        let base = Url::parse(&format!("{}/", base.trim_end_matches('/')))
            .map_err(|err| bad(format!("is not a usable API URL: {err}")))?;
        let host = base.host_str().unwrap_or_default().to_owned();
        let trust = tls::trust(&host, pems, &[])?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls::client_config(trust)?)
            .user_agent(concat!("zuul-image/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|err| bad(format!("failed to set up an HTTP client: {err}")))?;
        Ok(WebApi {
            base,
            http,
            retry: WEB_RETRY,
        })
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// Send a request (rebuilt per attempt), retrying transient failures;
    /// a response with a status in `ok` is returned, any other is an error.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        auth: Option<&Secret>,
        ok: &[StatusCode],
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, Error> {
        retry(
            &self.retry,
            |_| async {
                let mut request = build(self.http.request(method.clone(), url.clone()))
                    .header(ACCEPT, "application/json");
                if let Some(auth) = auth {
                    request = request.header(AUTHORIZATION, auth.expose());
                }
                let response = request.send().await.map_err(|err| {
                    Failed::from(Error::transport(
                        method.as_str(),
                        url,
                        &err,
                        &api_advice(url),
                    ))
                })?;
                let status = response.status();
                if ok.contains(&status) {
                    return Ok(response);
                }
                let wait = retry_after(&response);
                let error = api_error(&method, url, response).await;
                Err(Failed {
                    error,
                    retry_after: if retryable_status(status) { wait } else { None },
                })
            },
            |failure, delay| tracing::debug!("{failure}; retrying in {delay:?}"),
        )
        .await
    }
}

/// What to say when the web API at `url` refuses TLS: it is trusted through
/// the system CAs only.
fn api_advice(url: &Url) -> Advice {
    Advice {
        registry: url.authority().to_owned(),
        ..Advice::default()
    }
}

/// The error for an API answer that is not what was asked for.
async fn api_error(method: &Method, url: &Url, response: Response) -> Error {
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let parsed: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let detail = parsed.detail.map(|detail| match detail {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    });
    let message = parsed
        .message
        .or(parsed.error_message)
        .or(detail)
        .unwrap_or_default();
    let registry = url.host_str().unwrap_or_default().to_owned();
    match status {
        StatusCode::UNAUTHORIZED => Error::Unauthorized {
            registry,
            message: if message.is_empty() {
                format!("{method} {}", show_url(url))
            } else {
                message
            },
            advice: "; the web API refused the credentials: check `docker_credentials` or `container_registry_credentials` (quay.io deletes need `api_token`)".into(),
        },
        StatusCode::FORBIDDEN => Error::Denied {
            registry,
            message: if message.is_empty() {
                format!("{method} {}", show_url(url))
            } else {
                message
            },
            advice: "; the account may not do this: Docker Hub refuses tag deletes with a personal access token (use the password), quay.io needs an `api_token` with repo:write".into(),
        },
        StatusCode::NOT_FOUND => Error::NotFound {
            registry,
            what: show_url(url),
            code: None,
        },
        status => Error::Http {
            method: method.to_string(),
            url: show_url(url),
            status,
            code: None,
            message,
        },
    }
}

/// Read a JSON answer.
async fn json<T: serde::de::DeserializeOwned>(url: &Url, response: Response) -> Result<T, Error> {
    let bytes = response
        .bytes()
        .await
        .map_err(|err| Error::transport("GET", url, &err, &api_advice(url)))?;
    serde_json::from_slice(&bytes).map_err(|err| Error::Protocol {
        registry: url.host_str().unwrap_or_default().to_owned(),
        message: format!(
            "answered `{}` with JSON it does not document: {err}",
            show_url(url)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours_ago: u64, now: SystemTime) -> Option<SystemTime> {
        Some(now - Duration::from_secs(hours_ago * 3600))
    }

    #[test]
    fn stale_tags_by_total_age() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let tag = |name: &str, updated| TagAge {
            name: name.into(),
            updated,
        };
        let tags = [
            tag("change_1_latest", at(25, now)),
            // 3 days and 1 hour: the upstream roles' `.seconds` would see one hour.
            tag("change_2_latest", at(73, now)),
            tag("change_3_latest", at(23, now)),
            tag("promote_latest", at(48, now)),
            tag("latest", at(1000, now)),
            tag("v1change_4", at(1000, now)),
            tag("change_5_latest", None),
            tag("change_6_latest", Some(now + Duration::from_secs(60))),
        ];
        let pattern = regex::Regex::new("^change_.*$|^promote_.*$").unwrap();
        assert_eq!(
            stale(&tags, &pattern, Duration::from_secs(86400), now),
            ["change_1_latest", "change_2_latest", "promote_latest"]
        );
    }
}
