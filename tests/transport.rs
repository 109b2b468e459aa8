//! Behaviour tests of the transport: retries and `Retry-After` on
//! throttling (409, 429; seconds or an HTTP-date), which methods are retried
//! after a 5xx or a dropped connection, the retry budget and delay cap,
//! client-side pacing, redirects that never carry credentials to another
//! origin, timeouts that cover the whole answer, the body cap, writes whose
//! outcome is unknown, connection failures, and the tracing output.
//!
//! Most servers are wiremock; `common::raw_server` stands in where wiremock
//! cannot misbehave enough (a connection closed after the request was read,
//! a body that stalls or never ends).

mod common;

use std::{
    io::Write,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use common::{raw_server::*, *};
use nexudus_timepasses::{Client, Credentials, Error, Pacing, RetryPolicy};
use serde_json::json;
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, Request, ResponseTemplate,
};

/// Mounts `verb path` answering `responses` in order (the last repeated),
/// and returns the arrival times.
async fn mount_in_order(
    server: &MockServer,
    verb: &str,
    at: &str,
    responses: Vec<ResponseTemplate>,
) -> std::sync::Arc<std::sync::Mutex<Vec<Instant>>> {
    let (respond, arrivals) = timed_in_order(responses);
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(respond)
        .mount(server)
        .await;
    arrivals
}

fn ok_pass() -> ResponseTemplate {
    json_response(200, time_pass(PASS_ID))
}

fn created() -> ResponseTemplate {
    json_response(
        200,
        ok_envelope(90000001, "TimePass was successfully created."),
    )
}

// ---------------------------------------------------------------------------
// Throttling and retries
// ---------------------------------------------------------------------------

async fn retry_after_is_honoured(status: u16) {
    let server = MockServer::start().await;
    let arrivals = mount_in_order(
        &server,
        "GET",
        &pass_path(PASS_ID),
        vec![throttled(status, "1"), ok_pass()],
    )
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
        gaps[0] >= Duration::from_millis(950),
        "waited only {:?}",
        gaps[0]
    );
    assert!(
        gaps[0] < Duration::from_millis(2500),
        "waited {:?}",
        gaps[0]
    );
}

#[tokio::test]
async fn retry_after_is_honoured_on_409() {
    retry_after_is_honoured(409).await;
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    retry_after_is_honoured(429).await;
}

#[tokio::test]
async fn a_503_on_get_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    let arrivals = mount_in_order(
        &server,
        "GET",
        &pass_path(PASS_ID),
        vec![
            ResponseTemplate::new(503).set_body_string("Service Unavailable"),
            ok_pass(),
        ],
    )
    .await;

    let pass = bearer_client(&server)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap();
    assert_eq!(pass.id, PASS_ID);
    assert_eq!(arrivals.lock().unwrap().len(), 2);
}

/// The headers of every request `server` received, as `name: value` lines
/// (without the ones the HTTP layer adds for itself).
async fn headers_received(server: &MockServer) -> Vec<Vec<String>> {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .map(|r| {
            let mut lines: Vec<String> = r
                .headers
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "host" | "content-length"))
                .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
                .collect();
            lines.sort();
            lines
        })
        .collect()
}

#[tokio::test]
async fn a_retried_get_sends_the_same_headers_and_no_user_agent_unless_set() {
    for agent in [None, Some("my-app/1.2")] {
        let server = MockServer::start().await;
        mount_in_order(
            &server,
            "GET",
            "/api/billing/timepasses",
            vec![
                ResponseTemplate::new(503).set_body_string("Service Unavailable"),
                json_response(200, time_pass_page(&[PASS_ID], 2, 25, 26)),
            ],
        )
        .await;
        let mut b = builder(&server).credentials(nexudus_timepasses::Credentials::bearer(BEARER));
        if let Some(agent) = agent {
            b = b.user_agent(agent);
        }
        let page = b
            .build()
            .unwrap()
            .time_passes()
            .list(|q| q.page(2u32))
            .await
            .unwrap();
        assert_eq!(page.records.len(), 1);

        let sent = headers_received(&server).await;
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(sent[0], sent[1], "the retry differs from the first attempt");
        let mut expected = vec![
            "accept: application/json".to_string(),
            format!("authorization: Bearer {BEARER}"),
        ];
        if let Some(agent) = agent {
            expected.push(format!("user-agent: {agent}"));
        }
        assert_eq!(sent[0], expected);
        let urls: Vec<String> = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| r.url.query().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(urls, ["page=2&size=25", "page=2&size=25"]);
    }
}

#[tokio::test]
async fn a_put_answered_503_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(ok_pass())
        .mount(&server)
        .await;
    let arrivals = mount_in_order(
        &server,
        "PUT",
        TIME_PASSES,
        vec![
            ResponseTemplate::new(503),
            json_response(
                200,
                ok_envelope(PASS_ID, "TimePass was successfully updated."),
            ),
        ],
    )
    .await;

    bearer_client(&server)
        .time_passes()
        .update(PASS_ID, |p| p.price = 130.0)
        .await
        .unwrap();
    assert_eq!(
        arrivals.lock().unwrap().len(),
        2,
        "PUT is idempotent: retried once"
    );
}

#[tokio::test]
async fn a_post_answered_503_is_sent_exactly_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TIME_PASSES))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .expect(1)
        .mount(&server)
        .await;

    let err = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();

    // The write may have been applied: the error says to check first.
    assert!(
        err.to_string()
            .contains("outcome unknown: check before retrying"),
        "{err}"
    );
    assert!(!err.is_retryable());
    match &err {
        Error::OutcomeUnknown { operation, source } => {
            assert_eq!(*operation, "create_time_pass");
            match source.as_ref() {
                Error::Api {
                    status,
                    message: excerpt,
                    ..
                } => {
                    assert_eq!(status.as_u16(), 503);
                    assert!(excerpt.contains("Service Unavailable"), "{excerpt}");
                }
                other => panic!("expected Error::Api inside, got {other:?}"),
            }
        }
        other => panic!("expected Error::OutcomeUnknown, got {other:?}"),
    }
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_hides_secrets(&err);
}

#[tokio::test]
async fn a_post_answered_409_is_retried() {
    let server = MockServer::start().await;
    let arrivals = mount_in_order(
        &server,
        "POST",
        TIME_PASSES,
        vec![throttled(409, "0"), created()],
    )
    .await;

    let id = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap();

    assert_eq!(id, 90000001);
    assert_eq!(arrivals.lock().unwrap().len(), 2);
    let posts = received(&server, "POST", TIME_PASSES).await;
    assert_eq!(posts[0].body, posts[1].body, "the same write is sent again");
}

#[tokio::test]
async fn throttled_after_the_retries_reports_the_last_retry_after() {
    let server = MockServer::start().await;
    // fast_retry() allows 3 attempts; the last answer's Retry-After counts.
    let arrivals = mount_in_order(
        &server,
        "GET",
        &pass_path(PASS_ID),
        vec![
            throttled(409, "0"),
            throttled(429, "0"),
            throttled(409, "7"),
        ],
    )
    .await;

    let started = Instant::now();
    let err = bearer_client(&server)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap_err();

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(arrivals.lock().unwrap().len(), 3);
    match &err {
        Error::Throttled {
            operation,
            retry_after,
            ..
        } => {
            assert_eq!(*operation, "get_time_pass");
            assert_eq!(*retry_after, Some(Duration::from_secs(7)));
        }
        other => panic!("expected Error::Throttled, got {other:?}"),
    }
    assert_hides_secrets(&err);
}

#[tokio::test]
async fn a_retry_after_above_max_delay_fails_at_once() {
    let server = MockServer::start().await;
    let arrivals = mount_in_order(
        &server,
        "GET",
        &pass_path(PASS_ID),
        vec![throttled(409, "30"), ok_pass()],
    )
    .await;
    let client = builder(&server)
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .retry(
            RetryPolicy::default()
                .max_attempts(5)
                .base_delay(Duration::from_millis(10))
                .max_delay(Duration::from_secs(2)),
        )
        .build()
        .unwrap();

    let started = Instant::now();
    let err = client.time_passes().get(PASS_ID).await.unwrap_err();

    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(arrivals.lock().unwrap().len(), 1);
    assert!(
        matches!(&err, Error::Throttled { retry_after: Some(d), .. } if *d == Duration::from_secs(30)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_409_without_retry_after_backs_off_and_retries() {
    let server = MockServer::start().await;
    let arrivals = mount_in_order(
        &server,
        "GET",
        &pass_path(PASS_ID),
        vec![ResponseTemplate::new(409), ok_pass()],
    )
    .await;

    bearer_client(&server)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap();
    assert_eq!(arrivals.lock().unwrap().len(), 2);
}

// ---------------------------------------------------------------------------
// Pacing
// ---------------------------------------------------------------------------

#[tokio::test]
async fn writes_are_paced_to_the_configured_rate() {
    let server = MockServer::start().await;
    let arrivals = mount_in_order(&server, "POST", TIME_PASSES, vec![created()]).await;
    let client = builder(&server)
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .pacing(Pacing::default().writes_per_minute(120))
        .build()
        .unwrap();

    let started = Instant::now();
    for _ in 0..3 {
        client.time_passes().create(new_time_pass()).await.unwrap();
    }
    let took = started.elapsed();

    // One write per 0.5 s: the third starts about 1 s after the first.
    assert!(
        took >= Duration::from_millis(950),
        "three writes took {took:?}"
    );
    assert!(
        took < Duration::from_millis(3000),
        "three writes took {took:?}"
    );
    for gap in gaps(&arrivals) {
        assert!(gap >= Duration::from_millis(450), "writes {gap:?} apart");
    }
}

#[tokio::test]
async fn reads_are_not_held_by_the_write_limit() {
    let server = MockServer::start().await;
    mount_in_order(&server, "POST", TIME_PASSES, vec![created()]).await;
    mount_in_order(&server, "GET", &pass_path(PASS_ID), vec![ok_pass()]).await;
    let client = builder(&server)
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .pacing(
            Pacing::default()
                .writes_per_minute(120)
                .reads_per_minute(600),
        )
        .build()
        .unwrap();

    // The write uses up the write budget for the next 0.5 s ...
    client.time_passes().create(new_time_pass()).await.unwrap();
    // ... which the reads must not wait for.
    let started = Instant::now();
    for _ in 0..5 {
        client.time_passes().get(PASS_ID).await.unwrap();
    }
    let took = started.elapsed();
    // Paced like writes they would take 2 s (one per 0.5 s); at their own
    // 10 a second, about 0.4 s.
    assert!(
        took < Duration::from_millis(1500),
        "five reads took {took:?}"
    );
}

// ---------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let server = MockServer::start().await;
    mount_in_order(
        &server,
        "GET",
        &pass_path(PASS_ID),
        vec![ok_pass().set_delay(Duration::from_millis(1500))],
    )
    .await;
    let client = builder(&server)
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();

    let started = Instant::now();
    let err = client.time_passes().get(PASS_ID).await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::Timeout {
                operation: "get_time_pass"
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );
    assert_hides_secrets(&err);
}

// ---------------------------------------------------------------------------
// Tracing
// ---------------------------------------------------------------------------

#[tokio::test]
async fn tracing_records_operation_status_and_attempt_and_no_secret() {
    let (capture, _guard) = Capture::install();

    // A retried read with a bearer token.
    let server = MockServer::start().await;
    mount_in_order(
        &server,
        "GET",
        &pass_path(PASS_ID),
        vec![ResponseTemplate::new(503), ok_pass()],
    )
    .await;
    bearer_client(&server)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap();

    // A password grant: sign-in, a 401, a refused refresh, a new sign-in.
    let server = MockServer::start().await;
    let tokens = TokenServer::new(3600);
    tokens.state().refuse_refresh = true;
    tokens.mount(&server, Duration::ZERO).await;
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(protected(&tokens, ok_pass()))
        .mount(&server)
        .await;
    let client = client(&server, password_credentials());
    client.time_passes().get(PASS_ID).await.unwrap();
    tokens.revoke_access();
    client.time_passes().get(PASS_ID).await.unwrap();
    // And a failed sign-in.
    let _ = client_with_wrong_password(&server)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap_err();

    let spans = capture.spans();
    let has = |parts: &[&str]| spans.iter().any(|s| parts.iter().all(|p| s.contains(p)));
    assert!(
        has(&["operation=get_time_pass", "attempt=1", "status=503"]),
        "{spans:#?}"
    );
    assert!(
        has(&["operation=get_time_pass", "attempt=2", "status=200"]),
        "{spans:#?}"
    );
    assert!(
        has(&["operation=get_time_pass", "status=401"]),
        "{spans:#?}"
    );
    assert!(
        has(&["operation=request_token", "attempt=1", "status=200"]),
        "{spans:#?}"
    );
    assert!(
        has(&["operation=request_token", "status=400"]),
        "{spans:#?}"
    );
    assert_no_secret("tracing output", &capture.text(), &[]);
}

fn client_with_wrong_password(server: &MockServer) -> nexudus_timepasses::Client {
    client(
        server,
        nexudus_timepasses::Credentials::password(EMAIL, "pw-SECRET-wrong"),
    )
}

#[tokio::test]
async fn a_caller_built_http_client_keeps_its_timeout() {
    // ClientBuilder::http_client: "Uses the caller's reqwest::Client (its
    // pool, proxy, TLS and timeouts)"; no `.timeout()` is set here.
    let server = MockServer::start().await;
    mount_in_order(
        &server,
        "GET",
        &pass_path(PASS_ID),
        vec![ok_pass().set_delay(Duration::from_millis(1000))],
    )
    .await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let client = nexudus_timepasses::Client::builder()
        .base_url(server.uri())
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .http_client(http)
        .retry(RetryPolicy::none())
        .pacing(Pacing::unlimited())
        .build()
        .unwrap();

    let started = Instant::now();
    let outcome = client.time_passes().get(PASS_ID).await.map(|p| p.id);
    let took = started.elapsed();

    assert!(
        matches!(outcome, Err(Error::Timeout { .. })),
        "the caller's 200 ms timeout was not applied: answered after {took:?} with {outcome:?}"
    );
}

#[tokio::test]
async fn a_connection_failure_is_a_transport_error_after_the_retries() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = nexudus_timepasses::Client::builder()
        .base_url(format!("http://{address}"))
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .retry(fast_retry())
        .pacing(Pacing::unlimited())
        .build()
        .unwrap();

    let started = Instant::now();
    let err = client.time_passes().get(PASS_ID).await.unwrap_err();

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            err,
            Error::Transport {
                operation: "get_time_pass",
                ..
            }
        ),
        "{err:?}"
    );
    assert_hides_secrets(&err);
}

// ---------------------------------------------------------------------------
// Redirects carry no credentials elsewhere
// ---------------------------------------------------------------------------

/// A 307 from the token endpoint to another origin is not followed: a
/// 307 re-posts the body, so following it would send the password there. The
/// sign-in fails as `Api` 307 saying the redirect is never followed.
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
            transient,
        } => {
            assert_eq!(*operation, "request_token");
            assert_eq!(status.as_u16(), 307);
            assert!(!transient, "a refused redirect is final");
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

/// The token endpoint's redirects are not followed even within the origin.
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

/// A resource redirect to another origin is not followed (GET or POST), and
/// one within the origin is.
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
// Retry-After as a date
// ---------------------------------------------------------------------------

/// A `Retry-After` given as an HTTP-date is honoured: the retry waits
/// until then, not a short backoff.
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

// ---------------------------------------------------------------------------
// The body cap
// ---------------------------------------------------------------------------

/// A body above the cap with a `Content-Length` fails with `BodyTooLarge`
/// (with its status, 200 or 500); the same body passes a larger cap.
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
/// past the cap and fails with `BodyTooLarge`, rather than reading it all.
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

// ---------------------------------------------------------------------------
// Writes whose outcome is unknown
// ---------------------------------------------------------------------------

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

/// A POST answered 503 may have been applied: it is sent once, never
/// retried, and fails with `OutcomeUnknown` (not retryable) around the `Api`
/// error, keeping the status.
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

/// A POST that timed out may have been applied: `OutcomeUnknown` around
/// `Timeout`.
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

/// A POST whose connection was closed or reset after the request was
/// sent, or whose answer was cut short, has an unknown outcome.
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

/// A POST whose connection was refused never reached the server: a plain,
/// retryable `Transport` error, not "outcome unknown".
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

/// A POST refused with a validation envelope is `Validation`, and a GET
/// answered 503 is retried and ends as `Api`: neither is called unknown.
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

// ---------------------------------------------------------------------------
// Connections dropped once the request was read
// ---------------------------------------------------------------------------

/// A GET whose connection is dropped after the server read the whole
/// request, with no answer, is safe to repeat: it is retried, and the
/// second connection's answer is used.
#[tokio::test]
async fn a_get_whose_connection_drops_after_sending_is_retried() {
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let (base, connections) = raw_server(2, move |mut stream| {
        read_request(&mut stream, false);
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        } else {
            write_json(&mut stream, &time_pass_page(&[PASS_ID], 1, 25, 1));
        }
    });
    let client = raw_builder(&base).retry(fast_retry()).build().unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), client.time_passes().list(|q| q))
        .await
        .expect("the call ended");
    let page = outcome.unwrap_or_else(|e| {
        panic!(
            "the dropped GET was not retried into success after {} connection(s): {e:?}",
            connections.load(Ordering::SeqCst)
        )
    });
    assert_eq!(
        page.records.iter().map(|r| r.id).collect::<Vec<_>>(),
        [PASS_ID]
    );
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

/// A POST in the same situation may have been applied: with retries on it
/// is still sent once, and its outcome is unknown.
#[tokio::test]
async fn a_post_whose_connection_drops_after_sending_is_not_retried() {
    let (base, connections) = raw_server(2, |mut stream| {
        read_request(&mut stream, false);
        let _ = stream.shutdown(std::net::Shutdown::Both);
    });
    let client = raw_builder(&base).retry(fast_retry()).build().unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        client.time_passes().create(new_time_pass()),
    )
    .await
    .expect("the call ended");
    assert_outcome_unknown(&outcome.unwrap_err(), "dropped");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "never retried");
}

// ---------------------------------------------------------------------------
// Timeouts that cover the whole answer
// ---------------------------------------------------------------------------

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
