//! The one classifier of an answer: its HTTP status, and for a 500 whether
//! the body is the API's. Retries (transport.rs) and errors (error.rs) both
//! ask it, so an answer means the same thing to both.

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
    /// 502, 503, 504, or a 500 whose body is an error page rather than the
    /// API's JSON: a gateway or the server failed on its way (the API
    /// answers transient bursts with a generic "Ooops!" page); only
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

/// Classifies an answer. A 500 that carries JSON is the API's answer (for
/// example the envelope of a delete it refused) and final; a 500 with any
/// other body is a failure of the service, [`Class::Transient`].
pub(crate) fn classify_answer(status: StatusCode, body: &[u8]) -> Class {
    match classify(status) {
        Class::Other if status == StatusCode::INTERNAL_SERVER_ERROR && !is_json(body) => {
            Class::Transient
        }
        class => class,
    }
}

/// Whether a body is JSON, as far as its first character tells (after a
/// UTF-8 byte order mark, if any).
fn is_json(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    matches!(first, Some(b'{' | b'['))
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

    #[test]
    fn a_500_is_transient_unless_it_carries_the_apis_json() {
        let status = StatusCode::INTERNAL_SERVER_ERROR;
        let page = b"<!DOCTYPE html><html><head><title>Ooops!</title>";
        assert_eq!(classify_answer(status, page), Class::Transient);
        assert_eq!(classify_answer(status, b""), Class::Transient);
        let envelope = br#" {"Message":"cannot delete","WasSuccessful":false}"#;
        assert_eq!(classify_answer(status, envelope), Class::Other);
        let with_bom = b"\xEF\xBB\xBF{\"WasSuccessful\":false}";
        assert_eq!(classify_answer(status, with_bom), Class::Other);
        let bad_gateway = StatusCode::BAD_GATEWAY;
        assert_eq!(classify_answer(bad_gateway, b"{}"), Class::Transient);
        assert_eq!(classify_answer(StatusCode::OK, page), Class::Success);
    }
}
