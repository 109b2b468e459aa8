//! Shared helpers of the behaviour tests (`tests/auth.rs`,
//! `tests/transport.rs`, `tests/errors.rs`, `tests/resources.rs`): clients
//! pointed at a wiremock server with fast retries, realistic Nexudus bodies,
//! a token endpoint that behaves like the real one (form bodies, rotation,
//! expiry, 2FA), a tracing subscriber that records what the client logs,
//! and (in [`raw_server`]) a blocking TCP server for what wiremock cannot do.
//!
//! Every secret used by the tests contains [`SECRET_MARK`], so one search
//! shows whether a secret leaked into `Debug`, `Display` or logs.

#![allow(dead_code)]

use std::{
    collections::HashMap,
    fmt::{self, Write as _},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use nexudus_timepasses::{Client, ClientBuilder, Credentials, Error, Pacing, RetryPolicy};
use serde_json::{json, Value};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, Request, Respond, ResponseTemplate,
};

pub mod raw_server;

/// Every secret below contains this text; it must never be shown.
pub const SECRET_MARK: &str = "SECRET";
/// The account's email (not a secret: it may be shown).
pub const EMAIL: &str = "ops@example.com";
/// The account's password.
pub const PASSWORD: &str = "pw-SECRET-correct-horse";
/// A bearer token obtained elsewhere.
pub const BEARER: &str = "bearer-SECRET-4f9a1c";
/// The client_id of the password-grant tests.
pub const CLIENT_ID: &str = "5b0f4f0e-7d3c-4a55-9d0e-2f9a3c1b2d4e";
/// The TimePass most tests read.
pub const PASS_ID: i32 = 87654321;

pub const TOKEN_PATH: &str = "/api/token";
pub const TIME_PASSES: &str = "/api/billing/timepasses";
pub const COWORKER_TIME_PASSES: &str = "/api/billing/coworkertimepasses";
pub const PRODUCT_TIME_PASSES: &str = "/api/billing/producttimepasses";

/// The path of one TimePass.
pub fn pass_path(id: i32) -> String {
    format!("{TIME_PASSES}/{id}")
}

/// The `n`th access token the token endpoint issues.
pub fn access_token(n: u32) -> String {
    format!("at-SECRET-{n}-eyJhbGciOiJIUzI1NiJ9")
}

/// The `n`th refresh token the token endpoint issues.
pub fn refresh_token(n: u32) -> String {
    format!("rt-SECRET-{n}-0b9c2f")
}

/// Retries that keep the suite fast: 3 attempts, 10 ms backoff.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_secs(5))
}

/// A builder for `server` with fast retries, no pacing and a 5 s timeout.
pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .base_url(server.uri())
        .retry(fast_retry())
        .pacing(Pacing::unlimited())
        .timeout(Duration::from_secs(5))
}

/// A client for `server` with these credentials (see [`builder`]).
pub fn client(server: &MockServer, credentials: Credentials) -> Client {
    builder(server)
        .credentials(credentials)
        .build()
        .expect("client builds")
}

/// A client with a bearer token (see [`builder`]).
pub fn bearer_client(server: &MockServer) -> Client {
    client(server, Credentials::bearer(BEARER))
}

/// The password grant of the tests, with a client_id.
pub fn password_credentials() -> Credentials {
    Credentials::password(EMAIL, PASSWORD).with_client_id(CLIENT_ID)
}

// ---------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------

/// A full TimePass record (get one / batch get), modelled on the example
/// response of the docs (seed 003) with realistic values.
pub fn time_pass(id: i32) -> Value {
    json!({
        "BusinessId": 1234,
        "BusinessName": "Nexudus Coworking Soho",
        "Name": "10-hour pass",
        "InvoiceLineDisplayAs": "Coworking: 10 hours",
        "Price": 120.0,
        "MinutesIncluded": 600,
        "CountsTowardsPlanLimits": true,
        "UseAsPayAsYouGoForMembers": false,
        "UseAsPayAsYouGoForContacts": true,
        "UsePriority": 2,
        "CurrencyId": 1,
        "CurrencyCode": "GBP",
        "TaxRateId": 7,
        "ReducedTaxRateId": null,
        "ExemptTaxRateId": null,
        "FinancialAccountId": 31,
        "Businesses": [1234, 5678],
        "KisiGroupId": "kisi-42",
        "DoorGuardGroupId": null,
        "AccessControlGroupId": "grp-7",
        "AccessControlGroupIds": "grp-7,grp-9",
        "AllowNetworkCheckIn": true,
        "OnlyForContacts": false,
        "OnlyForMembers": true,
        "Tariffs": [11, 12],
        "Archived": false,
        "Id": id,
        "UpdatedOn": "2025-01-15T10:30:00Z",
        "CreatedOn": "2025-01-10T08:00:00Z",
        "UniqueId": "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        "UpdatedBy": "admin@example.com",
        "IsNew": false,
        "SystemId": "erp-tp-0042",
        "ToStringText": "10-hour pass",
        "LocalizationDetails": null,
        "CustomFields": null
    })
}

/// A day pass (no `MinutesIncluded`).
pub fn day_pass(id: i32) -> Value {
    let mut v = time_pass(id);
    v["Name"] = json!("Day pass");
    v["MinutesIncluded"] = Value::Null;
    v["Price"] = json!(25.0);
    v
}

/// A TimePass as listings return it (seed 002): the full record without
/// `CountsTowardsPlanLimits`, `OnlyForContacts` and `OnlyForMembers`.
pub fn time_pass_item(id: i32) -> Value {
    let mut v = time_pass(id);
    let map = v.as_object_mut().unwrap();
    for field in [
        "CountsTowardsPlanLimits",
        "OnlyForContacts",
        "OnlyForMembers",
    ] {
        map.remove(field);
    }
    map.insert("Name".into(), json!(format!("Pass {id}")));
    map.insert("ToStringText".into(), json!(format!("Pass {id}")));
    v
}

/// One page of a TimePass listing with the list envelope of the docs.
pub fn time_pass_page(ids: &[i32], page: u32, size: u32, total_items: u32) -> Value {
    let total_pages = total_items.div_ceil(size);
    let first = if ids.is_empty() {
        0
    } else {
        (page - 1) * size + 1
    };
    json!({
        "Records": ids.iter().map(|&id| time_pass_item(id)).collect::<Vec<_>>(),
        "CurrentPageSize": size,
        "CurrentPage": page,
        "CurrentOrderField": "Id",
        "CurrentSortDirection": 1,
        "FirstItem": first,
        "HasNextPage": page < total_pages,
        "HasPreviousPage": page > 1,
        "LastItem": if ids.is_empty() { 0 } else { first + ids.len() as u32 - 1 },
        "PageNumber": page,
        "PageSize": size,
        "TotalItems": total_items,
        "TotalPages": total_pages
    })
}

/// A TimePass listing answer for a listing of Ids `1..=total`: the page and
/// size are read from the request's query.
pub fn listing_page(request: &Request, total: u32) -> Value {
    let q = query(request);
    let page: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let size: u32 = q.get("size").and_then(|s| s.parse().ok()).unwrap_or(25);
    let first = (page - 1) * size + 1;
    let ids: Vec<i32> = (first..=(page * size).min(total))
        .map(|i| i as i32)
        .collect();
    time_pass_page(&ids, page, size, total)
}

/// A full CoworkerTimePass record (seed 000) with realistic values.
pub fn coworker_time_pass(id: i32) -> Value {
    json!({
        "CoworkerId": 42,
        "BusinessId": 1234,
        "TimePassId": PASS_ID,
        "TimePassName": "10-hour pass",
        "TimePassCurrencyCode": "GBP",
        "Notes": "Bought at the front desk",
        "PurchaseOrder": "PO-2025-117",
        "Used": false,
        "CheckedIn": true,
        "UsedDate": null,
        "RemainingUses": 3,
        "TotalUses": 10,
        "Free": false,
        "Price": 99.5,
        "CreateMultiple": 1,
        "ExpireDate": "2025-12-31T00:00:00Z",
        "Invoiced": true,
        "InvoiceDate": "2025-01-16T00:00:00Z",
        "IsFromTariff": false,
        "IsPayAsYouGo": false,
        "TariffTimePassUniqueId": null,
        "CoworkerProductUniqueId": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "CoworkerContractUniqueId": null,
        "Id": id,
        "UpdatedOn": "2025-01-15T10:30:00Z",
        "CreatedOn": "2025-01-10T08:00:00Z",
        "UniqueId": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "UpdatedBy": "admin@example.com",
        "IsNew": false,
        "SystemId": null,
        "ToStringText": "10-hour pass",
        "LocalizationDetails": null,
        "CustomFields": null
    })
}

/// A full ProductTimePass record (seed 004), with the undocumented
/// `ExpirationType: 0` of the docs' own example.
pub fn product_time_pass(id: i32, time_pass_id: i32, passes: i32) -> Value {
    json!({
        "ProductId": 555,
        "ProductName": "10 x 1-hour bundle",
        "TimePassId": time_pass_id,
        "TimePassName": "1-hour pass",
        "PassesIncluded": passes,
        "ExpireTimeInMonths": 6,
        "ExpireTimeInWeeks": null,
        "ExpirationType": 0,
        "ExpiresIn": null,
        "Id": id,
        "UpdatedOn": "2025-01-15T10:30:00Z",
        "CreatedOn": "2025-01-10T08:00:00Z",
        "UniqueId": "16fd2706-8baf-433b-82eb-8c7fada847da",
        "UpdatedBy": "admin@example.com",
        "IsNew": false,
        "SystemId": null,
        "ToStringText": "ProductTimePass Example",
        "LocalizationDetails": null,
        "CustomFields": null
    })
}

/// A successful mutation envelope (§4.6) reporting `Value.Id = id`.
pub fn ok_envelope(id: i32, message: &str) -> Value {
    json!({
        "Status": 200,
        "Message": message,
        "Value": { "Id": id },
        "OpenInDialog": false,
        "OpenInWindow": false,
        "RedirectURL": null,
        "JavaScript": null,
        "UpdatedOn": "2025-01-15T10:30:00Z",
        "UpdatedBy": "admin@example.com",
        "Errors": null,
        "WasSuccessful": true
    })
}

/// The validation-failure envelope of a 400 (§4.6), two fields refused.
pub fn validation_envelope() -> Value {
    json!({
        "Message": "Name: is a required field",
        "Value": null,
        "Errors": [
            { "AttemptedValue": null, "Message": "is a required field", "PropertyName": "Name" },
            { "AttemptedValue": -5, "Message": "must be zero or more", "PropertyName": "Price" }
        ],
        "WasSuccessful": false
    })
}

/// A JSON response.
pub fn json_response(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// A throttling answer as the API documents it: empty body, `Retry-After`.
pub fn throttled(status: u16, retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("Retry-After", retry_after)
        .insert_header("Cache-Control", "no-cache")
}

/// Serves `responses` in order, repeating the last one.
pub fn in_order(responses: Vec<ResponseTemplate>) -> impl Respond {
    let next = AtomicUsize::new(0);
    move |_: &Request| {
        let i = next.fetch_add(1, Ordering::SeqCst).min(responses.len() - 1);
        responses[i].clone()
    }
}

/// Mounts `verb at` answering `respond`.
pub async fn mount(server: &MockServer, verb: &str, at: &str, respond: impl Respond + 'static) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(respond)
        .mount(server)
        .await;
}

// ---------------------------------------------------------------------------
// Requests received
// ---------------------------------------------------------------------------

/// Requests `server` received with this method and path, in arrival order.
pub async fn received(server: &MockServer, verb: &str, at: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .into_iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == at)
        .collect()
}

/// Every request `server` received, as "METHOD path" lines.
pub async fn log_of(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

/// The form fields of a form-encoded body.
pub fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// A header's value as text ("" when missing).
pub fn header(request: &Request, name: &str) -> String {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap_or("<binary>").to_owned())
        .unwrap_or_default()
}

/// The query parameters of a request, decoded.
pub fn query(request: &Request) -> HashMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

// ---------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------

/// Panics when `text` shows a secret: anything marked [`SECRET_MARK`], or
/// one of `also` (such as a base64 Basic header).
pub fn assert_no_secret(what: &str, text: &str, also: &[&str]) {
    assert!(!text.contains(SECRET_MARK), "{what} shows a secret: {text}");
    for secret in also {
        assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
    }
}

/// Checks `Debug` and `Display` of a value for secrets.
pub fn assert_hides_secrets<T: fmt::Debug + fmt::Display>(value: &T) {
    assert_no_secret("Display", &value.to_string(), &[]);
    assert_no_secret("Debug", &format!("{value:?}"), &[]);
    assert_no_secret("alternate Debug", &format!("{value:#?}"), &[]);
}

/// Every text of an error: Display, Debug, alternate Debug, and the
/// Display and Debug of each of its sources.
pub fn texts_of(e: &Error) -> String {
    let mut all = format!("{e}\n{e:?}\n{e:#?}\n");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        all.push_str(&format!("{s}\n{s:?}\n"));
        source = s.source();
    }
    all
}

/// The length of the longest of an error's Display, Debug and alternate
/// Debug, and of its sources' Display.
pub fn longest_text(e: &Error) -> usize {
    let mut longest = e.to_string().len().max(format!("{e:?}").len());
    longest = longest.max(format!("{e:#?}").len());
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        longest = longest.max(s.to_string().len());
        source = s.source();
    }
    longest
}

// ---------------------------------------------------------------------------
// A token endpoint
// ---------------------------------------------------------------------------

/// What the token endpoint knows.
#[derive(Debug, Default)]
pub struct TokenState {
    /// Tokens issued so far; token `n` is [`access_token`]`(n)`.
    pub issued: u32,
    /// The one refresh token that works (rotation).
    pub valid_refresh: Option<String>,
    /// The one access token that works, and when it was issued.
    pub valid_access: Option<(String, Instant)>,
    /// `expires_in` of every token issued.
    pub expires_in: i64,
    /// Refuse every refresh grant with `invalid_grant`.
    pub refuse_refresh: bool,
    /// The TOTP code a password grant must carry (2FA on).
    pub totp: Option<String>,
    /// Resource answers 401 (the requests that were refused).
    pub refused: u32,
}

/// A token endpoint that behaves like the documented one: form bodies only,
/// `invalid_grant` for a wrong password or a refresh token that is not the
/// latest (rotation), `two_factor_auth_check` when a TOTP is needed, and
/// access tokens that expire after `expires_in` seconds. [`protected`] builds
/// resource answers that accept only the current, unexpired access token.
#[derive(Clone, Debug)]
pub struct TokenServer(pub Arc<Mutex<TokenState>>);

impl TokenServer {
    pub fn new(expires_in: i64) -> Self {
        TokenServer(Arc::new(Mutex::new(TokenState {
            expires_in,
            ..TokenState::default()
        })))
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, TokenState> {
        self.0.lock().unwrap()
    }

    /// Invalidates the current access token (as a token for the same
    /// client_id issued elsewhere would).
    pub fn revoke_access(&self) {
        self.state().valid_access = None;
    }

    /// Mounts the endpoint at `POST /api/token`, with an optional delay.
    pub async fn mount(&self, server: &MockServer, delay: Duration) {
        let me = self.clone();
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(move |r: &Request| me.answer(r).set_delay(delay))
            .mount(server)
            .await;
    }

    fn answer(&self, request: &Request) -> ResponseTemplate {
        let oauth = |error: &str, description: &str| {
            json_response(
                400,
                json!({ "error": error, "error_description": description }),
            )
        };
        if !header(request, "content-type").starts_with("application/x-www-form-urlencoded") {
            return oauth("unsupported_grant_type", "The grant type is not supported.");
        }
        let fields = form(request);
        let field = |name: &str| fields.get(name).map(String::as_str);
        let mut state = self.state();
        match field("grant_type") {
            Some("password") => {
                if field("username") != Some(EMAIL) || field("password") != Some(PASSWORD) {
                    return oauth("invalid_grant", "The user name or password is incorrect.");
                }
                if let Some(code) = &state.totp {
                    if field("totp") != Some(code.as_str()) {
                        return oauth("two_factor_auth_check", "A two-factor code is required.");
                    }
                }
                state.issue()
            }
            Some("refresh_token") => {
                if state.refuse_refresh || field("refresh_token") != state.valid_refresh.as_deref()
                {
                    return oauth("invalid_grant", "The refresh token is invalid or expired.");
                }
                state.issue()
            }
            _ => oauth("unsupported_grant_type", "The grant type is not supported."),
        }
    }

    /// Whether the request carries the current, unexpired access token.
    pub fn authorizes(&self, request: &Request) -> bool {
        let state = self.state();
        let Some((token, at)) = &state.valid_access else {
            return false;
        };
        let alive = at.elapsed() < Duration::from_secs(state.expires_in.max(0) as u64);
        alive && header(request, "authorization") == format!("Bearer {token}")
    }
}

impl TokenState {
    fn issue(&mut self) -> ResponseTemplate {
        self.issued += 1;
        let n = self.issued;
        self.valid_refresh = Some(refresh_token(n));
        self.valid_access = Some((access_token(n), Instant::now()));
        json_response(
            200,
            json!({
                "access_token": access_token(n),
                "token_type": "bearer",
                "expires_in": self.expires_in,
                "refresh_token": refresh_token(n)
            }),
        )
    }
}

/// A token answer carrying token `n` and this `expires_in` (any JSON
/// value; `None` leaves it out).
pub fn token_answer(n: u32, expires_in: Option<Value>) -> Value {
    let mut body = json!({
        "access_token": access_token(n),
        "token_type": "bearer",
        "refresh_token": refresh_token(n),
    });
    if let Some(v) = expires_in {
        body["expires_in"] = v;
    }
    body
}

/// A resource that answers `ok` to the current access token of `tokens`
/// and 401 (counted in [`TokenState::refused`]) to anything else.
pub fn protected(tokens: &TokenServer, ok: ResponseTemplate) -> impl Respond {
    let tokens = tokens.clone();
    move |r: &Request| {
        if tokens.authorizes(r) {
            ok.clone()
        } else {
            tokens.state().refused += 1;
            ResponseTemplate::new(401)
        }
    }
}

/// A grant as [`grants`] lists it: `(grant_type, refresh_token)`.
pub type Grant = (String, Option<String>);

/// A password grant, as [`grants`] lists it.
pub fn password_grant() -> Grant {
    ("password".into(), None)
}

/// A refresh grant with refresh token `n`, as [`grants`] lists it.
pub fn refresh_grant(n: u32) -> Grant {
    ("refresh_token".into(), Some(refresh_token(n)))
}

/// The grants the token endpoint received, in order.
pub async fn grants(server: &MockServer) -> Vec<Grant> {
    received(server, "POST", TOKEN_PATH)
        .await
        .iter()
        .map(|r| {
            let f = form(r);
            (
                f.get("grant_type").cloned().unwrap_or_default(),
                f.get("refresh_token").cloned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Tracing capture
// ---------------------------------------------------------------------------

/// A tracing subscriber that keeps every span (with the fields recorded on
/// it later) and every event as text.
#[derive(Clone, Default)]
pub struct Capture {
    spans: Arc<Mutex<Vec<String>>>,
    events: Arc<Mutex<Vec<String>>>,
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

/// Keeps a [`Capture`] installed as the thread's default subscriber.
pub struct CaptureGuard {
    _default: tracing::subscriber::DefaultGuard,
    _second: tracing::Dispatch,
}

impl Capture {
    /// Installs a new capture as this thread's default subscriber (a
    /// `#[tokio::test]` runs every task on its thread) until the guard drops.
    ///
    /// While only one dispatcher exists, tracing-core decides whether a
    /// callsite is interesting by asking the default subscriber of whichever
    /// thread reaches it first; another test's thread would then switch our
    /// spans off for good. A second, idle dispatcher makes it ask all of them.
    pub fn install() -> (Capture, CaptureGuard) {
        let second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        let capture = Capture::default();
        let guard = CaptureGuard {
            _default: tracing::subscriber::set_default(capture.clone()),
            _second: second,
        };
        (capture, guard)
    }

    /// Every span, as "name field=value ..." (later records appended).
    pub fn spans(&self) -> Vec<String> {
        self.spans.lock().unwrap().clone()
    }

    /// Every event, as "LEVEL target field=value ...".
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    /// Spans and events in one text.
    pub fn text(&self) -> String {
        let mut all = self.spans();
        all.extend(self.events());
        all.join("\n")
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = span.metadata().name().to_owned();
        span.record(&mut Fields(&mut line));
        let mut spans = self.spans.lock().unwrap();
        spans.push(line);
        tracing::span::Id::from_u64(spans.len() as u64)
    }

    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some(line) = spans.get_mut(span.into_u64() as usize - 1) {
            values.record(&mut Fields(line));
        }
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let meta = event.metadata();
        let mut line = format!("{} {}", meta.level(), meta.target());
        event.record(&mut Fields(&mut line));
        self.events.lock().unwrap().push(line);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// Like [`in_order`], and records when each request arrived.
pub fn timed_in_order(
    responses: Vec<ResponseTemplate>,
) -> (impl Respond, Arc<Mutex<Vec<Instant>>>) {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let next = in_order(responses);
    let respond = move |r: &Request| {
        seen.lock().unwrap().push(Instant::now());
        next.respond(r)
    };
    (respond, arrivals)
}

/// The gaps between consecutive arrivals.
pub fn gaps(arrivals: &Mutex<Vec<Instant>>) -> Vec<Duration> {
    let at = arrivals.lock().unwrap();
    at.windows(2).map(|w| w[1] - w[0]).collect()
}

/// The body of a TimePass create.
pub fn new_time_pass() -> nexudus_timepasses::types::TimePassCreate {
    serde_json::from_value(json!({
        "BusinessId": 1234,
        "Name": "10-hour pass",
        "Price": 120.0,
        "CurrencyId": 1,
        "MinutesIncluded": 600,
        "Businesses": [1234],
        "Archived": false
    }))
    .expect("a valid create body")
}
