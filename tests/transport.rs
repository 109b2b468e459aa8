//! Behaviour tests of the transport against a wiremock server: retries and
//! `Retry-After` on throttling (409, 429), which methods are retried after a
//! 5xx, the retry budget and delay cap, client-side pacing, the mapping of
//! every kind of failure to [`Error`], and the tracing output.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nexudus_timepasses::{Error, Pacing, RetryPolicy};
use serde_json::json;
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, ResponseTemplate,
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
// Errors
// ---------------------------------------------------------------------------

/// `GET /api/billing/timepasses/{PASS_ID}` answered `response`, through a
/// bearer client; the error of the get.
async fn get_error(response: ResponseTemplate) -> (Error, MockServer) {
    let server = MockServer::start().await;
    mount_in_order(&server, "GET", &pass_path(PASS_ID), vec![response]).await;
    let err = bearer_client(&server)
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap_err();
    assert_hides_secrets(&err);
    (err, server)
}

#[tokio::test]
async fn a_404_on_get_is_not_found() {
    let (err, server) = get_error(ResponseTemplate::new(404)).await;
    assert!(
        matches!(
            err,
            Error::NotFound {
                operation: "get_time_pass"
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(received(&server, "GET", &pass_path(PASS_ID)).await.len(), 1);
}

#[tokio::test]
async fn an_unexpected_status_is_an_api_error_with_an_excerpt() {
    let (err, _server) =
        get_error(ResponseTemplate::new(418).set_body_string("I'm a teapot, not a pass")).await;
    match &err {
        Error::Api {
            operation,
            status,
            message: excerpt,
        } => {
            assert_eq!(*operation, "get_time_pass");
            assert_eq!(status.as_u16(), 418);
            assert_eq!(excerpt, "I'm a teapot, not a pass");
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    assert!(err.to_string().contains("418"), "{err}");
}

#[tokio::test]
async fn a_500_with_a_plain_body_is_an_api_error_with_a_short_excerpt() {
    let long = format!("Internal Server Error: {}", "stack frame; ".repeat(200));
    let (err, server) = get_error(ResponseTemplate::new(500).set_body_string(long)).await;
    match &err {
        Error::Api {
            status,
            message: excerpt,
            ..
        } => {
            assert_eq!(status.as_u16(), 500);
            assert!(
                excerpt.starts_with("Internal Server Error: stack frame;"),
                "{excerpt}"
            );
            assert!(
                excerpt.chars().count() <= 301,
                "{} chars",
                excerpt.chars().count()
            );
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    // 500 is not a transient status: sent once.
    assert_eq!(received(&server, "GET", &pass_path(PASS_ID)).await.len(), 1);
}

#[tokio::test]
async fn a_400_envelope_is_a_validation_error_with_every_field() {
    let server = MockServer::start().await;
    mount_in_order(
        &server,
        "POST",
        TIME_PASSES,
        vec![json_response(400, validation_envelope())],
    )
    .await;

    let err = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();

    match &err {
        Error::Validation {
            operation,
            message,
            errors,
            ..
        } => {
            assert_eq!(*operation, "create_time_pass");
            assert_eq!(message, "Name: is a required field");
            assert_eq!(errors.len(), 2, "{errors:?}");
            assert_eq!(errors[0].property, "Name");
            assert_eq!(errors[0].message, "is a required field");
            assert_eq!(errors[0].attempted_value, None);
            assert_eq!(errors[1].property, "Price");
            assert_eq!(errors[1].message, "must be zero or more");
            assert_eq!(errors[1].attempted_value, Some(json!(-5)));
        }
        other => panic!("expected Error::Validation, got {other:?}"),
    }
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(
        received(&server, "POST", TIME_PASSES).await.len(),
        1,
        "a 400 is not retried"
    );
    assert_hides_secrets(&err);
}

#[tokio::test]
async fn a_200_envelope_that_was_not_successful_is_a_validation_error() {
    let server = MockServer::start().await;
    let mut envelope = validation_envelope();
    envelope["Status"] = json!(200);
    mount_in_order(
        &server,
        "POST",
        TIME_PASSES,
        vec![json_response(200, envelope)],
    )
    .await;

    let err = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();

    match &err {
        Error::Validation { errors, .. } => {
            let names: Vec<&str> = errors.iter().map(|e| e.property.as_str()).collect();
            assert_eq!(names, ["Name", "Price"]);
        }
        other => panic!("expected Error::Validation, got {other:?}"),
    }
    assert_hides_secrets(&err);
}

#[tokio::test]
async fn a_failed_delete_envelope_keeps_its_500_status() {
    // The documented delete failure (REFERENCE §4.6): HTTP 500 with an
    // envelope. It is no validation failure and its status is 500.
    let server = MockServer::start().await;
    let failure = json!({
        "Status": 500,
        "Message": "An error occurred while deleting the record.",
        "Value": null,
        "RedirectURL": null,
        "UpdatedOn": null,
        "UpdatedBy": null,
        "Errors": null,
        "WasSuccessful": false
    });
    mount_in_order(
        &server,
        "DELETE",
        &pass_path(PASS_ID),
        vec![json_response(500, failure)],
    )
    .await;

    let err = bearer_client(&server)
        .time_passes()
        .delete(PASS_ID)
        .await
        .unwrap_err();

    assert!(
        err.to_string()
            .contains("An error occurred while deleting the record."),
        "{err}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500), "{err:?}");
}

#[tokio::test]
async fn an_undecodable_body_is_a_decode_error_naming_the_operation_and_path() {
    let mut body = time_pass(PASS_ID);
    body["Price"] = json!("abc");
    let (err, _server) = get_error(json_response(200, body)).await;
    match &err {
        Error::Decode {
            operation,
            path,
            excerpt,
            ..
        } => {
            assert_eq!(*operation, "get_time_pass");
            assert_eq!(path, "Price");
            assert!(excerpt.starts_with('{'), "{excerpt}");
        }
        other => panic!("expected Error::Decode, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.contains("get_time_pass") && shown.contains("Price"),
        "{shown}"
    );
}

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
