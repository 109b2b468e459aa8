//! The one classifier of an answer's HTTP status. Retries (transport.rs) and
//! errors (error.rs) both ask it, so a status means the same thing to both.

use reqwest::StatusCode;

/// The operationId of the token endpoint: its answers are read as OAuth
/// answers, it is the one operation that carries no bearer token, and its
/// bodies are never quoted in errors (they hold credentials).
pub(crate) const TOKEN_OPERATION: &str = "request_token";

/// What an HTTP status means to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// 2xx: the call did what it was asked.
    Success,
    /// 409 or 429: the server refused for now (the API documents 409 with
    /// `Retry-After`); nothing was carried out, so any method may retry.
    Throttled,
    /// 502, 503, 504: a gateway or the server failed on its way; only
    /// requests whose repetition cannot duplicate a write may retry.
    Transient,
    /// 401 or 403: credentials refused, or the role is missing.
    Unauthorized,
    /// 404: no such record (or path).
    NotFound,
    /// 400: the server refused the data (the mutation envelope's `Errors`).
    Refused,
    /// Anything else: 3xx the client does not follow, other 4xx, other 5xx.
    Other,
}

/// Classifies a status.
pub(crate) fn classify(status: StatusCode) -> Class {
    match status.as_u16() {
        200..=299 => Class::Success,
        409 | 429 => Class::Throttled,
        502..=504 => Class::Transient,
        401 | 403 => Class::Unauthorized,
        404 => Class::NotFound,
        400 => Class::Refused,
        _ => Class::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_has_its_class() {
        let cases = [
            (200, Class::Success),
            (204, Class::Success),
            (400, Class::Refused),
            (401, Class::Unauthorized),
            (403, Class::Unauthorized),
            (404, Class::NotFound),
            (409, Class::Throttled),
            (429, Class::Throttled),
            (500, Class::Other),
            (502, Class::Transient),
            (503, Class::Transient),
            (504, Class::Transient),
            (307, Class::Other),
            (418, Class::Other),
        ];
        for (code, class) in cases {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(classify(status), class, "{code}");
        }
    }
}
