//! Who may do what: users (from the config file and an htpasswd file),
//! HTTP Basic on any request, the Bearer token endpoint's grants, and the
//! access decision for every API request. Password and token comparisons
//! run in constant time (`subtle`, `bcrypt`, `hmac`'s `verify_slice`), and a
//! failed check costs the same whether the user exists or not: an unknown
//! user (or a wrong plain password) pays one bcrypt verification against a
//! dummy hash of the configured cost whenever bcrypt users exist.
//!
//! With no users the registry is open. With users, anonymous clients may
//! pull when anonymous read is on, and credentials that do not check out
//! (docker sends its Docker Hub login to mirrors) are treated as anonymous
//! for pulls instead of breaking them. With anonymous read off, nothing is
//! granted without valid credentials, not even an empty token. Writes need
//! a `write` user.
//!
//! Failed Basic logins are limited per client address (IPv6 per /64): a
//! client that spent its allowance is answered `429 TOOMANYREQUESTS` without
//! its password being checked until the allowance refills. Only failures
//! that decided the answer count; a pull that fell back to anonymous does
//! not. This module decides; it never logs or returns a password.

use super::error::Error;
use super::token::{Access as Grant, Claims, Signer};
use crate::secret::Secret;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
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
    /// A bcrypt hash of the costliest configured cost that no password
    /// matches, checked for unknown users; `None` without bcrypt users.
    dummy_hash: Option<String>,
    failed_logins: Mutex<FailedLogins>,
}

/// Failed Basic logins per client: a token bucket each, `per_minute` deep
/// and refilled evenly over a minute.
struct FailedLogins {
    per_minute: u32,
    clients: HashMap<IpAddr, (f64, Instant)>,
}

/// At most this many clients are tracked; beyond, the ones whose
/// allowance refilled are forgotten first.
const TRACKED_CLIENTS: usize = 65_536;

impl FailedLogins {
    /// The allowance of `client` now, refilled since it was last seen.
    fn allowance(&self, client: &IpAddr, now: Instant) -> f64 {
        let full = f64::from(self.per_minute);
        match self.clients.get(client) {
            Some((left, seen)) => {
                (left + now.duration_since(*seen).as_secs_f64() * full / 60.0).min(full)
            }
            None => full,
        }
    }

    fn spent(&self, client: &IpAddr, now: Instant) -> bool {
        self.per_minute > 0 && self.allowance(client, now) < 1.0
    }

    fn failed(&mut self, client: IpAddr, now: Instant) {
        if self.per_minute == 0 {
            return;
        }
        let left = self.allowance(&client, now) - 1.0;
        if self.clients.len() >= TRACKED_CLIENTS {
            let full = f64::from(self.per_minute);
            let refilled: Vec<IpAddr> = self
                .clients
                .keys()
                .filter(|ip| self.allowance(ip, now) >= full)
                .copied()
                .collect();
            for ip in refilled {
                self.clients.remove(&ip);
            }
            if self.clients.len() >= TRACKED_CLIENTS {
                self.clients.clear();
            }
        }
        self.clients.insert(client, (left.max(0.0), now));
    }

    /// How long until `client` may try again.
    fn retry_after(&self) -> Duration {
        Duration::from_secs(60 / u64::from(self.per_minute.max(1))).max(Duration::from_secs(1))
    }
}

/// The key a client's failed logins are counted under: its address, or
/// its /64 for IPv6 (one host usually holds a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The cost of a bcrypt hash (`$2y$10$…`).
fn bcrypt_cost(hash: &str) -> Option<u32> {
    hash.split('$').nth(2)?.parse().ok()
}

impl Auth {
    pub fn new(users: HashMap<String, User>, anonymous_read: bool, signer: Signer) -> Auth {
        let cost = users
            .values()
            .filter_map(|user| match &user.credential {
                Credential::Bcrypt(hash) => bcrypt_cost(hash),
                Credential::Plain(_) => None,
            })
            .max();
        let dummy_hash = cost.and_then(|cost| {
            let unguessable: [u8; 32] = rand::random();
            bcrypt::hash(hex::encode(unguessable), cost).ok()
        });
        Auth {
            users,
            anonymous_read,
            signer,
            service: "zuul-image".into(),
            verified: Mutex::new(HashMap::new()),
            dummy_hash,
            failed_logins: Mutex::new(FailedLogins {
                per_minute: 0,
                clients: HashMap::new(),
            }),
        }
    }

    /// Allow `per_minute` failed Basic logins per client (0: no limit).
    pub fn with_failed_login_limit(self, per_minute: u32) -> Auth {
        self.failed_logins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .per_minute = per_minute;
        self
    }

    fn logins(&self) -> std::sync::MutexGuard<'_, FailedLogins> {
        self.failed_logins.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuse a Basic login from `client` that spent its allowance.
    fn login_allowed(&self, client: Option<IpAddr>) -> Result<(), Error> {
        let Some(client) = client.map(client_key) else {
            return Ok(());
        };
        let logins = self.logins();
        if logins.spent(&client, Instant::now()) {
            return Err(Error::TooManyRequests {
                retry_after: logins.retry_after(),
            });
        }
        Ok(())
    }

    fn login_failed(&self, client: Option<IpAddr>) {
        if let Some(client) = client.map(client_key) {
            self.logins().failed(client, Instant::now());
        }
    }

    /// Spend what a bcrypt check costs, on a password nothing matches.
    async fn spend_a_check(&self, password: &str) {
        if let Some(hash) = self.dummy_hash.clone() {
            let password = password.to_owned();
            let _ = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash)).await;
        }
    }

    /// No users: everyone may do everything.
    pub fn is_open(&self) -> bool {
        self.users.is_empty()
    }

    /// Check a user name and password; the user's access when they match.
    /// A failure costs the same whether the user exists or not.
    pub async fn check_password(&self, name: &str, password: &str) -> Option<Access> {
        let given = sha256(password.as_bytes());
        let Some(user) = self.users.get(name) else {
            // Spend the same comparison on unknown users.
            let _ = given.ct_eq(&sha256(b"unknown user")).unwrap_u8();
            self.spend_a_check(password).await;
            return None;
        };
        match &user.credential {
            Credential::Plain(secret) => {
                let stored = sha256(secret.expose().as_bytes());
                let matched = bool::from(given.ct_eq(&stored));
                if !matched {
                    self.spend_a_check(password).await;
                }
                matched.then_some(user.access)
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

    /// Decide whether a request with `headers` from `client` may do `need`.
    /// `realm` is the token endpoint's URL for the challenge.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        client: Option<IpAddr>,
        need: &Need,
        realm: &str,
    ) -> Result<(), Error> {
        if self.is_open() {
            return Ok(());
        }
        let anonymous_ok = self.anonymous_read && need.is_read();
        match parse_authorization(headers) {
            Some(Authorization::Bearer(token)) => match self.signer.verify(&token) {
                Ok(claims) if self.grants(&claims, need) => Ok(()),
                Ok(_) if anonymous_ok => Ok(()),
                Ok(_) => Err(self.challenge(realm, need, true)),
                Err(err) => {
                    tracing::debug!("refused a bearer token: {err}");
                    Err(self.challenge(realm, need, false))
                }
            },
            Some(Authorization::Basic(user, password)) => {
                if let Err(limited) = self.login_allowed(client) {
                    // The password is not even checked; a pull still works
                    // as anonymous.
                    return if anonymous_ok { Ok(()) } else { Err(limited) };
                }
                match self.check_password(&user, password.expose()).await {
                    Some(access)
                        if access == Access::Write || need.is_read() || *need == Need::Base =>
                    {
                        Ok(())
                    }
                    Some(_) => Err(Error::Denied),
                    None if anonymous_ok => Ok(()),
                    None => {
                        self.login_failed(client);
                        Err(self.challenge(realm, need, false))
                    }
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
        client: Option<IpAddr>,
        scopes: &[String],
        realm: &str,
    ) -> Result<TokenResponse, Error> {
        let requested: Vec<Grant> = scopes.iter().flat_map(|s| parse_scopes(s)).collect();
        let wants_write = requested
            .iter()
            .any(|grant| grant.actions.iter().any(|a| a != "pull"));
        // Docker Hub credentials sent to a mirror: anonymous pull.
        let anonymous_ok = self.anonymous_read && !wants_write && !requested.is_empty();
        let (user, access) = match parse_authorization(headers) {
            Some(Authorization::Basic(name, password)) => match self.login_allowed(client) {
                Err(_) if anonymous_ok => (String::new(), None),
                Err(limited) => return Err(limited),
                Ok(()) => match self.check_password(&name, password.expose()).await {
                    Some(access) => (name, Some(access)),
                    None if anonymous_ok => (String::new(), None),
                    None => {
                        self.login_failed(client);
                        return Err(self.challenge(realm, &Need::Base, false));
                    }
                },
            },
            _ => (String::new(), None),
        };
        let anonymous = access.is_none() && !self.is_open();
        if anonymous && (requested.is_empty() || !self.anonymous_read) {
            // A scope-less request is a login check; and with anonymous
            // read off there is nothing to grant without credentials.
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

impl Auth {
    fn grants(&self, claims: &Claims, need: &Need) -> bool {
        match need {
            // Anonymous tokens exist only while anonymous read is on.
            Need::Base => !claims.sub.is_empty() || self.anonymous_read,
            _ => grants(claims, need),
        }
    }
}

fn grants(claims: &Claims, need: &Need) -> bool {
    match need {
        Need::Base => !claims.sub.is_empty(),
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
        assert!(auth.authorize(&none, None, &pull, "r").await.is_ok());
        assert!(matches!(
            auth.authorize(&none, None, &push, "r").await,
            Err(Error::Unauthorized { .. })
        ));
        assert!(matches!(
            auth.authorize(&none, None, &Need::Base, "r").await,
            Err(Error::Unauthorized { .. })
        ));
        let good = basic("zuul", "pw:with:colons");
        assert!(auth.authorize(&good, None, &push, "r").await.is_ok());
        assert!(auth.authorize(&good, None, &Need::Base, "r").await.is_ok());
        // Docker Hub credentials sent to a mirror still pull.
        let hub = basic("someone", "hub-password");
        assert!(auth.authorize(&hub, None, &pull, "r").await.is_ok());
        assert!(auth.authorize(&hub, None, &push, "r").await.is_err());
        // A read user may not push (and bcrypt works, twice via the cache).
        for _ in 0..2 {
            let reader = basic("reader", "rpw");
            assert!(auth.authorize(&reader, None, &pull, "r").await.is_ok());
            assert!(matches!(
                auth.authorize(&reader, None, &push, "r").await,
                Err(Error::Denied)
            ));
        }
        assert!(
            auth.authorize(&basic("reader", "wrong"), None, &Need::Base, "r")
                .await
                .is_err()
        );
        // Anonymous read off.
        let closed = self::auth(false);
        assert!(closed.authorize(&none, None, &pull, "r").await.is_err());
        assert!(closed.authorize(&hub, None, &pull, "r").await.is_err());
    }

    #[tokio::test]
    async fn token_grants() {
        let auth = auth(true);
        let scope = vec!["repository:org/app:pull,push".to_owned()];
        // Anonymous: pull only.
        let anonymous = auth
            .token(&HeaderMap::new(), None, &scope, "r")
            .await
            .unwrap();
        let push = Need::Push("org/app".into());
        let pull = Need::Pull("org/app".into());
        assert!(
            auth.authorize(&bearer(&anonymous.token), None, &pull, "r")
                .await
                .is_ok()
        );
        let err = auth
            .authorize(&bearer(&anonymous.token), None, &push, "r")
            .await;
        assert!(
            matches!(err, Err(Error::Unauthorized { challenge }) if challenge.contains("insufficient_scope"))
        );
        // Wrong credentials asking for push: refused outright.
        assert!(
            auth.token(&basic("zuul", "nope"), None, &scope, "r")
                .await
                .is_err()
        );
        // Wrong credentials asking for pull: anonymous token.
        let pull_scope = vec!["repository:org/app:pull".to_owned()];
        assert!(
            auth.token(&basic("zuul", "nope"), None, &pull_scope, "r")
                .await
                .is_ok()
        );
        // Login check.
        assert!(auth.token(&HeaderMap::new(), None, &[], "r").await.is_err());
        assert!(
            auth.token(&basic("zuul", "pw:with:colons"), None, &[], "r")
                .await
                .is_ok()
        );
        // A write user's token works for that repository only.
        let token = auth
            .token(&basic("zuul", "pw:with:colons"), None, &scope, "r")
            .await
            .unwrap();
        assert!(
            auth.authorize(&bearer(&token.token), None, &push, "r")
                .await
                .is_ok()
        );
        let other = Need::Push("org/other".into());
        assert!(
            auth.authorize(&bearer(&token.token), None, &other, "r")
                .await
                .is_err()
        );
        assert_eq!(token.token, token.access_token);
    }

    /// The median time of failed checks of each `(user, password)`,
    /// measured in turns so that load from elsewhere falls on all alike.
    async fn median_failures(auth: &Auth, attempts: &[(&str, &str)]) -> Vec<Duration> {
        let mut times = vec![Vec::new(); attempts.len()];
        for _ in 0..9 {
            for (index, (user, password)) in attempts.iter().enumerate() {
                let started = std::time::Instant::now();
                assert_eq!(auth.check_password(user, password).await, None);
                times[index].push(started.elapsed());
            }
        }
        times
            .into_iter()
            .map(|mut times| {
                times.sort();
                times[times.len() / 2]
            })
            .collect()
    }

    #[tokio::test]
    async fn issue_12_unknown_users_cost_as_much_as_wrong_passwords() {
        let mut users = HashMap::new();
        users.insert(
            "reader".to_owned(),
            User {
                access: Access::Read,
                credential: Credential::Bcrypt(bcrypt::hash("rpw", 6).unwrap()),
            },
        );
        users.insert(
            "plain".to_owned(),
            User {
                access: Access::Write,
                credential: Credential::Plain(Secret::new("ppw")),
            },
        );
        let auth = Auth::new(users, false, Signer::random(Duration::from_secs(60)));
        let attempts = [("reader", "wrong"), ("nobody", "wrong"), ("plain", "wrong")];
        let times = median_failures(&auth, &attempts).await;
        for ((user, _), time) in attempts.iter().zip(&times).skip(1) {
            let ratio = time.as_secs_f64() / times[0].as_secs_f64();
            assert!(
                (0.5..2.0).contains(&ratio),
                "{user}: {time:?} against {:?} for a wrong password",
                times[0]
            );
        }
        // Success is not slowed down.
        assert_eq!(
            auth.check_password("plain", "ppw").await,
            Some(Access::Write)
        );
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
