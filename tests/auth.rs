//! Behaviour tests of authentication against a wiremock server: the
//! `Authorization` header of each credential kind, the token exchange of the
//! password grant (form body, client_id, TOTP), refresh before expiry and
//! after a 401, rotation, fallback to the password, single-flight refresh
//! under concurrency, fresh tokens for requests that waited in the pacing
//! queue, `expires_in` read leniently, token-grant errors and malformed
//! token answers, and secrets kept out of `Debug`, `Display` and errors.

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use base64::Engine as _;
use common::*;
use futures::{future::join_all, StreamExt};
use nexudus_timepasses::{Client, Credentials, Error, Pacing};
use serde_json::{json, Value};
use wiremock::{
    matchers::{header as header_is, method, path},
    Mock, MockServer, Request, ResponseTemplate,
};

/// Mounts `GET /api/billing/timepasses/{PASS_ID}` answering the record to
/// the current token of `tokens`, 401 otherwise.
async fn mount_protected_pass(server: &MockServer, tokens: &TokenServer) {
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(protected(tokens, json_response(200, time_pass(PASS_ID))))
        .mount(server)
        .await;
}

/// A server with the token endpoint and the protected record.
async fn signed_server(expires_in: i64) -> (MockServer, TokenServer) {
    let server = MockServer::start().await;
    let tokens = TokenServer::new(expires_in);
    tokens.mount(&server, Duration::ZERO).await;
    mount_protected_pass(&server, &tokens).await;
    (server, tokens)
}

/// Mounts a token endpoint that must never be called.
async fn forbid_token_endpoint(server: &MockServer) {
    Mock::given(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .named("token endpoint (unused)")
        .mount(server)
        .await;
}

fn bearer_of(n: u32) -> String {
    format!("Bearer {}", access_token(n))
}

// ---------------------------------------------------------------------------
// The header of each credential kind
// ---------------------------------------------------------------------------

#[tokio::test]
async fn bearer_credentials_send_the_token_as_is() {
    let server = MockServer::start().await;
    forbid_token_endpoint(&server).await;
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .and(header_is(
            "authorization",
            format!("Bearer {BEARER}").as_str(),
        ))
        .respond_with(json_response(200, time_pass(PASS_ID)))
        .expect(1)
        .mount(&server)
        .await;

    let pass = bearer_client(&server)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap();
    assert_eq!(pass.id, PASS_ID);
    assert_eq!(pass.name, "10-hour pass");
}

#[tokio::test]
async fn basic_credentials_send_base64_of_email_and_password() {
    let server = MockServer::start().await;
    forbid_token_endpoint(&server).await;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{PASSWORD}"));
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .and(header_is(
            "authorization",
            format!("Basic {encoded}").as_str(),
        ))
        .respond_with(json_response(200, time_pass(PASS_ID)))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server, Credentials::basic(EMAIL, PASSWORD));
    client.time_passes().get(PASS_ID).await.unwrap();
    // The header is as secret as the password it encodes.
    assert_no_secret("Client Debug", &format!("{client:?}"), &[&encoded]);
}

#[tokio::test]
async fn without_credentials_no_authorization_header_is_sent() {
    let server = MockServer::start().await;
    forbid_token_endpoint(&server).await;
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(json_response(200, time_pass(PASS_ID)))
        .expect(1)
        .mount(&server)
        .await;

    let client = builder(&server).build().unwrap();
    client.time_passes().get(PASS_ID).await.unwrap();
    let get = &received(&server, "GET", &pass_path(PASS_ID)).await[0];
    assert!(
        get.headers.get("authorization").is_none(),
        "{:?}",
        get.headers
    );
}

#[tokio::test]
async fn a_401_with_fixed_credentials_is_not_retried() {
    let server = MockServer::start().await;
    forbid_token_endpoint(&server).await;
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;

    let err = bearer_client(&server)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unauthorized { status, .. } if status.as_u16() == 401),
        "{err:?}"
    );
    assert_hides_secrets(&err);
}

// ---------------------------------------------------------------------------
// The password grant
// ---------------------------------------------------------------------------

#[tokio::test]
async fn password_grant_signs_in_on_first_use_then_sends_the_access_token() {
    let (server, tokens) = signed_server(3600).await;
    let client = client(&server, password_credentials());
    // Building the client sends nothing.
    assert!(log_of(&server).await.is_empty());

    let handle = client.time_passes();
    assert_eq!(handle.get(PASS_ID).await.unwrap().id, PASS_ID);
    assert_eq!(handle.get(PASS_ID).await.unwrap().id, PASS_ID);

    let get = format!("GET {}", pass_path(PASS_ID));
    assert_eq!(
        log_of(&server).await,
        [format!("POST {TOKEN_PATH}"), get.clone(), get]
    );
    for request in received(&server, "GET", &pass_path(PASS_ID)).await {
        assert_eq!(header(&request, "authorization"), bearer_of(1));
    }
    assert_eq!(tokens.state().refused, 0);
}

#[tokio::test]
async fn the_token_request_is_form_encoded_with_every_field_and_the_client_id_header() {
    let (server, tokens) = signed_server(3600).await;
    tokens.state().totp = Some("492039".into());
    let credentials = password_credentials().with_totp(|| "492039".to_string());

    client(&server, credentials)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap();

    let sign_in = &received(&server, "POST", TOKEN_PATH).await[0];
    assert!(
        header(sign_in, "content-type").starts_with("application/x-www-form-urlencoded"),
        "{:?}",
        sign_in.headers
    );
    assert!(header(sign_in, "accept").contains("application/json"));
    assert_eq!(header(sign_in, "client_id"), CLIENT_ID);
    // The token request never carries an Authorization header.
    assert!(sign_in.headers.get("authorization").is_none());
    let fields = form(sign_in);
    assert_eq!(
        fields.get("grant_type").map(String::as_str),
        Some("password")
    );
    assert_eq!(fields.get("username").map(String::as_str), Some(EMAIL));
    assert_eq!(fields.get("password").map(String::as_str), Some(PASSWORD));
    assert_eq!(fields.get("totp").map(String::as_str), Some("492039"));
    assert_eq!(fields.get("client_id").map(String::as_str), Some(CLIENT_ID));
    // `@` travels percent-encoded, as the docs ask.
    let raw = String::from_utf8_lossy(&sign_in.body);
    assert!(raw.contains("username=ops%40example.com"), "{raw}");
    assert!(
        serde_json::from_slice::<serde_json::Value>(&sign_in.body).is_err(),
        "not JSON"
    );
}

#[tokio::test]
async fn without_a_client_id_the_email_is_sent_as_client_id_and_no_totp() {
    let (server, tokens) = signed_server(3600).await;
    let client = client(&server, Credentials::password(EMAIL, PASSWORD));
    client.time_passes().get(PASS_ID).await.unwrap();
    tokens.revoke_access();
    client.time_passes().get(PASS_ID).await.unwrap();

    let exchanges = received(&server, "POST", TOKEN_PATH).await;
    assert_eq!(exchanges.len(), 2);
    for exchange in &exchanges {
        assert_eq!(header(exchange, "client_id"), EMAIL);
        assert!(!form(exchange).contains_key("totp"));
    }
}

#[tokio::test]
async fn refreshes_before_expiry_without_waiting_for_a_401() {
    let (server, tokens) = signed_server(1).await;
    let totp_calls = Arc::new(AtomicUsize::new(0));
    let calls = totp_calls.clone();
    let credentials = password_credentials().with_totp(move || {
        calls.fetch_add(1, Ordering::SeqCst);
        "492039".to_string()
    });
    let client = client(&server, credentials);

    client.time_passes().get(PASS_ID).await.unwrap();
    // Past the token's one second of life: it must be refreshed first.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    client.time_passes().get(PASS_ID).await.unwrap();

    assert_eq!(
        tokens.state().refused,
        0,
        "a request was sent with an expired token"
    );
    let get = format!("GET {}", pass_path(PASS_ID));
    let post = format!("POST {TOKEN_PATH}");
    assert_eq!(
        log_of(&server).await,
        [post.clone(), get.clone(), post, get]
    );
    assert_eq!(grants(&server).await, [password_grant(), refresh_grant(1)]);
    let refresh = &received(&server, "POST", TOKEN_PATH).await[1];
    assert_eq!(header(refresh, "client_id"), CLIENT_ID);
    assert!(header(refresh, "content-type").starts_with("application/x-www-form-urlencoded"));
    let fields = form(refresh);
    assert!(
        !fields.contains_key("password"),
        "a refresh does not send the password"
    );
    assert!(!fields.contains_key("totp"));
    // The TOTP provider is asked at sign-in only.
    assert_eq!(totp_calls.load(Ordering::SeqCst), 1);
    let gets = received(&server, "GET", &pass_path(PASS_ID)).await;
    assert_eq!(header(&gets[1], "authorization"), bearer_of(2));
}

#[tokio::test]
async fn a_401_leads_to_one_refresh_and_one_retry() {
    let (server, tokens) = signed_server(3600).await;
    let client = client(&server, password_credentials());
    client.time_passes().get(PASS_ID).await.unwrap();
    tokens.revoke_access();

    let pass = client.time_passes().get(PASS_ID).await.unwrap();
    assert_eq!(pass.id, PASS_ID);
    assert_eq!(grants(&server).await, [password_grant(), refresh_grant(1)]);
    assert_eq!(tokens.state().refused, 1);
    let gets = received(&server, "GET", &pass_path(PASS_ID)).await;
    assert_eq!(gets.len(), 3);
    assert_eq!(header(&gets[1], "authorization"), bearer_of(1));
    assert_eq!(header(&gets[2], "authorization"), bearer_of(2));
}

#[tokio::test]
async fn a_server_that_always_answers_401_gets_exactly_two_requests() {
    let server = MockServer::start().await;
    let tokens = TokenServer::new(3600);
    tokens.mount(&server, Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;

    let client = client(&server, password_credentials());
    let err = tokio::time::timeout(Duration::from_secs(5), client.time_passes().get(PASS_ID))
        .await
        .expect("no 401 loop")
        .unwrap_err();

    assert!(
        matches!(&err, Error::Unauthorized { status, .. } if status.as_u16() == 401),
        "{err:?}"
    );
    assert_eq!(received(&server, "GET", &pass_path(PASS_ID)).await.len(), 2);
    assert_eq!(grants(&server).await, [password_grant(), refresh_grant(1)]);
    assert_hides_secrets(&err);
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let (server, tokens) = signed_server(3600).await;
    let client = client(&server, password_credentials());
    client.time_passes().get(PASS_ID).await.unwrap();
    tokens.revoke_access();
    client.time_passes().get(PASS_ID).await.unwrap();
    tokens.revoke_access();
    client.time_passes().get(PASS_ID).await.unwrap();

    // The second refresh uses the token the first refresh returned.
    assert_eq!(
        grants(&server).await,
        [password_grant(), refresh_grant(1), refresh_grant(2),]
    );
    let gets = received(&server, "GET", &pass_path(PASS_ID)).await;
    assert_eq!(header(gets.last().unwrap(), "authorization"), bearer_of(3));
}

#[tokio::test]
async fn a_refused_refresh_falls_back_to_the_password_grant() {
    let (server, tokens) = signed_server(3600).await;
    tokens.state().refuse_refresh = true;
    let client = client(&server, password_credentials());
    client.time_passes().get(PASS_ID).await.unwrap();
    tokens.revoke_access();

    let pass = client.time_passes().get(PASS_ID).await.unwrap();
    assert_eq!(pass.id, PASS_ID);
    assert_eq!(
        grants(&server).await,
        [password_grant(), refresh_grant(1), password_grant(),]
    );
    let gets = received(&server, "GET", &pass_path(PASS_ID)).await;
    assert_eq!(header(gets.last().unwrap(), "authorization"), bearer_of(2));
}

#[tokio::test]
async fn concurrent_requests_on_a_fresh_client_share_one_sign_in() {
    let server = MockServer::start().await;
    let tokens = TokenServer::new(3600);
    // A slow token endpoint, so that every request waits for the sign-in.
    tokens.mount(&server, Duration::from_millis(200)).await;
    mount_protected_pass(&server, &tokens).await;

    let client = client(&server, password_credentials());
    let handle = client.time_passes();
    let results = join_all((0..10).map(|_| handle.get(PASS_ID))).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(received(&server, "POST", TOKEN_PATH).await.len(), 1);
    let gets = received(&server, "GET", &pass_path(PASS_ID)).await;
    assert_eq!(gets.len(), 10);
    assert!(gets
        .iter()
        .all(|g| header(g, "authorization") == bearer_of(1)));
}

#[tokio::test]
async fn concurrent_401s_share_one_refresh() {
    let server = MockServer::start().await;
    let tokens = TokenServer::new(3600);
    tokens.mount(&server, Duration::from_millis(100)).await;
    mount_protected_pass(&server, &tokens).await;
    let client = client(&server, password_credentials());
    client.time_passes().get(PASS_ID).await.unwrap();
    tokens.revoke_access();

    let handle = client.time_passes();
    let results = join_all((0..10).map(|_| handle.get(PASS_ID))).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(tokens.state().refused >= 2, "the requests did not overlap");
    assert_eq!(grants(&server).await, [password_grant(), refresh_grant(1)]);
}

// ---------------------------------------------------------------------------
// Token-grant errors
// ---------------------------------------------------------------------------

/// The error of a `get` whose sign-in fails; no resource request is sent.
async fn sign_in_error(server: &MockServer, credentials: Credentials) -> Error {
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(json_response(200, time_pass(PASS_ID)))
        .expect(0)
        .named("resource behind a failed sign-in")
        .mount(server)
        .await;
    let err = client(server, credentials)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap_err();
    assert_hides_secrets(&err);
    err
}

#[tokio::test]
async fn a_missing_totp_surfaces_as_unauthorized_with_the_oauth_code() {
    let server = MockServer::start().await;
    let tokens = TokenServer::new(3600);
    tokens.state().totp = Some("492039".into());
    tokens.mount(&server, Duration::ZERO).await;

    let err = sign_in_error(&server, password_credentials()).await;
    match &err {
        Error::Unauthorized { status, code, .. } => {
            assert_eq!(code.as_deref(), Some("two_factor_auth_check"), "{err:?}");
            // error.rs documents "400 from the token endpoint".
            assert_eq!(status.as_u16(), 400, "{err:?}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_password_surfaces_as_unauthorized_invalid_grant() {
    let server = MockServer::start().await;
    TokenServer::new(3600).mount(&server, Duration::ZERO).await;

    let err = sign_in_error(&server, Credentials::password(EMAIL, "pw-SECRET-wrong")).await;
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    match &err {
        Error::Unauthorized { code, .. } => {
            assert_eq!(code.as_deref(), Some("invalid_grant"), "{err:?}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_token_answer_is_a_decode_error_that_hides_the_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json_response(
            200,
            json!({
                "access_token": [access_token(7)],
                "token_type": "bearer",
                "refresh_token": refresh_token(7),
                "expires_in": 3600
            }),
        ))
        .mount(&server)
        .await;

    let err = sign_in_error(&server, password_credentials()).await;
    let shown = err.to_string();
    assert!(
        shown.contains("request_token") && shown.contains("access_token"),
        "{shown}"
    );
    assert!(
        matches!(&err, Error::Decode { operation: "request_token", path, .. } if path == "access_token"),
        "expected Error::Decode naming request_token and access_token, got {err:?}"
    );
}

/// A token answer whose `refresh_token` or `token_type` is not a string
/// fails the sign-in as a `Decode` error of `request_token`: it is not
/// accepted with the field silently dropped. (Only `expires_in` is read
/// leniently; see
/// `a_nonsensical_expires_in_neither_fails_sign_in_nor_causes_an_exchange_storm`.)
#[tokio::test]
async fn a_token_answer_whose_refresh_token_or_token_type_is_not_a_string_fails_the_sign_in() {
    // Both fields are tried before failing, so that one run shows both.
    let mut wrong = Vec::new();
    for (field, value) in [("refresh_token", json!(123)), ("token_type", json!(5))] {
        let server = MockServer::start().await;
        let mut answer = token_answer(1, Some(json!(3600)));
        answer[field] = value;
        mount(&server, "POST", TOKEN_PATH, json_response(200, answer)).await;
        mount(
            &server,
            "GET",
            &pass_path(PASS_ID),
            json_response(200, time_pass(PASS_ID)),
        )
        .await;

        let outcome = client(&server, password_credentials())
            .time_passes()
            .get(PASS_ID)
            .await;
        match outcome {
            Err(err @ Error::Decode { .. }) if err.operation() == Some("request_token") => {
                assert_hides_secrets(&err);
            }
            other => wrong.push(format!(
                "{field}: expected Decode of request_token, got {}",
                other
                    .map(|p| format!("Ok(pass {})", p.id))
                    .unwrap_or_else(|e| format!("{e:?}"))
            )),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// An access token the server issued that cannot be a header value (a line
/// break, a control character) fails the call as a `Decode` error of
/// `request_token`: the server's answer is at fault. It is not
/// `Error::Config`, which says the caller's configuration is wrong.
#[tokio::test]
async fn an_issued_access_token_that_cannot_be_a_header_is_a_decode_error_not_config() {
    // Both tokens are tried before failing, so that one run shows both.
    let mut wrong = Vec::new();
    for token in ["at-SECRET-abc\ndef", "at-SECRET-abc\u{1}def"] {
        let server = MockServer::start().await;
        let mut answer = token_answer(1, Some(json!(3600)));
        answer["access_token"] = json!(token);
        mount(&server, "POST", TOKEN_PATH, json_response(200, answer)).await;

        let err = sign_in_error(&server, password_credentials()).await;
        let decode_of_sign_in =
            matches!(err, Error::Decode { .. }) && err.operation() == Some("request_token");
        if !decode_of_sign_in {
            wrong.push(format!(
                "{token:?}: expected Decode of request_token (never Config), got {err:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

// ---------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------

#[tokio::test]
async fn debug_and_display_never_show_a_secret() {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{PASSWORD}"));
    let all = [
        Credentials::bearer(BEARER),
        Credentials::basic(EMAIL, PASSWORD),
        password_credentials().with_totp(|| "492039".to_string()),
    ];
    for credentials in &all {
        let shown = format!("{credentials:?} {credentials:#?}");
        assert_no_secret("Credentials Debug", &shown, &[&encoded, "492039"]);
        assert!(shown.contains("Credentials"), "{shown}");
    }

    // Clients, before and after the password grant has tokens.
    let (server, _tokens) = signed_server(3600).await;
    for credentials in all {
        let builder = builder(&server).credentials(credentials.clone());
        assert_no_secret(
            "ClientBuilder Debug",
            &format!("{builder:?}"),
            &[&encoded, "492039"],
        );
        let client: Client = builder.build().unwrap();
        assert_no_secret(
            "Client Debug",
            &format!("{client:?} {client:#?}"),
            &[&encoded],
        );
        let _ = client.time_passes().get(PASS_ID).await;
        let shown = format!("{client:?} {client:#?} {:?}", client.time_passes());
        assert_no_secret("Client Debug after use", &shown, &[&encoded, "492039"]);
    }
}

#[tokio::test]
async fn a_token_endpoint_timeout_is_reported_as_a_timeout() {
    let server = MockServer::start().await;
    let tokens = TokenServer::new(3600);
    tokens.mount(&server, Duration::from_millis(1500)).await;
    mount_protected_pass(&server, &tokens).await;
    let client = builder(&server)
        .credentials(password_credentials())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let err = client.time_passes().get(PASS_ID).await.unwrap_err();

    assert_hides_secrets(&err);
    // A token endpoint that does not answer says nothing about the
    // credentials: this is a timeout, not a refusal.
    assert!(
        matches!(
            err,
            Error::Timeout {
                operation: "request_token"
            }
        ),
        "expected Error::Timeout for request_token, got {err:?}"
    );
}

#[tokio::test]
async fn a_huge_expires_in_does_not_panic() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json_response(
            200,
            json!({
                "access_token": access_token(1),
                "token_type": "bearer",
                "refresh_token": refresh_token(1),
                "expires_in": i64::MAX
            }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(json_response(200, time_pass(PASS_ID)))
        .mount(&server)
        .await;
    let client = client(&server, password_credentials());

    // error.rs: "No server answer can make the client panic".
    let outcome =
        tokio::spawn(async move { client.time_passes().get(PASS_ID).await.map(|p| p.id) }).await;
    match outcome {
        Ok(result) => {
            if let Err(e) = &result {
                assert_hides_secrets(e);
            }
        }
        Err(join) => panic!("the client panicked on expires_in = i64::MAX: {join}"),
    }
}

#[tokio::test]
async fn credentials_a_header_cannot_carry_are_refused_without_showing_them() {
    let server = MockServer::start().await;
    // A line break would let the token inject a header.
    let credentials = Credentials::bearer("bearer-SECRET\nX-Injected: 1");
    let err = builder(&server)
        .credentials(credentials)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert_hides_secrets(&err);
    assert!(log_of(&server).await.is_empty());
}

// ---------------------------------------------------------------------------
// Tokens under a pacing queue, and lenient expires_in
// ---------------------------------------------------------------------------

/// A password-grant export whose tokens live 1 s, under the default
/// pacing (2 reads/s after a burst of 12) with 8 pages in flight: requests
/// wait in the pacing queue for longer than a token lives, so the token must
/// be attached after the wait, and a 401 retried with a fresh token, never
/// with one that expired in the queue. Every record arrives exactly once and
/// the token endpoint is not stormed.
#[tokio::test]
async fn a_paced_concurrent_export_with_one_second_tokens_loses_and_duplicates_nothing() {
    const TOTAL: u32 = 500; // 20 pages of 25
    let server = MockServer::start().await;
    let tokens = TokenServer::new(1);
    tokens.mount(&server, Duration::from_millis(20)).await;
    let served = Arc::new(Mutex::new(Vec::<u32>::new()));
    let (t, seen) = (tokens.clone(), served.clone());
    mount(&server, "GET", TIME_PASSES, move |r: &Request| {
        if !t.authorizes(r) {
            t.state().refused += 1;
            return ResponseTemplate::new(401);
        }
        let page = query(r)
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        seen.lock().unwrap().push(page);
        // Answers slow enough that the run outlives several tokens, fast
        // enough that 8 pages in flight outrun the pacing (2 reads/s after
        // a burst of 12) and wait in its queue for longer than a token lives.
        json_response(200, listing_page(r, TOTAL)).set_delay(Duration::from_millis(250))
    })
    .await;
    let client = builder(&server)
        .credentials(password_credentials())
        .pacing(Pacing::default())
        .concurrency(8)
        .stream_page_size(25)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let started = Instant::now();
    let mut stream = client.time_passes().stream(|q| q);
    let mut ids = Vec::new();
    // Bounded: the listing has 20 pages; a stream that never ended would
    // be caught by the 120 s guard.
    let outcome = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(item) = stream.next().await {
            match item {
                Ok(pass) => ids.push(pass.id),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
    .await
    .expect("the export ended");
    let took = started.elapsed();

    if let Err(e) = outcome {
        panic!(
            "the export stopped after {} of {TOTAL} records with {e:?} (tokens issued {}, \
             401s {})",
            ids.len(),
            tokens.state().issued,
            tokens.state().refused
        );
    }
    assert_eq!(
        ids,
        (1..=TOTAL as i32).collect::<Vec<_>>(),
        "lost or duplicated records"
    );
    let mut pages = served.lock().unwrap().clone();
    pages.sort_unstable();
    assert_eq!(pages, (1..=20).collect::<Vec<_>>(), "each page served once");
    // The run outlived several tokens: they really expired mid-run.
    let issued = tokens.state().issued;
    assert!(
        took > Duration::from_secs(2),
        "the export took only {took:?}"
    );
    assert!(issued >= 3, "only {issued} tokens were issued in {took:?}");
    eprintln!(
        "export: {took:?}, {issued} tokens, {} 401s",
        tokens.state().refused
    );
    // And no exchange storm: about one token per second of run.
    assert!(
        (issued as u64) <= took.as_secs() + 6,
        "{issued} tokens in {took:?}"
    );
}

/// `expires_in` is read leniently: 0, negative, huge (1e20), a string
/// ("3600"), a float, a word, null or missing neither fail the sign-in nor
/// make every token stale at once (at most two exchanges for ten calls).
#[tokio::test]
async fn a_nonsensical_expires_in_neither_fails_sign_in_nor_causes_an_exchange_storm() {
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("0", Some(json!(0))),
        ("negative", Some(json!(-3600))),
        ("1e20", Some(json!(1e20))),
        ("a string", Some(json!("3600"))),
        ("a float", Some(json!(2.5e3))),
        ("a word", Some(json!("soon"))),
        ("null", Some(Value::Null)),
        ("missing", None),
    ];
    for (what, expires_in) in cases {
        let server = MockServer::start().await;
        mount(
            &server,
            "POST",
            TOKEN_PATH,
            json_response(200, token_answer(1, expires_in)),
        )
        .await;
        Mock::given(method("GET"))
            .and(path(pass_path(PASS_ID)))
            .and(wiremock::matchers::header(
                "authorization",
                format!("Bearer {}", access_token(1)).as_str(),
            ))
            .respond_with(json_response(200, time_pass(PASS_ID)))
            .mount(&server)
            .await;
        let client = client(&server, password_credentials());
        for call in 0..10 {
            let outcome = client.time_passes().get(PASS_ID).await;
            assert!(
                matches!(&outcome, Ok(p) if p.id == PASS_ID),
                "expires_in {what}, call {call}: {outcome:?}"
            );
        }
        let exchanges = received(&server, "POST", TOKEN_PATH).await.len();
        assert!(
            (1..=2).contains(&exchanges),
            "expires_in {what}: {exchanges} token exchanges for 10 calls"
        );
    }
}

/// A token endpoint refusal (400 or 401) whose body is no OAuth error
/// (`{}`, `error: null`, empty, HTML) is still `Unauthorized` with its status
/// and no code, and shows no secret.
#[tokio::test]
async fn a_token_endpoint_refusal_without_an_oauth_body_is_unauthorized_with_its_status() {
    let bodies = [
        ("{}", ResponseTemplate::new(400).set_body_json(json!({}))),
        (
            "error null",
            ResponseTemplate::new(400).set_body_json(json!({"error": null})),
        ),
        ("empty", ResponseTemplate::new(400)),
        (
            "html",
            ResponseTemplate::new(400).set_body_raw("<html>Bad</html>", "text/html"),
        ),
        (
            "401 {}",
            ResponseTemplate::new(401).set_body_json(json!({})),
        ),
        ("401 empty", ResponseTemplate::new(401)),
    ];
    for (what, answer) in bodies {
        let server = MockServer::start().await;
        mount(&server, "POST", TOKEN_PATH, answer).await;
        Mock::given(method("GET"))
            .and(path(pass_path(PASS_ID)))
            .respond_with(json_response(200, time_pass(PASS_ID)))
            .expect(0)
            .mount(&server)
            .await;
        let err = client(&server, password_credentials())
            .time_passes()
            .get(PASS_ID)
            .await
            .unwrap_err();
        let want = if what.starts_with("401") { 401 } else { 400 };
        match &err {
            Error::Unauthorized {
                operation,
                status,
                code,
                message,
            } => {
                assert_eq!(*operation, "request_token", "{what}: {err:?}");
                assert_eq!(status.as_u16(), want, "{what}: {err:?}");
                assert_eq!(*code, None, "{what}: {err:?}");
                assert!(!message.is_empty(), "{what}: {err:?}");
            }
            other => panic!("{what}: expected Unauthorized, got {other:?}"),
        }
        assert_eq!(err.status().map(|s| s.as_u16()), Some(want), "{what}");
        assert_hides_secrets(&err);
    }
}
