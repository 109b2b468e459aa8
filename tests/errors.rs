//! Behaviour tests of the errors the client reports: the variant and status
//! each kind of answer maps to (refusals that are not the documented shape,
//! lenient envelopes, decode failures, listings that make no sense), error
//! text that stays bounded whatever the server sends, and secrets scrubbed
//! from every text even when the server echoes requests back.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::Engine as _;
use common::*;
use futures::StreamExt;
use nexudus_timepasses::{Client, Credentials, Error};
use serde_json::{json, Value};
use wiremock::{
    matchers::{method, path},
    Mock, MockServer, Request, ResponseTemplate,
};

// ---------------------------------------------------------------------------
// The variant and status of each kind of answer
// ---------------------------------------------------------------------------

/// `GET /api/billing/timepasses/{PASS_ID}` answered `response`, through a
/// bearer client; the error of the get.
async fn get_error(response: ResponseTemplate) -> (Error, MockServer) {
    let server = MockServer::start().await;
    mount(&server, "GET", &pass_path(PASS_ID), response).await;
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
            transient,
        } => {
            assert_eq!(*operation, "get_time_pass");
            assert_eq!(status.as_u16(), 418);
            assert!(!transient);
            assert_eq!(excerpt, "I'm a teapot, not a pass");
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    assert!(err.to_string().contains("418"), "{err}");
}

/// A 500 whose body is not the API's JSON (a stack trace, the "Ooops!"
/// page the API answers transient bursts with) is a failure of the
/// service: GET and DELETE try again, and the last attempt's error is a
/// transient `Api` error with a short excerpt.
#[tokio::test]
async fn a_500_error_page_is_transient_and_retried_with_a_short_excerpt() {
    let long = format!("Internal Server Error: {}", "stack frame; ".repeat(200));
    let (err, server) = get_error(ResponseTemplate::new(500).set_body_string(long)).await;
    match &err {
        Error::Api {
            status,
            message: excerpt,
            transient,
            ..
        } => {
            assert_eq!(status.as_u16(), 500);
            assert!(transient, "{err:?}");
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
    assert!(err.is_retryable(), "{err:?}");
    // fast_retry: 3 attempts in all.
    assert_eq!(received(&server, "GET", &pass_path(PASS_ID)).await.len(), 3);

    mount(
        &server,
        "DELETE",
        &pass_path(PASS_ID),
        ResponseTemplate::new(500).set_body_raw(
            "<!DOCTYPE html><html><head><title>Ooops!</title></head></html>",
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
            transient,
        } => {
            assert_eq!(status.as_u16(), 500, "{err:?}");
            assert_eq!(*operation, "delete_time_pass");
            assert!(message.contains("Ooops!"), "{err:?}");
            assert!(transient, "{err:?}");
        }
        other => panic!("expected Api, got {other:?}"),
    }
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(
        received(&server, "DELETE", &pass_path(PASS_ID)).await.len(),
        3
    );
}

#[tokio::test]
async fn a_400_envelope_is_a_validation_error_with_every_field() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        TIME_PASSES,
        json_response(400, validation_envelope()),
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
    mount(&server, "POST", TIME_PASSES, json_response(200, envelope)).await;

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
    // envelope. It is no validation failure, its status is 500, and, being
    // the API's JSON, it is final.
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
    mount(
        &server,
        "DELETE",
        &pass_path(PASS_ID),
        json_response(500, failure),
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
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500), "{err:?}"); // The API's answer, not a burst: final, sent once.
    assert!(!err.is_retryable(), "{err:?}");
    assert_eq!(
        received(&server, "DELETE", &pass_path(PASS_ID)).await.len(),
        1
    );
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

// ---------------------------------------------------------------------------
// Statuses and variants of refusals that are not the documented shape
// ---------------------------------------------------------------------------

/// A 400 whose body is not an envelope (HTML, other JSON, an array,
/// nothing) is still `Validation` with status 400 and the start of the body
/// as its message, not a decode error without a status.
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

/// An envelope whose `Errors` hold nulls, strings, numbers and objects
/// with missing fields is read: every usable entry is reported.
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

/// A 200 envelope with `WasSuccessful: false` whose `Errors` hold a null
/// and a string is `Validation` with status 200, keeping the string.
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

/// A create answered 200 with an envelope whose `WasSuccessful` is not a
/// boolean (`"yes"`) or is missing, with a `Value.Id` as if it had worked,
/// may or may not have written the record. It fails as `Decode` with status
/// 200 whose text says the outcome is unknown; it is never `Validation`,
/// which promises that nothing was written. An envelope with
/// `WasSuccessful: false` stays `Validation`.
#[tokio::test]
async fn a_create_envelope_without_a_boolean_was_successful_is_a_decode_error_with_an_unknown_outcome(
) {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        TIME_PASSES,
        json_response(200, validation_envelope()),
    )
    .await;
    let err = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation { status, .. } if status.as_u16() == 200),
        "WasSuccessful false: expected Validation, got {err:?}"
    );

    let mut yes = ok_envelope(5, "created");
    yes["WasSuccessful"] = json!("yes");
    let mut missing = ok_envelope(5, "created");
    missing.as_object_mut().unwrap().remove("WasSuccessful");
    // Both cases are tried before failing, so that one run shows both.
    let mut wrong = Vec::new();
    for (what, envelope) in [("\"yes\"", yes), ("missing", missing)] {
        let server = MockServer::start().await;
        mount(&server, "POST", TIME_PASSES, json_response(200, envelope)).await;
        let outcome = bearer_client(&server)
            .time_passes()
            .create(new_time_pass())
            .await;
        match outcome {
            Err(err @ Error::Decode { status, .. }) if status.as_u16() == 200 => {
                if !err.to_string().contains("outcome is unknown") {
                    wrong.push(format!(
                        "WasSuccessful {what}: Decode without \"outcome is unknown\": {err}"
                    ));
                }
            }
            other => wrong.push(format!(
                "WasSuccessful {what}: expected Decode (200), got {other:?}"
            )),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// A body with data after the JSON value is a `Decode` error that says so.
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

/// A listing whose pages keep repeating records already yielded stops with
/// `InconsistentListing`, instead of walking on to the last page the server
/// claims and ending as if all was well.
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

// ---------------------------------------------------------------------------
// Bounded error text
// ---------------------------------------------------------------------------

/// The largest Display or Debug an error may have, whatever the server sent.
const TEXT_BUDGET: usize = 4096;

/// Every error stays within a few kilobytes whatever the server sends: no
/// error quotes a whole bad value or a whole body (a 10 MB string must not
/// make a 10 MB Display), and each keeps the status its answer means.
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
// Secrets scrubbed from what the server echoes
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

/// No secret reaches any text the crate produces (errors, their sources,
/// Debug of clients, logs and spans) with a server that echoes requests back
/// in every kind of failure: OAuth fields quoting the form, decode errors
/// quoting tokens, refused refreshes, body excerpts, redirect locations.
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

/// A one-character password is scrubbed where it stands alone, not inside
/// every word that holds the character: the token endpoint's
/// `error_description` "the account was updated" stays readable.
#[tokio::test]
async fn a_one_character_secret_is_not_masked_inside_words() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        TOKEN_PATH,
        json_response(
            400,
            json!({"error": "invalid_grant", "error_description": "the account was updated"}),
        ),
    )
    .await;
    let err = client(&server, Credentials::password(EMAIL, "d"))
        .time_passes()
        .get(PASS_ID)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unauthorized { code: Some(code), .. } if code == "invalid_grant"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("the account was updated"),
        "the description was masked inside its words: {err}"
    );
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
