//! Per-request behaviour of the generated client, in one place, through
//! progenitor's `ClientHooks::exec`: pacing, an `Authorization` header that
//! is fresh when each attempt goes out, a timeout per attempt (the call's
//! deadline, see `deadline.rs`), retries (honouring `Retry-After`), a new
//! token after a 401, and a tracing span per attempt. There is no other
//! request path.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::StreamExt;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use rand::Rng;
use reqwest::{
    header::{HeaderValue, ACCEPT, AUTHORIZATION},
    Method, Request, Response, StatusCode, Url, Version,
};
use tracing::Instrument;

use crate::{
    auth::Auth,
    error::{retry_after, Error},
    generated::Client as Raw,
    pacing::{Pacer, Pacing},
    request,
    status::{classify, Class, TOKEN_OPERATION},
    wire::BaseUrl,
};

/// When and how often a request is tried again.
///
/// Throttling answers (409, 429) are retried for every method: the server did
/// not carry the request out. 502, 503, 504 and connection failures are
/// retried only for GET, PUT and DELETE, never for POST, whose write may have
/// been applied.
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

    /// The wait before the next attempt, or `None` to stop here.
    fn next_delay(
        &self,
        method: &Method,
        outcome: &reqwest::Result<Response>,
        attempt: u32,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        match outcome {
            Ok(r) => match classify(r.status()) {
                Class::Throttled => match retry_after(r.headers()) {
                    Some(wait) if wait > self.max_delay => None,
                    Some(wait) => Some(wait),
                    None => Some(self.backoff(attempt)),
                },
                Class::Transient if idempotent(method) => Some(self.backoff(attempt)),
                _ => None,
            },
            Err(e) if e.is_connect() || e.is_timeout() => self.unanswered_delay(method, attempt),
            Err(_) => None,
        }
    }

    /// The wait before the next attempt after one that got no answer (a
    /// timeout, a connection that failed), or `None` to stop here.
    fn unanswered_delay(&self, method: &Method, attempt: u32) -> Option<Duration> {
        (attempt < self.max_attempts && idempotent(method)).then(|| self.backoff(attempt))
    }
}

/// Methods whose repetition cannot duplicate a write.
fn idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::PUT | Method::DELETE)
}

/// The state the generated client carries for its hooks; shared by clones.
#[derive(Clone)]
pub struct Hooks(Arc<Shared>);

struct Shared {
    auth: Auth,
    retry: RetryPolicy,
    pacer: Pacer,
    attempt_timeout: Option<Duration>,
    /// The largest answer body read, in bytes.
    max_body: u64,
    /// The server's base URL, parsed once (see `wire::endpoint`).
    base_url: BaseUrl,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("auth", &self.0.auth)
            .field("retry", &self.0.retry)
            .field("attempt_timeout", &self.0.attempt_timeout)
            .finish_non_exhaustive()
    }
}

impl Hooks {
    pub(crate) fn new(
        base_url: BaseUrl,
        auth: Auth,
        retry: RetryPolicy,
        pacing: &Pacing,
        attempt_timeout: Option<Duration>,
        max_body: u64,
    ) -> Self {
        Hooks(Arc::new(Shared {
            auth,
            retry,
            pacer: Pacer::new(pacing),
            attempt_timeout,
            max_body,
            base_url,
        }))
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.0.auth
    }

    /// The server's base URL, as the client was built with it.
    pub(crate) fn base_url(&self) -> &BaseUrl {
        &self.0.base_url
    }
}

impl ClientHooks<Hooks> for Raw {
    /// Sends the request: pacing, a fresh auth header per attempt, retries.
    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        execute(self, request, info.operation_id).await
    }
}

/// The attempt loop. Each attempt waits for its pacing slot, then gets the
/// `Authorization` header that is fresh at that instant, the per-attempt
/// timeout, and a span. The last answer (or error) is returned for the
/// caller to map; a typed failure before sending is handed back through the
/// call context (see `request::refuse`).
async fn execute(
    raw: &Raw,
    mut request: Request,
    operation: &'static str,
) -> reqwest::Result<Response> {
    let hooks = &raw.inner().0;
    request::record_request(request.method(), hooks.auth.secrets());
    if let Err(e) = add_stream_page(&mut request, operation) {
        return Ok(request::refuse(e));
    }
    let method = request.method().clone();
    let mut renewed = false;
    let mut attempt = 1;
    loop {
        // Waits (pacing, a sign-in) do not count against the attempt.
        request::disarm_deadline();
        // A body that cannot be cloned (a stream) is sent once, never retried.
        let spare = Spare::of(&request);
        let slot = hooks.pacer.reserve(&method);
        if let Some(slot) = slot {
            // Boxed, like the other waits: an unpaced call keeps no timer
            // in its future.
            Box::pin(tokio::time::sleep_until(slot.into())).await;
        }
        let sent_auth = match attach_auth(raw, &mut request, operation).await {
            Ok(header) => header,
            Err(e) => return Ok(request::refuse(e)),
        };
        if let Some(t) = hooks.attempt_timeout {
            // A typed call keeps its timeout on the call's deadline, which
            // also covers the body read after this hook; the raw client's
            // calls leave it to reqwest.
            if !request::arm_deadline(t) {
                *request.timeout_mut() = Some(t);
            }
        }
        let sent = request::within_deadline(send_traced(raw, request, operation, attempt)).await;
        let Some(outcome) = sent else {
            // The deadline passed before the answer's head arrived.
            let (Some(next), Some(delay)) = (spare, hooks.retry.unanswered_delay(&method, attempt))
            else {
                return Ok(request::refuse(Error::Timeout { operation }));
            };
            wait_to_retry(operation, attempt, delay).await;
            request = next.into_request();
            attempt += 1;
            continue;
        };
        let outcome = outcome.map(|answer| {
            request::record_answer(&answer);
            let throttled = (classify(answer.status()) == Class::Throttled)
                .then(|| retry_after(answer.headers()));
            if let Some(sent) = slot {
                hooks.pacer.answered(&method, sent, throttled);
            }
            capped(answer, operation, hooks.max_body)
        });
        let Some(next) = spare else {
            return outcome;
        };
        let unauthorized = matches!(&outcome, Ok(r) if r.status() == StatusCode::UNAUTHORIZED);
        if unauthorized {
            // One new token per call: a second 401 means the account is refused.
            if renewed || operation == TOKEN_OPERATION || !hooks.auth.renews() {
                return outcome;
            }
            renewed = true;
            request::disarm_deadline();
            Box::pin(hooks.auth.reject(sent_auth.as_ref())).await;
            request = next.into_request();
            attempt += 1;
            continue;
        }
        let Some(delay) = hooks.retry.next_delay(&method, &outcome, attempt) else {
            return outcome;
        };
        wait_to_retry(operation, attempt, delay).await;
        request = next.into_request();
        attempt += 1;
    }
}

/// The request again, for the attempt after this one.
enum Spare {
    /// A request as the generated code builds a GET or DELETE: no body, no
    /// timeout of its own, and no header but `Accept: application/json`
    /// (the hook adds `Authorization` per attempt). Only its method and URL
    /// are copied, and the header set again on use: a whole clone costs
    /// five allocations on every call, for a retry that seldom comes.
    Plain(Method, Url),
    /// Any other request, cloned whole.
    Whole(Request),
}

impl Spare {
    /// The spare of `request`, or `None` when its body cannot be cloned (a
    /// stream), which is then sent once, never retried.
    fn of(request: &Request) -> Option<Spare> {
        let headers = request.headers();
        let plain = request.body().is_none()
            && request.version() == Version::default()
            && request.timeout().is_none()
            && headers.len() == 1
            && headers.get(ACCEPT).is_some_and(|v| v == JSON);
        if plain {
            return Some(Spare::Plain(
                request.method().clone(),
                request.url().clone(),
            ));
        }
        request.try_clone().map(Spare::Whole)
    }

    fn into_request(self) -> Request {
        match self {
            Spare::Plain(method, url) => {
                let mut request = Request::new(method, url);
                request
                    .headers_mut()
                    .insert(ACCEPT, HeaderValue::from_static(JSON));
                request
            }
            Spare::Whole(request) => request,
        }
    }
}

/// The `Accept` header of every generated request.
const JSON: &str = "application/json";

/// The backoff after attempt `attempt`; it does not count against any
/// attempt's deadline.
async fn wait_to_retry(operation: &'static str, attempt: u32, delay: Duration) {
    tracing::debug!(
        operation,
        attempt,
        delay_ms = delay.as_millis() as u64,
        "retrying"
    );
    request::disarm_deadline();
    Box::pin(tokio::time::sleep(delay)).await;
}

/// Sets the `Authorization` header for this attempt (none for the token
/// endpoint or without credentials) and returns it.
async fn attach_auth(
    raw: &Raw,
    request: &mut Request,
    operation: &'static str,
) -> Result<Option<reqwest::header::HeaderValue>, Error> {
    if operation == TOKEN_OPERATION {
        return Ok(None);
    }
    let auth = raw.inner().auth();
    let header = match auth.ready_header() {
        Some(header) => header,
        None => auth.header(raw).await?,
    };
    match &header {
        Some(value) => request.headers_mut().insert(AUTHORIZATION, value.clone()),
        None => request.headers_mut().remove(AUTHORIZATION),
    };
    Ok(header)
}

/// The answer with its body limited to `limit` bytes. A declared length
/// above the limit fails at once; a body without one is counted as it is
/// read, and fails once past the limit. Either way the call's error is
/// [`Error::BodyTooLarge`], not a bare transport error.
fn capped(answer: Response, operation: &'static str, limit: u64) -> Response {
    let status = answer.status();
    let too_large = Error::BodyTooLarge {
        operation,
        status,
        limit,
    };
    match answer.content_length() {
        Some(length) if length > limit => request::refuse(too_large),
        // hyper holds the body to its declared length.
        Some(_) => answer,
        None => {
            let mut head = http::Response::new(());
            *head.status_mut() = status;
            *head.version_mut() = answer.version();
            *head.headers_mut() = answer.headers().clone();
            let mut read = 0u64;
            let mut too_large = Some(too_large);
            let body = answer.bytes_stream().map(move |chunk| {
                type BoxError = Box<dyn std::error::Error + Send + Sync>;
                let chunk = chunk.map_err(BoxError::from)?;
                read += chunk.len() as u64;
                if read > limit {
                    if let Some(error) = too_large.take() {
                        request::fail(error);
                    }
                    return Err(BoxError::from(BodyLimit));
                }
                Ok(chunk)
            });
            let (head, ()) = head.into_parts();
            let capped = http::Response::from_parts(head, reqwest::Body::wrap_stream(body));
            Response::from(capped)
        }
    }
}

/// The error a capped body ends with; the call reports `BodyTooLarge`.
#[derive(Debug)]
struct BodyLimit;

impl fmt::Display for BodyLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the answer body is larger than the client accepts")
    }
}

impl std::error::Error for BodyLimit {}

/// Adds the page a stream asks for. The stream numbers pages itself, so a
/// `page` the caller's filter set is refused rather than silently replaced.
fn add_stream_page(request: &mut Request, operation: &'static str) -> Result<(), Error> {
    let Some(page) = request::stream_page() else {
        return Ok(());
    };
    if request.url().query_pairs().any(|(name, _)| name == "page") {
        return Err(Error::invalid(
            operation,
            "a stream numbers its pages itself: remove `.page(..)` from the filter \
             (use `list` for one page)",
        ));
    }
    request
        .url_mut()
        .query_pairs_mut()
        .append_pair("page", &page.to_string());
    Ok(())
}

/// One attempt inside a span carrying operation, method, attempt, status
/// and latency (never headers or bodies, which may hold secrets). The
/// request is handed to reqwest before the returned future starts, so the
/// future does not hold it.
fn send_traced(
    raw: &Raw,
    request: Request,
    operation: &'static str,
    attempt: u32,
) -> impl std::future::Future<Output = reqwest::Result<Response>> {
    let span = tracing::info_span!(
        "nexudus.request",
        operation,
        method = %request.method(),
        attempt,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let started = Instant::now();
    let pending = raw.client().execute(request).instrument(span.clone());
    async move {
        let outcome = pending.await;
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        match &outcome {
            Ok(r) => {
                span.record("status", r.status().as_u16());
                span.in_scope(|| tracing::debug!("answered"));
            }
            Err(e) => span.in_scope(|| tracing::debug!(error = %e, "failed")),
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn get(url: &str) -> Request {
        let mut request = Request::new(Method::GET, url.parse().unwrap());
        request
            .headers_mut()
            .insert(ACCEPT, HeaderValue::from_static(JSON));
        request
    }

    /// What a retry sends: method, URL, headers, body, timeout and version.
    fn shape(r: &Request) -> String {
        format!(
            "{} {} {:?} {:?} {:?} {:?}",
            r.method(),
            r.url(),
            r.headers(),
            r.body().and_then(|b| b.as_bytes()),
            r.timeout(),
            r.version()
        )
    }

    #[test]
    fn a_spare_sends_the_same_request_again() {
        let mut deleted = get("http://h.test/api/x/1");
        *deleted.method_mut() = Method::DELETE;
        for plain in [get("http://h.test/api/x?page=2&size=1"), deleted] {
            let spare = Spare::of(&plain).unwrap();
            assert!(matches!(spare, Spare::Plain(..)), "{}", shape(&plain));
            assert_eq!(shape(&spare.into_request()), shape(&plain));
        }

        let mut extra = get("http://h.test/api/x");
        extra
            .headers_mut()
            .insert("x-extra", HeaderValue::from_static("1"));
        let mut posted = Request::new(Method::POST, "http://h.test/api/x".parse().unwrap());
        *posted.body_mut() = Some(reqwest::Body::from("{}"));
        let mut timed = get("http://h.test/api/x");
        *timed.timeout_mut() = Some(Duration::from_secs(3));
        let mut twice = get("http://h.test/api/x");
        twice
            .headers_mut()
            .append(ACCEPT, HeaderValue::from_static("text/plain"));
        let mut other = get("http://h.test/api/x");
        other
            .headers_mut()
            .insert(ACCEPT, HeaderValue::from_static("text/csv"));
        let mut http2 = get("http://h.test/api/x");
        *http2.version_mut() = Version::HTTP_2;
        for request in [extra, posted, timed, twice, other, http2] {
            let spare = Spare::of(&request).unwrap();
            assert!(matches!(spare, Spare::Whole(..)), "{}", shape(&request));
            assert_eq!(shape(&spare.into_request()), shape(&request));
        }
    }

    #[test]
    fn posts_are_not_idempotent() {
        assert!(!idempotent(&Method::POST));
        assert!(
            idempotent(&Method::GET) && idempotent(&Method::PUT) && idempotent(&Method::DELETE)
        );
    }
}
