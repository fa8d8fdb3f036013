//! The one retry loop of the registry client and the policy behind it:
//! exponential backoff with jitter, `Retry-After` honoured (seconds or an
//! HTTP date), a bounded number of attempts and a bounded total time, the
//! split of failures into transient (worth another attempt) and permanent,
//! and the give-up error ([`Error::GaveUp`]).
//!
//! Every retrying call goes through [`retry`]: requests ([`super::Registry::send`]),
//! token fetches, whole-blob copies. A download that resumes inside its
//! byte stream keeps a [`Backoff`] instead, the same policy one attempt at
//! a time. Sends nothing itself: callers hand it one attempt as a closure.

use super::Error;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// The first backoff; doubled on every further attempt.
    pub base_delay: Duration,
    /// No single wait is longer than this (a longer `Retry-After` is cut).
    pub max_delay: Duration,
    /// Total time from the first attempt after which no retry starts.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            budget: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (`attempt` counts from 1), or
    /// `None` when no retry should happen: attempts used up, or the wait
    /// would end past the budget. A `Retry-After` from the server wins over
    /// the computed backoff (capped at `max_delay`); otherwise the wait is
    /// drawn uniformly from the upper half of the exponential step.
    pub fn next_delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay = match retry_after {
            Some(wait) => wait.min(self.max_delay),
            None => {
                let step = self
                    .base_delay
                    .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
                    .min(self.max_delay);
                let half = step / 2;
                half + Duration::from_nanos(rng.gen_range(0..=half.as_nanos() as u64))
            }
        };
        if elapsed + delay > self.budget {
            return None;
        }
        Some(delay)
    }
}

/// Whether trying the same operation again could succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Connection failures, 408, 429, 5xx (except 501/505), a transfer
    /// that broke off, an upload session the registry lost.
    Transient,
    /// Everything else: a TLS certificate the client does not trust
    /// (unknown issuer, wrong host name, a bad certificate), a handshake
    /// the registry refuses (it wants a client certificate), 401/403 after
    /// fresh credentials, 404, content that does not match its digest, a
    /// registry that breaks the protocol, and retries already given up.
    Permanent,
}

/// Sort a failure into [`Failure::Transient`] or [`Failure::Permanent`].
pub fn classify(err: &Error) -> Failure {
    let transient = match err {
        Error::Transport { .. } => true,
        Error::Http { status, code, .. } => {
            retryable_status(*status) || code.as_deref() == Some("BLOB_UPLOAD_UNKNOWN")
        }
        Error::SizeMismatch {
            expected, actual, ..
        } => actual < expected,
        Error::RangeNotHonoured { .. } => true,
        Error::Certificate { .. }
        | Error::Handshake { .. }
        | Error::Unauthorized { .. }
        | Error::Denied { .. }
        | Error::NotFound { .. }
        | Error::DigestMismatch { .. }
        | Error::Protocol { .. }
        | Error::GaveUp { .. }
        | Error::Tls(_)
        | Error::Credentials(_) => false,
    };
    if transient {
        Failure::Transient
    } else {
        Failure::Permanent
    }
}

/// One failed attempt, with the wait the server asked for.
#[derive(Debug)]
pub struct Failed {
    pub error: Error,
    pub retry_after: Option<Duration>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        Failed {
            error,
            retry_after: None,
        }
    }
}

/// The retry state of one operation: attempts made, time since the first.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    attempts: u32,
    started: Instant,
}

impl Backoff {
    pub fn new(policy: &RetryPolicy) -> Backoff {
        Backoff {
            policy: *policy,
            attempts: 0,
            started: Instant::now(),
        }
    }

    /// Failed attempts so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Count a failed attempt; the wait before the next one, or `None`
    /// when there is none: the failure is permanent, or the attempts or
    /// the time budget are used up.
    pub fn after(&mut self, failed: &Failed) -> Option<Duration> {
        self.attempts += 1;
        if classify(&failed.error) == Failure::Permanent {
            return None;
        }
        self.policy.next_delay(
            self.attempts,
            self.started.elapsed(),
            failed.retry_after,
            &mut rand::thread_rng(),
        )
    }

    /// The error to return after the last attempt failed with `last`:
    /// [`Error::GaveUp`] when a transient failure outlasted several
    /// attempts, else `last` itself.
    pub fn give_up(&self, last: Error) -> Error {
        if self.attempts > 1 && classify(&last) == Failure::Transient {
            Error::GaveUp {
                attempts: self.attempts,
                elapsed_secs: self.started.elapsed().as_secs(),
                last: Box::new(last),
            }
        } else {
            last
        }
    }
}

/// Run `attempt` (called with the attempt number, from 1) until it
/// succeeds, fails permanently, or `policy` gives up; `on_retry` hears of
/// each failure that is tried again and the wait before the next attempt.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    mut attempt: F,
    mut on_retry: impl FnMut(&Error, Duration),
) -> Result<T, Error>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failed>>,
{
    let mut backoff = Backoff::new(policy);
    loop {
        let failed = match attempt(backoff.attempts() + 1).await {
            Ok(value) => return Ok(value),
            Err(failed) => failed,
        };
        match backoff.after(&failed) {
            Some(delay) => {
                on_retry(&failed.error, delay);
                tokio::time::sleep(delay).await;
            }
            None => return Err(backoff.give_up(failed.error)),
        }
    }
}

/// The `Retry-After` of a response, if it has a usable one.
pub fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// Statuses worth retrying: 408, 429 and 5xx apart from 501 and 505, which
/// will not change.
pub fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error()
            && status != StatusCode::NOT_IMPLEMENTED
            && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED)
}

/// Parse a `Retry-After` value: delta-seconds or an HTTP date (a date in
/// the past means "now").
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn statuses() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(
                retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [200, 201, 400, 401, 403, 404, 413, 501, 505] {
            assert!(
                !retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            budget: Duration::from_secs(10),
        }
    }

    fn http(status: u16) -> Error {
        Error::Http {
            method: "GET".into(),
            url: "https://reg:5000/v2/".into(),
            status: StatusCode::from_u16(status).unwrap(),
            code: None,
            message: String::new(),
        }
    }

    fn certificate() -> Error {
        Error::Certificate {
            registry: "reg:5000".into(),
            message: "invalid peer certificate: UnknownIssuer".into(),
            advice: String::new(),
        }
    }

    #[test]
    fn transient_and_permanent_failures() {
        let transport = Error::Transport {
            method: "GET".into(),
            url: "u".into(),
            message: "connection failed".into(),
        };
        for err in [transport, http(408), http(429), http(500), http(503)] {
            assert_eq!(classify(&err), Failure::Transient, "{err}");
        }
        let unauthorized = Error::Unauthorized {
            registry: "reg".into(),
            message: "user name or password rejected".into(),
            advice: String::new(),
        };
        let denied = Error::Denied {
            registry: "reg".into(),
            message: "no".into(),
            advice: String::new(),
        };
        let handshake = Error::Handshake {
            registry: "reg".into(),
            message: "received fatal alert: CertificateRequired".into(),
            advice: String::new(),
        };
        for err in [
            certificate(),
            handshake,
            unauthorized,
            denied,
            http(400),
            http(501),
        ] {
            assert_eq!(classify(&err), Failure::Permanent, "{err}");
        }
    }

    /// Run `retry` over scripted outcomes; the attempt numbers it passed.
    async fn scripted(outcomes: Vec<Result<u32, Error>>) -> (Result<u32, Error>, Vec<u32>) {
        let outcomes = std::sync::Mutex::new(outcomes.into_iter());
        let seen = std::sync::Mutex::new(Vec::new());
        let retried = std::sync::atomic::AtomicU32::new(0);
        let result = retry(
            &fast(),
            |attempt| {
                seen.lock().unwrap().push(attempt);
                let next = outcomes.lock().unwrap().next().expect("an outcome");
                async move { next.map_err(Failed::from) }
            },
            |_, _| {
                retried.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            },
        )
        .await;
        let seen = seen.into_inner().unwrap();
        assert_eq!(
            retried.into_inner() as usize,
            seen.len() - 1,
            "every retry is reported"
        );
        (result, seen)
    }

    #[tokio::test]
    async fn retries_transient_failures_until_success() {
        let (result, seen) = scripted(vec![Err(http(503)), Err(http(429)), Ok(7)]).await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(seen, [1, 2, 3]);
    }

    #[tokio::test]
    async fn permanent_failures_fail_at_once() {
        let (result, seen) = scripted(vec![Err(certificate()), Ok(7)]).await;
        assert!(
            matches!(result, Err(Error::Certificate { .. })),
            "{result:?}"
        );
        assert_eq!(seen, [1]);
        // After transient ones, the permanent failure itself is the answer.
        let (result, seen) = scripted(vec![Err(http(502)), Err(http(404)), Ok(7)]).await;
        assert!(matches!(result, Err(Error::Http { status, .. }) if status == 404));
        assert_eq!(seen, [1, 2]);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt() {
        let (result, seen) = scripted((0..4).map(|_| Err(http(500))).collect()).await;
        assert_eq!(seen, [1, 2, 3, 4]);
        match result {
            Err(Error::GaveUp { attempts, last, .. }) => {
                assert_eq!(attempts, 4);
                assert!(matches!(*last, Error::Http { status, .. } if status == 500));
            }
            other => panic!("{other:?}"),
        }
        // One attempt only: its own error, no "gave up" around it.
        let policy = RetryPolicy {
            max_attempts: 1,
            ..fast()
        };
        let result: Result<(), Error> =
            retry(&policy, |_| async { Err(http(503).into()) }, |_, _| {}).await;
        assert!(matches!(result, Err(Error::Http { .. })), "{result:?}");
    }

    #[test]
    fn backoff_honours_retry_after_and_stops_on_permanent() {
        let mut backoff = Backoff::new(&RetryPolicy::default());
        let wait = backoff.after(&Failed {
            error: http(429),
            retry_after: Some(Duration::from_secs(3)),
        });
        assert_eq!(wait, Some(Duration::from_secs(3)));
        assert_eq!(backoff.after(&certificate().into()), None);
        assert_eq!(backoff.attempts(), 2);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_stops() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            budget: Duration::from_secs(60),
        };
        let mut rng = StdRng::seed_from_u64(7);
        for (attempt, step) in [(1, 100), (2, 200), (3, 400), (4, 500)] {
            let step = Duration::from_millis(step);
            for _ in 0..50 {
                let delay = policy
                    .next_delay(attempt, Duration::ZERO, None, &mut rng)
                    .unwrap();
                assert!(delay >= step / 2 && delay <= step, "{attempt}: {delay:?}");
            }
        }
        assert_eq!(policy.next_delay(5, Duration::ZERO, None, &mut rng), None);
    }

    #[test]
    fn retry_after_wins_but_is_capped_and_budgeted() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            budget: Duration::from_secs(10),
        };
        let mut rng = StdRng::seed_from_u64(1);
        let one = Some(Duration::from_secs(1));
        assert_eq!(
            policy.next_delay(1, Duration::ZERO, one, &mut rng),
            Some(Duration::from_secs(1))
        );
        let sixty = Some(Duration::from_secs(60));
        assert_eq!(
            policy.next_delay(1, Duration::ZERO, sixty, &mut rng),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            policy.next_delay(2, Duration::from_millis(9500), one, &mut rng),
            None
        );
    }
}
