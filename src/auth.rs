//! Credentials and the `Authorization` header they produce.
//!
//! Bearer and basic credentials give a fixed header. A password grant signs in
//! at `/api/token` on first use, refreshes before the token expires and once
//! after a 401, and keeps the rotated refresh token. Stored credentials start
//! from a [`TokenStore`]'s token and refresh it under the store's lock,
//! saving each rotation before the lock is released. One lock serialises the
//! token exchanges, so concurrent requests share one refresh instead of racing
//! (a second refresh would invalidate the first one's rotated token).
//! Secrets live in `SecretString` and never reach `Debug`, `Display`, errors or
//! logs.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime},
};

use base64::Engine as _;
use futures::future::BoxFuture;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::{
    error::Error,
    generated::{types, Client as Raw},
    request::{fail, Kind},
    secrets::Secrets,
    status::TOKEN_OPERATION,
    token_store::{StoredToken, TokenStore},
};

/// A function that returns the current two-factor (TOTP) code.
pub type TotpProvider = Arc<dyn Fn() -> String + Send + Sync>;

/// How the client authenticates.
///
/// ```
/// use nexudus_timepasses::Credentials;
/// let c = Credentials::password("ops@example.com", "hunter2")
///     .with_client_id("5b0f4f0e-7d3c-4a55-9d0e-2f9a3c1b2d4e");
/// // Secrets never show in Debug output.
/// assert!(!format!("{c:?}").contains("hunter2"));
/// ```
#[derive(Clone)]
pub enum Credentials {
    /// A bearer token obtained elsewhere; sent as is, never refreshed.
    Bearer(SecretString),
    /// Email and password sent on every request (HTTP basic).
    Basic {
        /// The account's email.
        email: String,
        /// The account's password.
        password: SecretString,
    },
    /// Email and password exchanged at `/api/token` for a bearer token that
    /// the client refreshes by itself.
    Password(PasswordGrant),
    /// A token kept in a [`TokenStore`] by an earlier sign-in: the client
    /// sends it while it is fresh, then refreshes it and saves every
    /// rotated token back to the store.
    Stored(Arc<dyn TokenStore>),
}

/// Settings of a password grant; see [`Credentials::password`].
#[derive(Clone)]
pub struct PasswordGrant {
    email: String,
    password: SecretString,
    client_id: Option<String>,
    totp: Option<TotpProvider>,
}

impl Credentials {
    /// A bearer token obtained elsewhere.
    pub fn bearer(token: impl Into<String>) -> Self {
        Credentials::Bearer(SecretString::from(token.into()))
    }

    /// HTTP basic authentication with the account's email and password.
    pub fn basic(email: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::Basic {
            email: email.into(),
            password: SecretString::from(password.into()),
        }
    }

    /// The password grant: the client signs in at `/api/token` and keeps the
    /// token fresh.
    pub fn password(email: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::Password(PasswordGrant {
            email: email.into(),
            password: SecretString::from(password.into()),
            client_id: None,
            totp: None,
        })
    }

    /// The token in `store`, refreshed and saved back as it rotates. A
    /// store with no token, or a refresh token the server refuses, fails
    /// the first call that needs it: sign in again with
    /// [`Client::sign_in`](crate::Client::sign_in) and save what it returns.
    pub fn stored(store: impl TokenStore + 'static) -> Self {
        Credentials::Stored(Arc::new(store))
    }

    /// Sets the `client_id` of a password grant (the API defaults it to the
    /// email). One refresh token exists per client_id. No effect on other
    /// credentials.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        if let Credentials::Password(g) = &mut self {
            g.client_id = Some(client_id.into());
        }
        self
    }

    /// Supplies two-factor codes for a password grant. It is called at every
    /// sign-in (not on refresh), so it must return the code valid now.
    pub fn with_totp(mut self, totp: impl Fn() -> String + Send + Sync + 'static) -> Self {
        if let Credentials::Password(g) = &mut self {
            g.totp = Some(Arc::new(totp));
        }
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Credentials::Bearer([redacted])"),
            Credentials::Basic { email, .. } => {
                write!(
                    f,
                    "Credentials::Basic {{ email: {email:?}, password: [redacted] }}"
                )
            }
            Credentials::Password(g) => write!(
                f,
                "Credentials::Password {{ email: {:?}, password: [redacted], client_id: {:?}, totp: {} }}",
                g.email,
                g.client_id,
                if g.totp.is_some() {
                    "[provider]"
                } else {
                    "none"
                }
            ),
            Credentials::Stored(store) => write!(f, "Credentials::Stored({store:?})"),
        }
    }
}

/// The life assumed for a token whose `expires_in` makes no sense (missing,
/// zero, negative, not a number): short, so a real expiry is met soon, but
/// long enough that calls do not each sign in again.
const ASSUMED_LIFE: Duration = Duration::from_secs(60);

/// The shortest life a token is given, whatever `expires_in` says.
const MIN_LIFE: Duration = Duration::from_secs(1);

/// The longest life a token is given (a year): beyond it a 401 refreshes.
const MAX_LIFE: Duration = Duration::from_secs(365 * 24 * 3600);

/// A bearer token from the token endpoint or a store, with its header.
struct Token {
    header: HeaderValue,
    stored: StoredToken,
}

impl Token {
    /// The header of `stored`, whose secrets join those `secrets` masks.
    fn new(stored: StoredToken, secrets: &Secrets) -> Result<Token, Error> {
        remember(secrets, &stored);
        let bearer = format!("Bearer {}", stored.access_token().expose_secret());
        let header = secret_header(&bearer).map_err(|_| Error::Decode {
            operation: TOKEN_OPERATION,
            status: reqwest::StatusCode::OK,
            path: "access_token".into(),
            message: "the token has characters a header cannot carry".into(),
            excerpt: crate::error::excerpt(TOKEN_OPERATION, b""),
        })?;
        Ok(Token { header, stored })
    }
}

/// Produces `Authorization` headers for one client; shared by its clones.
pub(crate) struct Auth {
    credentials: Option<Credentials>,
    /// Every secret this client knows, to be masked in any text it keeps.
    secrets: Arc<Secrets>,
    /// The fixed header of bearer and basic credentials.
    fixed: Option<HeaderValue>,
    /// The password grant's current token; the lock is held across a token
    /// exchange, which is what makes concurrent refreshes single-flight.
    token: Mutex<Option<Token>>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Prepares the header of fixed credentials; fails on text a header cannot hold.
    pub(crate) fn new(credentials: Option<Credentials>) -> Result<Self, Error> {
        let secrets = Arc::new(Secrets::default());
        let fixed = match &credentials {
            Some(Credentials::Bearer(t)) => {
                secrets.add(t.expose_secret());
                Some(secret_header(&format!("Bearer {}", t.expose_secret()))?)
            }
            Some(Credentials::Basic { email, password }) => {
                secrets.add(password.expose_secret());
                let raw = format!("{email}:{}", password.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                secrets.add(&encoded);
                Some(secret_header(&format!("Basic {encoded}"))?)
            }
            Some(Credentials::Password(grant)) => {
                secrets.add(grant.password.expose_secret());
                None
            }
            Some(Credentials::Stored(_)) | None => None,
        };
        Ok(Auth {
            credentials,
            secrets,
            fixed,
            token: Mutex::new(None),
        })
    }

    /// The secrets this client knows.
    pub(crate) fn secrets(&self) -> &Arc<Secrets> {
        &self.secrets
    }

    /// The header to send now: fixed, or a password-grant token that is
    /// fresh at this instant (signing in or refreshing first when it is not).
    /// `None` without credentials. This is the only place that signs in.
    ///
    /// Boxed: the token request runs through the hooks that call this, and
    /// a named future type keeps that recursion finite.
    pub(crate) fn header<'a>(
        &'a self,
        raw: &'a Raw,
    ) -> BoxFuture<'a, Result<Option<HeaderValue>, Error>> {
        Box::pin(async move {
            if !self.renews() {
                return Ok(self.fixed.clone());
            }
            let mut slot = self.token.lock().await;
            let fresh = slot.as_ref().is_some_and(|t| t.stored.is_fresh());
            if !fresh {
                *slot = Some(self.exchange(raw, slot.take()).await?);
            }
            Ok(slot.as_ref().map(|t| t.header.clone()))
        })
    }

    /// Signs in with the password grant now, whatever token the client
    /// holds, and keeps the new token; what a store needs to keep it.
    pub(crate) async fn sign_in(&self, raw: &Raw) -> Result<StoredToken, Error> {
        let Some(Credentials::Password(grant)) = &self.credentials else {
            return Err(Error::Config(
                "signing in needs a password grant (Credentials::password)".into(),
            ));
        };
        let mut slot = self.token.lock().await;
        let token = self.exchange_password(raw, grant, None).await?;
        let stored = token.stored.clone();
        *slot = Some(token);
        Ok(stored)
    }

    /// Whether a 401 can be cured by a new token (a password grant or
    /// stored credentials).
    pub(crate) fn renews(&self) -> bool {
        matches!(
            self.credentials,
            Some(Credentials::Password(_) | Credentials::Stored(_))
        )
    }

    /// Called after a 401 answered a request sent with `rejected`: marks
    /// that token stale, so the next [`header`](Self::header) exchanges it.
    /// A token another request has already replaced is left alone.
    pub(crate) async fn reject(&self, rejected: Option<&HeaderValue>) {
        let mut slot = self.token.lock().await;
        if let Some(current) = slot.as_mut() {
            if Some(&current.header) == rejected {
                current.stored.mark_stale();
            }
        }
    }

    /// A new token in place of `previous` (stale, or none yet).
    async fn exchange(&self, raw: &Raw, previous: Option<Token>) -> Result<Token, Error> {
        match &self.credentials {
            Some(Credentials::Password(grant)) => {
                self.exchange_password(raw, grant, previous).await
            }
            Some(Credentials::Stored(store)) => self.exchange_stored(raw, store, previous).await,
            _ => Err(Error::Config("these credentials have no token".into())),
        }
    }

    /// Refreshes with the previous token's refresh token when there is one,
    /// and signs in with the password when there is none or it was refused.
    async fn exchange_password(
        &self,
        raw: &Raw,
        grant: &PasswordGrant,
        previous: Option<Token>,
    ) -> Result<Token, Error> {
        let client_id = client_id(grant);
        if let Some(refresh) = previous.and_then(|t| t.stored.refresh_token().cloned()) {
            let body = refresh_body(client_id, &refresh);
            match async { request(raw, client_id, body?, &self.secrets).await }.await {
                Ok(token) => return Ok(token),
                Err(e) => tracing::debug!(
                    status = e.status().map(|s| s.as_u16()),
                    "refresh refused; signing in again"
                ),
            }
        }
        request(raw, client_id, password_body(grant)?, &self.secrets).await
    }

    /// The store's token when it is fresh and not the one just found stale
    /// (another process may have refreshed it); otherwise a refresh with
    /// the stored refresh token, done and saved under the store's lock.
    async fn exchange_stored(
        &self,
        raw: &Raw,
        store: &Arc<dyn TokenStore>,
        previous: Option<Token>,
    ) -> Result<Token, Error> {
        let stale = previous.map(|t| t.stored);
        // A look without the lock first: a fresh token needs no waiting.
        let store_now = Arc::clone(store);
        let stored = blocking(move || store_now.load()).await?;
        self.know(stored.as_ref());
        if let Some(token) = self.usable(stored, stale.as_ref())? {
            return Ok(token);
        }
        let locked = Arc::clone(store);
        let (guard, stored) = blocking(move || Ok((locked.lock()?, locked.load()?))).await?;
        self.know(stored.as_ref());
        if let Some(token) = self.usable(stored.clone(), stale.as_ref())? {
            return Ok(token);
        }
        // Never the stale token's own refresh token: with the store
        // emptied (signed out), the client must stop, not sign back in.
        let refresh = stored
            .as_ref()
            .and_then(|t| Some((t.client_id().to_owned(), t.refresh_token()?.clone())));
        let Some((client_id, refresh)) = refresh else {
            return Err(Error::TokenStore(match stored {
                None => "the token store holds no token: sign in first".into(),
                Some(_) => "the stored token has expired and there is no refresh token".into(),
            }));
        };
        let body = refresh_body(&client_id, &refresh)?;
        // The refresh and its save run in a task of their own: a caller
        // that gives up (Ctrl-C, a failed sibling request) must not drop a
        // rotated refresh token between the server's answer and the save.
        let (raw, secrets) = (raw.clone(), Arc::clone(&self.secrets));
        let saving = Arc::clone(store);
        let task = tokio::spawn(async move {
            let token = request(&raw, &client_id, body, &secrets).await?;
            let rotated = token.stored.clone();
            blocking(move || {
                let saved = saving.save(&rotated);
                drop(guard);
                saved
            })
            .await
            .map_err(|e| {
                // The used refresh token no longer works: say so loudly
                // rather than go on with a store that cannot refresh.
                Error::TokenStore(format!(
                    "the token was refreshed but the new one could not be saved ({e}): \
                     sign in again"
                ))
            })?;
            Ok(token)
        });
        task.await
            .map_err(|e| Error::TokenStore(format!("the token refresh stopped: {e}")))?
    }

    /// Adds a stored token's secrets to those masked, before any answer
    /// can echo them.
    fn know(&self, stored: Option<&StoredToken>) {
        if let Some(t) = stored {
            remember(&self.secrets, t);
        }
    }

    /// `stored` as the token to send, when it is fresh and differs from
    /// `stale`.
    fn usable(
        &self,
        stored: Option<StoredToken>,
        stale: Option<&StoredToken>,
    ) -> Result<Option<Token>, Error> {
        let same = |t: &StoredToken| {
            stale.is_some_and(|s| {
                s.access_token().expose_secret() == t.access_token().expose_secret()
            })
        };
        match stored {
            Some(t) if t.is_fresh() && !same(&t) => Token::new(t, &self.secrets).map(Some),
            _ => Ok(None),
        }
    }
}

/// Adds a token's access and refresh tokens to the secrets masked.
fn remember(secrets: &Secrets, token: &StoredToken) {
    secrets.add(token.access_token().expose_secret());
    if let Some(refresh) = token.refresh_token() {
        secrets.add(refresh.expose_secret());
    }
}

/// Runs a store's (blocking) call on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::TokenStore(format!("the token store's call failed: {e}")))?
}

/// The password grant's form; empty credentials are refused before sending
/// (the spec's `minLength`, which the API enforces).
fn password_body(grant: &PasswordGrant) -> Result<types::TokenRequest, Error> {
    Ok(types::TokenRequest::PasswordGrant(types::PasswordGrant {
        grant_type: types::PasswordGrantGrantType::Password,
        username: non_empty("the email", grant.email.clone())?,
        password: non_empty("the password", grant.password.expose_secret().to_owned())?,
        totp: grant.totp.as_ref().map(|f| f()),
        client_id: grant.client_id.clone(),
    }))
}

fn refresh_body(client_id: &str, refresh: &SecretString) -> Result<types::TokenRequest, Error> {
    Ok(types::TokenRequest::RefreshTokenGrant(
        types::RefreshTokenGrant {
            grant_type: types::RefreshTokenGrantGrantType::RefreshToken,
            refresh_token: non_empty("the refresh token", refresh.expose_secret().to_owned())?,
            client_id: Some(client_id.to_owned()),
        },
    ))
}

/// A constrained string of the token form, or the reason it is refused
/// (never the value: it may be a secret).
fn non_empty<T: TryFrom<String>>(what: &str, value: String) -> Result<T, Error> {
    T::try_from(value).map_err(|_| Error::invalid(TOKEN_OPERATION, format!("{what} is empty")))
}

/// The API requires the sign-in client_id on refresh, the email by default.
fn client_id(grant: &PasswordGrant) -> &str {
    grant.client_id.as_deref().unwrap_or(&grant.email)
}

/// One call to the token endpoint, through the generated client (so it gets
/// the same transport: retries on throttling, pacing, tracing).
async fn request(
    raw: &Raw,
    client_id: &str,
    body: types::TokenRequest,
    secrets: &Secrets,
) -> Result<Token, Error> {
    let answer = raw
        .request_token()
        .client_id(client_id.to_owned())
        .body(body)
        .send()
        .await;
    let (access, refresh, expires_in) = match answer {
        Ok(v) => {
            let t = v.into_inner();
            (
                t.access_token,
                t.refresh_token,
                t.expires_in.map(|n| n as f64),
            )
        }
        // A token answer with an odd `expires_in` (a string, 1e20) is still
        // a token: read it leniently before calling it a decode failure.
        Err(progenitor_client::Error::InvalidResponsePayload(bytes, e)) => match lenient(&bytes) {
            Some(token) => token,
            None => {
                let err = progenitor_client::Error::InvalidResponsePayload(bytes, e);
                return Err(token_failure(raw, err).await);
            }
        },
        Err(e) => return Err(token_failure(raw, e).await),
    };
    let (expires_at, refresh_at) = lifetime(expires_in);
    let stored = StoredToken::new(access, refresh, client_id, expires_at, refresh_at);
    Token::new(stored, secrets)
}

/// The error of a token request that failed. A sign-in whose outcome is
/// unknown changes nothing on the server, so it is never `OutcomeUnknown`.
async fn token_failure(raw: &Raw, err: progenitor_client::Error<()>) -> Error {
    fail::<types::TokenResponse>(raw, TOKEN_OPERATION, Kind::Idempotent, err).await
}

/// Access token, refresh token and `expires_in` from a token answer whose
/// `expires_in` is not an integer (a string, 1e20): the one field the API
/// is documented to be read leniently. `None` when anything else is off.
fn lenient(body: &[u8]) -> Option<(String, Option<String>, Option<f64>)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let access = value.get("access_token")?.as_str()?.to_owned();
    let text = |name: &str| match value.get(name) {
        None | Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(s)) => Some(Some(s.to_owned())),
        Some(_) => None,
    };
    let refresh = text("refresh_token")?;
    text("token_type")?;
    let expires_in = match value.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Some((access, refresh, expires_in))
}

/// When a token that lives `expires_in` seconds expires, and when to
/// refresh it: a tenth of its life (at most a minute) before expiry. A life
/// that makes no sense is taken as [`ASSUMED_LIFE`]; every life is kept
/// within [`MIN_LIFE`]..[`MAX_LIFE`], so no answer can cause an exchange
/// per call.
fn lifetime(expires_in: Option<f64>) -> (SystemTime, SystemTime) {
    let life = match expires_in {
        Some(secs) if secs.is_finite() && secs > 0.0 => {
            Duration::from_secs_f64(secs.min(MAX_LIFE.as_secs_f64())).max(MIN_LIFE)
        }
        _ => ASSUMED_LIFE,
    };
    let margin = (life / 10).min(Duration::from_secs(60));
    let now = SystemTime::now();
    (now + life, now + life.saturating_sub(margin))
}

/// A header value marked sensitive, so that HTTP debug output hides it.
fn secret_header(text: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(text).map_err(|_| {
        Error::Config("credentials contain characters a header cannot carry".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_every_secret() {
        let all = [
            Credentials::bearer("tok-SECRET"),
            Credentials::basic("a@b.c", "pw-SECRET"),
            Credentials::password("a@b.c", "pw-SECRET").with_totp(|| "123456".into()),
        ];
        for c in all {
            let shown = format!("{c:?}");
            assert!(!shown.contains("SECRET"), "{shown}");
            let auth = Auth::new(Some(c)).unwrap();
            assert!(!format!("{auth:?}").contains("SECRET"));
        }
    }

    #[test]
    fn basic_header_is_base64_of_email_and_password() {
        let auth = Auth::new(Some(Credentials::basic("a@b.c", "pw"))).unwrap();
        assert_eq!(auth.fixed.unwrap().to_str().unwrap(), "Basic YUBiLmM6cHc=");
    }

    #[test]
    fn refresh_comes_before_expiry() {
        let left = |expires_in| {
            let (expires_at, refresh_at) = lifetime(expires_in);
            assert!(expires_at >= refresh_at);
            refresh_at.duration_since(SystemTime::now()).unwrap()
        };
        let ten_minutes = left(Some(600.0));
        assert!(
            ten_minutes <= Duration::from_secs(540) && ten_minutes > Duration::from_secs(530),
            "{ten_minutes:?}"
        );
        // Nonsense lives are taken as a short one, never as none at all.
        for nonsense in [None, Some(0.0), Some(-5.0), Some(f64::NAN)] {
            let life = left(nonsense);
            assert!(life > Duration::from_secs(50), "{nonsense:?}: {life:?}");
        }
        assert!(left(Some(1e20)) > Duration::from_secs(300 * 24 * 3600));
        assert!(left(Some(0.001)) > Duration::from_millis(800));
    }
}
