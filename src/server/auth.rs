//! Who may do what: users (from the config file and an htpasswd file),
//! HTTP Basic on any request, the Bearer token endpoint's grants, and the
//! access decision for every API request. Password and token comparisons
//! run in constant time (`subtle`, `bcrypt`, `hmac`'s `verify_slice`).
//!
//! With no users the registry is open. With users, anonymous clients may
//! pull when anonymous read is on, and credentials that do not check out
//! (docker sends its Docker Hub login to mirrors) are treated as anonymous
//! for pulls instead of breaking them. Writes need a `write` user. This
//! module decides; it never logs or returns a password.

use super::error::Error;
use super::token::{Access as Grant, Claims, Signer};
use crate::secret::Secret;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// A user's rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

/// How a user's password is held.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Plain text from a 0600 config file, compared by sha256 in constant time.
    Plain(Secret),
    /// A bcrypt hash (`$2y$…`, as `htpasswd -B` writes).
    Bcrypt(String),
}

#[derive(Debug, Clone)]
pub struct User {
    pub access: Access,
    pub credential: Credential,
}

/// What a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// `/v2/`: any valid credentials (this is also `docker login`'s check).
    Base,
    Catalog,
    Pull(String),
    Push(String),
    Delete(String),
}

impl Need {
    fn is_read(&self) -> bool {
        matches!(self, Need::Catalog | Need::Pull(_))
    }

    fn scope(&self) -> Option<String> {
        match self {
            Need::Base => None,
            Need::Catalog => Some("registry:catalog:*".into()),
            Need::Pull(name) => Some(format!("repository:{name}:pull")),
            Need::Push(name) => Some(format!("repository:{name}:pull,push")),
            Need::Delete(name) => Some(format!("repository:{name}:delete")),
        }
    }
}

/// The token endpoint's answer.
#[derive(Debug, serde::Serialize)]
pub struct TokenResponse {
    pub token: String,
    pub access_token: String,
    pub expires_in: u64,
    pub issued_at: String,
}

pub struct Auth {
    users: HashMap<String, User>,
    anonymous_read: bool,
    signer: Signer,
    service: String,
    /// sha256 of passwords that passed a bcrypt check, so Basic on every
    /// request does not pay bcrypt every time.
    verified: Mutex<HashMap<String, [u8; 32]>>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Auth {
    pub fn new(users: HashMap<String, User>, anonymous_read: bool, signer: Signer) -> Auth {
        Auth {
            users,
            anonymous_read,
            signer,
            service: "zuul-image".into(),
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// No users: everyone may do everything.
    pub fn is_open(&self) -> bool {
        self.users.is_empty()
    }

    /// Check a user name and password; the user's access when they match.
    pub async fn check_password(&self, name: &str, password: &str) -> Option<Access> {
        let given = sha256(password.as_bytes());
        let Some(user) = self.users.get(name) else {
            // Spend the same comparison on unknown users.
            let _ = given.ct_eq(&sha256(b"unknown user")).unwrap_u8();
            return None;
        };
        match &user.credential {
            Credential::Plain(secret) => {
                let stored = sha256(secret.expose().as_bytes());
                bool::from(given.ct_eq(&stored)).then_some(user.access)
            }
            Credential::Bcrypt(hash) => {
                let cached = self
                    .verified
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(name)
                    .copied();
                if let Some(cached) = cached {
                    if bool::from(given.ct_eq(&cached)) {
                        return Some(user.access);
                    }
                }
                let hash = hash.clone();
                let password = password.to_owned();
                let ok = tokio::task::spawn_blocking(move || {
                    bcrypt::verify(password, &hash).unwrap_or(false)
                })
                .await
                .unwrap_or(false);
                if ok {
                    self.verified
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(name.to_owned(), given);
                }
                ok.then_some(user.access)
            }
        }
    }

    fn challenge(&self, realm: &str, need: &Need, insufficient: bool) -> Error {
        let mut challenge = format!("Bearer realm=\"{realm}\",service=\"{}\"", self.service);
        if let Some(scope) = need.scope() {
            challenge.push_str(&format!(",scope=\"{scope}\""));
        }
        if insufficient {
            challenge.push_str(",error=\"insufficient_scope\"");
        }
        Error::Unauthorized { challenge }
    }

    /// Decide whether a request with `headers` may do `need`. `realm` is the
    /// token endpoint's URL for the challenge.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        need: &Need,
        realm: &str,
    ) -> Result<(), Error> {
        if self.is_open() {
            return Ok(());
        }
        let anonymous_ok = self.anonymous_read && need.is_read();
        match parse_authorization(headers) {
            Some(Authorization::Bearer(token)) => match self.signer.verify(&token) {
                Ok(claims) if grants(&claims, need) => Ok(()),
                Ok(_) if anonymous_ok => Ok(()),
                Ok(_) => Err(self.challenge(realm, need, true)),
                Err(err) => {
                    tracing::debug!("refused a bearer token: {err}");
                    Err(self.challenge(realm, need, false))
                }
            },
            Some(Authorization::Basic(user, password)) => {
                match self.check_password(&user, password.expose()).await {
                    Some(access)
                        if access == Access::Write || need.is_read() || *need == Need::Base =>
                    {
                        Ok(())
                    }
                    Some(_) => Err(Error::Denied),
                    None if anonymous_ok => Ok(()),
                    None => Err(self.challenge(realm, need, false)),
                }
            }
            None if anonymous_ok => Ok(()),
            None => Err(self.challenge(realm, need, false)),
        }
    }

    /// The token endpoint: grant what the credentials allow of `scopes`.
    pub async fn token(
        &self,
        headers: &HeaderMap,
        scopes: &[String],
        realm: &str,
    ) -> Result<TokenResponse, Error> {
        let requested: Vec<Grant> = scopes.iter().flat_map(|s| parse_scopes(s)).collect();
        let wants_write = requested
            .iter()
            .any(|grant| grant.actions.iter().any(|a| a != "pull"));
        let (user, access) = match parse_authorization(headers) {
            Some(Authorization::Basic(name, password)) => {
                match self.check_password(&name, password.expose()).await {
                    Some(access) => (name, Some(access)),
                    // Docker Hub credentials sent to a mirror: anonymous pull.
                    None if self.anonymous_read && !wants_write && !requested.is_empty() => {
                        (String::new(), None)
                    }
                    None => return Err(self.challenge(realm, &Need::Base, false)),
                }
            }
            _ => (String::new(), None),
        };
        if requested.is_empty() && access.is_none() && !self.is_open() {
            // A scope-less request is a login check.
            return Err(self.challenge(realm, &Need::Base, false));
        }
        let may_read = self.is_open() || self.anonymous_read || access.is_some();
        let may_write = self.is_open() || access == Some(Access::Write);
        let granted: Vec<Grant> = requested
            .into_iter()
            .filter_map(|grant| {
                let actions: Vec<String> = grant
                    .actions
                    .iter()
                    .filter(|action| match action.as_str() {
                        "pull" => may_read,
                        "*" if grant.kind == "registry" => may_read,
                        _ => may_write,
                    })
                    .cloned()
                    .collect();
                (!actions.is_empty()).then_some(Grant { actions, ..grant })
            })
            .collect();
        let (token, claims) = self.signer.issue(&user, &self.service, granted);
        Ok(TokenResponse {
            access_token: token.clone(),
            token,
            expires_in: self.signer.ttl().as_secs(),
            issued_at: humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(claims.iat),
            )
            .to_string(),
        })
    }
}

fn grants(claims: &Claims, need: &Need) -> bool {
    match need {
        Need::Base => true,
        Need::Catalog => claims.allows_catalog(),
        Need::Pull(name) => claims.allows(name, "pull"),
        Need::Push(name) => claims.allows(name, "push"),
        Need::Delete(name) => claims.allows(name, "delete") || claims.allows(name, "push"),
    }
}

enum Authorization {
    Basic(String, Secret),
    Bearer(String),
}

fn parse_authorization(headers: &HeaderMap) -> Option<Authorization> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(Authorization::Bearer(rest.trim().to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        // Passwords may contain `:`; the user name may not.
        let (user, password) = text.split_once(':')?;
        return Some(Authorization::Basic(user.to_owned(), Secret::new(password)));
    }
    None
}

/// Parse one `scope` value (`repository:org/app:pull,push`, several may be
/// space-separated); unknown or malformed scopes are dropped.
pub fn parse_scopes(text: &str) -> Vec<Grant> {
    text.split_whitespace()
        .filter_map(|scope| {
            let (kind, rest) = scope.split_once(':')?;
            let (name, actions) = rest.rsplit_once(':')?;
            let kind = kind.split('(').next()?;
            let valid = match kind {
                "repository" => super::path::validate_name(name).is_ok(),
                "registry" => name == "catalog",
                _ => false,
            };
            valid.then(|| Grant {
                kind: kind.to_owned(),
                name: name.to_owned(),
                actions: actions
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::time::Duration;

    fn auth(anonymous_read: bool) -> Auth {
        let mut users = HashMap::new();
        users.insert(
            "zuul".to_owned(),
            User {
                access: Access::Write,
                credential: Credential::Plain(Secret::new("pw:with:colons")),
            },
        );
        users.insert(
            "reader".to_owned(),
            User {
                access: Access::Read,
                credential: Credential::Bcrypt(bcrypt::hash("rpw", 4).unwrap()),
            },
        );
        Auth::new(
            users,
            anonymous_read,
            Signer::random(Duration::from_secs(60)),
        )
    }

    fn basic(user: &str, password: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        headers
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        headers
    }

    #[tokio::test]
    async fn basic_rules() {
        let auth = auth(true);
        let none = HeaderMap::new();
        let pull = Need::Pull("org/app".into());
        let push = Need::Push("org/app".into());
        assert!(auth.authorize(&none, &pull, "r").await.is_ok());
        assert!(matches!(
            auth.authorize(&none, &push, "r").await,
            Err(Error::Unauthorized { .. })
        ));
        assert!(matches!(
            auth.authorize(&none, &Need::Base, "r").await,
            Err(Error::Unauthorized { .. })
        ));
        let good = basic("zuul", "pw:with:colons");
        assert!(auth.authorize(&good, &push, "r").await.is_ok());
        assert!(auth.authorize(&good, &Need::Base, "r").await.is_ok());
        // Docker Hub credentials sent to a mirror still pull.
        let hub = basic("someone", "hub-password");
        assert!(auth.authorize(&hub, &pull, "r").await.is_ok());
        assert!(auth.authorize(&hub, &push, "r").await.is_err());
        // A read user may not push (and bcrypt works, twice via the cache).
        for _ in 0..2 {
            let reader = basic("reader", "rpw");
            assert!(auth.authorize(&reader, &pull, "r").await.is_ok());
            assert!(matches!(
                auth.authorize(&reader, &push, "r").await,
                Err(Error::Denied)
            ));
        }
        assert!(
            auth.authorize(&basic("reader", "wrong"), &Need::Base, "r")
                .await
                .is_err()
        );
        // Anonymous read off.
        let closed = self::auth(false);
        assert!(closed.authorize(&none, &pull, "r").await.is_err());
        assert!(closed.authorize(&hub, &pull, "r").await.is_err());
    }

    #[tokio::test]
    async fn token_grants() {
        let auth = auth(true);
        let scope = vec!["repository:org/app:pull,push".to_owned()];
        // Anonymous: pull only.
        let anonymous = auth.token(&HeaderMap::new(), &scope, "r").await.unwrap();
        let push = Need::Push("org/app".into());
        let pull = Need::Pull("org/app".into());
        assert!(
            auth.authorize(&bearer(&anonymous.token), &pull, "r")
                .await
                .is_ok()
        );
        let err = auth.authorize(&bearer(&anonymous.token), &push, "r").await;
        assert!(
            matches!(err, Err(Error::Unauthorized { challenge }) if challenge.contains("insufficient_scope"))
        );
        // Wrong credentials asking for push: refused outright.
        assert!(
            auth.token(&basic("zuul", "nope"), &scope, "r")
                .await
                .is_err()
        );
        // Wrong credentials asking for pull: anonymous token.
        let pull_scope = vec!["repository:org/app:pull".to_owned()];
        assert!(
            auth.token(&basic("zuul", "nope"), &pull_scope, "r")
                .await
                .is_ok()
        );
        // Login check.
        assert!(auth.token(&HeaderMap::new(), &[], "r").await.is_err());
        assert!(
            auth.token(&basic("zuul", "pw:with:colons"), &[], "r")
                .await
                .is_ok()
        );
        // A write user's token works for that repository only.
        let token = auth
            .token(&basic("zuul", "pw:with:colons"), &scope, "r")
            .await
            .unwrap();
        assert!(
            auth.authorize(&bearer(&token.token), &push, "r")
                .await
                .is_ok()
        );
        let other = Need::Push("org/other".into());
        assert!(
            auth.authorize(&bearer(&token.token), &other, "r")
                .await
                .is_err()
        );
        assert_eq!(token.token, token.access_token);
    }

    #[test]
    fn scopes() {
        let parsed = parse_scopes("repository:quay.io/org/app:pull,push registry:catalog:*");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].name, "quay.io/org/app");
        assert_eq!(parsed[0].actions, vec!["pull", "push"]);
        assert!(parse_scopes("repository:../x:pull").is_empty());
        assert!(parse_scopes("garbage").is_empty());
    }
}
