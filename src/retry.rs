//! When a request is tried again: the policy a client is built with, and
//! [`RetryPolicy::decide`], the pure decision the attempt loop
//! (`transport.rs`) asks after every attempt. Nothing here waits or sends,
//! so every rule is tested without a server.

use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};

use crate::status::Class;

/// When and how often a request is tried again.
///
/// Throttling answers (409, 429) are retried for every method: the server did
/// not carry the request out. 502, 503, 504, a 500 error page that is not
/// the API's JSON (the API answers transient bursts with one), and attempts
/// that got no answer
/// (a connection refused or dropped, a timeout) are retried only for GET,
/// PUT and DELETE, never for POST, whose write may have been applied.
///
/// ```
/// use std::time::Duration;
/// use nexudus_timepasses::RetryPolicy;
/// let patient = RetryPolicy::default()
///     .max_attempts(6)
///     .max_delay(Duration::from_secs(120));
/// # let _ = patient;
/// ```
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, backoff from 500 ms, no single wait above 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy::default().max_attempts(1)
    }

    /// Attempts in all, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// First backoff delay when the server gives no `Retry-After`; it doubles
    /// with each attempt, with random jitter.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Longest single wait. A `Retry-After` above it is not waited for: the
    /// call fails at once with [`Error::Throttled`](crate::Error::Throttled)
    /// carrying that `Retry-After`.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Exponential backoff with "equal jitter": half fixed, half random.
    fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let capped = doubled.min(self.max_delay);
        let half = capped / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }
}

/// What an attempt came to, as far as deciding the next step needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Outcome {
    /// An answer with this status and class (see `status.rs`), and the
    /// wait its `Retry-After` asks for.
    Answered {
        status: StatusCode,
        class: Class,
        retry_after: Option<Duration>,
    },
    /// No whole answer: the connection was refused or dropped, or the
    /// attempt timed out. The request may or may not have been carried out.
    Unanswered,
    /// A failure another attempt cannot mend (a refused redirect, an answer
    /// over the body cap, a request that could not be sent as built).
    Final,
}

/// What the attempt loop does next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Next {
    /// Hand this attempt's outcome to the caller.
    Return,
    /// Wait this long, then send the request again.
    Retry(Duration),
    /// Mark the token that was refused stale, then send again at once with
    /// a new one.
    Renew,
}

/// The facts about an attempt besides its outcome.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attempt<'a> {
    /// The request's method: only idempotent ones repeat after a failure.
    pub method: &'a Method,
    /// 1 for the first attempt.
    pub number: u32,
    /// Whether a 401 may be cured by a new token: the credentials can get
    /// one and this call has not had one yet (one new token per call).
    pub can_renew: bool,
}

impl RetryPolicy {
    /// The next step after `attempt` came to `outcome`.
    pub(crate) fn decide(&self, attempt: Attempt<'_>, outcome: Outcome) -> Next {
        let idempotent = idempotent(attempt.method);
        match outcome {
            Outcome::Answered { status, .. }
                if status == StatusCode::UNAUTHORIZED && attempt.can_renew =>
            {
                Next::Renew
            }
            _ if attempt.number >= self.max_attempts => Next::Return,
            Outcome::Answered {
                class, retry_after, ..
            } => match class {
                Class::Throttled => match retry_after {
                    Some(wait) if wait > self.max_delay => Next::Return,
                    Some(wait) => Next::Retry(wait),
                    None => Next::Retry(self.backoff(attempt.number)),
                },
                Class::Transient if idempotent => Next::Retry(self.backoff(attempt.number)),
                _ => Next::Return,
            },
            Outcome::Unanswered if idempotent => Next::Retry(self.backoff(attempt.number)),
            Outcome::Unanswered | Outcome::Final => Next::Return,
        }
    }
}

/// Methods whose repetition cannot duplicate a write.
fn idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::PUT | Method::DELETE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::classify_answer;

    /// An answer with a JSON body (`{}`), as the API sends.
    fn answered(status: u16, retry_after: Option<u64>) -> Outcome {
        answered_with(status, b"{}", retry_after)
    }

    fn answered_with(status: u16, body: &[u8], retry_after: Option<u64>) -> Outcome {
        let status = StatusCode::from_u16(status).unwrap();
        Outcome::Answered {
            status,
            class: classify_answer(status, body),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    fn first(method: &Method) -> Attempt<'_> {
        Attempt {
            method,
            number: 1,
            can_renew: false,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(10))
    }

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        let p = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(1000));
        for attempt in 1..20 {
            let d = p.backoff(attempt);
            let ceiling = Duration::from_millis(100 * (1 << (attempt - 1).min(16)))
                .min(Duration::from_millis(1000));
            assert!(d >= ceiling / 2 && d <= ceiling, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn throttling_is_retried_for_every_method_after_the_wait_it_asks() {
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            let next = policy().decide(first(&method), answered(409, Some(3)));
            assert_eq!(next, Next::Retry(Duration::from_secs(3)), "{method}");
            let next = policy().decide(first(&method), answered(429, None));
            assert!(matches!(next, Next::Retry(d) if d <= Duration::from_millis(100)));
        }
    }

    #[test]
    fn a_wait_longer_than_the_longest_allowed_is_not_waited_for() {
        let next = policy().decide(first(&Method::GET), answered(409, Some(11)));
        assert_eq!(next, Next::Return);
    }

    #[test]
    fn failures_without_a_clear_answer_repeat_only_idempotent_methods() {
        for outcome in [
            answered(502, None),
            answered(503, None),
            answered_with(500, b"<html><title>Ooops!</title></html>", None),
            Outcome::Unanswered,
        ] {
            for method in [Method::GET, Method::PUT, Method::DELETE] {
                let next = policy().decide(first(&method), outcome);
                assert!(matches!(next, Next::Retry(_)), "{method} {outcome:?}");
            }
            assert_eq!(policy().decide(first(&Method::POST), outcome), Next::Return);
        }
    }

    #[test]
    fn answers_that_another_attempt_cannot_change_are_returned() {
        for outcome in [
            answered(200, None),
            answered(400, None),
            answered(401, None),
            answered(404, None),
            answered(500, None),
            Outcome::Final,
        ] {
            assert_eq!(policy().decide(first(&Method::GET), outcome), Next::Return);
        }
    }

    #[test]
    fn a_401_renews_the_token_once_even_on_the_last_attempt() {
        let method = Method::POST;
        let last = Attempt {
            method: &method,
            number: 4,
            can_renew: true,
        };
        assert_eq!(policy().decide(last, answered(401, None)), Next::Renew);
        let renewed = Attempt {
            can_renew: false,
            ..last
        };
        assert_eq!(policy().decide(renewed, answered(401, None)), Next::Return);
    }

    #[test]
    fn the_last_attempt_is_returned_whatever_it_came_to() {
        let method = Method::GET;
        let last = Attempt {
            method: &method,
            number: 4,
            can_renew: false,
        };
        for outcome in [
            answered(409, Some(1)),
            answered(503, None),
            Outcome::Unanswered,
        ] {
            assert_eq!(policy().decide(last, outcome), Next::Return);
        }
    }
}
