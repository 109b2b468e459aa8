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
    Client, Credentials, ExpirationType, Pacing, RetryPolicy, SortDirection,
};

/// The example's own errors: the client's, and a body builder's missing field.
type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// The eight operations of one resource, each once (update reads first, so
/// its GET is a second get; the operation counted is the PUT). `$one` is the
/// resource's operationId stem (`time_pass` for `get_time_pass`). A macro,
/// because each resource's handle is its own type.
macro_rules! exercise {
    ($handle:expr, $query:expr, $create:expr, $change:expr, $one:literal, $calls:expr) => {{
        let handle = $handle;
        let calls: &mut Vec<&'static str> = $calls;
        step(
            concat!("list_", $one, "es"),
            handle.list($query).await,
            calls,
        )?;
        step(concat!("get_", $one), handle.get(87654321).await, calls)?;
        let batch = handle.get_many(&[87654321, 87654322]).await;
        step(concat!("get_", $one, "es_batch"), batch, calls)?;
        step(
            concat!("create_", $one),
            handle.create($create).await,
            calls,
        )?;
        step(
            concat!("update_", $one),
            handle.update(87654321, $change).await,
            calls,
        )?;
        step(
            concat!("delete_", $one),
            handle.delete(87654321).await,
            calls,
        )?;
        let commands = handle.commands(Some(87654321)).await;
        step(concat!("list_", $one, "_commands"), commands, calls)?;
        let run = handle
            .run_command("contract-command", &[87654321], &[("Note", "x")])
            .await;
        step(concat!("run_", $one, "_command"), run, calls)?;
    }};
}

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
    exercise!(
        client.time_passes(),
        |q| {
            q.time_pass_archived(false)
                .from_time_pass_price(1.5)
                .from_time_pass_updated_on(s)
                .order_by("Name")
                .dir(SortDirection::Descending)
        },
        create,
        // The docs' example record holds 0 for its references, which an
        // update refuses (`minimum: 1`): the change sets real ones.
        |p| {
            p.price += 1.0;
            (p.business_id, p.currency_id) = (1, 1);
        },
        "time_pass",
        &mut calls
    );

    let create = CoworkerTimePassCreate::builder()
        .coworker_id(42)
        .business_id(1)
        .time_pass_id(7)
        .create_multiple(1);
    let s = since.clone();
    exercise!(
        client.coworker_time_passes(),
        |q| {
            q.coworker_time_pass_coworker(42)
                .coworker_time_pass_used(false)
                .to_coworker_time_pass_expire_date(s)
        },
        create,
        |p| {
            p.notes = Some("contract".into());
            (p.coworker_id, p.business_id, p.time_pass_id) = (42, 1, 7);
        },
        "coworker_time_pass",
        &mut calls
    );

    let create = ProductTimePassCreate::builder()
        .product_id(3)
        .time_pass_id(7)
        .passes_included(10)
        .expiration_type(Some(ExpirationType::Month));
    exercise!(
        client.product_time_passes(),
        |q| {
            q.product_time_pass_product(3)
                .from_product_time_pass_created_on(since)
        },
        create,
        |p| {
            p.passes_included += 1;
            (p.product_id, p.time_pass_id) = (3, 7);
        },
        "product_time_pass",
        &mut calls
    );
    Ok(calls)
}

fn step<T>(
    op: &'static str,
    outcome: nexudus_timepasses::Result<T>,
    calls: &mut Vec<&'static str>,
) -> Result<()> {
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
            Err(e.into())
        }
    }
}
