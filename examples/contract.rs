//! Calls every operation of the spec once through the typed client, against
//! the server at the base URL given as the only argument (Prism serving
//! openapi.yaml, in `cargo xtask contract`). Prints one line per operation
//! and exits non-zero when any call fails, naming it.
//!
//! The first request signs in with the password grant, which is the call of
//! `request_token`; the rest go through the three resource handles.

use std::process::ExitCode;

use chrono::{TimeZone, Utc};
use nexudus_timepasses::{
    types::{CoworkerTimePassCreate, FilterDateTime, ProductTimePassCreate, TimePassCreate},
    Client, Credentials, Error, ExpirationType, Handle, Kind, Pacing, Result, RetryPolicy,
    SortDirection,
};

#[tokio::main]
async fn main() -> ExitCode {
    let Some(base_url) = std::env::args().nth(1) else {
        eprintln!("usage: contract <base-url>");
        return ExitCode::FAILURE;
    };
    match run(&base_url).await {
        Ok(calls) => {
            println!("contract: {} operations called, 0 failed", calls.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("contract: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(base_url: &str) -> Result<Vec<&'static str>> {
    let client = Client::builder()
        .base_url(base_url)
        .credentials(
            Credentials::password("ops@example.com", "contract-password")
                .with_client_id("contract-run"),
        )
        .retry(RetryPolicy::none())
        .pacing(Pacing::unlimited())
        .build()?;
    let since = FilterDateTime::try_from(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap())?;
    let mut calls = Vec::new();

    let create = TimePassCreate::builder()
        .business_id(1)
        .name("Day pass")
        .price(20.0)
        .currency_id(1)
        .minutes_included(None);
    let s = since.clone();
    exercise(
        client.time_passes(),
        |q| {
            q.time_pass_archived(false)
                .from_time_pass_price(1.5)
                .from_time_pass_updated_on(s)
                .order_by("Name")
                .dir(SortDirection::Descending)
        },
        built(create)?,
        |p| p.price += 1.0,
        &mut calls,
    )
    .await?;

    let create = CoworkerTimePassCreate::builder()
        .coworker_id(42)
        .business_id(1)
        .time_pass_id(7)
        .create_multiple(1);
    let s = since.clone();
    exercise(
        client.coworker_time_passes(),
        |q| {
            q.coworker_time_pass_coworker(42)
                .coworker_time_pass_used(false)
                .to_coworker_time_pass_expire_date(s)
        },
        built(create)?,
        |p| p.notes = Some("contract".into()),
        &mut calls,
    )
    .await?;

    let create = ProductTimePassCreate::builder()
        .product_id(3)
        .time_pass_id(7)
        .passes_included(10)
        .expiration_type(Some(ExpirationType::Month));
    exercise(
        client.product_time_passes(),
        |q| {
            q.product_time_pass_product(3)
                .from_product_time_pass_created_on(since)
        },
        built(create)?,
        |p| p.passes_included += 1,
        &mut calls,
    )
    .await?;
    Ok(calls)
}

/// The eight operations of one resource, each once (update reads first, so
/// its GET is a second get; the operation counted is the PUT).
async fn exercise<'c, K: Kind>(
    handle: Handle<'c, K>,
    query: impl FnOnce(K::Query<'c>) -> K::Query<'c>,
    create: K::Create,
    change: impl FnOnce(&mut K::Record),
    calls: &mut Vec<&'static str>,
) -> Result<()> {
    let ops = K::OPS;
    step(ops.list, handle.list(query).await, calls)?;
    step(ops.get, handle.get(87654321).await, calls)?;
    step(
        ops.get_many,
        handle.get_many(&[87654321, 87654322]).await,
        calls,
    )?;
    step(ops.create, handle.create(create).await, calls)?;
    step(ops.update, handle.update(87654321, change).await, calls)?;
    step(ops.delete, handle.delete(87654321).await, calls)?;
    step(ops.commands, handle.commands(Some(87654321)).await, calls)?;
    step(
        ops.run,
        handle
            .run_command("contract-command", &[87654321], &[("Note", "x")])
            .await,
        calls,
    )?;
    Ok(())
}

fn step<T>(op: &'static str, outcome: Result<T>, calls: &mut Vec<&'static str>) -> Result<()> {
    match outcome {
        Ok(_) => {
            if calls.is_empty() {
                // request_token has no call of its own: the password grant
                // makes it before the first request, which can only succeed
                // with the token it returns.
                println!("ok   request_token");
                calls.push("request_token");
            }
            println!("ok   {op}");
            calls.push(op);
            Ok(())
        }
        Err(e) => {
            println!("FAIL {op}: {e}");
            Err(e)
        }
    }
}

/// Finishes a generated body builder, turning a missing field into an error.
fn built<B, T>(builder: B) -> Result<T>
where
    B: TryInto<T>,
    B::Error: std::fmt::Display,
{
    builder
        .try_into()
        .map_err(|e| Error::InvalidInput(format!("{e}")))
}
