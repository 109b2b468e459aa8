//! The one entry point of every typed call: it sends a request of the
//! generated client inside a call context and turns the answer into the
//! crate's `Result`.
//!
//! The context is how the transport hook (which progenitor lets return only
//! a `reqwest` answer) hands typed facts back: a sign-in that failed, the
//! status of the last answer, and, for streams, the page to ask for.

use std::{
    cell::{Cell, RefCell},
    future::{poll_fn, Future},
    pin::Pin,
    sync::Arc,
    task::Poll,
    time::Duration,
};

use chrono::{DateTime, Utc};
use progenitor_client::{ClientHooks, ClientInfo, Error as GenError, OperationInfo, ResponseValue};
use reqwest::{header::HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::{
    deadline::Deadline,
    error::{Error, Result},
    generated::Client as Raw,
    secrets::Secrets,
    status::TOKEN_OPERATION,
    types::MutationResult,
};

/// An answer of the generated client. build.rs declares no error bodies to
/// progenitor, so every failure status arrives as `UnexpectedResponse`.
pub(crate) type Answer<T> = std::result::Result<ResponseValue<T>, GenError<()>>;

/// What one typed call shares with the transport hook.
#[derive(Default)]
pub(crate) struct Call {
    /// The page a stream asks for; the hook adds it to the query.
    page: Option<u32>,
    /// A typed failure the hook met instead of an answer.
    failure: RefCell<Option<Error>>,
    /// The status of the last answer.
    status: RefCell<Option<StatusCode>>,
    /// Whether the caller reads the server's clock (`send_dated`).
    wants_date: bool,
    /// The `Date` header of the last answer (the server's clock).
    date: RefCell<Option<HeaderValue>>,
    /// The method of the request, once the hook has seen it.
    method: RefCell<Option<Method>>,
    /// The client's secrets, once the hook has seen the request: errors
    /// are scrubbed with them before they reach the caller.
    secrets: RefCell<Option<Arc<Secrets>>>,
    /// The running attempt's timeout, armed by the hook. It covers the
    /// answer's body too, which the generated code reads after the hook.
    deadline: Deadline,
    /// Whether the hook is waiting for an answer's head: a deadline that
    /// passes then is the hook's to handle (it may retry).
    in_head: Cell<bool>,
}

tokio::task_local! {
    // Boxed: the scope moves its value in and out of the thread-local on
    // every poll, and a pointer is cheaper to move than the context.
    static CALL: Box<Call>;
}

/// Sends `request` (a generated `send()` future) and returns its body.
pub(crate) fn send<'a, T: DeserializeOwned + 'a>(
    operation: &'static str,
    request: impl Future<Output = Answer<T>> + 'a,
) -> impl Future<Output = Result<T>> + 'a {
    body_of(in_context(operation, Call::default(), request, Ok))
}

/// Like [`send`], for page `page` of a stream: the hook adds the page.
pub(crate) fn send_page<'a, T: DeserializeOwned + 'a>(
    operation: &'static str,
    page: u32,
    request: impl Future<Output = Answer<T>> + 'a,
) -> impl Future<Output = Result<T>> + 'a {
    let call = Call {
        page: Some(page),
        ..Call::default()
    };
    body_of(in_context(operation, call, request, Ok))
}

/// The body of an answer from [`in_context`], without its `Date`.
async fn body_of<T>(answer: impl Future<Output = Result<(T, Option<HeaderValue>)>>) -> Result<T> {
    Ok(answer.await?.0)
}

/// Like [`send`], also returning the server's clock (the answer's `Date`
/// header), when it sent one that reads.
pub(crate) async fn send_dated<T: DeserializeOwned>(
    operation: &'static str,
    request: impl Future<Output = Answer<T>>,
) -> Result<(T, Option<DateTime<Utc>>)> {
    let call = Call {
        wants_date: true,
        ..Call::default()
    };
    let (value, date) = in_context(operation, call, request, Ok).await?;
    let date = date
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .and_then(|v| DateTime::parse_from_rfc2822(&v).ok())
        .map(|d| d.with_timezone(&Utc));
    Ok((value, date))
}

/// A GET of `path` with `query` through the generated client's hooks (the
/// one request path: pacing, auth, retries), answered as plain JSON, for
/// readers that must see the body as the server sent it (the drift check).
pub(crate) async fn get_json(
    raw: &Raw,
    operation: &'static str,
    path: &str,
    query: &[(&str, String)],
) -> Result<serde_json::Value> {
    let url =
        crate::wire::endpoint(raw, path).map_err(|e| Error::invalid(operation, e.to_string()))?;
    let request = raw
        .client()
        .get(url)
        .query(query)
        .header(reqwest::header::ACCEPT, "application/json")
        .build()
        .map_err(|e| Error::invalid(operation, e.to_string()))?;
    let answer = async move {
        let info = OperationInfo {
            operation_id: operation,
        };
        let response = raw
            .exec(request, &info)
            .await
            .map_err(GenError::CommunicationError)?;
        if response.status().is_success() {
            json_answer(response).await
        } else {
            Err(GenError::UnexpectedResponse(response))
        }
    };
    Ok(in_context(operation, Call::default(), answer, Ok).await?.0)
}

/// A success answer's JSON body as the generated code returns it, failing
/// as progenitor's `ResponseValue::from_response` does; build.rs has the
/// generated requests call this instead, because that one copies the
/// answer's header map on every call and this moves it out.
pub(crate) async fn json_answer<T: DeserializeOwned, E>(
    mut response: reqwest::Response,
) -> std::result::Result<ResponseValue<T>, GenError<E>> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let full = response
        .bytes()
        .await
        .map_err(GenError::ResponseBodyError)?;
    let inner =
        serde_json::from_slice(&full).map_err(|e| GenError::InvalidResponsePayload(full, e))?;
    Ok(ResponseValue::new(inner, status, headers))
}

/// Like [`send`], and a 200 envelope with `WasSuccessful: false` is an error
/// (built inside the call context, so it is scrubbed like any other).
pub(crate) async fn mutate(
    operation: &'static str,
    request: impl Future<Output = Answer<MutationResult>>,
) -> Result<MutationResult> {
    let checked = in_context(operation, Call::default(), request, |envelope| {
        if envelope.was_successful {
            return Ok(envelope);
        }
        let body = serde_json::to_vec(&envelope).unwrap_or_default();
        Err(
            Error::refused_envelope(operation, &body).unwrap_or_else(|| Error::Validation {
                operation,
                status: StatusCode::OK,
                message: "the server did not apply the change".into(),
                errors: Vec::new(),
            }),
        )
    })
    .await?;
    Ok(checked.0)
}

/// Runs `request` in a call context; `check` may still refuse its body.
/// Returns the body and the answer's `Date` header.
///
/// `request` is boxed at once, before any `.await`: a generated request
/// future holds its whole builder (a field per filter) and the hook's
/// state, about 3.5 KB for a listing, and each async layer it passed
/// through by value would copy it.
fn in_context<'a, T: DeserializeOwned + 'a>(
    operation: &'static str,
    call: Call,
    request: impl Future<Output = Answer<T>> + 'a,
    check: impl FnOnce(T) -> Result<T> + 'a,
) -> impl Future<Output = Result<(T, Option<HeaderValue>)>> + 'a {
    let request = Box::pin(request);
    CALL.scope(Box::new(call), async move {
        let Some(answer) = watched(request).await else {
            return Err(finish(operation, Error::Timeout { operation }));
        };
        match answer {
            Ok(value) => {
                let date = CALL.try_with(|c| c.date.borrow_mut().take()).ok().flatten();
                let body = check(value.into_inner()).map_err(|e| finish(operation, e))?;
                Ok((body, date))
            }
            // Boxed: only a failure pays for the space its reading needs.
            // Watched: reading an error answer's body is still the attempt.
            Err(e) => {
                let error = watched(Box::pin(convert::<T>(operation, e)))
                    .await
                    .unwrap_or(Error::Timeout { operation });
                Err(finish(operation, error))
            }
        }
    })
}

/// `request`'s output, or `None` once the running attempt's deadline has
/// passed while the answer's body was being read. A deadline that passes
/// while the hook waits for a head is left to the hook, which may retry;
/// either way the task is woken when the deadline passes.
async fn watched<F: Future + Unpin>(mut request: F) -> Option<F::Output> {
    poll_fn(|cx| {
        if let Poll::Ready(output) = Pin::new(&mut request).poll(cx) {
            return Poll::Ready(Some(output));
        }
        let passed = CALL
            .try_with(|c| c.deadline.poll_passed(cx) && !c.in_head.get())
            .unwrap_or(false);
        if passed {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Scrubs the error of secrets, and says so when a POST failed after it may
/// have reached the server.
fn finish(operation: &'static str, mut error: Error) -> Error {
    let (method, secrets) = CALL
        .try_with(|c| (c.method.borrow().clone(), c.secrets.borrow().clone()))
        .unwrap_or_default();
    if let Some(secrets) = secrets {
        error.scrub(&secrets);
    }
    let write = method == Some(Method::POST) && operation != TOKEN_OPERATION;
    if write && error.may_have_been_applied() {
        return Error::OutcomeUnknown {
            operation,
            source: Box::new(error),
        };
    }
    error
}

/// Converts a failure of the generated client: a typed failure the hook
/// left in the context wins over the answer it stands for.
pub(crate) async fn convert<T: DeserializeOwned>(
    operation: &'static str,
    err: GenError<()>,
) -> Error {
    if let Some(failure) = take_failure() {
        return failure;
    }
    match err {
        GenError::ErrorResponse(rv) => {
            Error::from_answer(operation, rv.status(), rv.headers(), b"")
        }
        GenError::UnexpectedResponse(response) => {
            let (status, headers) = (response.status(), response.headers().clone());
            match response.bytes().await {
                Ok(body) => Error::from_answer(operation, status, &headers, &body),
                // A body over the cap fails the read and leaves its error.
                Err(_) => take_failure()
                    .unwrap_or_else(|| Error::from_answer(operation, status, &headers, b"")),
            }
        }
        GenError::InvalidResponsePayload(body, _) => {
            let status = last_status().unwrap_or(StatusCode::OK);
            // A refusal in a success answer whose `Errors` the typed
            // envelope cannot hold (nulls, strings) is still a refusal.
            Error::refused_envelope(operation, &body)
                .unwrap_or_else(|| Error::decode::<T>(operation, status, &body))
        }
        GenError::CommunicationError(e)
        | GenError::InvalidUpgrade(e)
        | GenError::ResponseBodyError(e) => Error::transport(operation, e),
        GenError::InvalidRequest(why) => Error::invalid(operation, why),
        GenError::Custom(why) => Error::invalid(operation, why),
    }
}

/// The page a stream asks for, when the current call is one of its pages.
pub(crate) fn stream_page() -> Option<u32> {
    CALL.try_with(|c| c.page).ok().flatten()
}

/// Notes the request the hook is about to send, and the client's secrets.
pub(crate) fn record_request(method: &Method, secrets: &Arc<Secrets>) {
    // The first request of a call is the call's own; a sign-in it makes
    // runs inside the same context and must not replace it.
    let _ = CALL.try_with(|c| {
        c.method.borrow_mut().get_or_insert_with(|| method.clone());
        c.secrets
            .borrow_mut()
            .get_or_insert_with(|| secrets.clone());
    });
}

/// Starts the call's attempt deadline, `timeout` from now. False outside a
/// typed call (the raw client) or without a watchdog: the hook then leaves
/// the timeout to reqwest.
pub(crate) fn arm_deadline(timeout: Duration) -> bool {
    CALL.try_with(|c| c.deadline.arm(timeout)).unwrap_or(false)
}

/// Stops the attempt deadline while the hook waits (pacing, backoff).
pub(crate) fn disarm_deadline() {
    let _ = CALL.try_with(|c| c.deadline.disarm());
}

/// `attempt` (the wait for an answer's head), or `None` once the call's
/// attempt deadline has passed. [`watched`], around every typed call, wakes
/// the task for it, and leaves the verdict to this while it runs.
pub(crate) async fn within_deadline<F: Future>(attempt: F) -> Option<F::Output> {
    let mut attempt = std::pin::pin!(attempt);
    let _head = InHead::enter();
    poll_fn(|cx| match attempt.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending if CALL.try_with(|c| c.deadline.passed()).unwrap_or(false) => {
            Poll::Ready(None)
        }
        Poll::Pending => Poll::Pending,
    })
    .await
}

/// Marks the call as waiting for a head while it lives.
struct InHead;

impl InHead {
    fn enter() -> InHead {
        let _ = CALL.try_with(|c| c.in_head.set(true));
        InHead
    }
}

impl Drop for InHead {
    fn drop(&mut self) {
        let _ = CALL.try_with(|c| c.in_head.set(false));
    }
}

/// Keeps `error` as the call's failure (the hook's answer then stands for it).
pub(crate) fn fail(error: Error) {
    let _ = CALL.try_with(|c| *c.failure.borrow_mut() = Some(error));
}

/// Notes the status and `Date` of an answer.
pub(crate) fn record_answer(answer: &reqwest::Response) {
    let _ = CALL.try_with(|c| {
        *c.status.borrow_mut() = Some(answer.status());
        if c.wants_date {
            *c.date.borrow_mut() = answer.headers().get(reqwest::header::DATE).cloned();
        }
    });
}

fn last_status() -> Option<StatusCode> {
    CALL.try_with(|c| *c.status.borrow()).ok().flatten()
}

fn take_failure() -> Option<Error> {
    CALL.try_with(|c| c.failure.borrow_mut().take())
        .ok()
        .flatten()
}

/// Keeps `error` for the caller and gives the hook an answer to return in
/// its place: 401 for a failed sign-in, 400 otherwise, with the error's text
/// as body for callers of the raw client, who have no context.
pub(crate) fn refuse(mut error: Error) -> reqwest::Response {
    if let Some(secrets) = CALL.try_with(|c| c.secrets.borrow().clone()).ok().flatten() {
        error.scrub(&secrets);
    }
    let status = match error {
        Error::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let text = error.to_string();
    fail(error);
    let mut answer = http::Response::new(text);
    *answer.status_mut() = status;
    reqwest::Response::from(answer)
}
