//! Exports every record of one resource as JSON lines on stdout.
//!
//! ```sh
//! NEXUDUS_EMAIL=ops@example.com NEXUDUS_PASSWORD=… cargo run --example export -- time-passes
//! ```
//!
//! Credentials come from the environment: NEXUDUS_TOKEN (a bearer token), or
//! NEXUDUS_EMAIL and NEXUDUS_PASSWORD (password grant). NEXUDUS_BASE_URL
//! points the client elsewhere (a test server, for instance).

use std::{io::Write, process::ExitCode};

use futures::{Stream, TryStreamExt};
use nexudus_timepasses::{Client, Credentials};

/// The example's own errors: the client's, a bad argument, a failed write.
type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;
use serde::Serialize;

const USAGE: &str = "usage: export <time-passes | coworker-time-passes | product-time-passes>

Writes every record of the resource as one JSON object per line.
Environment: NEXUDUS_TOKEN, or NEXUDUS_EMAIL and NEXUDUS_PASSWORD;
optional NEXUDUS_BASE_URL (default https://spaces.nexudus.com).";

#[tokio::main]
async fn main() -> ExitCode {
    let resource = std::env::args().nth(1).unwrap_or_default();
    if resource.is_empty() || resource == "--help" || resource == "-h" {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(&resource).await {
        Ok(count) => {
            eprintln!("exported {count} {resource}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("export failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(resource: &str) -> Result<usize> {
    let client = client_from_env()?;
    match resource {
        "time-passes" => write_all(client.time_passes().stream(|q| q)).await,
        "coworker-time-passes" => write_all(client.coworker_time_passes().stream(|q| q)).await,
        "product-time-passes" => write_all(client.product_time_passes().stream(|q| q)).await,
        other => Err(format!("unknown resource {other:?}\n{USAGE}").into()),
    }
}

fn client_from_env() -> Result<Client> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let credentials = match (
        var("NEXUDUS_TOKEN"),
        var("NEXUDUS_EMAIL"),
        var("NEXUDUS_PASSWORD"),
    ) {
        (Some(token), _, _) => Credentials::bearer(token),
        (None, Some(email), Some(password)) => Credentials::password(email, password),
        _ => {
            return Err("set NEXUDUS_TOKEN, or NEXUDUS_EMAIL and NEXUDUS_PASSWORD".into());
        }
    };
    let mut builder = Client::builder().credentials(credentials);
    if let Some(url) = var("NEXUDUS_BASE_URL") {
        builder = builder.base_url(url);
    }
    Ok(builder.build()?)
}

/// Streams records to stdout, one JSON object per line, in constant memory.
async fn write_all<T: Serialize>(
    records: impl Stream<Item = nexudus_timepasses::Result<T>>,
) -> Result<usize> {
    let mut out = std::io::stdout().lock();
    let mut records = std::pin::pin!(records);
    let mut count = 0;
    while let Some(record) = records.try_next().await? {
        let line = serde_json::to_string(&record)?;
        if writeln!(out, "{line}").is_err() {
            break; // stdout closed (e.g. piped into `head`): stop quietly
        }
        count += 1;
    }
    Ok(count)
}
