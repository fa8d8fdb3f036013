//! When to try a request again and how long to wait: exponential backoff
//! with jitter, `Retry-After` honoured (seconds or an HTTP date), a bounded
//! number of attempts and a bounded total time.
//!
//! Pure policy: this module sleeps nowhere and sends nothing; the transport
//! and the copy engine ask it for decisions.

use rand::Rng;
use reqwest::StatusCode;
use std::time::{Duration, SystemTime};

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
