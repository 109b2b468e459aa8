//! The benchmark behind `cargo xtask bench`: the client against the
//! stand-in, measured side by side in one run, printed as one Markdown table
//! (also written to `target/bench/results.md`), with a chart of export time
//! against concurrency (`target/bench/export-vs-concurrency.svg`).
//!
//! `cargo run --release --features stand-in --example bench` runs it all.
//! Two inner modes keep the memory figures honest (a process of its own, the
//! server in another): `bench serve N` serves N CoworkerTimePasses and prints
//! its URL; `bench rss URL N` streams them and prints its peak RSS in KiB.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use nexudus_timepasses::{
    spec::Resource,
    stand_in::{StandIn, StandInBuilder},
    types::CoworkerTimePassPage,
    Client, Credentials, Pacing,
};

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// Runs of each timed measurement; the table shows the median.
const RUNS: usize = 5;
/// Records of the export measurements.
const RECORDS: usize = 10_000;
/// The stand-in's latency for the export measurements.
const LATENCY: Duration = Duration::from_millis(50);

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve", n] => serve(n.parse()?).await,
        ["rss", url, n] => rss(url, n.parse()?).await,
        ["per-call"] => {
            let (ours, raw) = per_call()?;
            println!(
                "per call: crate {ours:?}, raw {raw:?}, {:.2}x",
                ours.as_secs_f64() / raw.as_secs_f64()
            );
            Ok(())
        }
        [] => run_all().await,
        _ => Err("usage: bench [serve N | rss URL N | per-call]".into()),
    }
}

/// One row of the table.
struct Row {
    what: String,
    measured: String,
    against: String,
    verdict: String,
}

fn row(what: &str, measured: String, against: String, verdict: String) -> Row {
    Row {
        what: what.into(),
        measured,
        against,
        verdict,
    }
}

async fn run_all() -> Result<()> {
    let mut rows = Vec::new();
    eprintln!(
        "bench: exports of {RECORDS} records at {} ms latency",
        LATENCY.as_millis()
    );
    let (small_rtt, rtt) = round_trips().await?;
    rows.push(row(
        "round trip of a one-record page (plain reqwest + serde)",
        ms(small_rtt),
        format!("stand-in latency {}", ms(LATENCY)),
        String::new(),
    ));
    rows.push(row(
        "round trip of a 100-record page (plain reqwest + serde): RTT",
        ms(rtt),
        format!("one-record page {}", ms(small_rtt)),
        String::new(),
    ));

    let defaults = median_export(|b| b, |c| c, None).await?;
    rows.push(row(
        "export at the defaults (no server limit)",
        secs(defaults.time),
        "target < 5 s".into(),
        verdict(
            defaults.time.as_secs_f64() < 5.0,
            &format!("{} requests", defaults.requests),
        ),
    ));

    let fast = median_export(|b| b, tuned, None).await?;
    let pages = (RECORDS as f64 / 100.0).ceil();
    let bound = rtt.mul_f64(1.0 + ((pages - 1.0) / 8.0).ceil());
    rows.push(row(
        "export tuned (size 100, concurrency 8, pacing off)",
        secs(fast.time),
        format!("latency bound {}", secs(bound)),
        ratio(fast.time, bound, 1.1),
    ));
    let sequential = median_export(|b| b, |c| tuned(c).concurrency(1), None).await?;
    rows.push(row(
        "export sequential (size 100, concurrency 1, pacing off)",
        secs(sequential.time),
        format!(
            "tuned is {:.1}x faster",
            sequential.time.as_secs_f64() / fast.time.as_secs_f64()
        ),
        verdict(
            sequential.time.as_secs_f64() >= 6.0 * fast.time.as_secs_f64(),
            "target ≥ 6x",
        ),
    ));
    let hand = median(hand_written_loop).await?;
    rows.push(row(
        "hand-written reqwest + serde loop (size 100, sequential)",
        secs(hand),
        format!("crate sequential {}", secs(sequential.time)),
        format!("{:.2}x", sequential.time.as_secs_f64() / hand.as_secs_f64()),
    ));

    let limited = median_export(|b| b.read_limit(2.0), |c| c, None).await?;
    let rate_bound = Duration::from_secs_f64(limited.requests as f64 / 2.0);
    rows.push(row(
        "export at the defaults, server limits reads to 2/s",
        secs(limited.time),
        format!(
            "rate bound {} ({} requests)",
            secs(rate_bound),
            limited.requests
        ),
        format!(
            "{}, {} throttled",
            ratio(limited.time, rate_bound, 1.2),
            limited.throttled
        ),
    ));

    let paced = |c: nexudus_timepasses::ClientBuilder| {
        c.stream_page_size(100)
            .concurrency(8)
            .pacing(Pacing::default().reads_per_minute(600))
    };
    rows.push(paced_row(10.0, paced, 1.1).await?);
    rows.push(paced_row(5.0, paced, 1.3).await?);

    let (crate_call, raw_call) = per_call()?;
    rows.push(row(
        "one-record page: crate per call (one thread, with the stand-in)",
        us(crate_call),
        format!("raw reqwest + serde {}", us(raw_call)),
        ratio(crate_call, raw_call, 1.15),
    ));

    let small = peak_rss(100_000)?;
    let large = peak_rss(1_000_000)?;
    rows.push(row(
        "peak RSS streaming 100,000 / 1,000,000 records",
        format!(
            "{:.1} MiB / {:.1} MiB",
            small as f64 / 1024.0,
            large as f64 / 1024.0
        ),
        "target: 1,000,000 at most 1.2x".into(),
        format!("{:.2}x", large as f64 / small as f64),
    ));

    let curve = concurrency_curve(rtt).await?;
    write_outputs(&rows, &curve)?;
    Ok(())
}

/// A paced export (10 reads/s, pages of 100) of 5,000 records against a
/// server that allows `limit` reads a second, against its rate bound (50
/// pages at `limit`); within `target` times the bound passes.
async fn paced_row(
    limit: f64,
    paced: impl Fn(nexudus_timepasses::ClientBuilder) -> nexudus_timepasses::ClientBuilder,
    target: f64,
) -> Result<Row> {
    let export = median_export(|b| b.read_limit(limit), paced, Some(5_000)).await?;
    let bound = Duration::from_secs_f64(50.0 / limit);
    let share = 100.0 * export.throttled as f64 / export.requests.max(1) as f64;
    Ok(row(
        &format!("pacing 10/s, server limit {limit}/s (5,000 records, size 100)"),
        secs(export.time),
        format!("rate bound {}", secs(bound)),
        format!(
            "{}, {} throttled ({share:.0}% of {} requests)",
            ratio(export.time, bound, target),
            export.throttled,
            export.requests
        ),
    ))
}

/// One export's figures.
#[derive(Clone, Copy)]
struct Export {
    time: Duration,
    requests: u64,
    throttled: u64,
}

/// The median of [`RUNS`] exports, each against a fresh stand-in.
async fn median_export(
    server: impl Fn(StandInBuilder) -> StandInBuilder,
    client: impl Fn(nexudus_timepasses::ClientBuilder) -> nexudus_timepasses::ClientBuilder,
    records: Option<usize>,
) -> Result<Export> {
    let records = records.unwrap_or(RECORDS);
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let builder = StandIn::builder()
            .records(Resource::TimePasses, 20)
            .records(Resource::ProductTimePasses, 20)
            .records(Resource::CoworkerTimePasses, records)
            .latency(LATENCY);
        let stand_in = server(builder).start().await?;
        let c = client(
            Client::builder()
                .base_url(stand_in.base_url())
                .credentials(Credentials::basic(stand_in.email(), stand_in.password())),
        )
        .build()?;
        let started = Instant::now();
        let count = c
            .coworker_time_passes()
            .stream(|q| q)
            .try_fold(0usize, |n, _| async move { Ok(n + 1) })
            .await?;
        let time = started.elapsed();
        if count != records {
            return Err(format!("exported {count} of {records} records").into());
        }
        let stats = stand_in.stats();
        runs.push(Export {
            time,
            requests: stats.gets,
            throttled: stats.throttled,
        });
    }
    runs.sort_by_key(|r| r.time);
    Ok(runs[RUNS / 2])
}

fn tuned(c: nexudus_timepasses::ClientBuilder) -> nexudus_timepasses::ClientBuilder {
    c.stream_page_size(100)
        .concurrency(8)
        .pacing(Pacing::unlimited())
}

/// The median time of `f` over [`RUNS`] runs.
async fn median<F, Fut>(f: F) -> Result<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Duration>>,
{
    let mut times = Vec::new();
    for _ in 0..RUNS {
        times.push(f().await?);
    }
    times.sort();
    Ok(times[RUNS / 2])
}

/// A stand-in with the bench's records and latency.
async fn export_stand_in() -> Result<StandIn> {
    Ok(StandIn::builder()
        .records(Resource::CoworkerTimePasses, RECORDS)
        .latency(LATENCY)
        .start()
        .await?)
}

/// The export written by hand: reqwest and serde, page after page.
async fn hand_written_loop() -> Result<Duration> {
    let stand_in = export_stand_in().await?;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut count = 0;
    for page in 1.. {
        let page = fetch_page(&http, &stand_in, page, 100).await?;
        count += page.records.len();
        if !page.has_next_page {
            break;
        }
    }
    let time = started.elapsed();
    if count != RECORDS {
        return Err(format!("the loop read {count} records").into());
    }
    Ok(time)
}

/// The median round trips of a lone one-record page and a lone 100-record
/// page at the bench's latency, fetched and decoded by plain reqwest +
/// serde, so that none of the crate's own cost is in the bounds. The bounds
/// use the 100-record page, the export's own: each round of an export
/// fetches such pages, and each takes that long even alone (the stand-in
/// encodes it, the client decodes it).
async fn round_trips() -> Result<(Duration, Duration)> {
    let stand_in = export_stand_in().await?;
    let http = reqwest::Client::new();
    let mut medians = [Duration::ZERO; 2];
    for (median, size) in medians.iter_mut().zip([1, 100]) {
        let mut times = Vec::new();
        for page in 1..=15 {
            let started = Instant::now();
            fetch_page(&http, &stand_in, page, size).await?;
            times.push(started.elapsed());
        }
        times.sort();
        *median = times[times.len() / 2];
    }
    Ok((medians[0], medians[1]))
}

/// One page of CoworkerTimePasses, fetched and decoded by hand.
async fn fetch_page(
    http: &reqwest::Client,
    stand_in: &StandIn,
    page: u32,
    size: u32,
) -> Result<CoworkerTimePassPage> {
    let url = format!(
        "{}/api/billing/coworkertimepasses?page={page}&size={size}",
        stand_in.base_url()
    );
    let body = http
        .get(url)
        .basic_auth(stand_in.email(), Some(stand_in.password()))
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    Ok(serde_json::from_slice(&body)?)
}

fn bench_client(stand_in: &StandIn) -> Result<Client> {
    Ok(Client::builder()
        .base_url(stand_in.base_url())
        .credentials(Credentials::basic(stand_in.email(), stand_in.password()))
        .pacing(Pacing::unlimited())
        .build()?)
}

/// Time per one-record page, through the crate and by hand: the median of
/// [`PER_CALL_BLOCKS`] blocks, each the median of its calls.
///
/// Both run on one thread, with the stand-in, on a runtime of their own: on
/// a multi-threaded runtime every call also waits for a thread to wake up,
/// which on this 2-core VM varies between 100 and 300 µs from run to run and
/// drowns the few microseconds being compared.
fn per_call() -> Result<(Duration, Duration)> {
    let thread = std::thread::spawn(|| -> Result<(Duration, Duration), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime
            .block_on(per_call_blocks())
            .map_err(|e| e.to_string())
    });
    let times = thread
        .join()
        .map_err(|_| "the per-call thread panicked")??;
    Ok(times)
}

/// Blocks of one-record calls measured through the crate and by hand.
const PER_CALL_BLOCKS: usize = 5;

async fn per_call_blocks() -> Result<(Duration, Duration)> {
    const CALLS: usize = 2000;
    let stand_in = StandIn::builder()
        .records(Resource::CoworkerTimePasses, 100)
        .start()
        .await?;
    let client = bench_client(&stand_in)?;
    let http = reqwest::Client::new();
    let url = format!(
        "{}/api/billing/coworkertimepasses?page=1&size=1",
        stand_in.base_url()
    );
    let crate_call = || async {
        let started = Instant::now();
        client
            .coworker_time_passes()
            .list(|q| q.page(1u32).size(1u32))
            .await?;
        Ok::<_, Box<dyn std::error::Error>>(started.elapsed())
    };
    let raw_call = || async {
        let started = Instant::now();
        let body = http
            .get(&url)
            .basic_auth(stand_in.email(), Some(stand_in.password()))
            .header("accept", "application/json")
            .send()
            .await?
            .bytes()
            .await?;
        let _: CoworkerTimePassPage = serde_json::from_slice(&body)?;
        Ok::<_, Box<dyn std::error::Error>>(started.elapsed())
    };
    let mut blocks = Vec::new();
    for _ in 0..PER_CALL_BLOCKS {
        let (mut ours, mut raw) = (Vec::new(), Vec::new());
        // Interleaved, each going first every other time, so both see the
        // same machine.
        for i in 0..CALLS {
            if i % 2 == 0 {
                ours.push(crate_call().await?);
                raw.push(raw_call().await?);
            } else {
                raw.push(raw_call().await?);
                ours.push(crate_call().await?);
            }
        }
        ours.sort();
        raw.sort();
        blocks.push((ours[CALLS / 2], raw[CALLS / 2]));
    }
    blocks.sort_by(|a, b| {
        let ratio = |(ours, raw): &(Duration, Duration)| ours.as_secs_f64() / raw.as_secs_f64();
        ratio(a).total_cmp(&ratio(b))
    });
    Ok(blocks[PER_CALL_BLOCKS / 2])
}

/// Peak RSS (KiB) of a process streaming `records` from a server in
/// another process.
fn peak_rss(records: usize) -> Result<u64> {
    let exe = std::env::current_exe()?;
    let mut server = Command::new(&exe)
        .args(["serve", &records.to_string()])
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    let stdout = server.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or("the server did not start")?
        .to_owned();
    let output = Command::new(&exe)
        .args(["rss", &url, &records.to_string()])
        .output();
    let _ = server.kill();
    let _ = server.wait();
    let output = output?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned().into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().parse()?)
}

/// `bench serve N`: a stand-in in a process of its own, until killed.
async fn serve(records: usize) -> Result<()> {
    let stand_in = StandIn::builder()
        .records(Resource::TimePasses, 20)
        .records(Resource::ProductTimePasses, 20)
        .records(Resource::CoworkerTimePasses, records)
        .start()
        .await?;
    println!("listening on {}", stand_in.base_url());
    std::io::stdout().flush()?;
    // Runs until the parent kills it or closes stdin.
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await;
    Ok(())
}

/// `bench rss URL N`: streams every CoworkerTimePass at the defaults (pacing
/// off, so it ends soon) and prints this process's peak RSS in KiB.
async fn rss(url: &str, records: usize) -> Result<()> {
    let client = Client::builder()
        .base_url(url)
        .credentials(Credentials::basic("admin@example.com", "stand-in-password"))
        .pacing(Pacing::unlimited())
        .build()?;
    let count = client
        .coworker_time_passes()
        .stream(|q| q)
        .try_fold(0usize, |n, _| async move { Ok(n + 1) })
        .await?;
    if count != records {
        return Err(format!("streamed {count} of {records}").into());
    }
    let status = std::fs::read_to_string("/proc/self/status")?;
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .ok_or("no VmHWM in /proc/self/status")?;
    println!("{peak}");
    Ok(())
}

/// Tuned export time for each concurrency, with its latency bound.
async fn concurrency_curve(rtt: Duration) -> Result<Vec<(usize, Duration, Duration)>> {
    let mut points = Vec::new();
    for c in [1, 2, 4, 8, 16] {
        let export = median_export(|b| b, |b| tuned(b).concurrency(c), None).await?;
        let pages = (RECORDS as f64 / 100.0).ceil();
        let bound = rtt.mul_f64(1.0 + ((pages - 1.0) / c as f64).ceil());
        points.push((c, export.time, bound));
    }
    Ok(points)
}

fn write_outputs(rows: &[Row], curve: &[(usize, Duration, Duration)]) -> Result<()> {
    let mut table =
        String::from("| measurement | measured | against | result |\n|---|---|---|---|\n");
    for r in rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.what, r.measured, r.against, r.verdict
        ));
    }
    table.push_str("\n| concurrency | tuned export | latency bound |\n|---|---|---|\n");
    for (c, time, bound) in curve {
        table.push_str(&format!("| {c} | {} | {} |\n", secs(*time), secs(*bound)));
    }
    print!("{table}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("results.md"), &table)?;
    std::fs::write(dir.join("export-vs-concurrency.svg"), svg(curve))?;
    eprintln!("bench: wrote {}", dir.display());
    Ok(())
}

/// A small line chart: measured time and latency bound against concurrency.
fn svg(curve: &[(usize, Duration, Duration)]) -> String {
    let (w, h, pad) = (480.0, 280.0, 48.0);
    let top = curve
        .iter()
        .map(|(_, t, b)| t.max(b).as_secs_f64())
        .fold(0.0, f64::max)
        .max(0.001);
    let x = |i: usize| pad + i as f64 * (w - 2.0 * pad) / (curve.len().max(2) - 1) as f64;
    let y = |s: f64| h - pad - s / top * (h - 2.0 * pad);
    let line = |pick: fn(&(usize, Duration, Duration)) -> Duration| {
        curve
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(pick(p).as_secs_f64())))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{pad}\" y=\"20\">Export of {RECORDS} records at {} ms latency (size 100, pacing off)</text>\n\
         <line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n\
         <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"black\"/>\n\
         <text x=\"8\" y=\"{}\">{top:.2} s</text><text x=\"8\" y=\"{}\">0 s</text>\n\
         <polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{}\"/>\n\
         <polyline fill=\"none\" stroke=\"#999\" stroke-dasharray=\"4 3\" points=\"{}\"/>\n",
        LATENCY.as_millis(),
        h - pad,
        w - pad,
        h - pad,
        h - pad,
        pad + 4.0,
        h - pad,
        line(|p| p.1),
        line(|p| p.2),
    );
    for (i, (c, _, _)) in curve.iter().enumerate() {
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{c}</text>\n",
            x(i),
            h - pad + 16.0
        ));
    }
    out.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">concurrency</text>\n\
         <text x=\"{}\" y=\"40\" fill=\"#1f77b4\">measured</text>\n\
         <text x=\"{}\" y=\"56\" fill=\"#999\">latency bound</text>\n</svg>\n",
        w / 2.0,
        h - 8.0,
        w - pad - 90.0,
        w - pad - 90.0
    ));
    out
}

fn verdict(ok: bool, detail: &str) -> String {
    format!("{} ({detail})", if ok { "ok" } else { "MISSED" })
}

fn ratio(measured: Duration, bound: Duration, target: f64) -> String {
    let r = measured.as_secs_f64() / bound.as_secs_f64().max(1e-9);
    verdict(r <= target, &format!("{r:.2}x, target ≤ {target}x"))
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}
