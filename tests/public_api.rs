//! The public surface users keep: owned handles whose streams move into
//! spawned tasks, `Page<T>` from one-page listings, the `Record` trait for
//! generic code, and a stream that refuses a `page` set by its filter.

mod common;

use common::*;
use futures::{Stream, TryStreamExt};
use nexudus_timepasses::{
    spec::FilterValue,
    types::{CoworkerTimePassListItem, FilterDateTime},
    Client, Error, Query, Record, RecordStream, ResourceHandle, Result,
};
use serde_json::json;
use wiremock::{
    matchers::{method, path, query_param},
    Mock, MockServer,
};

// The shapes issue 7 asks for, compiled as they are written there.

#[allow(dead_code)]
fn changed_since(
    client: &Client,
    since: FilterDateTime,
) -> impl Stream<Item = Result<CoworkerTimePassListItem>> + Send + Unpin + 'static {
    client
        .coworker_time_passes()
        .stream(move |q| q.from_coworker_time_pass_updated_on(since.clone()))
}

async fn count_unused(client: Client) -> Result<usize> {
    let passes = client.coworker_time_passes();
    tokio::spawn(async move {
        let mut s = passes.stream(|q| q.coworker_time_pass_used(false));
        let mut n = 0;
        while let Some(_pass) = s.try_next().await? {
            n += 1;
        }
        Ok::<_, Error>(n)
    })
    .await
    .expect("task")
}

/// A struct that keeps a stream beside the client, as a sync service would.
#[allow(dead_code)]
struct Follower {
    client: Client,
    passes: RecordStream<CoworkerTimePassListItem>,
}

/// Ids of any records, through the public trait.
fn ids<R: Record>(records: &[R]) -> Vec<i32> {
    records.iter().map(Record::id).collect()
}

/// One page of CoworkerTimePass listing records with these Ids.
fn coworker_page(ids: &[i32], page: u32, size: u32, total: u32) -> serde_json::Value {
    let mut body = time_pass_page(&[], page, size, total);
    body["Records"] = json!(ids
        .iter()
        .map(|&id| coworker_time_pass(id))
        .collect::<Vec<_>>());
    body
}

#[tokio::test]
async fn a_stream_moves_into_a_spawned_task_and_yields_every_record() {
    let server = MockServer::start().await;
    for (page, records) in [(1, vec![1, 2]), (2, vec![3])] {
        Mock::given(method("GET"))
            .and(path(COWORKER_TIME_PASSES))
            .and(query_param("page", page.to_string()))
            .and(query_param("CoworkerTimePass_Used", "false"))
            .respond_with(json_response(200, coworker_page(&records, page, 2, 3)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = builder(&server)
        .credentials(nexudus_timepasses::Credentials::bearer(BEARER))
        .stream_page_size(2)
        .build()
        .unwrap();
    assert_eq!(count_unused(client).await.unwrap(), 3);
}

#[tokio::test]
async fn list_returns_a_page_with_its_numbers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(COWORKER_TIME_PASSES))
        .and(query_param("page", "2"))
        .and(query_param("size", "2"))
        .respond_with(json_response(200, coworker_page(&[3, 4], 2, 2, 5)))
        .expect(1)
        .mount(&server)
        .await;
    let page = bearer_client(&server)
        .coworker_time_passes()
        .list(|q| q.page(2u32).size(2u32))
        .await
        .unwrap();
    assert_eq!(
        (
            page.page,
            page.page_size,
            page.total_items,
            page.total_pages
        ),
        (2, 2, 5, 3)
    );
    assert!(page.has_next_page);
    assert_eq!(ids(&page.records), [3, 4]);
    let by_ref: Vec<i32> = (&page).into_iter().map(|r| r.id).collect();
    let owned: Vec<i32> = page.into_iter().map(|r| r.id).collect();
    assert_eq!(by_ref, owned);
}

#[tokio::test]
async fn a_page_set_on_a_stream_is_an_error_and_nothing_is_sent() {
    let server = MockServer::start().await;
    let err = bearer_client(&server)
        .coworker_time_passes()
        .stream(|q| q.page(3u32))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    match &err {
        Error::InvalidRequest { operation, reason } => {
            assert_eq!(*operation, "list_coworker_time_passes");
            assert!(reason.contains("page"), "{reason}");
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    assert!(log_of(&server).await.is_empty(), "a request was sent");
}

#[tokio::test]
async fn handles_and_clients_are_cheap_owned_values() {
    fn owned<T: Clone + Send + Sync + 'static>(_: &T) {}
    let server = MockServer::start().await;
    let client = bearer_client(&server);
    owned(&client);
    owned(&client.time_passes());
    owned(&client.coworker_time_passes());
    owned(&client.product_time_passes());
    let stream = client.time_passes().stream(|q| q);
    fn is_static_stream<S: Stream + Send + Unpin + 'static>(_: &S) {}
    is_static_stream(&stream);
}

#[tokio::test]
async fn a_listing_sends_exactly_the_parameters_its_query_set() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(COWORKER_TIME_PASSES))
        .respond_with(json_response(200, coworker_page(&[3], 1, 1, 1)))
        .mount(&server)
        .await;
    let since = FilterDateTime::try_from("2025-01-15T10:30").unwrap();
    bearer_client(&server)
        .coworker_time_passes()
        .list(|q| {
            q.coworker_time_pass_used(false)
                .coworker_time_pass_notes("a & b")
                .from_coworker_time_pass_price(2.5)
                .from_coworker_time_pass_updated_on(since)
                .coworker_time_pass_notes("c d") // replaces the first
                .id(7)
                .order_by("UpdatedOn")
                .dir(nexudus_timepasses::SortDirection::Descending)
                .page(2u32)
        })
        .await
        .unwrap();
    let sent = server.received_requests().await.unwrap();
    assert_eq!(
        sent[0].url.query(),
        Some(
            "CoworkerTimePass_Used=false&CoworkerTimePass_Notes=c+d\
             &from_CoworkerTimePass_Price=2.5\
             &from_CoworkerTimePass_UpdatedOn=2025-01-15T10%3A30&Id=7\
             &orderBy=UpdatedOn&dir=-1&page=2&size=25"
        )
    );
}

#[tokio::test]
async fn a_query_value_that_does_not_convert_fails_before_sending() {
    let server = MockServer::start().await;
    let passes = bearer_client(&server).coworker_time_passes();
    let err = passes.list(|q| q.size(0u32)).await.unwrap_err();
    match &err {
        Error::InvalidRequest { operation, reason } => {
            assert_eq!(*operation, "list_coworker_time_passes");
            assert!(reason.contains("size"), "{reason}");
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    // The first failure is the one reported, and a stream reports it too.
    let err = passes
        .stream(|q| q.from_coworker_time_pass_updated_on("yesterday").size(0u32))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { reason, .. } if reason.contains("UpdatedOn")),
        "{err:?}"
    );
    // A filter given as data with a value of another kind is refused too.
    let query = Query {
        filters: vec![("CoworkerTimePass_Used", FilterValue::Text("no".into()))],
        ..Query::default()
    };
    let err = passes.list_where(&query).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest { reason, .. } if reason.contains("CoworkerTimePass_Used")),
        "{err:?}"
    );
    assert!(log_of(&server).await.is_empty(), "a request was sent");
}
