//! Behaviour tests of issue 8, "Hardened against a failing or hostile
//! server", one section per point of the issue: fresh tokens under a pacing
//! queue (a paced export with tokens living 1 s), nonsensical `expires_in`,
//! documented error statuses kept, bounded error text, secrets scrubbed from
//! everything the client says (with a server that echoes requests back),
//! redirects that never carry credentials elsewhere, and the smaller ones:
//! `Retry-After` as an HTTP-date, trailing data, the body cap, listings that
//! only repeat, and POSTs whose outcome is unknown.
//!
//! Most servers are wiremock; where wiremock cannot misbehave enough (a
//! chunked body without end, a connection closed or reset after the request
//! was read) a tiny blocking HTTP server on 127.0.0.1 stands in.

mod common;

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use base64::Engine as _;
use common::*;
use futures::StreamExt;
use nexudus_timepasses::{Client, Credentials, Error, Pacing, RetryPolicy};
use serde_json::{json, Value};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, Request, ResponseTemplate,
};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Mounts `verb at` answering `respond`.
async fn mount(
    server: &MockServer,
    verb: &str,
    at: &str,
    respond: impl wiremock::Respond + 'static,
) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(respond)
        .mount(server)
        .await;
}

/// A token answer with this `expires_in` (any JSON value; `None` leaves it out).
fn token_answer(n: u32, expires_in: Option<Value>) -> Value {
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

/// A TimePass listing answer for a listing of Ids `1..=total`: the page and
/// size are read from the request's query.
fn listing_page(request: &Request, total: u32) -> Value {
    let q = query(request);
    let page: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let size: u32 = q.get("size").and_then(|s| s.parse().ok()).unwrap_or(25);
    let first = (page - 1) * size + 1;
    let ids: Vec<i32> = (first..=(page * size).min(total))
        .map(|i| i as i32)
        .collect();
    time_pass_page(&ids, page, size, total)
}

/// The length of the longest of an error's Display, Debug and alternate
/// Debug, and of its sources' Display.
fn longest_text(e: &Error) -> usize {
    let mut longest = e.to_string().len().max(format!("{e:?}").len());
    longest = longest.max(format!("{e:#?}").len());
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        longest = longest.max(s.to_string().len());
        source = s.source();
    }
    longest
}

/// Every text of an error: Display, Debug, alternate Debug, sources.
fn texts_of(e: &Error) -> String {
    let mut all = format!("{e}\n{e:?}\n{e:#?}\n");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        all.push_str(&format!("{s}\n{s:?}\n"));
        source = s.source();
    }
    all
}

/// A port on 127.0.0.1 that nobody listens on.
fn refused_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

/// What the raw server read of one request.
struct RawRequest {
    head: String,
}

/// Reads a request's head (up to the blank line) and, unless `head_only`,
/// its `Content-Length` body. Bounded by a read timeout and a size limit.
fn read_request(stream: &mut TcpStream, head_only: bool) -> RawRequest {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte, so that nothing past the head is consumed.
    while !data.ends_with(b"\r\n\r\n") && data.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => data.push(byte[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&data).into_owned();
    if !head_only {
        let length = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0u8; length.min(1 << 20)];
        let _ = stream.read_exact(&mut body);
    }
    RawRequest { head }
}

/// A tiny blocking HTTP/1.1 server on 127.0.0.1 for misbehaviour wiremock
/// cannot produce. It serves at most `connections` connections, each with
/// `answer`, and counts them. Its thread ends after the last one.
fn raw_server(
    connections: usize,
    answer: impl Fn(TcpStream) + Send + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(stream) = stream else { break };
            count.fetch_add(1, Ordering::SeqCst);
            answer(stream);
        }
    });
    (format!("http://{address}"), served)
}

/// A client for a raw server: bearer token, no retries, no pacing.
fn raw_client(base: &str) -> Client {
    raw_builder(base).build().unwrap()
}

/// [`raw_client`]'s settings, to change some before building.
fn raw_builder(base: &str) -> nexudus_timepasses::ClientBuilder {
    Client::builder()
        .base_url(base)
        .credentials(Credentials::bearer(BEARER))
        .retry(RetryPolicy::none())
        .pacing(Pacing::unlimited())
        .timeout(Duration::from_secs(5))
}

// ---------------------------------------------------------------------------
// 1. Expired tokens under a pacing queue
// ---------------------------------------------------------------------------

/// Old main attached `Authorization` in progenitor's `pre` hook, before the
/// pacing wait, and after a 401 retried with whatever token was current even
/// when it had expired in the queue: with 1 s tokens, the default pacing
/// (2 reads/s after a burst of 12) and 8 pages in flight, requests wait in
/// the queue longer than a token lives and the export stops `Unauthorized`.
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
    // Bounded: the listing has 16 pages; a stream that never ended would
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

// ---------------------------------------------------------------------------
// 2. Nonsensical expires_in
// ---------------------------------------------------------------------------

/// Old main took `expires_in` as an `i64`: 0 or negative made every token
/// stale at once (two exchanges per call), and 1e20 or "3600" failed the
/// sign-in with a decode error.
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

// ---------------------------------------------------------------------------
// 3. Documented error statuses keep their status and variant
// ---------------------------------------------------------------------------

/// Old main declared the error bodies to progenitor, so a 400 or 500 body
/// that was not the declared shape came back as `Error::Decode` against the
/// success type with `status()` = None.
#[tokio::test]
async fn a_400_that_is_not_an_envelope_is_a_validation_error_with_its_status() {
    for (what, body) in [
        (
            "html",
            ResponseTemplate::new(400)
                .set_body_raw("<html><body>Bad Request</body></html>", "text/html"),
        ),
        (
            "other json",
            json_response(400, json!({"error": "Bad Request", "code": 17})),
        ),
        ("a json array", json_response(400, json!(["Bad Request"]))),
        ("empty", ResponseTemplate::new(400)),
    ] {
        let server = MockServer::start().await;
        mount(&server, "POST", TIME_PASSES, body).await;
        let err = bearer_client(&server)
            .time_passes()
            .create(new_time_pass())
            .await
            .unwrap_err();
        match &err {
            Error::Validation {
                status,
                message,
                errors,
                ..
            } => {
                assert_eq!(status.as_u16(), 400, "{what}: {err:?}");
                assert!(errors.is_empty(), "{what}: {err:?}");
                assert!(!message.is_empty(), "{what}: {err:?}");
                if what != "empty" {
                    assert!(message.contains("Bad Request"), "{what}: {err:?}");
                }
            }
            other => panic!("{what}: expected Validation, got {other:?}"),
        }
        assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{what}");
    }
}

#[tokio::test]
async fn an_envelope_whose_errors_hold_nulls_and_strings_is_read() {
    let server = MockServer::start().await;
    let body = json!({
        "Message": "The record could not be saved",
        "Value": null,
        "WasSuccessful": false,
        "Errors": [
            null,
            "Price must be zero or more",
            { "PropertyName": "Name", "Message": null, "AttemptedValue": null },
            42,
            { "PropertyName": null, "Message": "is a required field" }
        ]
    });
    mount(&server, "POST", TIME_PASSES, json_response(400, body)).await;
    let err = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    match &err {
        Error::Validation {
            status,
            message,
            errors,
            ..
        } => {
            assert_eq!(status.as_u16(), 400, "{err:?}");
            assert_eq!(message, "The record could not be saved");
            let shown: Vec<(&str, &str)> = errors
                .iter()
                .map(|e| (e.property.as_str(), e.message.as_str()))
                .collect();
            assert!(
                shown.contains(&("", "Price must be zero or more")),
                "{shown:?}"
            );
            assert!(shown.iter().any(|(p, _)| *p == "Name"), "{shown:?}");
            assert!(shown.contains(&("", "is a required field")), "{shown:?}");
        }
        other => panic!("expected Validation, got {other:?}"),
    }
}

#[tokio::test]
async fn a_500_with_an_html_body_on_delete_is_an_api_error_with_its_status() {
    let server = MockServer::start().await;
    mount(
        &server,
        "DELETE",
        &pass_path(PASS_ID),
        ResponseTemplate::new(500).set_body_raw(
            "<!DOCTYPE html><html><title>Runtime Error</title></html>",
            "text/html",
        ),
    )
    .await;
    let err = bearer_client(&server)
        .time_passes()
        .delete(PASS_ID)
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status,
            message,
            operation,
        } => {
            assert_eq!(status.as_u16(), 500, "{err:?}");
            assert_eq!(*operation, "delete_time_pass");
            assert!(message.contains("Runtime Error"), "{err:?}");
        }
        other => panic!("expected Api, got {other:?}"),
    }
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
}

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

// ---------------------------------------------------------------------------
// 4. Bounded error text
// ---------------------------------------------------------------------------

/// The largest Display or Debug an error may have, whatever the server sent.
const TEXT_BUDGET: usize = 4096;

/// Old main quoted the whole bad value (serde's message) and the whole body
/// in errors: a 10 MB string made a 10 MB Display.
#[tokio::test]
async fn every_error_stays_within_a_few_kilobytes_whatever_the_server_sends() {
    let huge = "A".repeat(10 * 1024 * 1024);
    let kb = "B".repeat(1024);
    let server = MockServer::start().await;

    let mut bad_id = time_pass(1);
    bad_id["Id"] = json!(huge);
    let mut bad_price = time_pass(2);
    bad_price["Price"] = json!(huge);
    let fields: Vec<Value> = (0..1000)
        .map(|_| json!({"PropertyName": kb, "Message": kb, "AttemptedValue": kb}))
        .collect();
    let strings: Vec<Value> = (0..1000).map(|_| json!(kb)).collect();
    let answers: Vec<(i32, ResponseTemplate)> = vec![
        (1, json_response(200, bad_id)),
        (2, json_response(200, bad_price)),
        (3, ResponseTemplate::new(500).set_body_string(huge.clone())),
        (
            4,
            json_response(
                400,
                json!({"Message": huge, "Errors": fields, "WasSuccessful": false}),
            ),
        ),
        (
            5,
            json_response(
                400,
                json!({"Message": kb, "Errors": strings, "WasSuccessful": false}),
            ),
        ),
        (
            6,
            json_response(500, json!({"Message": huge, "WasSuccessful": false})),
        ),
        (7, ResponseTemplate::new(401).set_body_string(huge.clone())),
        (8, ResponseTemplate::new(418).set_body_string(huge.clone())),
        (
            9,
            ResponseTemplate::new(307).insert_header(
                "Location",
                format!("http://127.0.0.1:1/{}", "C".repeat(32 * 1024)),
            ),
        ),
        (10, ResponseTemplate::new(400).set_body_string(huge.clone())),
        (
            11,
            ResponseTemplate::new(200)
                .set_body_raw(format!("{} {huge}", time_pass(11)), "application/json"),
        ),
    ];
    let ids: Vec<i32> = answers.iter().map(|(id, _)| *id).collect();
    for (id, answer) in answers {
        mount(&server, "GET", &pass_path(id), answer).await;
    }
    mount(
        &server,
        "POST",
        TIME_PASSES,
        ResponseTemplate::new(503).set_body_string(huge.clone()),
    )
    .await;
    let h = huge.clone();
    mount(&server, "PUT", TIME_PASSES, move |r: &Request| {
        let id = serde_json::from_slice::<Value>(&r.body).ok().and_then(|b| b["Id"].as_i64());
        if id == Some(9) {
            // A success envelope without `Value.Id`.
            json_response(200, json!({"WasSuccessful": true, "Message": h, "Value": null}))
        } else {
            json_response(
                200,
                json!({"WasSuccessful": false, "Message": h, "Errors": [{"PropertyName": h, "Message": h, "AttemptedValue": h}]}),
            )
        }
    })
    .await;
    let mut list = time_pass_page(&[1, 2], 1, 25, 2);
    list["Records"][1]["Name"] = json!({ "nested": huge });
    mount(&server, "GET", TIME_PASSES, json_response(200, list)).await;

    let client = bearer_client(&server);
    let mut errors = Vec::new();
    for id in ids {
        errors.push((
            format!("get {id}"),
            client.time_passes().get(id).await.unwrap_err(),
        ));
    }
    errors.push((
        "create 503".into(),
        client
            .time_passes()
            .create(new_time_pass())
            .await
            .unwrap_err(),
    ));
    let record: nexudus_timepasses::types::TimePass =
        serde_json::from_value(time_pass(PASS_ID)).unwrap();
    errors.push((
        "replace refused in a 200".into(),
        client.time_passes().replace(&record).await.unwrap_err(),
    ));
    let record: nexudus_timepasses::types::TimePass = serde_json::from_value(time_pass(9)).unwrap();
    errors.push((
        "replace answered without an Id".into(),
        client.time_passes().replace(&record).await.unwrap_err(),
    ));
    errors.push((
        "stream".into(),
        client.time_passes().all(|q| q).await.unwrap_err(),
    ));

    // A token endpoint answering with huge OAuth fields.
    let token_server = MockServer::start().await;
    mount(
        &token_server,
        "POST",
        TOKEN_PATH,
        json_response(400, json!({"error": huge, "error_description": huge})),
    )
    .await;
    errors.push((
        "sign-in".into(),
        common::client(&token_server, password_credentials())
            .time_passes()
            .get(PASS_ID)
            .await
            .unwrap_err(),
    ));

    for (what, err) in &errors {
        let longest = longest_text(err);
        assert!(
            longest <= TEXT_BUDGET,
            "{what}: {longest} bytes of text in {}",
            &format!("{err:?}")[..600.min(format!("{err:?}").len())]
        );
    }
    // They are still the errors their answers mean.
    let status_of = |what: &str| {
        errors
            .iter()
            .find(|(w, _)| w == what)
            .and_then(|(_, e)| e.status())
            .map(|s| s.as_u16())
    };
    assert_eq!(status_of("get 3"), Some(500));
    assert_eq!(status_of("get 4"), Some(400));
    assert_eq!(status_of("get 7"), Some(401));
    assert_eq!(status_of("get 9"), Some(307));
    assert_eq!(status_of("sign-in"), Some(400));
}

/// At most 20 field errors are kept; each of their texts is bounded too.
#[tokio::test]
async fn a_validation_error_keeps_a_bounded_number_of_bounded_field_errors() {
    let server = MockServer::start().await;
    let long = "D".repeat(5000);
    let fields: Vec<Value> = (0..500)
        .map(|n| json!({"PropertyName": format!("F{n}{long}"), "Message": long, "AttemptedValue": {"v": long}}))
        .collect();
    mount(
        &server,
        "POST",
        TIME_PASSES,
        json_response(400, json!({"Message": long, "Errors": fields})),
    )
    .await;
    let err = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    let Error::Validation {
        errors, message, ..
    } = &err
    else {
        panic!("expected Validation, got {err:?}");
    };
    assert!(errors.len() <= 20, "{} field errors kept", errors.len());
    assert!(!errors.is_empty());
    assert!(message.chars().count() <= 400, "{}", message.len());
    for e in errors {
        assert!(e.property.chars().count() <= 400);
        assert!(e.message.chars().count() <= 400);
        let value = e
            .attempted_value
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default();
        assert!(value.chars().count() <= 400, "{}", value.len());
    }
    // Ordinary field errors: 20 are kept.
    let fields: Vec<Value> = (0..30)
        .map(|n| json!({"PropertyName": format!("Field{n}"), "Message": "is a required field", "AttemptedValue": null}))
        .collect();
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        TIME_PASSES,
        json_response(400, json!({"Message": "no", "Errors": fields})),
    )
    .await;
    let err = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    let Error::Validation { errors, .. } = &err else {
        panic!("expected Validation, got {err:?}");
    };
    assert_eq!(errors.len(), 20, "{err:?}");
    assert!(format!("{err:?}").len() <= TEXT_BUDGET, "{err:?}");
}

// ---------------------------------------------------------------------------
// 5. Secrets echoed back
// ---------------------------------------------------------------------------

/// Secrets whose characters form-encode differently (`@`, space, `+`, `&`,
/// `=`, `/`), each containing [`SECRET_MARK`].
const ECHO_PASSWORD: &str = "p@ss word+SECRET&=x";
const ECHO_BASIC_PASSWORD: &str = "b@sic pw+SECRET/=&";
const ECHO_BEARER: &str = "bearer+SECRET/tok==";

fn echo_access(n: u32) -> String {
    format!("at+SECRET/{n}==")
}

fn echo_refresh(n: u32) -> String {
    format!("rt SECRET+{n}&r=1")
}

fn form_encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Everything a request carried, as text: the Authorization header first
/// (so that it falls inside any excerpt), the raw body, the decoded form
/// fields, the query, every header.
fn dump(r: &Request) -> String {
    let mut out = format!(
        "authorization={} body={} ",
        header(r, "authorization"),
        String::from_utf8_lossy(&r.body)
    );
    for (k, v) in form(r) {
        out.push_str(&format!("{k}={v} "));
    }
    out.push_str(&format!("query={} ", r.url.query().unwrap_or("")));
    for (name, value) in &r.headers {
        out.push_str(&format!("{name}: {} ", value.to_str().unwrap_or("?")));
    }
    out
}

/// The echoing server's token endpoint: scripted by grant and count, every
/// refusal echoing the request back.
#[derive(Default)]
struct EchoTokens {
    password_grants: u32,
    refresh_grants: u32,
    issued: u32,
}

impl EchoTokens {
    fn issue(&mut self) -> ResponseTemplate {
        self.issued += 1;
        let n = self.issued;
        json_response(
            200,
            json!({
                "access_token": echo_access(n),
                "token_type": "bearer",
                "expires_in": 3600,
                "refresh_token": echo_refresh(n),
            }),
        )
    }

    fn answer(&mut self, r: &Request) -> ResponseTemplate {
        let fields = form(r);
        let echoed = dump(r);
        let previous = (echo_access(self.issued), echo_refresh(self.issued));
        if fields.get("grant_type").map(String::as_str) == Some("refresh_token") {
            self.refresh_grants += 1;
            if self.refresh_grants == 2 {
                return self.issue();
            }
            // A refused refresh whose OAuth fields echo the form.
            return json_response(
                400,
                json!({
                    "error": format!("invalid_grant {echoed}"),
                    "error_description": format!(
                        "refresh token {} of {} refused: {echoed}",
                        fields.get("refresh_token").cloned().unwrap_or_default(),
                        previous.0
                    ),
                }),
            );
        }
        self.password_grants += 1;
        match self.password_grants {
            // error_description holding the submitted form.
            1 => json_response(
                400,
                json!({
                    "error": format!("invalid_request {echoed}"),
                    "error_description": format!(
                        "bad form: {echoed} password was {}",
                        fields.get("password").cloned().unwrap_or_default()
                    ),
                }),
            ),
            // A token answer whose odd fields, first in the body, quote
            // the last tokens (keys in this order: serde fails on the first).
            3 => ResponseTemplate::new(200).set_body_raw(
                format!(
                    r#"{{"expires_in":"{}","token_type":["{}"],"access_token":5}}"#,
                    previous.0, previous.1
                ),
                "application/json",
            ),
            // A 401 with a text body echoing the form.
            4 => ResponseTemplate::new(401).set_body_string(format!("denied: {echoed}")),
            _ => self.issue(),
        }
    }
}

/// A resource that echoes the request back in a failure of each kind,
/// chosen by the record Id of the path.
fn echo_resource(r: &Request) -> ResponseTemplate {
    let echoed = dump(r);
    let auth = header(r, "authorization");
    let id: i32 = r
        .url
        .path()
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    match (r.method.as_str(), id) {
        ("GET", 1) => ResponseTemplate::new(500).set_body_string(echoed),
        ("GET", 2) => json_response(
            400,
            json!({
                "Message": format!("refused {auth}"),
                "WasSuccessful": false,
                "Errors": [
                    { "PropertyName": auth, "Message": echoed, "AttemptedValue": auth },
                    { "PropertyName": "Header", "Message": "x", "AttemptedValue": { "sent": auth } },
                    format!("plain {auth}"),
                ]
            }),
        ),
        ("GET", 3) => {
            let mut pass = time_pass(3);
            pass["Id"] = json!(auth);
            json_response(200, pass)
        }
        ("GET", 4) => ResponseTemplate::new(401).set_body_string(format!("who are you? {echoed}")),
        ("GET", 5) => ResponseTemplate::new(307).insert_header(
            "Location",
            format!(
                "http://127.0.0.1:9/steal?auth={}&raw={}",
                form_encoded(&auth),
                auth.replace(' ', "")
            ),
        ),
        ("GET", 6) => json_response(403, json!({ "Message": format!("no role for {echoed}") })),
        ("GET", 7) => ResponseTemplate::new(200)
            .set_body_raw(format!("{} {echoed}", time_pass(7)), "application/json"),
        ("GET", _) if r.url.path() == TIME_PASSES => {
            let page = query(r).get("page").cloned().unwrap_or_default();
            if page == "1" {
                json_response(200, time_pass_page(&[1, 2], 1, 2, 6))
            } else {
                ResponseTemplate::new(400)
                    .set_body_raw(format!("<html>{echoed}</html>"), "text/html")
            }
        }
        ("POST", _) => ResponseTemplate::new(503).set_body_string(format!("gateway: {echoed}")),
        ("PUT", _) if r.body.windows(7).any(|w| w == b"\"Id\":9,") => json_response(
            200,
            json!({ "WasSuccessful": true, "Message": echoed, "Value": null }),
        ),
        ("PUT", _) => json_response(
            200,
            json!({
                "WasSuccessful": false,
                "Message": echoed,
                "Errors": [{ "PropertyName": auth, "Message": echoed, "AttemptedValue": echoed }]
            }),
        ),
        _ => ResponseTemplate::new(418).set_body_string(echoed),
    }
}

/// Mounts the echoing resources (and, for password grants, the scripted
/// token endpoint) on `server`.
async fn mount_echo(server: &MockServer) -> Arc<Mutex<EchoTokens>> {
    let tokens = Arc::new(Mutex::new(EchoTokens::default()));
    let t = tokens.clone();
    mount(server, "POST", TOKEN_PATH, move |r: &Request| {
        t.lock().unwrap().answer(r)
    })
    .await;
    Mock::given(wiremock::matchers::path_regex("^/api/billing/"))
        .respond_with(echo_resource)
        .mount(server)
        .await;
    tokens
}

/// Runs every failing call the echo server knows with `client`, and returns
/// every text the errors produced.
async fn fail_everything(client: &Client, calls: &[&str], texts: &mut Vec<String>) -> usize {
    let passes = client.time_passes();
    let mut failures = 0;
    let record: nexudus_timepasses::types::TimePass = serde_json::from_value(time_pass(8)).unwrap();
    let no_id: nexudus_timepasses::types::TimePass = serde_json::from_value(time_pass(9)).unwrap();
    for call in calls {
        let outcome: Result<(), Error> = match *call {
            "create" => passes.create(new_time_pass()).await.map(drop),
            "replace" => passes.replace(&record).await.map(drop),
            "replace, no Id" => passes.replace(&no_id).await.map(drop),
            "stream" => passes.all(|q| q).await.map(drop),
            id => passes.get(id.parse().unwrap()).await.map(drop),
        };
        if let Err(e) = outcome {
            failures += 1;
            texts.push(format!("{call}: {}", texts_of(&e)));
        }
    }
    failures
}

/// Old main kept the token endpoint's `error_description` (the echoed form
/// with the password), quoted token values in decode messages, logged the
/// refused refresh's server text, and kept body excerpts unscrubbed.
#[tokio::test]
async fn no_secret_reaches_any_text_the_crate_produces_with_a_server_that_echoes() {
    let (capture, _guard) = Capture::install();
    let mut texts = Vec::new();

    // Password grant: the full script of the echo token endpoint.
    let server = MockServer::start().await;
    let tokens = mount_echo(&server).await;
    let password = client(
        &server,
        Credentials::password(EMAIL, ECHO_PASSWORD).with_client_id(CLIENT_ID),
    );
    let script = [
        "1", // sign-in refused, form echoed in error_description
        "1", // signs in (token 1); a 500 echoing the headers
        "2", // 400 envelope echoing the header into every field
        "3", // Id holds the Authorization header: decode error
        "4", // 401 echoing; refresh refused (echo); password grant answers odd JSON quoting tokens
        "4", // no token: password grant answered 401 echoing the form
        "5", // signs in (token 2); a 307 whose Location carries the header
        "4", // 401; the refresh succeeds (token 3); 401 again, echoing token 3
        "6", // 403 envelope echoing
        "7", // trailing data echoing the headers
        "create",
        "replace",
        "replace, no Id",
        "stream",
    ];
    let failures = fail_everything(&password, &script, &mut texts).await;
    assert_eq!(failures, script.len(), "every call fails: {texts:#?}");
    texts.push(format!("{password:?}"));
    texts.push(format!(
        "{:?}",
        Client::builder().credentials(Credentials::password(EMAIL, ECHO_PASSWORD))
    ));
    let issued = tokens.lock().unwrap().issued;
    assert!(issued >= 3, "the script issued {issued} tokens");

    // Basic credentials.
    let basic_server = MockServer::start().await;
    mount_echo(&basic_server).await;
    let basic = client(
        &basic_server,
        Credentials::basic(EMAIL, ECHO_BASIC_PASSWORD),
    );
    let calls = [
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "create",
        "replace",
        "replace, no Id",
        "stream",
    ];
    assert_eq!(
        fail_everything(&basic, &calls, &mut texts).await,
        calls.len()
    );
    texts.push(format!("{basic:?}"));

    // A bearer token.
    let bearer_server = MockServer::start().await;
    mount_echo(&bearer_server).await;
    let bearer = client(&bearer_server, Credentials::bearer(ECHO_BEARER));
    assert_eq!(
        fail_everything(&bearer, &calls, &mut texts).await,
        calls.len()
    );
    texts.push(format!("{bearer:?}"));

    // Every secret, as it is and form-encoded.
    let b64 =
        base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{ECHO_BASIC_PASSWORD}"));
    let mut secrets = vec![
        ECHO_PASSWORD.to_owned(),
        ECHO_BASIC_PASSWORD.to_owned(),
        ECHO_BEARER.to_owned(),
        b64.clone(),
        format!("Basic {b64}"),
    ];
    for n in 1..=issued {
        secrets.push(echo_access(n));
        secrets.push(echo_refresh(n));
    }
    let encoded: Vec<String> = secrets.iter().map(|s| form_encoded(s)).collect();
    secrets.extend(encoded);

    // The servers did receive them, and echo them: the test can fail.
    let mut sent = String::new();
    for s in [&server, &basic_server, &bearer_server] {
        for r in s.received_requests().await.unwrap() {
            sent.push_str(&dump(&r));
        }
    }
    for secret in [
        ECHO_PASSWORD,
        ECHO_BEARER,
        &b64,
        &echo_access(1),
        &echo_refresh(1),
    ] {
        let form = form_encoded(secret);
        assert!(
            sent.contains(secret) || sent.contains(&form),
            "the servers never saw {secret:?}"
        );
    }

    let mut all = texts.join("\n");
    all.push('\n');
    all.push_str(&capture.text());
    assert!(
        all.matches("[redacted]").count() >= 10,
        "the echoes were not scrubbed but absent?\n{all}"
    );
    assert!(
        capture.spans().iter().any(|s| s.contains("status=")),
        "span fields were not captured"
    );
    for secret in &secrets {
        if let Some(at) = all.find(secret.as_str()) {
            let from = (0..=at.saturating_sub(300))
                .rev()
                .find(|&i| all.is_char_boundary(i))
                .unwrap_or(0);
            panic!("{secret:?} leaked: …{:?}", &all[from..at + secret.len()]);
        }
    }
    assert_no_secret("every text of the run", &all, &[]);
}

/// An excerpt is cut at a few hundred characters; a secret the cut falls
/// inside must not show its start either.
#[tokio::test]
async fn an_excerpt_cut_inside_a_secret_shows_no_part_of_it() {
    let server = MockServer::start().await;
    let tokens = TokenServer::new(3600);
    tokens.mount(&server, Duration::ZERO).await;
    let token = access_token(1);
    let auth = format!("Bearer {token}");
    // Any cut point inside the header value.
    for (n, pad) in (280..300).step_by(3).enumerate() {
        let body = format!("{}{auth} and more", "x".repeat(pad));
        mount(
            &server,
            "GET",
            &pass_path(100 + n as i32),
            ResponseTemplate::new(500).set_body_string(body),
        )
        .await;
    }
    let client = client(&server, password_credentials());
    for (n, _) in (280..300).step_by(3).enumerate() {
        let err = client.time_passes().get(100 + n as i32).await.unwrap_err();
        assert!(matches!(err, Error::Api { .. }), "{err:?}");
        assert_hides_secrets(&err);
    }
    assert_eq!(tokens.state().issued, 1);
}

// ---------------------------------------------------------------------------
// 6. Redirects carry no credentials elsewhere
// ---------------------------------------------------------------------------

/// Old main used reqwest's default redirect policy: a 307 re-posts the
/// body, so the password reached the other server; resource redirects to
/// other origins were followed.
#[tokio::test]
async fn a_token_endpoint_redirect_to_another_origin_is_not_followed() {
    let elsewhere = MockServer::start().await;
    mount(
        &elsewhere,
        "POST",
        TOKEN_PATH,
        json_response(200, token_answer(1, Some(json!(3600)))),
    )
    .await;
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        TOKEN_PATH,
        ResponseTemplate::new(307)
            .insert_header("Location", format!("{}{TOKEN_PATH}", elsewhere.uri())),
    )
    .await;
    mount(
        &server,
        "GET",
        &pass_path(PASS_ID),
        json_response(200, time_pass(PASS_ID)),
    )
    .await;

    let err = client(&server, password_credentials())
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap_err();

    let reached = elsewhere.received_requests().await.unwrap();
    assert!(
        reached.is_empty(),
        "the other origin received {} request(s), password {:?}",
        reached.len(),
        reached.first().map(|r| form(r).get("password").cloned())
    );
    match &err {
        Error::Api {
            operation,
            status,
            message,
        } => {
            assert_eq!(*operation, "request_token");
            assert_eq!(status.as_u16(), 307);
            assert!(message.contains("redirect"), "{err}");
            assert!(
                message.contains("never"),
                "the error does not say so: {err}"
            );
        }
        other => panic!("expected Api 307, got {other:?}"),
    }
    assert_eq!(received(&server, "GET", &pass_path(PASS_ID)).await.len(), 0);
    assert_hides_secrets(&err);
}

#[tokio::test]
async fn a_token_endpoint_redirect_within_the_origin_is_not_followed_either() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        TOKEN_PATH,
        ResponseTemplate::new(308).insert_header("Location", "/api/token2"),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/token2",
        json_response(200, token_answer(1, Some(json!(3600)))),
    )
    .await;
    let err = client(&server, password_credentials())
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(308), "{err:?}");
    assert!(received(&server, "POST", "/api/token2").await.is_empty());
}

#[tokio::test]
async fn a_resource_redirect_to_another_origin_is_not_followed_and_one_within_is() {
    let elsewhere = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(json_response(200, time_pass(PASS_ID)))
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    let away = format!("{}{}", elsewhere.uri(), pass_path(PASS_ID));
    mount(
        &server,
        "GET",
        &pass_path(1),
        ResponseTemplate::new(307).insert_header("Location", away.as_str()),
    )
    .await;
    mount(
        &server,
        "POST",
        TIME_PASSES,
        ResponseTemplate::new(307)
            .insert_header("Location", format!("{}{TIME_PASSES}", elsewhere.uri())),
    )
    .await;
    mount(
        &server,
        "GET",
        &pass_path(2),
        ResponseTemplate::new(307).insert_header("Location", pass_path(PASS_ID)),
    )
    .await;
    mount(
        &server,
        "GET",
        &pass_path(PASS_ID),
        json_response(200, time_pass(PASS_ID)),
    )
    .await;
    let client = bearer_client(&server);

    let err = client.time_passes().get(1).await.unwrap_err();
    match &err {
        Error::Api {
            status, message, ..
        } => {
            assert_eq!(status.as_u16(), 307, "{err:?}");
            assert!(message.contains("not followed"), "{err}");
        }
        other => panic!("expected Api 307, got {other:?}"),
    }
    let err = client
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(307), "{err:?}");
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "a request reached the other origin"
    );
    // Within the origin a redirect is followed.
    let pass = client.time_passes().get(2).await.unwrap();
    assert_eq!(pass.id, PASS_ID);
}

// ---------------------------------------------------------------------------
// 7. Smaller ones
// ---------------------------------------------------------------------------

/// Old main read `Retry-After` as seconds only and backed off 10 ms.
#[tokio::test]
async fn a_retry_after_http_date_is_honoured() {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let seen = arrivals.clone();
    mount(&server, "GET", &pass_path(PASS_ID), move |_: &Request| {
        let mut at = seen.lock().unwrap();
        at.push(Instant::now());
        if at.len() == 1 {
            // Two seconds ahead, cut to the second: 1 to 2 s from now.
            let when = chrono::Utc::now() + chrono::Duration::seconds(2);
            throttled(429, &when.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        } else {
            json_response(200, time_pass(PASS_ID))
        }
    })
    .await;
    let pass = bearer_client(&server)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap();
    assert_eq!(pass.id, PASS_ID);
    let gaps = gaps(&arrivals);
    assert_eq!(gaps.len(), 1, "one retry");
    assert!(
        gaps[0] >= Duration::from_millis(700),
        "waited only {:?}",
        gaps[0]
    );
    assert!(gaps[0] < Duration::from_secs(5), "waited {:?}", gaps[0]);
}

/// Old main said serde's "trailing characters" in a decode error of the
/// first try, or nothing about data after the value.
#[tokio::test]
async fn trailing_data_after_the_json_value_is_a_decode_error_that_says_so() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        &pass_path(PASS_ID),
        ResponseTemplate::new(200).set_body_raw(
            format!("{}\n{{\"more\": 1}}", time_pass(PASS_ID)),
            "application/json",
        ),
    )
    .await;
    let err = bearer_client(&server)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            status, message, ..
        } => {
            assert_eq!(status.as_u16(), 200);
            assert!(message.contains("data after the JSON value"), "{err}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}

/// Old main had no body cap: every body was read whole.
#[tokio::test]
async fn a_body_above_the_cap_with_a_content_length_fails_with_body_too_large() {
    assert!(
        (10 << 20..=100 << 20).contains(&nexudus_timepasses::DEFAULT_MAX_BODY_BYTES),
        "the default cap is in the tens of MiB"
    );
    let server = MockServer::start().await;
    let mut big = time_pass(PASS_ID);
    big["Name"] = json!("N".repeat(200_000));
    mount(
        &server,
        "GET",
        &pass_path(PASS_ID),
        json_response(200, big.clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        &pass_path(2),
        ResponseTemplate::new(500).set_body_string("E".repeat(200_000)),
    )
    .await;
    let capped = builder(&server)
        .credentials(Credentials::bearer(BEARER))
        .max_body_bytes(64 * 1024)
        .build()
        .unwrap();
    let err = capped.time_passes().get(PASS_ID).await.unwrap_err();
    match &err {
        Error::BodyTooLarge {
            status,
            limit,
            operation,
        } => {
            assert_eq!(status.as_u16(), 200);
            assert_eq!(*limit, 64 * 1024);
            assert_eq!(*operation, "get_time_pass");
        }
        other => panic!("expected BodyTooLarge, got {other:?}"),
    }
    let err = capped.time_passes().get(2).await.unwrap_err();
    assert!(matches!(err, Error::BodyTooLarge { .. }), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    // The same body passes a cap above it.
    let roomy = builder(&server)
        .credentials(Credentials::bearer(BEARER))
        .max_body_bytes(1 << 20)
        .build()
        .unwrap();
    assert_eq!(roomy.time_passes().get(PASS_ID).await.unwrap().id, PASS_ID);
}

/// A chunked body that would go on for 64 MiB: the client stops reading it
/// past the cap (old main read it all, then failed to decode).
#[tokio::test]
async fn a_chunked_body_above_the_cap_fails_with_body_too_large_without_being_read_whole() {
    const CHUNK: usize = 16 * 1024;
    const CHUNKS: usize = 4096; // 64 MiB at most
    let written = Arc::new(AtomicUsize::new(0));
    let count = written.clone();
    let (base, _) = raw_server(1, move |mut stream| {
        read_request(&mut stream, false);
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                    Transfer-Encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let chunk = format!("{CHUNK:x}\r\n{}\r\n", " ".repeat(CHUNK));
        for _ in 0..CHUNKS {
            if stream.write_all(chunk.as_bytes()).is_err() {
                return;
            }
            count.fetch_add(CHUNK, Ordering::SeqCst);
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    });
    let client = Client::builder()
        .base_url(&base)
        .credentials(Credentials::bearer(BEARER))
        .retry(RetryPolicy::none())
        .pacing(Pacing::unlimited())
        .timeout(Duration::from_secs(30))
        .max_body_bytes(256 * 1024)
        .build()
        .unwrap();
    let err = client.time_passes().get(PASS_ID).await.unwrap_err();
    match &err {
        Error::BodyTooLarge { status, limit, .. } => {
            assert_eq!(status.as_u16(), 200);
            assert_eq!(*limit, 256 * 1024);
        }
        other => panic!("expected BodyTooLarge, got {other:?}"),
    }
    // Give the server a moment to notice the hang-up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < CHUNK * CHUNKS, "the whole {sent}-byte body was read");
}

/// Old main walked on to the plan's last page (or the 100,000-page cap),
/// dropping the repeats, and ended without an error.
#[tokio::test]
async fn a_listing_that_keeps_repeating_its_records_stops_with_inconsistent_listing() {
    let server = MockServer::start().await;
    // Every page is page 1 again, and the server claims 200 pages.
    mount(
        &server,
        "GET",
        TIME_PASSES,
        json_response(
            200,
            time_pass_page(&(1..=25).collect::<Vec<_>>(), 1, 25, 5000),
        ),
    )
    .await;
    let client = builder(&server)
        .credentials(Credentials::bearer(BEARER))
        .concurrency(4)
        .build()
        .unwrap();
    let mut stream = client.time_passes().stream(|q| q);
    let mut got = Vec::new();
    let mut error = None;
    // Bounded: at most 300 items are taken.
    for _ in 0..300 {
        match stream.next().await {
            Some(Ok(pass)) => got.push(pass.id),
            Some(Err(e)) => {
                error = Some(e);
                break;
            }
            None => break,
        }
    }
    let requests = received(&server, "GET", TIME_PASSES).await.len();
    match &error {
        Some(Error::InconsistentListing { operation, reason }) => {
            assert_eq!(*operation, "list_time_passes");
            assert!(reason.contains("already yielded"), "{reason}");
        }
        other => panic!("expected InconsistentListing after {requests} requests, got {other:?}"),
    }
    assert_eq!(got, (1..=25).collect::<Vec<_>>());
    // Page 1, three repeats, and what was in flight.
    assert!(requests <= 1 + 3 + 4, "{requests} page requests");
    assert!(stream.next().await.is_none());
}

fn assert_outcome_unknown(err: &Error, what: &str) {
    assert!(
        matches!(
            err,
            Error::OutcomeUnknown {
                operation: "create_time_pass",
                ..
            }
        ),
        "{what}: expected OutcomeUnknown, got {err:?}"
    );
    assert!(
        err.to_string()
            .contains("outcome unknown: check before retrying"),
        "{what}: {err}"
    );
    assert!(!err.is_retryable(), "{what}");
}

/// Old main had no such variant: a 503, a timeout or a lost connection on a
/// POST came back as a plain Api / Timeout / Transport error, which
/// `is_retryable()` called retryable.
#[tokio::test]
async fn a_post_answered_503_has_an_unknown_outcome() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        TIME_PASSES,
        ResponseTemplate::new(503).set_body_string("Service Unavailable"),
    )
    .await;
    let err = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert_outcome_unknown(&err, "503");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    match &err {
        Error::OutcomeUnknown { source, .. } => {
            assert!(matches!(**source, Error::Api { .. }), "{source:?}")
        }
        _ => unreachable!(),
    }
    assert_eq!(
        received(&server, "POST", TIME_PASSES).await.len(),
        1,
        "never retried"
    );
}

#[tokio::test]
async fn a_post_that_timed_out_has_an_unknown_outcome() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        TIME_PASSES,
        json_response(200, ok_envelope(1, "created")).set_delay(Duration::from_secs(3)),
    )
    .await;
    let client = builder(&server)
        .credentials(Credentials::bearer(BEARER))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert_outcome_unknown(&err, "timeout");
    match &err {
        Error::OutcomeUnknown { source, .. } => {
            assert!(matches!(**source, Error::Timeout { .. }), "{source:?}")
        }
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_post_whose_connection_is_closed_after_sending_has_an_unknown_outcome() {
    // Closed cleanly once the whole request was read.
    let (base, served) = raw_server(1, |mut stream| {
        read_request(&mut stream, false);
        let _ = stream.shutdown(std::net::Shutdown::Both);
    });
    let err = raw_client(&base)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert_outcome_unknown(&err, "closed");
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // Reset: dropped with the body still unread, so the kernel sends RST.
    let (base, served) = raw_server(1, |mut stream| {
        std::thread::sleep(Duration::from_millis(200));
        let RawRequest { head } = read_request(&mut stream, true);
        assert!(head.starts_with("POST "), "{head}");
        drop(stream);
    });
    let err = raw_client(&base)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert_outcome_unknown(&err, "reset");
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // An answer cut short in its body.
    let (base, _) = raw_server(1, |mut stream| {
        read_request(&mut stream, false);
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"Status\":",
        );
    });
    let err = raw_client(&base)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert_outcome_unknown(&err, "cut short");
}

#[tokio::test]
async fn a_post_whose_connection_was_refused_is_a_plain_transport_error() {
    let client = Client::builder()
        .base_url(refused_address())
        .credentials(Credentials::bearer(BEARER))
        .retry(fast_retry())
        .pacing(Pacing::unlimited())
        .build()
        .unwrap();
    let err = client
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                operation: "create_time_pass",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("outcome unknown"), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_refused_post_or_a_get_503_is_not_called_unknown() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        TIME_PASSES,
        json_response(400, validation_envelope()),
    )
    .await;
    mount(
        &server,
        "GET",
        &pass_path(PASS_ID),
        ResponseTemplate::new(503),
    )
    .await;
    let client = bearer_client(&server);
    let err = client
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let err = client.time_passes().get(PASS_ID).await.unwrap_err();
    assert!(matches!(err, Error::Api { .. }), "{err:?}");
    assert_eq!(
        received(&server, "GET", &pass_path(PASS_ID)).await.len(),
        3,
        "GET retried"
    );
}

#[tokio::test]
async fn a_chunked_error_body_above_the_cap_fails_with_body_too_large() {
    let (base, _) = raw_server(1, move |mut stream| {
        read_request(&mut stream, false);
        let head = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n\
                    Transfer-Encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let chunk = format!(
            "{:x}\r\n{}\r\n",
            16 * 1024,
            "<p>"
                .repeat(16 * 1024 / 3 + 1)
                .get(..16 * 1024)
                .unwrap_or("")
        );
        for _ in 0..64 {
            if stream.write_all(chunk.as_bytes()).is_err() {
                return;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
    });
    let client = Client::builder()
        .base_url(&base)
        .credentials(Credentials::bearer(BEARER))
        .retry(RetryPolicy::none())
        .pacing(Pacing::unlimited())
        .max_body_bytes(64 * 1024)
        .build()
        .unwrap();
    let err = client.time_passes().get(PASS_ID).await.unwrap_err();
    assert!(
        matches!(&err, Error::BodyTooLarge { status, .. } if status.as_u16() == 500),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_refusal_in_a_200_envelope_with_odd_errors_is_a_validation_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TIME_PASSES))
        .respond_with(json_response(
            200,
            json!({"WasSuccessful": false, "Message": "refused", "Errors": [null, "Name is required"]}),
        ))
        .mount(&server)
        .await;
    let err = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    match &err {
        Error::Validation {
            status,
            message,
            errors,
            ..
        } => {
            assert_eq!(status.as_u16(), 200);
            assert_eq!(message, "refused");
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].message, "Name is required");
        }
        other => panic!("expected Validation, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Timeouts that cover the whole answer
// ---------------------------------------------------------------------------

/// Answers one request with a head and the start of a body, then sends
/// nothing more while holding the connection open for `hold`.
fn stall_after_head(head: &'static str, hold: Duration) -> impl Fn(TcpStream) + Send + 'static {
    move |mut stream| {
        read_request(&mut stream, false);
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.flush();
        std::thread::sleep(hold);
    }
}

/// A body that stops arriving is a timeout, whether its length was
/// declared or it is chunked, and for an error answer too (its body is read
/// after the hook): the attempt's time covers the body, not only the head,
/// so a server that sends a head and then stalls cannot hold a call for
/// longer than the timeout.
#[tokio::test]
async fn a_body_that_stops_arriving_is_a_timeout() {
    let heads = [
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Id\":",
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"Id\":\r\n",
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 400\r\n\r\n<html>",
    ];
    for head in heads {
        let (base, served) = raw_server(1, stall_after_head(head, Duration::from_secs(5)));
        let client = raw_builder(&base)
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = client.time_passes().get(PASS_ID).await.unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    operation: "get_time_pass"
                }
            ),
            "{head:?}: {err:?}"
        );
        assert!(took < Duration::from_secs(3), "{head:?}: took {took:?}");
        assert_eq!(served.load(Ordering::SeqCst), 1);
    }
}

/// A write whose answer stalls mid-body may have been applied: its
/// timeout says the outcome is unknown, like one that stalls before the head.
#[tokio::test]
async fn a_post_whose_answer_body_stalls_has_an_unknown_outcome() {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{";
    let (base, served) = raw_server(1, stall_after_head(head, Duration::from_secs(5)));
    // The default retries, so that "never retried" is the POST rule at work.
    let client = raw_builder(&base)
        .retry(RetryPolicy::default())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert_outcome_unknown(&err, "timeout");
    assert_eq!(served.load(Ordering::SeqCst), 1, "never retried");
}

/// A GET whose head comes too late is tried again, and the second answer
/// is used; the time spent waiting to retry does not count against it.
#[tokio::test]
async fn a_get_that_timed_out_is_retried_and_the_next_answer_is_used() {
    let server = MockServer::start().await;
    let answers = Arc::new(AtomicUsize::new(0));
    let seen = answers.clone();
    mount(&server, "GET", &pass_path(PASS_ID), move |_: &Request| {
        let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
        let answer = json_response(200, time_pass(PASS_ID));
        if first {
            answer.set_delay(Duration::from_secs(3))
        } else {
            answer
        }
    })
    .await;
    let client = builder(&server)
        .credentials(Credentials::bearer(BEARER))
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(400)))
        .pacing(Pacing::unlimited())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let pass = client.time_passes().get(PASS_ID).await.unwrap();
    assert_eq!(pass.id, PASS_ID);
    assert_eq!(answers.load(Ordering::SeqCst), 2);
}

/// Calls through the raw generated client have no typed call around them;
/// their timeout still holds (reqwest's, set per attempt).
#[tokio::test]
async fn a_raw_client_call_still_times_out() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        &pass_path(PASS_ID),
        json_response(200, time_pass(PASS_ID)).set_delay(Duration::from_secs(3)),
    )
    .await;
    let client = builder(&server)
        .credentials(Credentials::bearer(BEARER))
        .retry(RetryPolicy::none())
        .pacing(Pacing::unlimited())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .raw()
        .get_time_pass()
        .id(PASS_ID)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, nexudus_timepasses::raw::Error::CommunicationError(e) if e.is_timeout()),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}
