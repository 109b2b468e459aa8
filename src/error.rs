//! The one error type of the crate, and how an answer or a failure becomes
//! one. No server answer can make the client panic: every shape of failure
//! ends up as a variant here, with the HTTP status it arrived with, and every
//! text taken from the server is bounded.

use std::time::Duration;

use reqwest::{header::HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{
    secrets::Secrets,
    status::{classify_answer, Class, TOKEN_OPERATION},
};

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many characters of server text (a body excerpt, a message, a value)
/// an error keeps.
const TEXT_CHARS: usize = 300;

/// How many refused fields a validation error keeps.
const MAX_FIELD_ERRORS: usize = 20;

/// How many characters of server text the kept field errors hold in all
/// (the first is always kept), so that 20 of them at their longest cannot
/// make an error of tens of KB.
const FIELD_TEXT_BUDGET: usize = 2000;

/// Everything that can go wrong when calling the API.
///
/// Three kinds: the client's configuration ([`Error::Config`]), a request
/// refused before sending ([`Error::InvalidRequest`]), and what happened on
/// the way to the server and back (every other variant). Every variant for
/// an answer that arrived keeps its HTTP status ([`Error::status`]).
///
/// ```
/// use nexudus_timepasses::Error;
/// fn explain(e: &Error) -> String {
///     match e {
///         Error::Validation { errors, .. } => errors
///             .iter()
///             .map(|f| format!("{}: {}", f.property, f.message))
///             .collect::<Vec<_>>()
///             .join("; "),
///         e if e.is_retryable() => format!("try again later ({:?})", e.retry_after()),
///         other => other.to_string(),
///     }
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client's settings cannot work (a base URL that is not http(s), a
    /// page size of 0, credentials a header cannot carry, ...).
    #[error("configuration: {0}")]
    Config(String),

    /// The request was refused before sending: it cannot be sent as given.
    #[error("{operation}: invalid request: {reason}")]
    InvalidRequest {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// Why it cannot be sent.
        reason: String,
    },

    /// Authentication failed, the account lacks the role, or the token
    /// endpoint refused the grant (`code` holds its OAuth error, such as
    /// `invalid_grant` or `two_factor_auth_check`).
    #[error("{operation}: unauthorized ({status}){}: {message}", code.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default())]
    Unauthorized {
        /// The operation that was refused (`request_token` for a sign-in).
        operation: &'static str,
        /// HTTP status: 401 or 403, or the token endpoint's 400.
        status: StatusCode,
        /// OAuth error code from the token endpoint, when there was one.
        code: Option<String>,
        /// What the server said, or a short explanation.
        message: String,
    },

    /// No record has the Id asked for (HTTP 404).
    #[error("{operation}: not found")]
    NotFound {
        /// The operation (the spec's operationId).
        operation: &'static str,
    },

    /// The server refused the data: an HTTP 400, or a 200 envelope with
    /// `WasSuccessful: false`. Nothing was written.
    #[error("{operation}: validation failed ({status}): {message}")]
    Validation {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// HTTP status: 400, or 200 for a refusal inside a success answer.
        status: StatusCode,
        /// The server's summary message (or the start of a body that was
        /// not an envelope).
        message: String,
        /// The fields the server refused (at most 20 are kept, and no more
        /// than about 2,000 characters of their text).
        errors: Vec<FieldError>,
    },

    /// The server kept throttling (409 or 429) after the configured retries.
    #[error("{operation}: still throttled ({status}) after the configured retries")]
    Throttled {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// HTTP status: 409 or 429.
        status: StatusCode,
        /// The last `Retry-After` the server sent, if any.
        retry_after: Option<Duration>,
    },

    /// Any other status: a server failure (a 500 envelope; a 500 error page
    /// or 502-504 after the retries), a redirect the client does not
    /// follow, another 4xx.
    #[error("{operation}: server answered {status}: {message}")]
    Api {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// The HTTP status.
        status: StatusCode,
        /// The server's message: the envelope's `Message` when the body is
        /// one, else the start of the body.
        message: String,
        /// Whether the service failed on its way rather than the API
        /// answering: 502, 503, 504, or a 500 whose body is an error page
        /// instead of the API's JSON. The same call may succeed later.
        transient: bool,
    },

    /// A success answer whose body does not have the expected shape.
    #[error(
        "{operation}: cannot decode the answer ({status}) at `{path}`: {message} (body starts: {excerpt})"
    )]
    Decode {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// The HTTP status of the answer.
        status: StatusCode,
        /// JSON path of the first value that failed, `.` for the whole body.
        path: String,
        /// What was wrong with it.
        message: String,
        /// The start of the response body (withheld for the token endpoint).
        excerpt: String,
    },

    /// An answer whose body is larger than the client accepts (see
    /// [`ClientBuilder::max_body_bytes`](crate::ClientBuilder::max_body_bytes)).
    #[error(
        "{operation}: the answer ({status}) is larger than the {limit} bytes the client accepts"
    )]
    BodyTooLarge {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// The HTTP status of the answer.
        status: StatusCode,
        /// The limit, in bytes.
        limit: u64,
    },

    /// A listing whose pages make no sense: they keep repeating records
    /// already yielded, so walking on would never end.
    #[error("{operation}: inconsistent listing: {reason}")]
    InconsistentListing {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// What was seen.
        reason: String,
    },

    /// A write (POST) failed after it may have reached the server (a
    /// timeout, a connection lost after sending, a 502/503/504 or a 500 error page). POSTs are
    /// never retried, since a repeat could write twice: check whether the
    /// write happened before trying again.
    #[error("{operation}: outcome unknown: check before retrying ({source})")]
    OutcomeUnknown {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// The failure itself.
        #[source]
        source: Box<Error>,
    },

    /// The request or the connection failed before an answer arrived.
    #[error("{operation}: transport error: {source}")]
    Transport {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// No answer within the configured timeout.
    #[error("{operation}: timed out")]
    Timeout {
        /// The operation (the spec's operationId).
        operation: &'static str,
    },

    /// A [`TokenStore`](crate::TokenStore) failed (a damaged or unreadable
    /// file, a lock that could not be taken) or holds no usable token: sign
    /// in again. The text names the file and never a token.
    #[error("token store: {0}")]
    TokenStore(String),
}

/// One field the server refused, from the envelope's `Errors`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// The field at fault (`PropertyName`), for example `Name`; empty when
    /// the server named none.
    pub property: String,
    /// What is wrong with it (`Message`).
    pub message: String,
    /// The value that was sent (`AttemptedValue`); `None` when it was missing.
    pub attempted_value: Option<Value>,
}

impl Error {
    /// The HTTP status of the answer the error stands for; `None` when no
    /// answer arrived or the request was never sent.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Unauthorized { status, .. }
            | Error::Validation { status, .. }
            | Error::Throttled { status, .. }
            | Error::Api { status, .. }
            | Error::Decode { status, .. }
            | Error::BodyTooLarge { status, .. } => Some(*status),
            Error::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            Error::OutcomeUnknown { source, .. } => source.status(),
            _ => None,
        }
    }

    /// Whether the same call may succeed later unchanged: throttling, a
    /// timeout, a failed connection, or a 502/503/504 or a 500 error page. Never for
    /// [`Error::OutcomeUnknown`]: check first.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Throttled { .. } | Error::Timeout { .. } | Error::Transport { .. } => true,
            Error::Api { transient, .. } => *transient,
            _ => false,
        }
    }

    /// How long the server asked to wait (`Retry-After` of a throttled answer).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The operation the error belongs to, when it belongs to one.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Error::Config(_) | Error::TokenStore(_) => None,
            Error::InvalidRequest { operation, .. }
            | Error::Unauthorized { operation, .. }
            | Error::NotFound { operation }
            | Error::Validation { operation, .. }
            | Error::Throttled { operation, .. }
            | Error::Api { operation, .. }
            | Error::Decode { operation, .. }
            | Error::BodyTooLarge { operation, .. }
            | Error::InconsistentListing { operation, .. }
            | Error::OutcomeUnknown { operation, .. }
            | Error::Transport { operation, .. }
            | Error::Timeout { operation } => Some(operation),
        }
    }

    /// A request refused before sending.
    pub(crate) fn invalid(operation: &'static str, reason: impl Into<String>) -> Error {
        Error::InvalidRequest {
            operation,
            reason: reason.into(),
        }
    }

    /// The error with every known secret masked in the texts it keeps.
    /// The one place errors are scrubbed: the typed layer's `finish` and
    /// the hook's stand-in answers both go through it.
    pub(crate) fn scrubbed(mut self, secrets: &Secrets) -> Error {
        self.scrub(secrets);
        self
    }

    /// A write's decode failure says that its outcome is unknown: the
    /// server answered 200 with an envelope the client cannot read, so the
    /// change may well have been applied.
    pub(crate) fn of_unknown_outcome(self) -> Error {
        match self {
            Error::Decode {
                operation,
                status,
                path,
                message,
                excerpt,
            } => Error::Decode {
                operation,
                status,
                path,
                message: format!(
                    "{message}; the write's outcome is unknown: check before retrying"
                ),
                excerpt,
            },
            other => other,
        }
    }

    fn scrub(&mut self, secrets: &Secrets) {
        match self {
            Error::Config(text) | Error::TokenStore(text) => secrets.scrub_in(text),
            Error::InvalidRequest { reason, .. } | Error::InconsistentListing { reason, .. } => {
                secrets.scrub_in(reason)
            }
            Error::Unauthorized { code, message, .. } => {
                secrets.scrub_in(message);
                if let Some(code) = code {
                    secrets.scrub_in(code);
                }
            }
            Error::Validation {
                message, errors, ..
            } => {
                secrets.scrub_in(message);
                for e in errors {
                    secrets.scrub_in(&mut e.property);
                    secrets.scrub_in(&mut e.message);
                    if let Some(value) = &mut e.attempted_value {
                        let shown = value.to_string();
                        if secrets.scrub(&shown) != shown {
                            *value = Value::String("[redacted]".into());
                        }
                    }
                }
            }
            Error::Api { message, .. } => secrets.scrub_in(message),
            Error::Decode {
                path,
                message,
                excerpt,
                ..
            } => {
                secrets.scrub_in(path);
                secrets.scrub_in(message);
                secrets.scrub_in(excerpt);
            }
            Error::OutcomeUnknown { source, .. } => source.scrub(secrets),
            Error::NotFound { .. }
            | Error::Throttled { .. }
            | Error::BodyTooLarge { .. }
            | Error::Transport { .. }
            | Error::Timeout { .. } => {}
        }
    }

    /// Whether a POST that failed this way may still have been applied.
    pub(crate) fn may_have_been_applied(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Transport { source, .. } => !source.is_connect(),
            Error::Api { transient, .. } => *transient,
            _ => false,
        }
    }

    /// The error for an answer whose status is not a success, from its
    /// status, headers and (possibly partial) body.
    pub(crate) fn from_answer(
        operation: &'static str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Error {
        let class = classify_answer(status, body);
        if operation == TOKEN_OPERATION && matches!(class, Class::Refused | Class::Unauthorized) {
            return token_refusal(status, body);
        }
        match class {
            Class::Unauthorized => Error::Unauthorized {
                operation,
                status,
                code: None,
                message: non_empty(excerpt(operation, body))
                    .unwrap_or_else(|| "authentication failed or the role is missing".into()),
            },
            Class::NotFound => Error::NotFound { operation },
            Class::Throttled => Error::Throttled {
                operation,
                status,
                retry_after: retry_after(headers),
            },
            Class::Refused => match Envelope::read(body) {
                Some(envelope) => envelope.into_validation(operation, status),
                None => Error::Validation {
                    operation,
                    status,
                    message: non_empty(excerpt(operation, body))
                        .unwrap_or_else(|| "the server refused the request".into()),
                    errors: Vec::new(),
                },
            },
            Class::Other if status.is_redirection() => Error::Api {
                operation,
                status,
                message: redirect_message(operation, headers),
                transient: false,
            },
            Class::Transient | Class::Other | Class::Success => Error::Api {
                operation,
                status,
                message: server_message(operation, body),
                transient: class == Class::Transient,
            },
        }
    }

    /// The error for a success envelope with `WasSuccessful: false`.
    pub(crate) fn refused_envelope(operation: &'static str, body: &[u8]) -> Option<Error> {
        let envelope = Envelope::read(body)?;
        envelope
            .refused
            .then(|| envelope.into_validation(operation, StatusCode::OK))
    }

    /// Builds the error for a success body that does not decode as `T`,
    /// naming the JSON path that failed.
    pub(crate) fn decode<T: DeserializeOwned>(
        operation: &'static str,
        status: StatusCode,
        body: &[u8],
    ) -> Error {
        let mut de = serde_json::Deserializer::from_slice(body);
        let (path, message) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => (
                bounded(&e.path().to_string()),
                bounded(&e.inner().to_string()),
            ),
            Ok(_) => match de.end() {
                Err(e) => (
                    ".".into(),
                    bounded(&format!("data after the JSON value: {e}")),
                ),
                Ok(()) => (".".into(), "the body decoded on a second try".into()),
            },
        };
        // The token answer's values are credentials: never quote them.
        let message = if operation == TOKEN_OPERATION {
            unquoted(&message)
        } else {
            message
        };
        Error::Decode {
            operation,
            status,
            path,
            message,
            excerpt: excerpt(operation, body),
        }
    }

    /// Builds the error for a failure without an answer.
    pub(crate) fn transport(operation: &'static str, source: reqwest::Error) -> Error {
        if source.is_timeout() {
            Error::Timeout { operation }
        } else {
            Error::Transport { operation, source }
        }
    }
}

/// A mutation envelope read leniently: servers send `Errors` holding nulls,
/// strings, or objects with missing fields, and all of it must be reported.
struct Envelope {
    /// `WasSuccessful: false`: the server says it applied nothing. Any
    /// other value (missing, a string) says nothing either way.
    refused: bool,
    message: Option<String>,
    errors: Vec<FieldError>,
}

impl Envelope {
    /// The envelope in `body`, if it is a JSON object with an envelope key.
    fn read(body: &[u8]) -> Option<Envelope> {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        let keys = ["WasSuccessful", "Errors", "Message"];
        if !keys.iter().any(|k| map.contains_key(*k)) {
            return None;
        }
        let errors = match map.get("Errors") {
            Some(Value::Array(items)) => items.iter().filter_map(field_error).collect(),
            _ => Vec::new(),
        };
        Some(Envelope {
            refused: map.get("WasSuccessful") == Some(&Value::Bool(false)),
            message: map.get("Message").and_then(text).filter(|m| !m.is_empty()),
            errors,
        })
    }

    fn into_validation(self, operation: &'static str, status: StatusCode) -> Error {
        let mut errors = Vec::new();
        let mut used = 0;
        for e in self.errors.into_iter().take(MAX_FIELD_ERRORS) {
            let size = e.property.chars().count()
                + e.message.chars().count()
                + e.attempted_value
                    .as_ref()
                    .map_or(0, |v| v.to_string().chars().count());
            if !errors.is_empty() && used + size > FIELD_TEXT_BUDGET {
                break;
            }
            used += size;
            errors.push(e);
        }
        Error::Validation {
            operation,
            status,
            message: self
                .message
                .unwrap_or_else(|| "the server did not apply the change".into()),
            errors,
        }
    }
}

/// One entry of `Errors`: an object, or a bare string as some servers send.
fn field_error(item: &Value) -> Option<FieldError> {
    match item {
        Value::Object(e) => Some(FieldError {
            property: e.get("PropertyName").and_then(text).unwrap_or_default(),
            message: e.get("Message").and_then(text).unwrap_or_default(),
            attempted_value: e
                .get("AttemptedValue")
                .filter(|v| !v.is_null())
                .map(bounded_value),
        }),
        Value::String(s) => Some(FieldError {
            property: String::new(),
            message: bounded(s),
            attempted_value: None,
        }),
        _ => None,
    }
}

/// A JSON value as bounded text: strings as they are, others as JSON.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(bounded(s)),
        other => Some(bounded(&other.to_string())),
    }
}

/// A value kept whole when short, else as the start of its JSON text.
fn bounded_value(value: &Value) -> Value {
    let json = value.to_string();
    if json.chars().count() <= TEXT_CHARS {
        value.clone()
    } else {
        Value::String(bounded(&json))
    }
}

/// The token endpoint's refusal: the OAuth `error` code and description
/// when the body has them (the password form may be echoed there, so the
/// description is kept only when it is short and plain).
fn token_refusal(status: StatusCode, body: &[u8]) -> Error {
    let parsed: Option<serde_json::Map<String, Value>> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|m| m.get(name))
            .and_then(|v| v.as_str())
            .map(bounded)
            .filter(|s| !s.is_empty())
    };
    Error::Unauthorized {
        operation: TOKEN_OPERATION,
        status,
        code: field("error"),
        message: field("error_description")
            .unwrap_or_else(|| "the token endpoint refused the grant".into()),
    }
}

/// The longest `Retry-After` taken as given (a day).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// Parses `Retry-After`: seconds (the form the API documents) or an
/// HTTP-date (the other form HTTP allows), as a wait from now.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Says which redirect was not followed, and where it pointed.
fn redirect_message(operation: &str, headers: &HeaderMap) -> String {
    let location = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(bounded)
        .unwrap_or_else(|| "nowhere".into());
    if operation == TOKEN_OPERATION {
        format!("the token endpoint redirected (to {location}); credentials are never re-sent to a redirect")
    } else {
        format!("redirect to {location} not followed (the client follows redirects only within the base URL's origin)")
    }
}

/// `text` with every double-quoted part replaced by `"…"`.
fn unquoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut parts = text.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (n, part) in parts.enumerate() {
        out.push('"');
        out.push_str(if n % 2 == 0 { "…" } else { part });
    }
    out
}

/// The envelope's `Message` when the body is an envelope that has one, else
/// the start of the body.
fn server_message(operation: &str, body: &[u8]) -> String {
    if operation != TOKEN_OPERATION {
        if let Some(message) = Envelope::read(body).and_then(|e| e.message) {
            return message;
        }
    }
    excerpt(operation, body)
}

/// The start of a body as text, never more than [`TEXT_CHARS`] characters,
/// and nothing at all for the token endpoint, whose bodies carry secrets.
pub(crate) fn excerpt(operation: &str, body: &[u8]) -> String {
    if operation == TOKEN_OPERATION {
        return "[withheld: the body may hold credentials]".into();
    }
    let start = &body[..body.len().min(TEXT_CHARS * 4)];
    let mut text = bounded(&String::from_utf8_lossy(start));
    // A cut is always marked, so that scrubbing can mask a secret it split.
    if start.len() < body.len() && !text.ends_with('…') {
        text.push('…');
    }
    text
}

/// At most [`TEXT_CHARS`] characters of `text`, with `…` when cut.
pub(crate) fn bounded(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(TEXT_CHARS).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

fn non_empty(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_bounded_and_withheld_for_tokens() {
        let long = "x".repeat(1000);
        assert_eq!(
            excerpt("list_time_passes", long.as_bytes()).chars().count(),
            TEXT_CHARS + 1
        );
        assert!(!excerpt(TOKEN_OPERATION, b"{\"access_token\":\"s3cret\"}").contains("s3cret"));
    }

    #[test]
    fn retry_after_reads_seconds_and_ignores_garbage() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        h.insert("retry-after", later.parse().unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        h.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }

    #[test]
    fn quoted_values_are_dropped() {
        assert_eq!(
            unquoted(r#"invalid type: string "at-123", expected i64"#),
            r#"invalid type: string "…", expected i64"#
        );
    }

    #[test]
    fn decode_names_the_failing_path() {
        let body = br#"{"Records":[{"Id":"not a number"}]}"#;
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Page {
            #[serde(rename = "Records")]
            records: Vec<Rec>,
        }
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Rec {
            #[serde(rename = "Id")]
            id: i32,
        }
        match Error::decode::<Page>("list_time_passes", StatusCode::OK, body) {
            Error::Decode { path, status, .. } => {
                assert_eq!(path, "Records[0].Id");
                assert_eq!(status, StatusCode::OK);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn envelopes_with_odd_errors_are_read() {
        let body = br#"{"WasSuccessful":false,"Message":"no","Errors":[null,"plain",{"PropertyName":"Name"}]}"#;
        let e = Error::from_answer(
            "create_time_pass",
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            body,
        );
        match e {
            Error::Validation {
                errors,
                message,
                status,
                ..
            } => {
                assert_eq!(status, StatusCode::BAD_REQUEST);
                assert_eq!(message, "no");
                assert_eq!(errors.len(), 2);
                assert_eq!(errors[0].message, "plain");
                assert_eq!(errors[1].property, "Name");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_400_that_is_not_an_envelope_is_still_a_validation_error() {
        let e = Error::from_answer(
            "create_time_pass",
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            b"<html>bad</html>",
        );
        assert!(
            matches!(e, Error::Validation { ref message, .. } if message.contains("bad")),
            "{e:?}"
        );
        assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
    }
}
