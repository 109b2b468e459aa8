//! Sign-in as the API does it: the form-encoded token endpoint (password grant
//! with optional TOTP, refresh grant with rotation), and the bearer or basic
//! check every resource call passes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{Map, Value};

use crate::types::{OAuthError, PasswordGrant, RefreshTokenGrant, TokenResponse};

/// Who may sign in, and for how long a token lasts.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) totp: Option<String>,
    pub(crate) token_ttl: Duration,
}

/// Issued tokens. One refresh token per client_id: a new one (by sign-in or
/// refresh) replaces the client's earlier one, which stops working.
#[derive(Default)]
pub(crate) struct Tokens {
    access: HashMap<String, Instant>,
    refresh: HashMap<String, String>,
    by_client: HashMap<String, String>,
}

impl Tokens {
    /// Whether `token` is a bearer token that has not expired.
    pub(crate) fn valid(&self, token: &str) -> bool {
        self.access
            .get(token)
            .is_some_and(|expiry| Instant::now() < *expiry)
    }

    fn issue(&mut self, client_id: &str, ttl: Duration) -> TokenResponse {
        let now = Instant::now();
        self.access.retain(|_, expiry| *expiry > now);
        let access = random_token();
        let refresh = random_token();
        self.access.insert(access.clone(), now + ttl);
        if let Some(old) = self.by_client.insert(client_id.to_owned(), refresh.clone()) {
            self.refresh.remove(&old);
        }
        self.refresh.insert(refresh.clone(), client_id.to_owned());
        TokenResponse {
            access_token: access,
            token_type: "bearer".into(),
            expires_in: Some(ttl.as_secs().max(1).try_into().unwrap_or(i64::MAX)),
            refresh_token: Some(refresh),
            extra: Map::new(),
        }
    }

    /// Exchanges a refresh token of `client_id`; the token is used up.
    fn rotate(&mut self, token: &str, client_id: &str, ttl: Duration) -> Option<TokenResponse> {
        if self.refresh.get(token).map(String::as_str) != Some(client_id) {
            return None;
        }
        self.refresh.remove(token);
        Some(self.issue(client_id, ttl))
    }
}

fn random_token() -> String {
    let bytes: [u8; 24] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An OAuth error answer (400 with `{ error, error_description }`).
fn refuse(error: &str, description: &str) -> Response {
    let body = OAuthError {
        error: error.into(),
        error_description: Some(description.into()),
        extra: Map::new(),
    };
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// `POST /api/token`.
pub(crate) fn token(
    account: &Account,
    tokens: &mut Tokens,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_encoded {
        return refuse(
            "unsupported_grant_type",
            "The body must be form-encoded (application/x-www-form-urlencoded).",
        );
    }
    let form: Map<String, Value> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    let header_client = headers
        .get("client_id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    match form.get("grant_type").and_then(Value::as_str) {
        Some("password") => match serde_json::from_value::<PasswordGrant>(Value::Object(form)) {
            Ok(grant) => password(account, tokens, grant, header_client),
            Err(_) => refuse("invalid_grant", "The user name or password is incorrect."),
        },
        Some("refresh_token") => {
            match serde_json::from_value::<RefreshTokenGrant>(Value::Object(form)) {
                Ok(grant) => refresh(account, tokens, grant, header_client),
                Err(_) => refuse("invalid_grant", "The refresh token is missing."),
            }
        }
        _ => refuse(
            "unsupported_grant_type",
            "grant_type must be password or refresh_token.",
        ),
    }
}

fn password(
    account: &Account,
    tokens: &mut Tokens,
    grant: PasswordGrant,
    header_client: Option<&str>,
) -> Response {
    if !account.matches(&grant.username, &grant.password) {
        return refuse("invalid_grant", "The user name or password is incorrect.");
    }
    if let Some(code) = &account.totp {
        match grant.totp.as_deref() {
            None | Some("") => {
                return refuse(
                    "two_factor_auth_check",
                    "Two-factor authentication is enabled: send the current code as totp.",
                )
            }
            Some(sent) if sent != code => {
                return refuse("invalid_grant", "The two-factor code is incorrect.")
            }
            Some(_) => {}
        }
    }
    let client_id = client_id(header_client, grant.client_id.as_deref(), &account.email);
    Json(tokens.issue(&client_id, account.token_ttl)).into_response()
}

fn refresh(
    account: &Account,
    tokens: &mut Tokens,
    grant: RefreshTokenGrant,
    header_client: Option<&str>,
) -> Response {
    let client_id = client_id(header_client, grant.client_id.as_deref(), &account.email);
    match tokens.rotate(&grant.refresh_token, &client_id, account.token_ttl) {
        Some(answer) => Json(answer).into_response(),
        None => refuse(
            "invalid_grant",
            "The refresh token is invalid, expired or already used.",
        ),
    }
}

/// The client_id header, else the form field, else the email.
fn client_id(header: Option<&str>, form: Option<&str>, email: &str) -> String {
    header
        .or(form.filter(|f| !f.is_empty()))
        .unwrap_or(email)
        .to_owned()
}

impl Account {
    /// Email compared without regard to case, password exactly; empty
    /// credentials never match.
    fn matches(&self, email: &str, password: &str) -> bool {
        !email.is_empty()
            && !password.is_empty()
            && email.eq_ignore_ascii_case(&self.email)
            && password == self.password
    }

    /// Whether the request's `Authorization` header is a live bearer token or
    /// this account's basic credentials.
    pub(crate) fn allows(&self, tokens: &Tokens, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            tokens.valid(rest)
        } else if scheme.eq_ignore_ascii_case("basic") {
            self.basic(rest)
        } else {
            false
        }
    }

    fn basic(&self, encoded: &str) -> bool {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return false;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            return false;
        };
        text.split_once(':')
            .is_some_and(|(email, password)| self.matches(email, password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_rotates_and_new_sign_in_replaces() {
        let mut tokens = Tokens::default();
        let ttl = Duration::from_secs(60);
        let first = tokens.issue("c", ttl);
        let old = first.refresh_token.unwrap();
        let second = tokens.rotate(&old, "c", ttl).unwrap();
        assert!(
            tokens.rotate(&old, "c", ttl).is_none(),
            "a used refresh token works again"
        );
        assert!(
            tokens.valid(&first.access_token),
            "refresh revoked a live access token"
        );
        let newer = second.refresh_token.unwrap();
        assert!(tokens.rotate(&newer, "other", ttl).is_none());
        tokens.issue("c", ttl);
        assert!(tokens.rotate(&newer, "c", ttl).is_none());
    }

    #[test]
    fn tokens_expire() {
        let mut tokens = Tokens::default();
        let t = tokens.issue("c", Duration::ZERO);
        assert!(!tokens.valid(&t.access_token));
    }
}
