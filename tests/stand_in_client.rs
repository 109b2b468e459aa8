//! End-to-end: the crate's `Client` against the embedded stand-in, with no
//! network and no account. Exports under injected failures and throttling,
//! safe update, token expiry during a long stream, validation errors and a
//! refused delete.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::TryStreamExt;
use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::stand_in::{FailWith, StandIn, StandInBuilder};
use nexudus_timepasses::types::{CoworkerTimePassCreate, TimePassCreate};
use nexudus_timepasses::{Client, Credentials, Error, Pacing};

async fn start(builder: StandInBuilder) -> StandIn {
    builder.start().await.expect("the stand-in starts")
}

fn client(server: &StandIn) -> Client {
    paged_client(server, nexudus_timepasses::DEFAULT_STREAM_PAGE_SIZE)
}

/// A client whose streams read pages of `size`, without client-side
/// pacing: small pages make many requests, and the server's own limits are
/// what the tests meet.
fn paged_client(server: &StandIn, size: u32) -> Client {
    Client::builder()
        .base_url(server.base_url())
        .credentials(Credentials::password(server.email(), server.password()))
        .stream_page_size(size)
        .pacing(Pacing::unlimited())
        .build()
        .expect("a client")
}

async fn export_ids(client: &Client) -> Vec<i32> {
    client
        .coworker_time_passes()
        .stream(|q| q)
        .map_ok(|r| r.id)
        .try_collect()
        .await
        .expect("the export completes")
}

#[tokio::test]
async fn export_under_failures_and_throttling_loses_and_duplicates_nothing() {
    let server = start(
        StandIn::builder()
            .records(Resource::CoworkerTimePasses, 400)
            .fail_every(7)
            .read_limit(5.0),
    )
    .await;
    let ids = export_ids(&paged_client(&server, 25)).await;
    let unique: BTreeSet<_> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 400, "records lost or duplicated");
    assert_eq!(unique.len(), 400, "records duplicated");
    let stats = server.stats();
    assert!(
        stats.injected_failures > 0,
        "no failure was injected: {stats:?}"
    );
    assert!(stats.throttled > 0, "nothing was throttled: {stats:?}");
}

/// The API's own burst of 500 "Ooops!" pages: every fifth request fails,
/// reads are retried, and the export loses and duplicates nothing.
#[tokio::test]
async fn export_under_500_error_pages_loses_and_duplicates_nothing() {
    let server = start(
        StandIn::builder()
            .records(Resource::CoworkerTimePasses, 300)
            .fail_every(5)
            .fail_with(FailWith::ServerError),
    )
    .await;
    let ids = export_ids(&paged_client(&server, 20)).await;
    let unique: BTreeSet<_> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 300, "records lost or duplicated");
    assert_eq!(unique.len(), 300, "records duplicated");
    assert!(server.stats().injected_failures > 0, "{:?}", server.stats());
}

/// Under 500 error pages a PUT and a DELETE are tried again (repeating them
/// cannot write twice); a POST is not, and its outcome is unknown. Every
/// other resource request fails, so of two calls in a row at least one
/// meets a failure.
#[tokio::test]
async fn a_500_error_page_repeats_puts_and_deletes_never_posts() {
    let server = start(
        StandIn::builder()
            .records(Resource::CoworkerTimePasses, 5)
            .fail_every(2)
            .fail_with(FailWith::ServerError),
    )
    .await;
    let client = client(&server);
    let record = loop {
        if let Ok(page) = client.time_passes().list(|q| q).await {
            break page.records[0].id;
        }
    };
    let record = client.time_passes().get(record).await.unwrap();

    let before = server.stats();
    for _ in 0..2 {
        client.time_passes().replace(&record).await.unwrap();
    }
    let after = server.stats();
    let failed = after.injected_failures - before.injected_failures;
    assert!(failed >= 1, "no PUT met a failure");
    assert_eq!(
        after.puts - before.puts,
        2 + failed,
        "each failed PUT is repeated"
    );

    let before = server.stats();
    let mut created = Vec::new();
    for name in ["Burst one", "Burst two"] {
        let body = TimePassCreate::builder()
            .business_id(1001)
            .currency_id(1)
            .minutes_included(Some(60))
            .name(name)
            .price(1.0);
        match client.time_passes().create(body).await {
            Ok(id) => created.push(id),
            Err(Error::OutcomeUnknown { source, .. }) => {
                assert_eq!(source.status().map(|s| s.as_u16()), Some(500), "{source:?}");
            }
            Err(other) => panic!("a failed POST's outcome is unknown: {other:?}"),
        }
    }
    let after = server.stats();
    assert_eq!(after.posts - before.posts, 2, "a POST was repeated");
    assert_eq!(created.len(), 1, "one of two POSTs in a row fails");

    let spare = client
        .time_passes()
        .create(
            TimePassCreate::builder()
                .business_id(1001)
                .currency_id(1)
                .minutes_included(Some(60))
                .name("Spare")
                .price(1.0),
        )
        .await;
    created.extend(spare.ok());
    let before = server.stats();
    for id in &created {
        client.time_passes().delete(*id).await.unwrap();
    }
    let after = server.stats();
    let failed = after.injected_failures - before.injected_failures;
    assert_eq!(
        after.deletes - before.deletes,
        created.len() as u64 + failed,
        "each failed DELETE is repeated"
    );
}

/// The record as JSON without the fields a write is meant to change.
fn unchanged_part(record: &impl serde::Serialize) -> serde_json::Value {
    let mut value = serde_json::to_value(record).unwrap();
    if let Some(map) = value.as_object_mut() {
        for key in ["UpdatedOn", "UpdatedBy", "SystemId", "IsNew"] {
            map.remove(key);
        }
    }
    value
}

#[tokio::test]
async fn safe_update_clears_no_field() {
    let server = start(StandIn::builder().records(Resource::CoworkerTimePasses, 50)).await;
    let client = client(&server);
    let passes = client.coworker_time_passes();
    // A seeded record with undocumented (nested) fields.
    let mut target = None;
    for item in passes.stream(|q| q).try_collect::<Vec<_>>().await.unwrap() {
        if !item.extra.is_empty() {
            target = Some(passes.get(item.id).await.unwrap());
            break;
        }
    }
    let before = target.expect("a seeded record with undocumented fields");
    passes
        .update(before.id, |p| p.system_id = Some("synced".into()))
        .await
        .unwrap();
    let after = passes.get(before.id).await.unwrap();
    assert_eq!(after.system_id.as_deref(), Some("synced"));
    assert_eq!(unchanged_part(&after), unchanged_part(&before));
    assert!(after.updated_on > before.updated_on);
}

#[tokio::test]
async fn a_long_stream_outlives_its_token() {
    let server = start(
        StandIn::builder()
            .records(Resource::CoworkerTimePasses, 300)
            .token_ttl(Duration::from_secs(1)),
    )
    .await;
    let client = paged_client(&server, 25);
    let passes = client.coworker_time_passes();
    let mut stream = std::pin::pin!(passes.stream(|q| q));
    let mut ids = BTreeSet::new();
    // A slow reader: 300 records at 6 ms each outlast the 1 s token.
    while let Some(record) = stream.try_next().await.expect("the stream goes on") {
        ids.insert(record.id);
        tokio::time::sleep(Duration::from_millis(6)).await;
    }
    assert_eq!(ids.len(), 300);
    assert!(
        server.stats().token_exchanges >= 2,
        "the token never had to be renewed: {:?}",
        server.stats()
    );
}

#[tokio::test]
async fn validation_errors_name_the_fields() {
    let server = start(StandIn::builder().records(Resource::CoworkerTimePasses, 5)).await;
    let client = client(&server);
    // Both refusals come from the server: an unknown pass, too many at once.
    let body = CoworkerTimePassCreate::builder()
        .business_id(1001)
        .coworker_id(7)
        .create_multiple(501)
        .time_pass_id(424_242);
    match client.coworker_time_passes().create(body).await {
        Err(Error::Validation { errors, .. }) => {
            let fields: Vec<_> = errors.iter().map(|e| e.property.as_str()).collect();
            assert_eq!(fields, ["TimePassId", "CreateMultiple"]);
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    match client.coworker_time_passes().get(1).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

#[tokio::test]
async fn deleting_a_time_pass_in_use_is_refused() {
    let server = start(
        StandIn::builder()
            .records(Resource::TimePasses, 1)
            .records(Resource::CoworkerTimePasses, 3),
    )
    .await;
    let client = client(&server);
    let held: Vec<_> = client
        .coworker_time_passes()
        .stream(|q| q)
        .try_collect()
        .await
        .unwrap();
    let pass = held[0].time_pass_id;
    let deletes = server.stats().deletes;
    let refused = client.time_passes().delete(pass).await.unwrap_err();
    assert_eq!(
        refused.status().map(|s| s.as_u16()),
        Some(500),
        "{refused:?}"
    );
    assert!(!refused.is_retryable(), "{refused:?}");
    assert_eq!(
        server.stats().deletes - deletes,
        1,
        "a 500 envelope is the API's answer: sent once"
    );
    assert!(
        client.time_passes().get(pass).await.is_ok(),
        "the pass was deleted"
    );

    let body = TimePassCreate::builder()
        .business_id(1001)
        .currency_id(1)
        .minutes_included(Some(60))
        .name("Unused")
        .price(9.5);
    let id = client.time_passes().create(body).await.unwrap();
    assert_eq!(client.time_passes().delete(id).await.unwrap(), id);
    assert!(matches!(
        client.time_passes().get(id).await,
        Err(Error::NotFound { .. })
    ));
}
