//! Quay's API (`https://<registry>/api/v1`): `DELETE
//! /repository/<ns>/<repo>/tag/<tag>` and the tag list `GET
//! /repository/<ns>/<repo>/tag/?onlyActiveTags=true&limit=100&page=N`
//! (followed while `has_additional`), both with the `api_token` as
//! `Bearer` (deleting needs `repo:write`).

use super::{MAX_PAGES, TagAge, WebApi, json};
use crate::registry::Error;
use crate::secret::Secret;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use std::time::SystemTime;

/// Quay's API with one token.
#[derive(Debug)]
pub struct Quay {
    api: WebApi,
    authorization: Secret,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    has_additional: bool,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
    #[serde(default)]
    last_modified: Option<String>,
}

impl Quay {
    /// The API at `base` (`https://quay.io/api/v1`), trusting `pems` too.
    pub fn new(base: &str, token: &Secret, pems: &[(String, String)]) -> Result<Quay, Error> {
        Ok(Quay {
            api: WebApi::new(base, pems)?,
            authorization: Secret::new(format!("Bearer {}", token.expose())),
        })
    }

    pub fn base(&self) -> &str {
        self.api.base.as_str().trim_end_matches('/')
    }

    /// Delete `tag` of `repository` (`namespace/name`).
    pub async fn delete(&self, repository: &str, tag: &str) -> Result<(), Error> {
        let url = self.api.url(&format!("repository/{repository}/tag/{tag}"));
        self.api
            .send(
                Method::DELETE,
                &url,
                Some(&self.authorization),
                &[StatusCode::OK, StatusCode::NO_CONTENT, StatusCode::ACCEPTED],
                |r| r,
            )
            .await
            .map(drop)
    }

    /// Every active tag of `repository`, through every page.
    pub async fn tags(&self, repository: &str) -> Result<Vec<TagAge>, Error> {
        let mut tags = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut url = self.api.url(&format!("repository/{repository}/tag/"));
            url.query_pairs_mut()
                .append_pair("onlyActiveTags", "true")
                .append_pair("limit", "100")
                .append_pair("page", &page.to_string());
            let response = self
                .api
                .send(
                    Method::GET,
                    &url,
                    Some(&self.authorization),
                    &[StatusCode::OK],
                    |r| r,
                )
                .await?;
            let answer: Page = json(&url, response).await?;
            let empty = answer.tags.is_empty();
            tags.extend(answer.tags.into_iter().map(|tag| TagAge {
                updated: tag.last_modified.as_deref().and_then(parse_time),
                name: tag.name,
            }));
            if !answer.has_additional || empty {
                break;
            }
        }
        Ok(tags)
    }
}

/// Quay's `last_modified`: `Thu, 02 Nov 2023 12:34:56 -0000` (RFC 2822 in
/// UTC).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let utc = ["-0000", "+0000", "GMT", "UTC"]
        .iter()
        .find_map(|zone| text.strip_suffix(zone))?;
    httpdate::parse_http_date(&format!("{}GMT", utc)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn quay_times() {
        let want = SystemTime::UNIX_EPOCH + Duration::from_secs(1_698_928_496);
        assert_eq!(parse_time("Thu, 02 Nov 2023 12:34:56 -0000"), Some(want));
        assert_eq!(parse_time("Thu, 02 Nov 2023 12:34:56 +0000"), Some(want));
        assert_eq!(parse_time("Thu, 02 Nov 2023 12:34:56 GMT"), Some(want));
        assert_eq!(parse_time("Thu, 02 Nov 2023 12:34:56 +0100"), None);
    }
}
