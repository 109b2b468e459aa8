//! Measures the stand-in: start-up time and resident memory with 100,000
//! CoworkerTimePasses, and the server's own time (its `Server-Timing`
//! header) for 100-record pages, plain and filtered.
//!
//! `cargo run --release --features stand-in --example stand_in_bench`

use std::time::{Duration, Instant};

use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::stand_in::StandIn;

const RECORDS: usize = 100_000;
const PAGES: u32 = 400;

/// Resident memory of this process in MiB, from /proc (Linux only).
fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Median and 99th percentile of the server times of `PAGES` requests.
async fn server_times(http: &reqwest::Client, server: &StandIn, query: &str) -> (f64, f64) {
    let mut times = Vec::new();
    for i in 0..PAGES {
        let page = 1 + (i * 37) % 1000;
        let url = format!(
            "{}/api/billing/coworkertimepasses?size=100&page={page}{query}",
            server.base_url()
        );
        let response = http
            .get(url)
            .basic_auth(server.email(), Some(server.password()))
            .send()
            .await
            .expect("the stand-in answers");
        assert!(response.status().is_success(), "{}", response.status());
        let timing = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("app;dur="))
            .and_then(|v| v.parse::<f64>().ok())
            .expect("a Server-Timing header");
        let _ = response.bytes().await;
        times.push(timing);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

#[tokio::main]
async fn main() {
    let before = rss_mib();
    let start = Instant::now();
    let server = StandIn::builder()
        .records(Resource::CoworkerTimePasses, RECORDS)
        .start()
        .await
        .expect("the stand-in starts");
    let started: Duration = start.elapsed();
    let after = rss_mib();
    println!("start-up with {RECORDS} CoworkerTimePasses: {started:.2?}");
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "resident memory: {b:.0} MiB before, {a:.0} MiB after ({:.0} MiB for the data)",
            a - b
        );
    }
    let http = reqwest::Client::new();
    for (label, query) in [
        ("plain (Id order)", ""),
        ("descending", "&dir=-1"),
        ("filtered (Used=true)", "&CoworkerTimePass_Used=true"),
        ("sorted by UpdatedOn", "&orderBy=UpdatedOn"),
    ] {
        let (median, p99) = server_times(&http, &server, query).await;
        println!("100-record page, {label}: server time median {median:.3} ms, p99 {p99:.3} ms");
    }
}
