//! What makes the stand-in as awkward as the real service when asked to be:
//! latency, read and write limits (409, `Retry-After`, empty body, as the
//! API throttles) and a failure every Nth resource request (503 with an HTML
//! body, as a proxy in front of it would answer). Also the request counters.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A requests-per-second limit, as governor enforces it: bursts up to the
/// rate, then one request per `1/rate` seconds.
pub(crate) struct Limit {
    limiter: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

impl Limit {
    /// `None` for a rate that is not a positive finite number (no limit).
    pub(crate) fn per_second(rate: f64) -> Option<Self> {
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let period = Duration::from_secs_f64((1.0 / rate).min(86_400.0));
        let burst = NonZeroU32::new(rate.floor().clamp(1.0, f64::from(u32::MAX)) as u32)?;
        let quota = Quota::with_period(period)?.allow_burst(burst);
        Some(Limit {
            limiter: RateLimiter::direct(quota),
            clock: DefaultClock::default(),
        })
    }

    /// `None` when the request may go ahead, else the wait.
    fn check(&self) -> Option<Duration> {
        self.limiter
            .check()
            .err()
            .map(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// Counters behind [`Stats`](super::Stats).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) get: AtomicU64,
    pub(crate) post: AtomicU64,
    pub(crate) put: AtomicU64,
    pub(crate) delete: AtomicU64,
    pub(crate) other: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) injected_failures: AtomicU64,
    pub(crate) token_exchanges: AtomicU64,
    pub(crate) unauthorized: AtomicU64,
    resource_requests: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn count_method(&self, method: &Method) {
        bump(match *method {
            Method::GET => &self.get,
            Method::POST => &self.post,
            Method::PUT => &self.put,
            Method::DELETE => &self.delete,
            _ => &self.other,
        });
    }
}

/// What an injected failure (`fail_every`) answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailWith {
    /// 503 with a gateway's HTML page (the default).
    #[default]
    Unavailable,
    /// 500 with the generic "Ooops!" HTML page the API answers transient
    /// bursts with (reported by people who run real tenants).
    ServerError,
}

/// The configured awkwardness.
pub(crate) struct Limits {
    pub(crate) latency: Duration,
    pub(crate) read: Option<Limit>,
    pub(crate) write: Option<Limit>,
    pub(crate) fail_every: Option<u64>,
    pub(crate) fail_with: FailWith,
}

impl Limits {
    /// The answer that replaces a resource request's, if any: the
    /// `fail_with` page for every `fail_every`th request, else a 409 when
    /// over the limit for its method.
    pub(crate) fn intercept(&self, counters: &Counters, method: &Method) -> Option<Response> {
        let n = counters.resource_requests.fetch_add(1, Ordering::Relaxed) + 1;
        if self.fail_every.is_some_and(|every| n.is_multiple_of(every)) {
            bump(&counters.injected_failures);
            return Some(match self.fail_with {
                FailWith::Unavailable => unavailable(),
                FailWith::ServerError => server_error(),
            });
        }
        let limit = if method == Method::GET || method == Method::HEAD {
            &self.read
        } else {
            &self.write
        };
        let wait = limit.as_ref()?.check()?;
        bump(&counters.throttled);
        Some(throttled(wait))
    }
}

/// The reason phrase the API documents for its throttling answer.
pub(crate) const THROTTLED_REASON: &str = "You must wait before accessing this url again.";

/// 409 as the API throttles: its documented reason phrase, `Retry-After` in
/// whole seconds (at least 1), no-cache headers, empty body.
fn throttled(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = StatusCode::CONFLICT.into_response();
    response
        .extensions_mut()
        .insert(hyper::ext::ReasonPhrase::from_static(
            THROTTLED_REASON.as_bytes(),
        ));
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::EXPIRES, HeaderValue::from_static("-1"));
    response
}

/// 503 with an HTML body, as a gateway answers when the service is down.
fn unavailable() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "503 Service Unavailable",
        "<h1>Service Unavailable</h1><p>The server is temporarily unable to service your \
         request. Please try again later.</p>",
    )
}

/// 500 with the generic HTML page the API shows when it fails.
fn server_error() -> Response {
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Ooops!",
        "<h1>Ooops!</h1><p>Something went wrong. Please try again in a few moments.</p>",
    )
}

/// An HTML error page with this status, title and body.
fn error_page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>{body}</body></html>\n"
    );
    let kind = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    (status, kind, html).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_allows_a_burst_then_refuses() {
        let limit = Limit::per_second(3.0).unwrap();
        assert!(limit.check().is_none());
        assert!(limit.check().is_none());
        assert!(limit.check().is_none());
        assert!(limit.check().is_some());
        assert!(Limit::per_second(0.0).is_none());
        assert!(Limit::per_second(f64::NAN).is_none());
        assert!(Limit::per_second(0.5).is_some());
    }

    #[test]
    fn every_nth_request_fails() {
        let limits = Limits {
            latency: Duration::ZERO,
            read: None,
            write: None,
            fail_every: Some(3),
            fail_with: FailWith::ServerError,
        };
        let counters = Counters::default();
        let failed: Vec<Option<u16>> = (0..6)
            .map(|_| {
                let answer = limits.intercept(&counters, &Method::GET);
                answer.map(|a| a.status().as_u16())
            })
            .collect();
        assert_eq!(failed, [None, None, Some(500), None, None, Some(500)]);
    }
}
