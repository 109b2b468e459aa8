//! The stand-in server over HTTP (reqwest, 127.0.0.1 only): the token
//! endpoint, auth, listings, batch get, writes and their refusals, commands,
//! limits, seeded quirks, shutdown. Bodies decode into the generated types,
//! so a drift from openapi.yaml fails here.

use std::time::Duration;

use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::stand_in::{FailWith, StandIn, StandInBuilder};
use nexudus_timepasses::types::{
    CoworkerTimePass, CoworkerTimePassPage, MutationResult, OAuthError, ProductTimePassPage,
    TimePass, TimePassPage, TokenResponse,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

const CTP: &str = "/api/billing/coworkertimepasses";
const TP: &str = "/api/billing/timepasses";
const PTP: &str = "/api/billing/producttimepasses";

async fn start(builder: StandInBuilder) -> StandIn {
    builder.start().await.expect("the stand-in starts")
}

async fn small() -> StandIn {
    start(
        StandIn::builder()
            .records(Resource::TimePasses, 10)
            .records(Resource::CoworkerTimePasses, 120)
            .records(Resource::ProductTimePasses, 12),
    )
    .await
}

/// A request with the stand-in's basic credentials.
fn call(server: &StandIn, method: Method, path: &str) -> RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url()))
        .basic_auth(server.email(), Some(server.password()))
}

async fn get(server: &StandIn, path: &str) -> Response {
    call(server, Method::GET, path)
        .send()
        .await
        .expect("an answer")
}

async fn json_of<T: serde::de::DeserializeOwned>(response: Response) -> T {
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn send_json(server: &StandIn, method: Method, path: &str, body: &Value) -> Response {
    call(server, method, path)
        .json(body)
        .send()
        .await
        .expect("an answer")
}

async fn token_form(server: &StandIn, form: &[(&str, &str)]) -> Response {
    reqwest::Client::new()
        .post(format!("{}/api/token", server.base_url()))
        .form(form)
        .send()
        .await
        .expect("an answer")
}

async fn sign_in(server: &StandIn) -> TokenResponse {
    let form = [
        ("grant_type", "password"),
        ("username", server.email()),
        ("password", server.password()),
    ];
    let response = token_form(server, &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await
}

async fn oauth_error(response: Response) -> String {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    json_of::<OAuthError>(response).await.error
}

#[tokio::test]
async fn token_endpoint_takes_forms_only_and_rotates_refresh_tokens() {
    let server = small().await;
    let json_body = reqwest::Client::new()
        .post(format!("{}/api/token", server.base_url()))
        .json(&json!({"grant_type": "password", "username": server.email(), "password": server.password()}))
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(json_body).await, "unsupported_grant_type");
    let wrong = [
        ("grant_type", "password"),
        ("username", server.email()),
        ("password", "nope"),
    ];
    assert_eq!(
        oauth_error(token_form(&server, &wrong).await).await,
        "invalid_grant"
    );
    let empty = [
        ("grant_type", "password"),
        ("username", ""),
        ("password", ""),
    ];
    assert_eq!(
        oauth_error(token_form(&server, &empty).await).await,
        "invalid_grant"
    );
    let odd = [("grant_type", "client_credentials")];
    assert_eq!(
        oauth_error(token_form(&server, &odd).await).await,
        "unsupported_grant_type"
    );

    let first = sign_in(&server).await;
    assert_eq!(first.token_type, "bearer");
    let old = first.refresh_token.expect("a refresh token");
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", old.as_str()),
    ];
    let second: TokenResponse = json_of(token_form(&server, &refresh).await).await;
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(
        oauth_error(token_form(&server, &refresh).await).await,
        "invalid_grant"
    );
    let newer = second.refresh_token.expect("a new refresh token");
    let other_client = [
        ("grant_type", "refresh_token"),
        ("refresh_token", newer.as_str()),
        ("client_id", "someone-else"),
    ];
    assert_eq!(
        oauth_error(token_form(&server, &other_client).await).await,
        "invalid_grant"
    );
    assert_eq!(server.stats().token_exchanges, 2);
}

#[tokio::test]
async fn two_factor_code_is_required_when_configured() {
    let server = start(
        StandIn::builder()
            .records(Resource::CoworkerTimePasses, 1)
            .totp("123456"),
    )
    .await;
    let base = [
        ("grant_type", "password"),
        ("username", server.email()),
        ("password", server.password()),
    ];
    assert_eq!(
        oauth_error(token_form(&server, &base).await).await,
        "two_factor_auth_check"
    );
    let mut wrong = base.to_vec();
    wrong.push(("totp", "000000"));
    assert_eq!(
        oauth_error(token_form(&server, &wrong).await).await,
        "invalid_grant"
    );
    let mut right = base.to_vec();
    right.push(("totp", "123456"));
    assert_eq!(token_form(&server, &right).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn resource_calls_need_bearer_or_basic_auth() {
    let server = small().await;
    let url = format!("{}{TP}", server.base_url());
    let http = reqwest::Client::new();
    let none = http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(none.bytes().await.unwrap().is_empty());
    let wrong = http
        .get(&url)
        .basic_auth(server.email(), Some("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let junk = http
        .get(&url)
        .header("authorization", "Basic %%%")
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status(), StatusCode::UNAUTHORIZED);
    let token = sign_in(&server).await.access_token;
    let bearer = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    assert_eq!(get(&server, TP).await.status(), StatusCode::OK);
    assert_eq!(server.stats().unauthorized, 3);
}

#[tokio::test]
async fn tokens_expire_after_the_ttl() {
    let server = start(
        StandIn::builder()
            .records(Resource::CoworkerTimePasses, 1)
            .token_ttl(Duration::from_millis(300)),
    )
    .await;
    let token = sign_in(&server).await.access_token;
    let url = format!("{}{TP}", server.base_url());
    let http = reqwest::Client::new();
    let mut status = StatusCode::OK;
    for _ in 0..50 {
        status = http
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the token never expired");
}

#[tokio::test]
async fn page_envelope_has_every_documented_key_and_listings_leave_fields_out() {
    let server = small().await;
    let page: Value = json_of(get(&server, &format!("{CTP}?size=5&page=2")).await).await;
    for key in [
        "Records",
        "CurrentPage",
        "CurrentPageSize",
        "CurrentOrderField",
        "CurrentSortDirection",
        "FirstItem",
        "LastItem",
        "TotalItems",
        "TotalPages",
        "HasNextPage",
        "HasPreviousPage",
        "PageNumber",
        "PageSize",
    ] {
        assert!(page.get(key).is_some(), "page lacks {key}");
    }
    assert_eq!(
        (page["FirstItem"].as_i64(), page["LastItem"].as_i64()),
        (Some(6), Some(10))
    );
    let item = &page["Records"][0];
    for left_out in ["Notes", "PurchaseOrder", "Free", "Price", "CreateMultiple"] {
        assert!(
            item.get(left_out).is_none(),
            "listing record has {left_out}"
        );
    }
    let id = item["Id"].as_i64().unwrap();
    let full: Value = json_of(get(&server, &format!("{CTP}/{id}")).await).await;
    for kept in [
        "Notes",
        "PurchaseOrder",
        "Free",
        "Price",
        "CreateMultiple",
        "CustomFields",
    ] {
        assert!(full.get(kept).is_some(), "full record lacks {kept}");
    }
    let tp: Value = json_of(get(&server, TP).await).await;
    for left_out in [
        "CountsTowardsPlanLimits",
        "OnlyForContacts",
        "OnlyForMembers",
    ] {
        assert!(tp["Records"][0].get(left_out).is_none());
    }
    let ptp: Value = json_of(get(&server, PTP).await).await;
    for left_out in ["ExpireTimeInMonths", "ExpireTimeInWeeks", "ExpiresIn"] {
        assert!(ptp["Records"][0].get(left_out).is_none());
    }
    // And each decodes into the generated page types.
    let _: CoworkerTimePassPage = serde_json::from_value(page).unwrap();
    let _: TimePassPage = serde_json::from_value(tp).unwrap();
    let _: ProductTimePassPage = serde_json::from_value(ptp).unwrap();
}

async fn all_ids(server: &StandIn, query: &str) -> Vec<i32> {
    let mut ids = Vec::new();
    for page in 1..=100 {
        let p: CoworkerTimePassPage =
            json_of(get(server, &format!("{CTP}?size=7&page={page}{query}")).await).await;
        ids.extend(p.records.iter().map(|r| r.id));
        if !p.has_next_page {
            return ids;
        }
    }
    panic!("more than 100 pages");
}

#[tokio::test]
async fn paging_sorting_and_filters() {
    let server = small().await;
    let up = all_ids(&server, "").await;
    assert_eq!(up.len(), 120);
    assert!(up.windows(2).all(|w| w[0] < w[1]));
    let mut down = all_ids(&server, "&dir=-1").await;
    down.reverse();
    assert_eq!(up, down);

    let by_name: TimePassPage =
        json_of(get(&server, &format!("{TP}?orderBy=Name&size=100")).await).await;
    let names: Vec<_> = by_name.records.iter().map(|r| r.name.clone()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(by_name.current_order_field.as_deref(), Some("Name"));

    let used: CoworkerTimePassPage = json_of(
        get(
            &server,
            &format!("{CTP}?size=500&CoworkerTimePass_Used=true"),
        )
        .await,
    )
    .await;
    assert!(used.total_items > 0 && used.records.iter().all(|r| r.used));
    let pass = used.records[0].time_pass_id;
    let of_pass: CoworkerTimePassPage = json_of(
        get(
            &server,
            &format!("{CTP}?size=500&CoworkerTimePass_TimePass={pass}"),
        )
        .await,
    )
    .await;
    assert!(of_pass.records.iter().all(|r| r.time_pass_id == pass));
    let ranged: TimePassPage = json_of(
        get(
            &server,
            &format!("{TP}?size=100&from_TimePass_Price=50&to_TimePass_Price=100"),
        )
        .await,
    )
    .await;
    assert!(ranged
        .records
        .iter()
        .all(|r| (50.0..=100.0).contains(&r.price)));
}

#[tokio::test]
async fn date_ranges_are_minute_precise_and_inclusive() {
    let server = small().await;
    let page: CoworkerTimePassPage =
        json_of(get(&server, &format!("{CTP}?size=1&page=40")).await).await;
    let record = &page.records[0];
    let minute = record.updated_on.format("%Y-%m-%dT%H:%M").to_string();
    let query = format!(
        "{CTP}?size=500&from_CoworkerTimePass_UpdatedOn={minute}&to_CoworkerTimePass_UpdatedOn={minute}"
    );
    let found: CoworkerTimePassPage = json_of(get(&server, &query).await).await;
    assert!(
        found.records.iter().any(|r| r.id == record.id),
        "{minute} left out its own record"
    );
    let later = (record.updated_on + chrono::TimeDelta::minutes(1)).format("%Y-%m-%dT%H:%M");
    let after: CoworkerTimePassPage = json_of(
        get(
            &server,
            &format!("{CTP}?size=500&from_CoworkerTimePass_UpdatedOn={later}"),
        )
        .await,
    )
    .await;
    assert!(after.records.iter().all(|r| r.id != record.id));
}

#[tokio::test]
async fn batch_get_leaves_missing_ids_out() {
    let server = small().await;
    let page: TimePassPage = json_of(get(&server, &format!("{TP}?size=2")).await).await;
    let (a, b) = (page.records[0].id, page.records[1].id);
    let path = format!("{TP}/?id=[{b},999999,{a}]");
    let records: Vec<TimePass> = json_of(get(&server, &path).await).await;
    let ids: Vec<_> = records.iter().map(|r| r.id).collect();
    assert_eq!(ids, [b, a]);
}

async fn refused(response: Response) -> Vec<String> {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let envelope: MutationResult = json_of(response).await;
    assert!(!envelope.was_successful);
    envelope
        .errors
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.property_name)
        .collect()
}

#[tokio::test]
async fn create_validates_required_fields_types_and_references() {
    let server = small().await;
    let pass: TimePassPage = json_of(get(&server, TP).await).await;
    let pass_id = pass.records[0].id;
    let post = |body: Value| {
        let server = &server;
        async move { send_json(server, Method::POST, CTP, &body).await }
    };
    assert_eq!(refused(post(json!({})).await).await.len(), 4);
    let zero =
        json!({"CoworkerId": 0, "BusinessId": 1001, "TimePassId": pass_id, "CreateMultiple": 1});
    assert_eq!(refused(post(zero).await).await, ["CoworkerId"]);
    let missing =
        json!({"CoworkerId": 5, "BusinessId": 1001, "TimePassId": 77, "CreateMultiple": 1});
    assert_eq!(refused(post(missing).await).await, ["TimePassId"]);
    let many =
        json!({"CoworkerId": 5, "BusinessId": 1001, "TimePassId": pass_id, "CreateMultiple": 501});
    assert_eq!(refused(post(many).await).await, ["CreateMultiple"]);
    let typed = json!({"CoworkerId": "five", "BusinessId": 1001, "TimePassId": pass_id, "CreateMultiple": 1});
    assert_eq!(refused(post(typed).await).await, ["CoworkerId"]);
    let raw = call(&server, Method::POST, CTP)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(refused(raw).await, ["Body"]);

    let ok = json!({"CoworkerId": 5, "BusinessId": 1001, "TimePassId": pass_id, "CreateMultiple": 3,
                    "Notes": "Zoë said \"hi\"\nthen left"});
    let response = post(ok).await;
    assert_eq!(response.status(), StatusCode::OK);
    let envelope: MutationResult = json_of(response).await;
    let id = envelope
        .value
        .and_then(|v| v.0)
        .and_then(|v| v.id)
        .expect("Value.Id");
    let stored: CoworkerTimePass = json_of(get(&server, &format!("{CTP}/{id}")).await).await;
    assert_eq!(stored.notes.as_deref(), Some("Zoë said \"hi\"\nthen left"));
    assert_eq!(stored.time_pass_name, pass.records[0].name.clone().into());
    let page: CoworkerTimePassPage = json_of(get(&server, &format!("{CTP}?size=1")).await).await;
    assert_eq!(page.total_items, 123, "CreateMultiple 3 made three records");
}

#[tokio::test]
async fn put_replaces_the_whole_record_and_moves_updated_on() {
    let server = small().await;
    let page: CoworkerTimePassPage = json_of(
        get(
            &server,
            &format!("{CTP}?size=500&CoworkerTimePass_Used=false"),
        )
        .await,
    )
    .await;
    let id = page.records[0].id;
    let before: CoworkerTimePass = json_of(get(&server, &format!("{CTP}/{id}")).await).await;
    let mut body = serde_json::to_value(&before).unwrap();
    body["Notes"] = json!("kept");
    body["PurchaseOrder"] = json!("PO-1");
    assert_eq!(
        send_json(&server, Method::PUT, CTP, &body).await.status(),
        StatusCode::OK
    );
    let full: CoworkerTimePass = json_of(get(&server, &format!("{CTP}/{id}")).await).await;
    assert_eq!(full.notes.as_deref(), Some("kept"));
    assert_eq!(full.created_on, before.created_on);
    assert!(full.updated_on > before.updated_on);

    let bare = json!({"Id": id, "CoworkerId": before.coworker_id, "BusinessId": before.business_id,
                      "TimePassId": before.time_pass_id, "CreateMultiple": 0});
    assert_eq!(
        send_json(&server, Method::PUT, CTP, &bare).await.status(),
        StatusCode::OK
    );
    let cleared: CoworkerTimePass = json_of(get(&server, &format!("{CTP}/{id}")).await).await;
    assert_eq!(cleared.notes, None);
    assert_eq!(cleared.purchase_order, None);
    // To the second, as the API stamps it: two writes in one second share it.
    assert!(cleared.updated_on >= full.updated_on, "UpdatedOn went back");

    let unknown = json!({"Id": 5, "CoworkerId": 1, "BusinessId": 1, "TimePassId": before.time_pass_id, "CreateMultiple": 0});
    assert_eq!(
        refused(send_json(&server, Method::PUT, CTP, &unknown).await).await,
        ["Id"]
    );
}

#[tokio::test]
async fn a_time_pass_in_use_cannot_be_deleted() {
    let server = small().await;
    let held: CoworkerTimePassPage = json_of(get(&server, &format!("{CTP}?size=1")).await).await;
    let pass = held.records[0].time_pass_id;
    let response = call(&server, Method::DELETE, &format!("{TP}/{pass}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let envelope: MutationResult = json_of(response).await;
    assert_eq!(
        (envelope.status, envelope.was_successful),
        (Some(500), false)
    );

    let body = json!({"BusinessId": 1001, "Name": "Unused", "Price": 5.0, "CurrencyId": 1});
    let created: MutationResult = json_of(send_json(&server, Method::POST, TP, &body).await).await;
    let id = created.value.and_then(|v| v.0).and_then(|v| v.id).unwrap();
    let deleted = call(&server, Method::DELETE, &format!("{TP}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(
        get(&server, &format!("{TP}/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let again = call(&server, Method::DELETE, &format!("{TP}/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn commands_run_on_records() {
    let server = small().await;
    let list: Value = json_of(get(&server, &format!("{CTP}/commands")).await).await;
    assert_eq!(list[0]["Key"], "MarkAsUsed");
    let page: CoworkerTimePassPage = json_of(
        get(
            &server,
            &format!("{CTP}?size=1&CoworkerTimePass_Used=false"),
        )
        .await,
    )
    .await;
    let id = page.records[0].id;
    let path = format!("{CTP}/runcommand");
    let run = |body: Value| {
        let (server, path) = (&server, &path);
        async move { send_json(server, Method::POST, path, &body).await }
    };
    assert_eq!(
        refused(run(json!({"Key": "", "Ids": [id]})).await).await,
        ["Key"]
    );
    assert_eq!(
        refused(run(json!({"Key": "Nope", "Ids": [id]})).await).await,
        ["Key"]
    );
    assert_eq!(
        refused(run(json!({"Key": "MarkAsUsed", "Ids": [1]})).await).await,
        ["Ids"]
    );
    assert_eq!(
        run(json!({"Key": "MarkAsUsed", "Ids": [id]}))
            .await
            .status(),
        StatusCode::OK
    );
    let record: CoworkerTimePass = json_of(get(&server, &format!("{CTP}/{id}")).await).await;
    assert!(record.used && record.used_date.is_some());
}

#[tokio::test]
async fn odd_requests_get_answers_not_panics() {
    let server = small().await;
    for path in [
        format!("{CTP}?size=99999999999&page=-3"),
        format!("{CTP}?size=-1&page=abc&dir=sideways&orderBy=Nope"),
        format!("{CTP}?page=2147483647&size=2147483647"),
        format!("{CTP}?CoworkerTimePass_Used=maybe&from_CoworkerTimePass_UpdatedOn=yesterday"),
    ] {
        let response = get(&server, &path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let _: CoworkerTimePassPage = json_of(response).await;
    }
    for path in [
        format!("{CTP}/abc"),
        format!("{CTP}/99999999999"),
        format!("{CTP}/-1"),
    ] {
        assert_eq!(
            get(&server, &path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let huge: CoworkerTimePassPage =
        json_of(get(&server, &format!("{CTP}?size=100000")).await).await;
    assert_eq!(huge.records.len(), 120);
    let wrong_shape = send_json(&server, Method::PUT, TP, &json!([1, 2])).await;
    assert_eq!(refused(wrong_shape).await, ["Body"]);
}

#[tokio::test]
async fn limits_throttle_with_409_and_fail_every_nth_with_html() {
    let server = start(
        StandIn::builder()
            .records(Resource::CoworkerTimePasses, 5)
            .read_limit(2.0),
    )
    .await;
    let mut throttled = None;
    for _ in 0..10 {
        let response = get(&server, TP).await;
        if response.status() == StatusCode::CONFLICT {
            throttled = Some(response);
            break;
        }
    }
    let response = throttled.expect("no 409 within 10 quick GETs at 2 per second");
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert!(response.bytes().await.unwrap().is_empty());
    assert!(server.stats().throttled >= 1);
    // reqwest does not show the reason phrase: read the status line itself.
    let line = loop {
        let line = status_line(&server, TP).await;
        if line.starts_with("HTTP/1.1 409") {
            break line;
        }
    };
    assert_eq!(
        line,
        "HTTP/1.1 409 You must wait before accessing this url again."
    );

    let server = start(
        StandIn::builder()
            .records(Resource::CoworkerTimePasses, 5)
            .fail_every(3),
    )
    .await;
    let statuses: Vec<_> = futures_statuses(&server, 6).await;
    assert_eq!(statuses[2], StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(statuses[5], StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(statuses.iter().filter(|s| s.is_success()).count(), 4);
    let stats = server.stats();
    assert_eq!((stats.injected_failures, stats.gets), (2, 6));

    let server = start(
        StandIn::builder()
            .records(Resource::CoworkerTimePasses, 5)
            .fail_every(2)
            .fail_with(FailWith::ServerError),
    )
    .await;
    let answers = [get(&server, TP).await, get(&server, TP).await];
    assert_eq!(answers[0].status(), StatusCode::OK);
    let [_, page] = answers;
    assert_eq!(page.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(page.text().await.unwrap().contains("<title>Ooops!</title>"));
}

/// The first line of a raw HTTP/1.1 GET's answer (the status line with its
/// reason phrase, which reqwest does not expose).
async fn status_line(server: &StandIn, path: &str) -> String {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        server.email(),
        server.password()
    ));
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {auth}\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or_default().to_owned()
}

async fn futures_statuses(server: &StandIn, n: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let response = get(server, TP).await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(kind.starts_with("text/html"), "{kind}");
        }
        statuses.push(response.status());
    }
    statuses
}

#[tokio::test]
async fn seeded_data_is_deterministic_and_has_the_quirks() {
    let a = start(
        StandIn::builder()
            .seed(7)
            .records(Resource::CoworkerTimePasses, 50),
    )
    .await;
    let b = start(
        StandIn::builder()
            .seed(7)
            .records(Resource::CoworkerTimePasses, 50),
    )
    .await;
    let path = format!("{CTP}?size=50");
    let first = get(&a, &path).await.text().await.unwrap();
    let second = get(&b, &path).await.text().await.unwrap();
    assert_eq!(first, second);
    let ptp = get(&a, &format!("{PTP}?size=40"))
        .await
        .text()
        .await
        .unwrap();
    assert!(ptp.contains("\"ExpirationType\":0"));
    let tp = get(&a, &format!("{TP}?size=40"))
        .await
        .text()
        .await
        .unwrap();
    assert!(tp.contains("\"Integration\":{"), "no nested extra field");
    assert!(tp.contains("Café «Día» pass") && tp.contains("\\\"Flex\\\"") && tp.contains("\\n"));
    assert!(tp.contains("\"CustomFields\":null"));
}

#[tokio::test]
async fn dropping_the_server_stops_it() {
    let server = small().await;
    let url = format!("{}{TP}", server.base_url());
    drop(server);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let mut refused = false;
    for _ in 0..50 {
        if http.get(&url).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "still answering after drop");
}

/// The fields every record of every resource carries (the docs' common
/// fields, and the three their example answers always show).
const COMMON_FIELDS: &[&str] = &[
    "Id",
    "UniqueId",
    "CreatedOn",
    "UpdatedOn",
    "UpdatedBy",
    "IsNew",
    "SystemId",
    "ToStringText",
    "LocalizationDetails",
    "CustomFields",
];

/// Each resource's documented fields (the docs' field tables), and those
/// the docs say listings leave out.
const DOCUMENTED: [(&str, &[&str], &[&str]); 3] = [
    (
        TP,
        &[
            "BusinessId",
            "BusinessName",
            "Name",
            "InvoiceLineDisplayAs",
            "Price",
            "MinutesIncluded",
            "CountsTowardsPlanLimits",
            "UseAsPayAsYouGoForMembers",
            "UseAsPayAsYouGoForContacts",
            "UsePriority",
            "CurrencyId",
            "CurrencyCode",
            "TaxRateId",
            "ReducedTaxRateId",
            "ExemptTaxRateId",
            "FinancialAccountId",
            "Businesses",
            "KisiGroupId",
            "DoorGuardGroupId",
            "AccessControlGroupId",
            "AccessControlGroupIds",
            "AllowNetworkCheckIn",
            "OnlyForContacts",
            "OnlyForMembers",
            "Tariffs",
            "Archived",
        ],
        &[
            "CountsTowardsPlanLimits",
            "OnlyForContacts",
            "OnlyForMembers",
        ],
    ),
    (
        CTP,
        &[
            "CoworkerId",
            "BusinessId",
            "TimePassId",
            "TimePassName",
            "TimePassCurrencyCode",
            "Notes",
            "PurchaseOrder",
            "Used",
            "CheckedIn",
            "UsedDate",
            "RemainingUses",
            "TotalUses",
            "Free",
            "Price",
            "CreateMultiple",
            "ExpireDate",
            "Invoiced",
            "InvoiceDate",
            "IsFromTariff",
            "IsPayAsYouGo",
            "TariffTimePassUniqueId",
            "CoworkerProductUniqueId",
            "CoworkerContractUniqueId",
        ],
        &["Notes", "PurchaseOrder", "Free", "Price", "CreateMultiple"],
    ),
    (
        PTP,
        &[
            "ProductId",
            "ProductName",
            "TimePassId",
            "TimePassName",
            "PassesIncluded",
            "ExpireTimeInMonths",
            "ExpireTimeInWeeks",
            "ExpirationType",
            "ExpiresIn",
        ],
        &["ExpireTimeInMonths", "ExpireTimeInWeeks", "ExpiresIn"],
    ),
];

/// Every documented field is in every full record (get and batch get),
/// nulls included; listings carry all but the ones the docs say they leave
/// out, and leave those out.
#[tokio::test]
async fn every_documented_field_is_written_nulls_included() {
    let server = start(
        StandIn::builder()
            .records(Resource::TimePasses, 12)
            .records(Resource::CoworkerTimePasses, 40)
            .records(Resource::ProductTimePasses, 12),
    )
    .await;
    for (path, fields, unlisted) in DOCUMENTED {
        let every = || fields.iter().chain(COMMON_FIELDS);
        let listing: Value = json_of(get(&server, &format!("{path}?size=100")).await).await;
        let records = listing["Records"].as_array().expect("Records");
        assert!(!records.is_empty(), "{path}: no records");
        let ids: Vec<String> = records.iter().map(|r| r["Id"].to_string()).collect();
        for record in records {
            let record = record.as_object().unwrap();
            for name in every().filter(|n| !unlisted.contains(n)) {
                assert!(record.contains_key(*name), "{path} listing lacks {name}");
            }
            for name in unlisted {
                assert!(!record.contains_key(*name), "{path} listing has {name}");
            }
        }
        let batch: Value =
            json_of(get(&server, &format!("{path}/?id=[{}]", ids.join(","))).await).await;
        let batch = batch.as_array().expect("a batch is an array");
        assert_eq!(batch.len(), ids.len(), "{path}: batch get");
        let one: Value = json_of(get(&server, &format!("{path}/{}", ids[0])).await).await;
        for record in batch.iter().chain([&one]) {
            let record = record.as_object().unwrap();
            for name in every() {
                assert!(
                    record.contains_key(*name),
                    "{path} record lacks {name}: {record:?}"
                );
            }
        }
    }
}

/// Writes stamp `UpdatedOn` to the second with `Z`, as the docs show.
#[tokio::test]
async fn timestamps_are_written_to_the_second() {
    let server = small().await;
    let body = json!({"BusinessId": 1001, "Name": "Stamped", "Price": 5.0, "CurrencyId": 1});
    let created: MutationResult = json_of(send_json(&server, Method::POST, TP, &body).await).await;
    let id = created.value.and_then(|v| v.0).and_then(|v| v.id).unwrap();
    let record: Value = json_of(get(&server, &format!("{TP}/{id}")).await).await;
    for field in ["CreatedOn", "UpdatedOn"] {
        let text = record[field].as_str().expect("a timestamp");
        assert_eq!(text.len(), "2025-01-15T10:30:00Z".len(), "{field}: {text}");
        assert!(
            text.ends_with('Z') && !text.contains('.'),
            "{field}: {text}"
        );
    }
}

/// A date field whose text is not a date is refused, naming the field.
#[tokio::test]
async fn a_date_that_is_not_a_date_is_refused() {
    let server = small().await;
    let pass: TimePassPage = json_of(get(&server, TP).await).await;
    let pass_id = pass.records[0].id;
    let body = json!({"CoworkerId": 5, "BusinessId": 1001, "TimePassId": pass_id,
                      "CreateMultiple": 1, "ExpireDate": "next week"});
    assert_eq!(
        refused(send_json(&server, Method::POST, CTP, &body).await).await,
        ["ExpireDate"]
    );
    for date in ["2025-03-01T00:00:00Z", "2025-03-01T09:30:00", "2025-03-01"] {
        let body = json!({"CoworkerId": 5, "BusinessId": 1001, "TimePassId": pass_id,
                          "CreateMultiple": 1, "ExpireDate": date});
        let response = send_json(&server, Method::POST, CTP, &body).await;
        assert_eq!(response.status(), StatusCode::OK, "{date}");
    }
}

/// Values below the spec's `minimum` are refused with the field's name:
/// an update's Id 0, negative counts, a location Id of 0 in a list.
#[tokio::test]
async fn values_below_the_minimum_are_refused() {
    let server = small().await;
    let pass: TimePassPage = json_of(get(&server, TP).await).await;
    let pass_id = pass.records[0].id;
    let product: ProductTimePassPage = json_of(get(&server, PTP).await).await;
    let product_id = product.records[0].product_id;
    let post = |path: &'static str, body: Value| {
        let server = &server;
        async move { refused(send_json(server, Method::POST, path, &body).await).await }
    };
    let base = json!({"ProductId": product_id, "TimePassId": pass_id, "PassesIncluded": 2});
    let mut negative = base.clone();
    negative["PassesIncluded"] = json!(-1);
    assert_eq!(post(PTP, negative).await, ["PassesIncluded"]);
    let mut expires = base.clone();
    expires["ExpiresIn"] = json!(-3);
    assert_eq!(post(PTP, expires).await, ["ExpiresIn"]);
    let minutes = json!({"BusinessId": 1001, "Name": "x", "Price": 1.0, "CurrencyId": 1,
                         "MinutesIncluded": -60});
    assert_eq!(post(TP, minutes).await, ["MinutesIncluded"]);
    let places = json!({"BusinessId": 1001, "Name": "x", "Price": 1.0, "CurrencyId": 1,
                        "Businesses": [1001, 0]});
    assert_eq!(post(TP, places).await, ["Businesses"]);

    let mut record: Value = json_of(get(&server, &format!("{TP}/{pass_id}")).await).await;
    record["Id"] = json!(0);
    assert_eq!(
        refused(send_json(&server, Method::PUT, TP, &record).await).await,
        ["Id"]
    );
}

/// The legacy docs' plain `Id` filter selects that record alone.
#[tokio::test]
async fn the_plain_id_filter_selects_one_record() {
    let server = small().await;
    let all: CoworkerTimePassPage = json_of(get(&server, &format!("{CTP}?size=5")).await).await;
    let id = all.records[3].id;
    let one: CoworkerTimePassPage = json_of(get(&server, &format!("{CTP}?Id={id}")).await).await;
    assert_eq!(one.records.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
    assert_eq!(one.total_items, 1);
    let none: CoworkerTimePassPage = json_of(get(&server, &format!("{CTP}?Id=1")).await).await;
    assert_eq!(none.total_items, 0);
}

/// The deletes real tenants see refused: a CoworkerTimePass with
/// check-ins, a TimePass a pricing plan still lists; both answer the 500
/// envelope and keep the record. A record already gone answers 404.
#[tokio::test]
async fn deletes_the_api_refuses_keep_the_record() {
    let server = small().await;
    let delete = |path: String| {
        let server = &server;
        async move { call(server, Method::DELETE, &path).send().await.unwrap() }
    };
    let used: CoworkerTimePassPage =
        json_of(get(&server, &format!("{CTP}?CoworkerTimePass_Used=true&size=1")).await).await;
    let id = used.records[0].id;
    let answer = delete(format!("{CTP}/{id}")).await;
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let envelope: MutationResult = json_of(answer).await;
    assert!(!envelope.was_successful);
    assert_eq!(
        get(&server, &format!("{CTP}/{id}")).await.status(),
        StatusCode::OK
    );

    let passes: TimePassPage = json_of(get(&server, &format!("{TP}?size=100")).await).await;
    let listed = passes
        .records
        .iter()
        .find(|p| !p.tariffs.is_empty())
        .expect("a seeded TimePass that a pricing plan lists");
    let answer = delete(format!("{TP}/{}", listed.id)).await;
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        get(&server, &format!("{TP}/{}", listed.id)).await.status(),
        StatusCode::OK
    );

    let body = json!({"BusinessId": 1001, "Name": "Short-lived", "Price": 5.0, "CurrencyId": 1});
    let created: MutationResult = json_of(send_json(&server, Method::POST, TP, &body).await).await;
    let id = created.value.and_then(|v| v.0).and_then(|v| v.id).unwrap();
    assert_eq!(delete(format!("{TP}/{id}")).await.status(), StatusCode::OK);
    assert_eq!(
        delete(format!("{TP}/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// Bad bodies stay inside the API's envelope: a body over 2 MB (413), and
/// messages in the API's words with a `PropertyName: message` form.
#[tokio::test]
async fn bad_bodies_are_answered_in_the_envelope() {
    let server = small().await;
    let huge = format!("{{\"Name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let answer = call(&server, Method::POST, TP)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let envelope: Value = json_of(answer).await;
    assert_eq!(envelope["WasSuccessful"], json!(false));
    assert_eq!(envelope["Errors"][0]["PropertyName"], json!("Body"));

    let malformed = call(&server, Method::POST, TP)
        .body("{not json")
        .send()
        .await
        .unwrap();
    let envelope: Value = json_of(malformed).await;
    let message = envelope["Message"].as_str().unwrap();
    assert!(message.starts_with("Body: is not valid JSON"), "{message}");

    let typed = json!({"BusinessId": "one", "Name": "x", "Price": 1.0, "CurrencyId": 1});
    let envelope: Value = json_of(send_json(&server, Method::POST, TP, &typed).await).await;
    let message = envelope["Message"].as_str().unwrap();
    assert!(
        message.starts_with("BusinessId: must be a whole number"),
        "{message}"
    );
    for rust in ["i32", "u32", "nonzero", "invalid type", "struct"] {
        assert!(!message.contains(rust), "{message}");
    }
}
