//! Registry authentication: parsing `WWW-Authenticate` challenges, Basic
//! credentials, and the Bearer token flow (realm/service/scope, tokens
//! cached per scope set until they expire, refreshed on
//! `insufficient_scope`).
//!
//! Owns the `Authorization` header value for a request and nothing else:
//! it does not send registry requests (the transport does) and never logs
//! or formats a password or token.

use super::advice::Advice;
use super::credentials::Credential;
use super::retry::{Failed, RetryPolicy, retry, retry_after};
use super::{Error, show_url};
use crate::secret::Secret;
use base64::Engine;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lower-cased scheme: `basic`, `bearer`, …
    pub scheme: String,
    /// Parameters with lower-cased names.
    pub params: BTreeMap<String, String>,
}

/// Parse a `WWW-Authenticate` value into its challenges (RFC 7235: several
/// challenges may share one header, parameters may be quoted with escapes
/// and contain commas).
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            break;
        }
        // A token followed by `=` is a parameter of the current challenge;
        // a token followed by space, comma or the end starts a new one.
        let end = rest.find(['=', ' ', ',', '\t']).unwrap_or(rest.len());
        let token = &rest[..end];
        let after = &rest[end..];
        let is_param = after.trim_start_matches([' ', '\t']).starts_with('=')
            && !after.trim_start_matches([' ', '\t']).starts_with("==")
            && !challenges.is_empty();
        if !is_param {
            challenges.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
            rest = after;
            continue;
        }
        let after = after.trim_start_matches([' ', '\t']);
        let after = after[1..].trim_start_matches([' ', '\t']);
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        if let Some(challenge) = challenges.last_mut() {
            challenge.params.insert(token.to_ascii_lowercase(), value);
        }
        rest = remaining;
    }
    challenges
}

/// The scopes one request needs, e.g. `repository:org/app:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Scopes(Vec<String>);

impl Scopes {
    pub fn none() -> Scopes {
        Scopes(Vec::new())
    }

    /// `repository:<repo>:pull`.
    pub fn pull(repository: &str) -> Scopes {
        Scopes(vec![format!("repository:{repository}:pull")])
    }

    /// `repository:<repo>:pull,push`.
    pub fn push(repository: &str) -> Scopes {
        Scopes(vec![format!("repository:{repository}:pull,push")])
    }

    /// `repository:<repo>:delete` (a tag or manifest DELETE).
    pub fn delete(repository: &str) -> Scopes {
        Scopes(vec![format!("repository:{repository}:delete")])
    }

    /// These scopes plus `pull` on `repository` (a mount's source).
    pub fn and_pull(&self, repository: &str) -> Scopes {
        let mut scopes = self.clone();
        scopes.add(format!("repository:{repository}:pull"));
        scopes
    }

    fn add(&mut self, scope: String) {
        if !self.0.contains(&scope) {
            self.0.push(scope);
            self.0.sort();
        }
    }

    fn key(&self) -> String {
        self.0.join(" ")
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[derive(Debug, Clone)]
enum Scheme {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Debug)]
struct Token {
    value: Secret,
    expires: Instant,
}

#[derive(Debug, Default)]
struct State {
    scheme: Option<Scheme>,
    tokens: HashMap<String, Token>,
}

/// What the transport should do after a 401.
#[derive(Debug, PartialEq, Eq)]
pub enum Retry {
    /// New credentials are in place: send the request again.
    Again,
    /// Nothing more to try.
    GiveUp(String),
}

/// The auth state of one registry.
#[derive(Debug)]
pub struct Authenticator {
    registry: String,
    credential: Option<Credential>,
    state: Mutex<State>,
    /// For errors that say what to do.
    advice: Advice,
}

#[derive(Deserialize)]
struct TokenReply {
    #[serde(default)]
    token: Option<Secret>,
    #[serde(default)]
    access_token: Option<Secret>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Authenticator {
    pub fn new(registry: &str, credential: Option<Credential>, advice: Advice) -> Authenticator {
        Authenticator {
            registry: registry.to_owned(),
            credential,
            state: Mutex::new(State::default()),
            advice,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn basic_header(&self) -> Option<HeaderValue> {
        let Some(Credential::Basic { username, password }) = &self.credential else {
            return None;
        };
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{username}:{}", password.expose()));
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// The `Authorization` header for a request with `scopes`, when one is
    /// known: Basic once the registry asked for it, or a cached token.
    pub fn header(&self, scopes: &Scopes) -> Option<HeaderValue> {
        let state = self.state();
        match state.scheme.as_ref()? {
            Scheme::Basic => self.basic_header(),
            Scheme::Bearer { .. } => {
                let token = state.tokens.get(&scopes.key())?;
                if token.expires <= Instant::now() {
                    return None;
                }
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {}", token.value.expose())).ok()?;
                value.set_sensitive(true);
                Some(value)
            }
        }
    }

    /// Once the registry is known to use Bearer tokens, fetch the token for
    /// `scopes` before the request instead of after a 401 (saves a round
    /// trip for every new repository, and keeps a streamed upload from
    /// being refused for an expired token).
    pub async fn prepare(
        &self,
        http: &reqwest::Client,
        policy: &RetryPolicy,
        scopes: &Scopes,
    ) -> Result<(), Error> {
        let (realm, service) = {
            let state = self.state();
            match &state.scheme {
                Some(Scheme::Bearer { realm, service }) => {
                    let fresh = state
                        .tokens
                        .get(&scopes.key())
                        .is_some_and(|token| token.expires > Instant::now());
                    if fresh {
                        return Ok(());
                    }
                    (realm.clone(), service.clone())
                }
                _ => return Ok(()),
            }
        };
        let token = self
            .fetch_token(http, policy, &realm, service.as_deref(), scopes)
            .await?;
        self.state().tokens.insert(scopes.key(), token);
        Ok(())
    }

    /// Forget the token for `scopes` (it was refused).
    pub fn forget(&self, scopes: &Scopes) {
        self.state().tokens.remove(&scopes.key());
    }

    /// React to a 401 with `challenge_header`: set up Basic, or fetch a
    /// token for `scopes` (plus the challenge's own scope). `sent` says
    /// whether the refused request carried an `Authorization` header.
    pub async fn challenge(
        &self,
        http: &reqwest::Client,
        policy: &RetryPolicy,
        challenge_header: Option<&str>,
        scopes: &Scopes,
        sent: bool,
    ) -> Result<Retry, Error> {
        let challenges = challenge_header.map(parse_challenges).unwrap_or_default();
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let Some(realm) = bearer.params.get("realm").cloned() else {
                return Ok(Retry::GiveUp("Bearer challenge without a realm".into()));
            };
            let mut wanted = scopes.clone();
            if let Some(scope) = bearer.params.get("scope") {
                for scope in scope.split(' ').filter(|s| !s.is_empty()) {
                    wanted.add(scope.to_owned());
                }
            }
            let service = bearer.params.get("service").cloned();
            let insufficient =
                bearer.params.get("error").map(String::as_str) == Some("insufficient_scope");
            if sent && !insufficient && self.state().tokens.contains_key(&scopes.key()) {
                // A token for exactly these scopes was just refused; one
                // fresh fetch below, then the transport gives up.
                tracing::debug!(
                    "token for `{}` refused by `{}`; fetching a new one",
                    scopes.key(),
                    self.registry
                );
            }
            let token = self
                .fetch_token(http, policy, &realm, service.as_deref(), &wanted)
                .await?;
            let mut state = self.state();
            state.scheme = Some(Scheme::Bearer { realm, service });
            state.tokens.insert(scopes.key(), token);
            return Ok(Retry::Again);
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            if self.credential.is_none() {
                return Ok(Retry::GiveUp(
                    "it asks for a user name and password and none are configured".into(),
                ));
            }
            let already = matches!(self.state().scheme, Some(Scheme::Basic));
            if sent && already {
                return Ok(Retry::GiveUp("user name or password rejected".into()));
            }
            if matches!(self.credential, Some(Credential::IdentityToken(_))) {
                return Ok(Retry::GiveUp(
                    "it asks for Basic auth and only an identity token is configured".into(),
                ));
            }
            self.state().scheme = Some(Scheme::Basic);
            return Ok(Retry::Again);
        }
        Ok(Retry::GiveUp(match challenge_header {
            Some(_) => "unsupported authentication challenge".into(),
            None => "401 without a WWW-Authenticate challenge".into(),
        }))
    }

    async fn fetch_token(
        &self,
        http: &reqwest::Client,
        policy: &RetryPolicy,
        realm: &str,
        service: Option<&str>,
        scopes: &Scopes,
    ) -> Result<Token, Error> {
        let url = url::Url::parse(realm).map_err(|err| Error::Protocol {
            registry: self.registry.clone(),
            message: format!("sent a token realm `{realm}` that is not a URL: {err}"),
        })?;
        retry(
            policy,
            |_| self.token_attempt(http, &url, service, scopes),
            |failure, delay| tracing::debug!("{failure}; asking for a token again in {delay:?}"),
        )
        .await
    }

    /// One token request: GET with Basic credentials (or none), or the
    /// OAuth2 refresh-token POST with an identity token.
    async fn token_attempt(
        &self,
        http: &reqwest::Client,
        url: &url::Url,
        service: Option<&str>,
        scopes: &Scopes,
    ) -> Result<Token, Failed> {
        let mut url = url.clone();
        let request = match &self.credential {
            Some(Credential::IdentityToken(refresh)) => {
                let mut form = vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", refresh.expose().to_owned()),
                    ("client_id", "zuul-image".to_owned()),
                ];
                if let Some(service) = service {
                    form.push(("service", service.to_owned()));
                }
                form.push(("scope", scopes.key()));
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish();
                http.post(url.clone())
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
            }
            credential => {
                {
                    let mut query = url.query_pairs_mut();
                    query.clear();
                    if let Some(service) = service {
                        query.append_pair("service", service);
                    }
                    for scope in scopes.iter() {
                        query.append_pair("scope", scope);
                    }
                }
                let request = http.get(url.clone());
                match credential {
                    Some(Credential::Basic { username, password }) => {
                        request.basic_auth(username, Some(password.expose()))
                    }
                    _ => request,
                }
            }
        };
        let response = request
            .send()
            .await
            .map_err(|err| Error::transport("GET", &url, &err, &self.advice))?;
        let status = response.status();
        if status.is_success() {
            let reply: TokenReply = response.json().await.map_err(|err| Error::Protocol {
                registry: self.registry.clone(),
                message: format!(
                    "token service `{}` sent an unreadable answer: {err}",
                    url.path()
                ),
            })?;
            let Some(value) = reply.token.or(reply.access_token).filter(|t| !t.is_empty()) else {
                return Err(Error::Protocol {
                    registry: self.registry.clone(),
                    message: "token service answered without a token".into(),
                }
                .into());
            };
            // Distribution's default lifetime is 60 s; keep a margin.
            let lifetime = Duration::from_secs(reply.expires_in.unwrap_or(60).max(60));
            return Ok(Token {
                value,
                expires: Instant::now() + lifetime - Duration::from_secs(10),
            });
        }
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(Error::Unauthorized {
                registry: self.registry.clone(),
                message: format!(
                    "the token service refused the credentials for `{}`",
                    scopes.key()
                ),
                advice: self.advice.unauthorized(),
            }
            .into());
        }
        Err(Failed {
            retry_after: retry_after(&response),
            error: Error::Http {
                method: "GET".into(),
                url: show_url(&url),
                status,
                code: None,
                message: "token request failed".into(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_bearer_and_basic() {
        let got = parse_challenges(
            r#"Bearer realm="https://auth.example.org/token",service="registry.example.org",scope="repository:org/app:pull,push""#,
        );
        assert_eq!(
            got,
            vec![Challenge {
                scheme: "bearer".into(),
                params: params(&[
                    ("realm", "https://auth.example.org/token"),
                    ("service", "registry.example.org"),
                    ("scope", "repository:org/app:pull,push"),
                ]),
            }]
        );
        let got = parse_challenges(r#"Basic realm="test-realm""#);
        assert_eq!(got[0].scheme, "basic");
        assert_eq!(got[0].params["realm"], "test-realm");
    }

    #[test]
    fn parses_several_challenges_escapes_and_errors() {
        let got = parse_challenges(
            r#"Basic realm="a, \"quoted\" realm", Bearer realm="https://r/t", error="insufficient_scope",scope="repository:a:pull repository:b:pull""#,
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].params["realm"], r#"a, "quoted" realm"#);
        assert_eq!(got[1].scheme, "bearer");
        assert_eq!(got[1].params["error"], "insufficient_scope");
        assert_eq!(
            got[1].params["scope"],
            "repository:a:pull repository:b:pull"
        );
        let got = parse_challenges("BASIC realm=unquoted, charset=UTF-8");
        assert_eq!(
            got[0].params,
            params(&[("realm", "unquoted"), ("charset", "UTF-8")])
        );
        assert!(parse_challenges("").is_empty());
        let got = parse_challenges("Negotiate");
        assert_eq!(got[0].scheme, "negotiate");
    }

    #[test]
    fn scopes_are_sets() {
        let scopes = Scopes::push("org/app")
            .and_pull("org/base")
            .and_pull("org/base");
        assert_eq!(
            scopes.key(),
            "repository:org/app:pull,push repository:org/base:pull"
        );
        assert_ne!(scopes.key(), Scopes::push("org/app").key());
    }

    #[test]
    fn basic_header_only_after_a_challenge() {
        let auth = Authenticator::new(
            "reg:5000",
            Some(Credential::basic("zuul", Secret::new("pw"))),
            Advice::default(),
        );
        let scopes = Scopes::pull("a");
        assert!(auth.header(&scopes).is_none());
        auth.state().scheme = Some(Scheme::Basic);
        let header = auth.header(&scopes).unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().unwrap(), "Basic enV1bDpwdw==");
    }
}
