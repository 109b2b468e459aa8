//! The one request path of the generated client, through progenitor's
//! `ClientHooks::exec`: each attempt waits for its pacing slot, gets the
//! `Authorization` header that is fresh at that instant, is sent with its
//! own timeout inside a tracing span, and has its whole answer read (within
//! the body cap). After each attempt [`RetryPolicy::decide`] says what comes
//! next; this loop only carries it out.
//!
//! What the hook hands back: a whole answer; the transport error of the
//! last attempt; or, for a failure that has no answer of its own (the
//! sign-in was refused, the body was over the cap), an answer that stands
//! for it, carrying the crate's [`Error`] in its extensions for the typed
//! layer (`request.rs`) and the error's scrubbed text as body for callers
//! of the raw client.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use bytes::{Bytes, BytesMut};
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{header::AUTHORIZATION, Request, Response, ResponseBuilderExt, StatusCode};
use tracing::Instrument;

use crate::{
    auth::Auth,
    error::{retry_after, Error},
    generated::Client as Raw,
    pacing::{Pacer, Pacing},
    retry::{Attempt, Next, Outcome, RetryPolicy},
    status::{classify, classify_answer, Class, TOKEN_OPERATION},
};

/// The state the generated client carries for its hooks; shared by clones.
#[derive(Clone)]
pub struct Hooks(Arc<Shared>);

struct Shared {
    auth: Auth,
    retry: RetryPolicy,
    pacer: Pacer,
    /// Each attempt's timeout, from sending to the end of the answer's body.
    attempt_timeout: Option<Duration>,
    /// The largest answer body read, in bytes.
    max_body: u64,
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
        }))
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.0.auth
    }
}

/// The crate's error for a failure the hook answered in place of the
/// server (see the module's docs); the typed layer takes it out. Shared
/// and locked only because an answer's extensions must be `Clone + Sync`.
#[derive(Clone, Debug)]
pub(crate) struct Failure(Arc<Mutex<Option<Error>>>);

impl Failure {
    /// The error, once.
    pub(crate) fn take(self) -> Option<Error> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl ClientHooks<Hooks> for Raw {
    /// Sends the request: pacing, a fresh auth header per attempt, retries.
    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        match execute(self, request, info.operation_id).await {
            Ok(answer) => Ok(answer.into_response()),
            Err(Sent::Transport(e)) => Err(e),
            Err(Sent::Failed(error)) => Ok(stand_in_answer(self.inner(), error)),
        }
    }
}

/// The attempt loop: pacing, auth, send, then the policy's decision.
async fn execute(raw: &Raw, mut request: Request, operation: &'static str) -> Result<Whole, Sent> {
    let hooks = &raw.inner().0;
    // progenitor adds `api-version` (the spec's own version) to every
    // request; the Nexudus API defines no such header, so none is sent.
    request.headers_mut().remove("api-version");
    let method = request.method().clone();
    let mut renewed = false;
    let mut number = 1;
    loop {
        // A body that cannot be cloned (a stream) is sent once, never retried.
        let spare = request.try_clone();
        let slot = hooks.pacer.reserve(&method);
        if let Some(slot) = slot {
            tokio::time::sleep_until(slot.into()).await;
        }
        let sent_auth = attach_auth(raw, &mut request, operation).await?;
        *request.timeout_mut() = hooks.attempt_timeout;
        let result = send_traced(raw, request, operation, number, hooks.max_body).await;
        if let (Some(slot), Ok(answer)) = (slot, &result) {
            let throttled =
                (classify(answer.status) == Class::Throttled).then(|| retry_after(&answer.headers));
            hooks.pacer.answered(&method, slot, throttled);
        }
        let attempt = Attempt {
            method: &method,
            number,
            can_renew: !renewed && operation != TOKEN_OPERATION && hooks.auth.renews(),
        };
        let next = match (&spare, &result) {
            (None, _) => Next::Return,
            (Some(_), result) => hooks.retry.decide(attempt, outcome(result)),
        };
        match (next, spare) {
            (Next::Retry(delay), Some(spare)) => {
                tracing::debug!(
                    operation,
                    number,
                    delay_ms = delay.as_millis() as u64,
                    "retrying"
                );
                tokio::time::sleep(delay).await;
                request = spare;
            }
            (Next::Renew, Some(spare)) => {
                renewed = true;
                hooks.auth.reject(sent_auth.as_ref()).await;
                request = spare;
            }
            _ => return result,
        }
        number += 1;
    }
}

/// What an attempt that got no whole answer came to.
enum Sent {
    /// reqwest's error (no answer, or its body broke off or timed out).
    Transport(reqwest::Error),
    /// A failure of the crate's own (sign-in refused, body over the cap).
    Failed(Error),
}

impl From<Error> for Sent {
    fn from(error: Error) -> Self {
        Sent::Failed(error)
    }
}

/// An answer read to its end.
struct Whole {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    version: reqwest::Version,
    /// Where it came from: reqwest would parse a placeholder URL for an
    /// answer built without one, on every call.
    url: reqwest::Url,
    body: Bytes,
}

impl Whole {
    fn into_response(self) -> Response {
        let mut answer = http::Response::builder()
            .status(self.status)
            .version(self.version)
            .url(self.url)
            .body(self.body)
            .unwrap_or_default();
        *answer.headers_mut() = self.headers;
        Response::from(answer)
    }
}

/// What the policy needs to know of an attempt's result.
fn outcome(result: &Result<Whole, Sent>) -> Outcome {
    match result {
        Ok(answer) => Outcome::Answered {
            status: answer.status,
            class: classify_answer(answer.status, &answer.body),
            retry_after: retry_after(&answer.headers),
        },
        // A redirect the client refused, or a request reqwest could not
        // build, would fail the same way again.
        Err(Sent::Transport(e)) if e.is_builder() || e.is_redirect() => Outcome::Final,
        Err(Sent::Transport(_)) => Outcome::Unanswered,
        Err(Sent::Failed(_)) => Outcome::Final,
    }
}

/// The answer that stands for `error`: 401 for a refused sign-in, 400
/// otherwise, with the error's scrubbed text as body and the error itself
/// in the extensions.
fn stand_in_answer(hooks: &Hooks, error: Error) -> Response {
    let error = error.scrubbed(hooks.auth().secrets());
    let status = match error {
        Error::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut answer = http::Response::new(error.to_string());
    *answer.status_mut() = status;
    answer
        .extensions_mut()
        .insert(Failure(Arc::new(Mutex::new(Some(error)))));
    Response::from(answer)
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
    let header = raw.inner().auth().header(raw).await?;
    match &header {
        Some(value) => request.headers_mut().insert(AUTHORIZATION, value.clone()),
        None => request.headers_mut().remove(AUTHORIZATION),
    };
    Ok(header)
}

/// One attempt, its answer read to the end, inside a span carrying
/// operation, method, attempt, status and latency (never headers or
/// bodies, which may hold secrets).
async fn send_traced(
    raw: &Raw,
    request: Request,
    operation: &'static str,
    attempt: u32,
    max_body: u64,
) -> Result<Whole, Sent> {
    let span = tracing::info_span!(
        "nexudus.request",
        operation,
        method = %request.method(),
        attempt,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = async {
        let answer = raw
            .client()
            .execute(request)
            .await
            .map_err(Sent::Transport)?;
        read_whole(answer, operation, max_body).await
    }
    .instrument(span.clone())
    .await;
    span.record("latency_ms", started.elapsed().as_millis() as u64);
    match &result {
        Ok(answer) => {
            span.record("status", answer.status.as_u16());
            span.in_scope(|| tracing::debug!("answered"));
        }
        Err(Sent::Transport(e)) => span.in_scope(|| tracing::debug!(error = %e, "failed")),
        Err(Sent::Failed(e)) => span.in_scope(|| tracing::debug!(error = %e, "failed")),
    }
    result
}

/// The answer with its whole body, refused with [`Error::BodyTooLarge`]
/// once the declared or the read length passes `limit`.
async fn read_whole(
    mut answer: Response,
    operation: &'static str,
    limit: u64,
) -> Result<Whole, Sent> {
    let status = answer.status();
    let too_large = || Error::BodyTooLarge {
        operation,
        status,
        limit,
    };
    if answer.content_length().is_some_and(|length| length > limit) {
        return Err(too_large().into());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = answer.chunk().await.map_err(Sent::Transport)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large().into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Whole {
        status,
        version: answer.version(),
        url: answer.url().clone(),
        headers: std::mem::take(answer.headers_mut()),
        body: body.freeze(),
    })
}
