//! The one error type of the crate, and its conversion from the generated
//! client's errors. No server answer can make the client panic: every shape of
//! failure ends up as a variant here.

use std::time::Duration;

use reqwest::{header::HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::types::{MutationResult, OAuthError};

type GenError<E> = progenitor_client::Error<E>;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many characters of a response body an error keeps.
const EXCERPT_CHARS: usize = 300;

/// Operations whose bodies carry secrets: their excerpts are never kept.
const SECRET_OPERATIONS: &[&str] = &["request_token"];

/// Everything that can go wrong when calling the API.
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
///         Error::Throttled { retry_after, .. } => format!("slow down ({retry_after:?})"),
///         other => other.to_string(),
///     }
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Authentication failed, the account lacks the role, or the token
    /// endpoint refused the grant (`code` holds its OAuth error, such as
    /// `invalid_grant` or `two_factor_auth_check`).
    #[error("unauthorized ({status}){}: {message}", code.as_ref().map(|c| format!(" [{c}]")).unwrap_or_default())]
    Unauthorized {
        /// HTTP status: 401 or 403, or 400 from the token endpoint.
        status: StatusCode,
        /// OAuth error code from the token endpoint, when there was one.
        code: Option<String>,
        /// What the server said, or a short explanation.
        message: String,
    },

    /// No record has the Id asked for.
    #[error("{operation}: not found")]
    NotFound {
        /// The operation (the spec's operationId).
        operation: &'static str,
    },

    /// The server refused the data: an HTTP 400 envelope, or a 200 envelope
    /// with `WasSuccessful: false`. Nothing was written.
    #[error("{operation}: validation failed: {message}")]
    Validation {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// The server's summary message.
        message: String,
        /// Every field the server refused.
        errors: Vec<FieldError>,
    },

    /// The server kept throttling (409 or 429) after the configured retries.
    #[error("{operation}: still throttled by the server after the configured retries")]
    Throttled {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// The last `Retry-After` the server sent, if any.
        retry_after: Option<Duration>,
    },

    /// Any other status the client does not map to a variant above.
    #[error("{operation}: server answered {status}: {excerpt}")]
    Api {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// The HTTP status.
        status: StatusCode,
        /// The start of the response body.
        excerpt: String,
    },

    /// A success answer whose body does not match the expected shape.
    #[error(
        "{operation}: cannot decode the answer at `{path}`: {message} (body starts: {excerpt})"
    )]
    Decode {
        /// The operation (the spec's operationId).
        operation: &'static str,
        /// JSON path of the first value that failed, `.` for the whole body.
        path: String,
        /// What was wrong with it.
        message: String,
        /// The start of the response body (withheld for the token endpoint).
        excerpt: String,
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

    /// The call was refused before sending: the input cannot be sent as given.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// One field the server refused, from the envelope's `Errors`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// The field at fault (`PropertyName`), for example `Name`.
    pub property: String,
    /// What is wrong with it (`Message`).
    pub message: String,
    /// The value that was sent (`AttemptedValue`); `None` when it was missing.
    pub attempted_value: Option<serde_json::Value>,
}

impl Error {
    /// The HTTP status the error stands for, when there was an answer.
    /// Every validation failure reports 400, also one the server sent in a
    /// 200 envelope with `WasSuccessful: false`.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Unauthorized { status, .. } | Error::Api { status, .. } => Some(*status),
            Error::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            Error::Validation { .. } => Some(StatusCode::BAD_REQUEST),
            _ => None,
        }
    }

    /// Builds the error for a failed mutation envelope.
    pub(crate) fn from_envelope(operation: &'static str, envelope: &MutationResult) -> Error {
        let errors: Vec<FieldError> = envelope
            .errors
            .iter()
            .flatten()
            .map(|e| FieldError {
                property: e.property_name.clone(),
                message: e.message.clone(),
                attempted_value: e.attempted_value.clone().filter(|v| !v.is_null()),
            })
            .collect();
        let message = envelope
            .message
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "the server did not apply the change".into());
        Error::Validation {
            operation,
            message,
            errors,
        }
    }

    /// Builds the error for a response the generated client did not expect,
    /// or a documented error status whose body it already consumed.
    pub(crate) fn from_status(
        operation: &'static str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Error {
        match status.as_u16() {
            401 | 403 => Error::Unauthorized {
                status,
                code: None,
                message: non_empty_excerpt(operation, body)
                    .unwrap_or_else(|| "authentication failed or the role is missing".into()),
            },
            404 => Error::NotFound { operation },
            409 | 429 => Error::Throttled {
                operation,
                retry_after: retry_after(headers),
            },
            400 => match serde_json::from_slice::<MutationResult>(body) {
                Ok(env) => env.into_error(operation, status, headers),
                Err(_) => Error::Api {
                    operation,
                    status,
                    excerpt: excerpt(operation, body),
                },
            },
            _ => Error::Api {
                operation,
                status,
                excerpt: excerpt(operation, body),
            },
        }
    }

    /// Builds the error for a success body that does not decode as `T`,
    /// naming the JSON path that failed.
    pub(crate) fn decode<T: DeserializeOwned>(operation: &'static str, body: &[u8]) -> Error {
        let mut de = serde_json::Deserializer::from_slice(body);
        let (path, message) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => (e.path().to_string(), e.inner().to_string()),
            Ok(_) => (".".into(), "the body decoded on a second try".into()),
        };
        Error::Decode {
            operation,
            path,
            message,
            excerpt: excerpt(operation, body),
        }
    }

    /// Converts an error of the generated client; `T` is the success type
    /// the operation expected, used to name the path of a decode failure.
    pub(crate) async fn from_generated<T, E>(operation: &'static str, err: GenError<E>) -> Error
    where
        T: DeserializeOwned,
        E: ErrorBody,
    {
        match err {
            GenError::ErrorResponse(rv) => {
                let (status, headers) = (rv.status(), rv.headers().clone());
                rv.into_inner().into_error(operation, status, &headers)
            }
            GenError::UnexpectedResponse(response) => {
                let (status, headers) = (response.status(), response.headers().clone());
                match response.bytes().await {
                    Ok(body) => Error::from_status(operation, status, &headers, &body),
                    Err(e) => Error::transport(operation, e),
                }
            }
            GenError::InvalidResponsePayload(body, _) => Error::decode::<T>(operation, &body),
            GenError::CommunicationError(e)
            | GenError::InvalidUpgrade(e)
            | GenError::ResponseBodyError(e) => Error::transport(operation, e),
            GenError::InvalidRequest(why) => Error::InvalidInput(format!("{operation}: {why}")),
            // Only the auth hook raises Custom: a sign-in that failed.
            GenError::Custom(why) => Error::Unauthorized {
                status: StatusCode::UNAUTHORIZED,
                code: None,
                message: why,
            },
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

/// A documented error body of the generated client, turned into an [`Error`].
pub(crate) trait ErrorBody {
    /// The error for this body with this status.
    fn into_error(self, operation: &'static str, status: StatusCode, headers: &HeaderMap) -> Error;
}

/// Body-less documented errors (401, 404, 409, 429 of read operations).
impl ErrorBody for () {
    fn into_error(self, operation: &'static str, status: StatusCode, headers: &HeaderMap) -> Error {
        Error::from_status(operation, status, headers, b"")
    }
}

/// The mutation envelope of a 400 (refused data: a validation error) or a
/// 500 (the server failed, as a failed delete answers: it keeps its status).
impl ErrorBody for MutationResult {
    fn into_error(self, operation: &'static str, status: StatusCode, _: &HeaderMap) -> Error {
        if status == StatusCode::BAD_REQUEST && !self.was_successful {
            return Error::from_envelope(operation, &self);
        }
        Error::Api {
            operation,
            status,
            excerpt: self.message.unwrap_or_default(),
        }
    }
}

/// The token endpoint's OAuth error.
impl ErrorBody for OAuthError {
    fn into_error(self, _: &'static str, status: StatusCode, _: &HeaderMap) -> Error {
        Error::Unauthorized {
            status,
            message: self
                .error_description
                .unwrap_or_else(|| "the token endpoint refused the grant".into()),
            code: Some(self.error),
        }
    }
}

/// Parses `Retry-After` as seconds (the form the API documents).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The start of a body as text, never more than [`EXCERPT_CHARS`] characters,
/// and nothing at all for operations that carry secrets.
pub(crate) fn excerpt(operation: &str, body: &[u8]) -> String {
    if SECRET_OPERATIONS.contains(&operation) {
        return "[withheld: the body may hold credentials]".into();
    }
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

fn non_empty_excerpt(operation: &str, body: &[u8]) -> Option<String> {
    let text = excerpt(operation, body);
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
            EXCERPT_CHARS + 1
        );
        assert!(!excerpt("request_token", b"{\"access_token\":\"s3cret\"}").contains("s3cret"));
    }

    #[test]
    fn retry_after_reads_seconds_and_ignores_garbage() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
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
        match Error::decode::<Page>("list_time_passes", body) {
            Error::Decode { path, .. } => assert_eq!(path, "Records[0].Id"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
