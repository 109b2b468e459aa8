//! The typed end of every call: awaits a request of the generated client,
//! or a GET built here for the listings ([`get`]), both sent by the
//! generated client's hook (`transport.rs`), and turns what came back into
//! the crate's `Result`, scrubbed of the client's secrets.
//!
//! Everything a conversion needs travels in values: the generated answer,
//! the operation's name, whether the call was a POST, and the client whose
//! secrets are masked. A failure the hook met without an answer of the
//! server's comes back inside the answer that stands for it
//! (`transport::Failure`).

use std::future::Future;

use chrono::{DateTime, Utc};
use progenitor_client::{ClientHooks, ClientInfo, Error as GenError, OperationInfo, ResponseValue};
use reqwest::StatusCode;
use serde::{de::DeserializeOwned, Serialize};

use crate::{
    error::{Error, Result},
    generated::Client as Raw,
    transport::Failure,
    types::MutationResult,
};

/// An answer of the generated client. build.rs declares no error bodies to
/// progenitor, so every failure status arrives as `UnexpectedResponse`.
pub(crate) type Answer<T> = std::result::Result<ResponseValue<T>, GenError<()>>;

/// Whether a call may write: a POST that failed after it may have reached
/// the server has an unknown outcome (PUT and DELETE can be repeated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// GET, PUT or DELETE: repeating it cannot duplicate a write.
    Idempotent,
    /// POST: a create or a command.
    Post,
}

/// Sends `request` (a generated `send()` future, or [`get`]) and returns
/// its body.
pub(crate) async fn send<T: DeserializeOwned>(
    raw: &Raw,
    operation: &'static str,
    request: impl Future<Output = Answer<T>>,
) -> Result<T> {
    match request.await {
        Ok(answer) => Ok(answer.into_inner()),
        Err(e) => Err(fail::<T>(raw, operation, Kind::Idempotent, e).await),
    }
}

/// Like [`send`], also returning the server's clock (the answer's `Date`
/// header), when it sent one that reads.
pub(crate) async fn send_dated<T: DeserializeOwned>(
    raw: &Raw,
    operation: &'static str,
    request: impl Future<Output = Answer<T>>,
) -> Result<(T, Option<DateTime<Utc>>)> {
    match request.await {
        Ok(answer) => {
            let date = answer
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
                .map(|d| d.with_timezone(&Utc));
            Ok((answer.into_inner(), date))
        }
        Err(e) => Err(fail::<T>(raw, operation, Kind::Idempotent, e).await),
    }
}

/// A write: its envelope when the server says it applied the change. Only
/// `WasSuccessful: false` is a refusal ([`Error::Validation`]); an envelope
/// that does not read as one (no `WasSuccessful`, or not a boolean) is
/// [`Error::Decode`], whose outcome is unknown.
pub(crate) async fn mutate(
    raw: &Raw,
    operation: &'static str,
    kind: Kind,
    request: impl Future<Output = Answer<MutationResult>>,
) -> Result<MutationResult> {
    let envelope = match request.await {
        Ok(answer) => answer.into_inner(),
        Err(e) => {
            let error = fail::<MutationResult>(raw, operation, kind, e).await;
            return Err(error.of_unknown_outcome());
        }
    };
    if envelope.was_successful {
        return Ok(envelope);
    }
    let body = serde_json::to_vec(&envelope).unwrap_or_default();
    let refused = Error::refused_envelope(operation, &body).unwrap_or_else(|| Error::Validation {
        operation,
        status: StatusCode::OK,
        message: "the server did not apply the change".into(),
        errors: Vec::new(),
    });
    Err(finish(raw, operation, kind, refused))
}

/// The Id a successful write reports in `Value.Id`.
pub(crate) fn written_id(
    raw: &Raw,
    operation: &'static str,
    envelope: &MutationResult,
) -> Result<i32> {
    envelope_id(envelope).ok_or_else(|| {
        let error = Error::Decode {
            operation,
            status: StatusCode::OK,
            path: "Value.Id".into(),
            message: "the success envelope carries no Id".into(),
            excerpt: crate::error::bounded(envelope.message.as_deref().unwrap_or_default()),
        };
        finish(raw, operation, Kind::Idempotent, error)
    })
}

/// `Value.Id` of an envelope, when there is one.
pub(crate) fn envelope_id(envelope: &MutationResult) -> Option<i32> {
    envelope.value.as_ref()?.0.as_ref()?.id
}

/// The crate's error for a failed generated call, finished.
pub(crate) async fn fail<T: DeserializeOwned>(
    raw: &Raw,
    operation: &'static str,
    kind: Kind,
    err: GenError<()>,
) -> Error {
    let error = convert::<T>(operation, err).await;
    finish(raw, operation, kind, error)
}

/// Scrubs the error of the client's secrets (the one place typed errors
/// are), and says so when a POST failed after it may have reached the server.
fn finish(raw: &Raw, operation: &'static str, kind: Kind, error: Error) -> Error {
    let error = error.scrubbed(raw.inner().auth().secrets());
    if kind == Kind::Post && error.may_have_been_applied() {
        return Error::OutcomeUnknown {
            operation,
            source: Box::new(error),
        };
    }
    error
}

/// Converts a failure of the generated client. Its answers were read whole
/// by the hook, so reading their bodies again cannot fail.
async fn convert<T: DeserializeOwned>(operation: &'static str, err: GenError<()>) -> Error {
    match err {
        GenError::UnexpectedResponse(mut answer) => {
            if let Some(error) = answer
                .extensions_mut()
                .remove::<Failure>()
                .and_then(Failure::take)
            {
                return error;
            }
            let (status, headers) = (answer.status(), answer.headers().clone());
            let body = answer.bytes().await.unwrap_or_default();
            Error::from_answer(operation, status, &headers, &body)
        }
        GenError::ErrorResponse(answer) => {
            Error::from_answer(operation, answer.status(), answer.headers(), b"")
        }
        // Only success statuses are declared (200), so this is one.
        GenError::InvalidResponsePayload(body, _) => Error::refused_envelope(operation, &body)
            .unwrap_or_else(|| Error::decode::<T>(operation, StatusCode::OK, &body)),
        GenError::CommunicationError(e)
        | GenError::InvalidUpgrade(e)
        | GenError::ResponseBodyError(e) => Error::transport(operation, e),
        GenError::InvalidRequest(why) | GenError::Custom(why) => Error::invalid(operation, why),
    }
}

/// A GET of `path` with `query`, built as the generated client builds its
/// requests.
pub(crate) fn get_request(
    raw: &Raw,
    path: &str,
    query: &impl Serialize,
) -> reqwest::Result<reqwest::Request> {
    raw.client()
        .get(format!("{}{path}", raw.baseurl()))
        .query(query)
        .header(reqwest::header::ACCEPT, "application/json")
        .build()
}

/// Sends a [`get_request`] and answers as a generated `send()` would:
/// through the generated client's hook (the one request path: pacing,
/// auth, retries), `200` decoded as `T`, any other status unexpected. The
/// listings use it so that only the parameters they set are serialized (a
/// generated listing serializes each of its fifty-odd parameters, set or
/// not, at a tenth of a call's cost); drift reads plain JSON with it.
pub(crate) async fn get<T: DeserializeOwned>(
    raw: &Raw,
    operation: &'static str,
    request: reqwest::Result<reqwest::Request>,
) -> Answer<T> {
    let request = request.map_err(|e| GenError::InvalidRequest(e.to_string()))?;
    let info = OperationInfo {
        operation_id: operation,
    };
    let response = raw.exec(request, &info).await?;
    match response.status() {
        StatusCode::OK => ResponseValue::from_response(response).await,
        _ => Err(GenError::UnexpectedResponse(response)),
    }
}

/// [`get`] as plain JSON, for readers that must see the body as the server
/// sent it (the drift check).
pub(crate) async fn get_json(
    raw: &Raw,
    operation: &'static str,
    path: &str,
    query: &[(&str, String)],
) -> Result<serde_json::Value> {
    let request = get_request(raw, path, &query);
    send(raw, operation, get(raw, operation, request)).await
}
