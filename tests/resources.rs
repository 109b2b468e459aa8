//! Behaviour tests of the typed resource handles against a wiremock server:
//! paging streams (several pages, none, one, a short last page, order,
//! exactly once, concurrency), filters and sorting on the wire, safe updates
//! (read the full record, write it all back), create, batch get, delete,
//! commands, and the domain helpers.

mod common;

use std::time::{Duration, Instant};

use chrono::{FixedOffset, NaiveDate, TimeZone};
use common::*;
use futures::TryStreamExt;
use nexudus_timepasses::{types, Error, IncludedTime, PassKind, SortDirection};
use serde_json::{json, Value};
use wiremock::{
    matchers::{body_json, method, path, query_param, query_param_is_missing},
    Mock, MockServer, Request, ResponseTemplate,
};

/// Mounts a TimePass listing of `ids` in pages of `size`: each page must be
/// asked for exactly once, any other page never. Each answer waits `delay`.
async fn mount_listing(server: &MockServer, ids: &[i32], size: u32, delay: Duration) {
    let total = ids.len() as u32;
    let pages = total.div_ceil(size).max(1);
    for page in 1..=pages {
        let chunk: Vec<i32> = ids
            .chunks(size as usize)
            .nth(page as usize - 1)
            .unwrap_or(&[])
            .to_vec();
        Mock::given(method("GET"))
            .and(path(TIME_PASSES))
            .and(query_param("page", page.to_string()))
            .and(query_param("size", size.to_string()))
            .respond_with(
                json_response(200, time_pass_page(&chunk, page, size, total)).set_delay(delay),
            )
            .expect(1)
            .named(format!("page {page}"))
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(TIME_PASSES))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .named("any other listing request")
        .with_priority(10)
        .mount(server)
        .await;
}

/// Ids of a stream over every TimePass, with pages of `size`.
async fn stream_ids(server: &MockServer, size: u32) -> Vec<i32> {
    let client = builder(server)
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .stream_page_size(size)
        .build()
        .unwrap();
    let items: Vec<types::TimePassListItem> = client
        .time_passes()
        .stream(|q| q)
        .try_collect()
        .await
        .unwrap();
    items.iter().map(|i| i.id).collect()
}

// ---------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_stream_yields_every_record_once_in_listing_order_with_a_short_last_page() {
    let server = MockServer::start().await;
    // Not sorted by Id: the order must be the listing's.
    let ids = [907, 903, 915, 901, 911, 905, 909];
    mount_listing(&server, &ids, 3, Duration::ZERO).await; // 3 + 3 + 1

    assert_eq!(stream_ids(&server, 3).await, ids);
    // mount_listing's expectations: pages 1, 2, 3 once each, nothing else.
    server.verify().await;
}

#[tokio::test]
async fn a_stream_of_full_pages_stops_at_the_last_page() {
    let server = MockServer::start().await;
    let ids = [11, 12, 13, 14, 15, 16];
    mount_listing(&server, &ids, 3, Duration::ZERO).await;

    assert_eq!(stream_ids(&server, 3).await, ids);
    server.verify().await;
}

#[tokio::test]
async fn a_stream_of_one_page() {
    let server = MockServer::start().await;
    mount_listing(&server, &[41, 42], 25, Duration::ZERO).await;

    assert_eq!(stream_ids(&server, 25).await, [41, 42]);
    server.verify().await;
}

#[tokio::test]
async fn a_stream_of_no_records_asks_for_one_page() {
    let server = MockServer::start().await;
    mount_listing(&server, &[], 25, Duration::ZERO).await;

    assert_eq!(stream_ids(&server, 25).await, Vec::<i32>::new());
    server.verify().await;
}

/// `ClientBuilder::page_size` sets the size of one-page listings only: a
/// stream keeps reading pages of `DEFAULT_STREAM_PAGE_SIZE` unless
/// `stream_page_size` says otherwise.
#[tokio::test]
async fn page_size_sets_one_page_listings_and_leaves_the_stream_page_size_alone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(TIME_PASSES))
        .respond_with(|r: &Request| json_response(200, listing_page(r, 3)))
        .mount(&server)
        .await;
    let client = builder(&server)
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .page_size(10)
        .build()
        .unwrap();

    client.time_passes().list(|q| q).await.unwrap();
    let items: Vec<types::TimePassListItem> = client
        .time_passes()
        .stream(|q| q)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.iter().map(|i| i.id).collect::<Vec<_>>(), [1, 2, 3]);

    let sizes: Vec<String> = received(&server, "GET", TIME_PASSES)
        .await
        .iter()
        .map(|r| query(r).get("size").cloned().unwrap_or_default())
        .collect();
    let stream_size = nexudus_timepasses::DEFAULT_STREAM_PAGE_SIZE.to_string();
    assert_eq!(client.page_size().get(), 10);
    assert_eq!(
        sizes,
        ["10", stream_size.as_str()],
        "list, then the stream's one page"
    );
    assert_eq!(
        client.stream_page_size().get(),
        nexudus_timepasses::DEFAULT_STREAM_PAGE_SIZE
    );
}

#[tokio::test]
async fn a_stream_fetches_pages_concurrently() {
    let server = MockServer::start().await;
    let ids: Vec<i32> = (1..=10).collect();
    // Five pages of 400 ms each: 2 s one after the other; page 1 and then
    // the other four at once take about 0.8 s.
    mount_listing(&server, &ids, 2, Duration::from_millis(400)).await;
    let client = builder(&server)
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .stream_page_size(2)
        .concurrency(4)
        .build()
        .unwrap();

    let started = Instant::now();
    let items: Vec<_> = client.time_passes().all(|q| q).await.unwrap();
    let took = started.elapsed();

    assert_eq!(items.iter().map(|i| i.id).collect::<Vec<_>>(), ids);
    assert!(took >= Duration::from_millis(790), "{took:?}");
    assert!(
        took < Duration::from_millis(1500),
        "pages were not fetched concurrently: {took:?}"
    );
    server.verify().await;
}

#[tokio::test]
async fn filters_range_filters_and_sorting_use_the_wire_names_and_formats() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(TIME_PASSES))
        .respond_with(json_response(200, time_pass_page(&[PASS_ID], 1, 25, 1)))
        .expect(1)
        .mount(&server)
        .await;
    let client = bearer_client(&server);
    let since = NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 59)
        .unwrap();
    let until = FixedOffset::east_opt(2 * 3600)
        .unwrap()
        .with_ymd_and_hms(2025, 6, 30, 23, 59, 30)
        .unwrap();

    let page = client
        .time_passes()
        .list(|q| {
            q.time_pass_archived(false)
                .time_pass_business(1234)
                .time_pass_name("Day & Night = 100%")
                .from_time_pass_updated_on(since)
                .to_time_pass_updated_on(until)
                .from_time_pass_price(12.5)
                .order_by("Name")
                .dir(SortDirection::Descending)
        })
        .await
        .unwrap();

    assert_eq!(page.records.len(), 1);
    let sent = query(&received(&server, "GET", TIME_PASSES).await[0]);
    let expected: std::collections::HashMap<String, String> = [
        ("TimePass_Archived", "false"),
        ("TimePass_Business", "1234"),
        // Reserved characters survive the query string.
        ("TimePass_Name", "Day & Night = 100%"),
        // Minute precision, no zone; a zoned time is sent in UTC.
        ("from_TimePass_UpdatedOn", "2025-01-01T00:00"),
        ("to_TimePass_UpdatedOn", "2025-06-30T21:59"),
        ("from_TimePass_Price", "12.5"),
        ("orderBy", "Name"),
        ("dir", "-1"),
        ("size", "25"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn coworker_filters_and_ascending_order_use_the_wire_names() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(COWORKER_TIME_PASSES))
        .and(query_param("CoworkerTimePass_Coworker", "42"))
        .and(query_param("CoworkerTimePass_Used", "false"))
        .and(query_param(
            "from_CoworkerTimePass_ExpireDate",
            "2025-03-01T09:30",
        ))
        .and(query_param("orderBy", "ExpireDate"))
        .and(query_param("dir", "1"))
        .and(query_param("size", "10"))
        .respond_with(json_response(
            200,
            json!({
                "Records": [], "CurrentPageSize": 10, "CurrentPage": 1,
                "CurrentOrderField": "ExpireDate", "CurrentSortDirection": 1,
                "FirstItem": 0, "HasNextPage": false, "HasPreviousPage": false,
                "LastItem": 0, "TotalItems": 0, "TotalPages": 0
            }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = bearer_client(&server);
    let from = NaiveDate::from_ymd_opt(2025, 3, 1)
        .unwrap()
        .and_hms_opt(9, 30, 0)
        .unwrap();

    let page = client
        .coworker_time_passes()
        .list(|q| {
            q.coworker_time_pass_coworker(42)
                .coworker_time_pass_used(false)
                .from_coworker_time_pass_expire_date(from)
                .order_by("ExpireDate")
                .dir(SortDirection::Ascending)
                .size(std::num::NonZeroU32::new(10).unwrap())
        })
        .await
        .unwrap();
    assert!(page.records.is_empty());
}

#[tokio::test]
async fn a_stream_sends_its_filters_on_every_page() {
    let server = MockServer::start().await;
    let ids = [1, 2, 3, 4, 5];
    for (page, chunk) in ids.chunks(2).enumerate() {
        let page = page as u32 + 1;
        Mock::given(method("GET"))
            .and(path(TIME_PASSES))
            .and(query_param("page", page.to_string()))
            .and(query_param("TimePass_Archived", "false"))
            .and(query_param("orderBy", "UpdatedOn"))
            .and(query_param("dir", "-1"))
            .respond_with(json_response(200, time_pass_page(chunk, page, 2, 5)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = builder(&server)
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .stream_page_size(2)
        .build()
        .unwrap();

    let items = client
        .time_passes()
        .all(|q| {
            q.time_pass_archived(false)
                .order_by("UpdatedOn")
                .dir(SortDirection::Descending)
        })
        .await
        .unwrap();
    assert_eq!(items.iter().map(|i| i.id).collect::<Vec<_>>(), ids);
}

#[tokio::test]
async fn a_failing_page_ends_the_stream_with_the_error() {
    let server = MockServer::start().await;
    for page in 1..=2u32 {
        let chunk = [page as i32 * 10, page as i32 * 10 + 1];
        Mock::given(method("GET"))
            .and(path(TIME_PASSES))
            .and(query_param("page", page.to_string()))
            .respond_with(json_response(200, time_pass_page(&chunk, page, 2, 6)))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(TIME_PASSES))
        .and(query_param("page", "3"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let client = builder(&server)
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .stream_page_size(2)
        .concurrency(1)
        .build()
        .unwrap();

    let mut stream = std::pin::pin!(client.time_passes().stream(|q| q));
    let mut ids = Vec::new();
    let err = loop {
        match stream.try_next().await {
            Ok(Some(item)) => ids.push(item.id),
            Ok(None) => panic!("the stream ended without the error"),
            Err(e) => break e,
        }
    };
    assert_eq!(ids, [10, 11, 20, 21]);
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert_hides_secrets(&err);
}

// ---------------------------------------------------------------------------
// Safe updates
// ---------------------------------------------------------------------------

/// Mounts `GET {base}/{id}` answering `record` and `PUT {base}` answering a
/// success envelope; returns the body of the one PUT after `run`.
async fn put_body_of<F, Fut>(base: &str, id: i32, record: Value, run: F) -> Value
where
    F: FnOnce(MockServer) -> Fut,
    Fut: std::future::Future<Output = MockServer>,
{
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{base}/{id}")))
        .respond_with(json_response(200, record))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(base))
        .respond_with(json_response(
            200,
            ok_envelope(id, "The record was successfully updated."),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let server = run(server).await;
    assert_eq!(
        log_of(&server).await,
        [format!("GET {base}/{id}"), format!("PUT {base}")]
    );
    let put = &received(&server, "PUT", base).await[0];
    assert!(header(put, "content-type").starts_with("application/json"));
    serde_json::from_slice(&put.body).expect("a JSON PUT body")
}

/// Asserts `body` has `record`'s value for every field in `kept` (nulls may
/// be left out) and none of the fields in `absent`.
fn assert_kept_and_absent(body: &Value, record: &Value, kept: &[&str], absent: &[&str]) {
    for field in kept {
        match (&record[field], body.get(field)) {
            (Value::Null, None) => {}
            (want, got) => assert_eq!(got, Some(want), "field {field} in {body:#}"),
        }
    }
    for field in absent {
        assert!(
            body.get(field).is_none(),
            "read-only {field} was sent: {body:#}"
        );
    }
}

#[tokio::test]
async fn update_writes_back_the_whole_record_with_the_change() {
    let mut record = time_pass(PASS_ID);
    // Fields the spec does not know: a newer server's.
    record["CheckInLimitPerDay"] = json!(3);
    record["Color"] = json!("#ff8800");
    let returned = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = returned.clone();

    let body = put_body_of(TIME_PASSES, PASS_ID, record.clone(), |server| async move {
        let client = bearer_client(&server);
        let updated = client
            .time_passes()
            .update(PASS_ID, |p| p.price = 12.5)
            .await
            .unwrap();
        *slot.lock().unwrap() = Some(updated);
        server
    })
    .await;

    assert_eq!(body["Id"], json!(PASS_ID));
    assert_eq!(body["Price"], json!(12.5));
    let kept = [
        "BusinessId",
        "Name",
        "InvoiceLineDisplayAs",
        "MinutesIncluded",
        "CountsTowardsPlanLimits",
        "UseAsPayAsYouGoForMembers",
        "UseAsPayAsYouGoForContacts",
        "UsePriority",
        "CurrencyId",
        "TaxRateId",
        "ReducedTaxRateId",
        "ExemptTaxRateId",
        "FinancialAccountId",
        "Businesses",
        "KisiGroupId",
        "DoorGuardGroupId",
        "AccessControlGroupId",
        "AllowNetworkCheckIn",
        "OnlyForContacts",
        "OnlyForMembers",
        "Tariffs",
        "Archived",
        "SystemId",
        "CheckInLimitPerDay",
        "Color",
    ];
    let absent = [
        "BusinessName",
        "CurrencyCode",
        "CreatedOn",
        "UpdatedOn",
        "UpdatedBy",
        "UniqueId",
        "IsNew",
        "ToStringText",
    ];
    assert_kept_and_absent(&body, &record, &kept, &absent);
    let updated = returned.lock().unwrap().take().unwrap();
    assert_eq!(
        (updated.id, updated.price, updated.name.as_str()),
        (PASS_ID, 12.5, "10-hour pass")
    );
}

#[tokio::test]
async fn a_coworker_pass_update_keeps_writable_fields_and_drops_read_only_ones() {
    let record = coworker_time_pass(555001);
    let body = put_body_of(
        COWORKER_TIME_PASSES,
        555001,
        record.clone(),
        |server| async move {
            bearer_client(&server)
                .coworker_time_passes()
                .update(555001, |p| p.notes = Some("Extended by a week".into()))
                .await
                .unwrap();
            server
        },
    )
    .await;

    assert_eq!(body["Id"], json!(555001));
    assert_eq!(body["Notes"], json!("Extended by a week"));
    let kept = [
        "CoworkerId",
        "BusinessId",
        "TimePassId",
        "PurchaseOrder",
        "Used",
        "Free",
        "Price",
        "CreateMultiple",
        "ExpireDate",
        "CoworkerProductUniqueId",
    ];
    let absent = [
        "TimePassName",
        "TimePassCurrencyCode",
        "CheckedIn",
        "UsedDate",
        "RemainingUses",
        "TotalUses",
        "Invoiced",
        "InvoiceDate",
        "IsFromTariff",
        "CreatedOn",
        "UpdatedOn",
        "UniqueId",
    ];
    assert_kept_and_absent(&body, &record, &kept, &absent);
}

#[tokio::test]
async fn a_product_pass_update_keeps_an_undocumented_expiration_type() {
    let record = product_time_pass(777, PASS_ID, 10);
    let body = put_body_of(
        PRODUCT_TIME_PASSES,
        777,
        record.clone(),
        |server| async move {
            bearer_client(&server)
                .product_time_passes()
                .update(777, |p| p.passes_included = 12)
                .await
                .unwrap();
            server
        },
    )
    .await;

    assert_eq!(body["PassesIncluded"], json!(12));
    // `ExpirationType: 0` is outside the documented list and goes back as is.
    assert_eq!(body["ExpirationType"], json!(0));
    assert_kept_and_absent(
        &body,
        &record,
        &["Id", "ProductId", "TimePassId", "ExpireTimeInMonths"],
        &[
            "ProductName",
            "TimePassName",
            "CreatedOn",
            "UpdatedOn",
            "UniqueId",
        ],
    );
}

#[tokio::test]
async fn an_update_that_alters_the_id_sends_no_put() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(json_response(200, time_pass(PASS_ID)))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(json_response(200, ok_envelope(1, "updated")))
        .expect(0)
        .mount(&server)
        .await;

    let err = bearer_client(&server)
        .time_passes()
        .update(PASS_ID, |p| p.id = 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}

#[tokio::test]
async fn an_update_of_a_missing_record_sends_no_put() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(json_response(200, ok_envelope(PASS_ID, "updated")))
        .expect(0)
        .mount(&server)
        .await;

    let err = bearer_client(&server)
        .time_passes()
        .update(PASS_ID, |p| p.price = 1.0)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------
// Create, batch get, delete, commands
// ---------------------------------------------------------------------------

#[tokio::test]
async fn create_posts_the_body_and_returns_value_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TIME_PASSES))
        .and(body_json(json!({
            "BusinessId": 1234,
            "Name": "10-hour pass",
            "Price": 120.0,
            "CurrencyId": 1,
            "MinutesIncluded": 600,
            "Businesses": [1234],
            "Archived": false
        })))
        .respond_with(json_response(
            200,
            ok_envelope(90000001, "TimePass was successfully created."),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let id = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap();
    assert_eq!(id, 90000001);
}

#[tokio::test]
async fn a_create_envelope_without_an_id_is_a_decode_error() {
    let server = MockServer::start().await;
    let mut envelope = ok_envelope(1, "TimePass was successfully created.");
    envelope["Value"] = Value::Null;
    Mock::given(method("POST"))
        .and(path(TIME_PASSES))
        .respond_with(json_response(200, envelope))
        .mount(&server)
        .await;

    let err = bearer_client(&server)
        .time_passes()
        .create(new_time_pass())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { operation: "create_time_pass", path, .. } if path == "Value.Id"),
        "{err:?}"
    );
}

#[tokio::test]
async fn get_many_sends_the_ids_in_brackets_and_returns_full_records() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{TIME_PASSES}/")))
        .and(query_param("id", "[1,2,3]"))
        .respond_with(json_response(
            200,
            json!([time_pass(1), time_pass(2), day_pass(3)]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = bearer_client(&server);

    let records = client.time_passes().get_many(&[1, 2, 3]).await.unwrap();
    assert_eq!(records.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(records[2].kind(), PassKind::DayPass);
    // The one parameter, decoded, is exactly `[1,2,3]`.
    let sent = &received(&server, "GET", &format!("{TIME_PASSES}/")).await[0];
    let pairs: Vec<(String, String)> = sent.url.query_pairs().into_owned().collect();
    assert_eq!(pairs, [("id".to_string(), "[1,2,3]".to_string())]);

    // No Ids: nothing to ask.
    assert!(client.time_passes().get_many(&[]).await.unwrap().is_empty());
    assert_eq!(log_of(&server).await.len(), 1);
}

#[tokio::test]
async fn delete_sends_the_id_in_the_path_and_returns_the_reported_id() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(pass_path(PASS_ID)))
        .respond_with(json_response(
            200,
            ok_envelope(PASS_ID, "TimePass was successfully deleted."),
        ))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        bearer_client(&server)
            .time_passes()
            .delete(PASS_ID)
            .await
            .unwrap(),
        PASS_ID
    );
}

#[tokio::test]
async fn commands_are_listed_for_one_record_or_all() {
    let server = MockServer::start().await;
    let commands = json!([
        {
            "Key": "ArchivePasses", "Name": "Archive passes",
            "AppliesOnlyToMultipleEntities": false, "AppliesOnlyToOneEntity": false,
            "AppliesOnlyToTwoEntities": false, "NeedsEntitiesToRun": true,
            "DisplayInDropdown": true, "DisplayInDropdownV2": true, "DisplayInGrid": false,
            "Icon": "/content/icons/archive.svg", "Order": 1,
            "RequiresParameters": [{ "Name": "Reason", "Type": "string" }]
        },
        { "Key": "DuplicatePass", "Name": "Duplicate", "Order": 2, "RequiresParameters": [] }
    ]);
    Mock::given(method("GET"))
        .and(path(format!("{TIME_PASSES}/commands")))
        .and(query_param("id", PASS_ID.to_string()))
        .respond_with(json_response(200, commands.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{TIME_PASSES}/commands")))
        .and(query_param_is_missing("id"))
        .respond_with(json_response(200, json!([commands[1]])))
        .expect(1)
        .mount(&server)
        .await;
    let client = bearer_client(&server);

    let for_one = client.time_passes().commands(Some(PASS_ID)).await.unwrap();
    assert_eq!(
        for_one.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        ["ArchivePasses", "DuplicatePass"]
    );
    assert_eq!(for_one[0].name.as_deref(), Some("Archive passes"));
    assert_eq!(for_one[0].needs_entities_to_run, Some(true));
    let needs = for_one[0].requires_parameters.as_ref().unwrap();
    assert_eq!(
        (needs[0].name.as_str(), needs[0].type_.as_deref()),
        ("Reason", Some("string"))
    );

    let for_all = client.time_passes().commands(None).await.unwrap();
    assert_eq!(for_all.len(), 1);
}

#[tokio::test]
async fn run_command_sends_key_ids_and_parameters_and_returns_the_envelope() {
    let server = MockServer::start().await;
    let mut envelope = ok_envelope(0, "The command was run correctly.");
    envelope["Value"] = Value::Null;
    Mock::given(method("POST"))
        .and(path(format!("{TIME_PASSES}/runcommand")))
        .and(body_json(json!({
            "Key": "ArchivePasses",
            "Ids": [PASS_ID, 87654322],
            "Parameters": [{ "Name": "Reason", "Value": "season over" }]
        })))
        .respond_with(json_response(200, envelope))
        .expect(1)
        .mount(&server)
        .await;
    let client = bearer_client(&server);

    let result = client
        .time_passes()
        .run_command(
            "ArchivePasses",
            &[PASS_ID, 87654322],
            &[("Reason", "season over")],
        )
        .await
        .unwrap();
    assert!(result.was_successful);
    assert_eq!(
        result.message.as_deref(),
        Some("The command was run correctly.")
    );

    // No Ids: refused before sending.
    let err = client
        .time_passes()
        .run_command("ArchivePasses", &[], &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert_eq!(log_of(&server).await.len(), 1);
}

#[tokio::test]
async fn a_run_command_refused_in_a_200_envelope_is_an_error() {
    let server = MockServer::start().await;
    let mut refusal = validation_envelope();
    refusal["Message"] = json!("The command cannot run on archived passes.");
    refusal["Errors"] = Value::Null;
    Mock::given(method("POST"))
        .and(path(format!("{PRODUCT_TIME_PASSES}/runcommand")))
        .and(|r: &Request| {
            r.body_json::<Value>()
                .is_ok_and(|b| b["Parameters"].is_null())
        })
        .respond_with(json_response(200, refusal))
        .expect(1)
        .mount(&server)
        .await;

    let err = bearer_client(&server)
        .product_time_passes()
        .run_command("Recalculate", &[777], &[])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation { message, .. } if message == "The command cannot run on archived passes."),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------
// Domain helpers
// ---------------------------------------------------------------------------

fn decode<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a valid record")
}

#[test]
fn pass_kind_follows_minutes_included() {
    assert_eq!(PassKind::from_minutes(None), PassKind::DayPass);
    assert_eq!(
        PassKind::from_minutes(Some(60)),
        PassKind::TimePass { minutes: 60 }
    );
    assert_eq!(
        decode::<types::TimePass>(time_pass(1)).kind(),
        PassKind::TimePass { minutes: 600 }
    );
    assert_eq!(
        decode::<types::TimePass>(day_pass(1)).kind(),
        PassKind::DayPass
    );
    assert_eq!(
        decode::<types::TimePassListItem>(time_pass_item(1)).kind(),
        PassKind::TimePass { minutes: 600 }
    );
}

#[test]
fn included_time_is_passes_times_minutes_or_days() {
    let mut hour_pass = time_pass(PASS_ID);
    hour_pass["MinutesIncluded"] = json!(60);
    let hour_pass: types::TimePass = decode(hour_pass);
    let bundle: types::ProductTimePass = decode(product_time_pass(777, PASS_ID, 10));
    assert_eq!(
        bundle.included_time(&hour_pass).unwrap(),
        IncludedTime::Minutes(600)
    );

    let day: types::TimePass = decode(day_pass(PASS_ID));
    assert_eq!(bundle.included_time(&day).unwrap(), IncludedTime::Days(10));

    let other: types::TimePass = decode(time_pass(PASS_ID + 1));
    let err = bundle.included_time(&other).unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}
