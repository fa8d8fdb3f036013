//! Docker Hub's web API (`https://hub.docker.com/v2`), for what the
//! registry API cannot do on Hub: delete a tag and list tags with their
//! `last_updated`.
//!
//! Login: `POST /v2/auth/token` (`identifier` + `secret` → `access_token`,
//! sent as `Bearer`), the current endpoint; when it fails, the older
//! `POST /v2/users/login/` (`username` + `password` → `token`, sent as
//! `JWT`, what the roles use). Tags: `GET /v2/repositories/<repo>/tags`
//! in pages of 100 (Hub's cap), following `next`; `DELETE
//! /v2/repositories/<repo>/tags/<tag>/`. Hub refuses deletes with a token
//! minted from a personal access token ("forbidden with personal access
//! token"): deleting needs the account's password.

use super::{MAX_PAGES, TagAge, WebApi, json};
use crate::registry::Error;
use crate::secret::Secret;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use std::time::SystemTime;
use tokio::sync::OnceCell;

/// Docker Hub's API for one account.
#[derive(Debug)]
pub struct Hub {
    api: WebApi,
    username: String,
    password: Secret,
    /// The `Authorization` value after login.
    token: OnceCell<Secret>,
}

#[derive(Deserialize)]
struct AccessToken {
    access_token: Secret,
}

#[derive(Deserialize)]
struct LoginToken {
    token: Secret,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    results: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
    #[serde(default)]
    last_updated: Option<String>,
}

/// The production API.
pub const DEFAULT_BASE: &str = "https://hub.docker.com/v2";

impl Hub {
    /// The API at `base` (`https://hub.docker.com/v2` in production).
    pub fn new(base: &str, username: &str, password: Secret) -> Result<Hub, Error> {
        Ok(Hub {
            api: WebApi::new(base, &[])?,
            username: username.to_owned(),
            password,
            token: OnceCell::new(),
        })
    }

    pub fn base(&self) -> &str {
        self.api.base.as_str().trim_end_matches('/')
    }

    /// Log in once: the current token endpoint, else the older one.
    async fn authorization(&self) -> Result<&Secret, Error> {
        self.token
            .get_or_try_init(|| async {
                match self.access_token().await {
                    Ok(token) => Ok(token),
                    Err(current) => {
                        tracing::debug!(
                            "Hub `auth/token` failed ({current}); trying `users/login`"
                        );
                        self.login_token().await.map_err(|older| match older {
                            // Both refused the credentials: say what the current one said.
                            Error::Unauthorized { .. } => current,
                            older => older,
                        })
                    }
                }
            })
            .await
    }

    async fn access_token(&self) -> Result<Secret, Error> {
        let url = self.api.url("auth/token");
        let body = json!({"identifier": self.username, "secret": self.password.expose()});
        let response = self
            .api
            .send(
                Method::POST,
                &url,
                None,
                &[StatusCode::OK, StatusCode::CREATED],
                |r| r.json(&body),
            )
            .await?;
        let token: AccessToken = json(&url, response).await?;
        Ok(Secret::new(format!(
            "Bearer {}",
            token.access_token.expose()
        )))
    }

    async fn login_token(&self) -> Result<Secret, Error> {
        let url = self.api.url("users/login/");
        let body = json!({"username": self.username, "password": self.password.expose()});
        let response = self
            .api
            .send(Method::POST, &url, None, &[StatusCode::OK], |r| {
                r.json(&body)
            })
            .await?;
        let token: LoginToken = json(&url, response).await?;
        Ok(Secret::new(format!("JWT {}", token.token.expose())))
    }

    /// Delete `tag` of `repository` (`namespace/name`).
    pub async fn delete(&self, repository: &str, tag: &str) -> Result<(), Error> {
        let auth = self.authorization().await?;
        let url = self
            .api
            .url(&format!("repositories/{repository}/tags/{tag}/"));
        self.api
            .send(
                Method::DELETE,
                &url,
                Some(auth),
                &[StatusCode::OK, StatusCode::NO_CONTENT, StatusCode::ACCEPTED],
                |r| r,
            )
            .await
            .map(drop)
    }

    /// Every tag of `repository`, through every page (logged in, so
    /// private repositories list too).
    pub async fn tags(&self, repository: &str) -> Result<Vec<TagAge>, Error> {
        let auth = self.authorization().await?;
        let mut url = self.api.url(&format!("repositories/{repository}/tags"));
        url.query_pairs_mut().append_pair("page_size", "100");
        let mut tags = Vec::new();
        for _ in 0..MAX_PAGES {
            let response = self
                .api
                .send(Method::GET, &url, Some(auth), &[StatusCode::OK], |r| r)
                .await?;
            let page: Page = json(&url, response).await?;
            tags.extend(page.results.into_iter().map(|tag| TagAge {
                updated: tag.last_updated.as_deref().and_then(parse_time),
                name: tag.name,
            }));
            match page.next.filter(|next| !next.is_empty()) {
                Some(next) => {
                    let next = url.join(&next).map_err(|err| Error::Protocol {
                        registry: self.base().to_owned(),
                        message: format!("sent a `next` page that is not a URL: {err}"),
                    })?;
                    if next == url {
                        break;
                    }
                    url = next;
                }
                None => break,
            }
        }
        Ok(tags)
    }
}

/// Hub's `last_updated`: RFC 3339 in UTC (`2024-05-03T11:22:33.123456Z`).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let text = text
        .strip_suffix("+00:00")
        .map(|rest| format!("{rest}Z"))
        .unwrap_or_else(|| text.to_owned());
    humantime::parse_rfc3339(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn hub_times() {
        let want = SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_735_353);
        assert_eq!(parse_time("2024-05-03T11:22:33Z"), Some(want));
        assert_eq!(
            parse_time("2024-05-03T11:22:33.250000Z"),
            Some(want + Duration::from_millis(250))
        );
        assert_eq!(parse_time("2024-05-03T11:22:33+00:00"), Some(want));
        assert_eq!(parse_time("yesterday"), None);
    }
}
