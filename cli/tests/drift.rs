//! Tests of `nexudus drift`: on the demo stand-in it reports exactly the
//! undocumented fields the seeded data carries (counted independently here
//! from the typed records' `extra` maps), on data without them it is clean
//! (exit 0), and a field whose type changed is reported.

mod common;

use std::collections::BTreeMap;
use std::process::Output;
use std::time::Duration;

use nexudus_timepasses::drift::{DriftCheck, Problem};
use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::stand_in::StandIn;
use serde_json::Value;
use tokio::process::Command;

use common::{client, start, BIN};

async fn drift(args: &[&str], server: Option<&StandIn>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("drift")
        .args(["--reads-per-minute", "0"])
        .args(args)
        .env_remove("NEXUDUS_TOKEN")
        .kill_on_drop(true);
    if let Some(server) = server {
        cmd.args(["--base-url", server.base_url()])
            .env("NEXUDUS_EMAIL", server.email())
            .env("NEXUDUS_PASSWORD", server.password());
    }
    tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .expect("drift finishes in time")
        .expect("drift runs")
}

/// (schema, field, problem kind) → count.
type Found = BTreeMap<(String, String, String), u64>;

/// Undeclared fields of the records, as the drift check should find them:
/// the keys of each typed record's `extra` map (the fields the spec does
/// not list), counted per schema.
fn extras<'a>(
    schema: &str,
    maps: impl Iterator<Item = &'a serde_json::Map<String, Value>>,
    out: &mut Found,
) {
    for map in maps {
        for key in map.keys() {
            *out.entry((schema.to_owned(), key.clone(), "undeclared".to_owned()))
                .or_default() += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_reports_exactly_the_seeded_undocumented_fields() {
    // The demo's data: the stand-in's defaults, seeded the same way here.
    let server = start(StandIn::builder()).await;
    let client = client(&server);
    let mut expected = Found::new();
    macro_rules! expect {
        ($list:literal, $full:literal, $handle:expr) => {{
            let handle = $handle;
            let listed = handle.all(|q| q).await.expect("a listing");
            extras($list, listed.iter().map(|r| &r.extra), &mut expected);
            let sample: Vec<i32> = listed.iter().take(100).map(|r| r.id).collect();
            let full = handle.get_many(&sample).await.expect("a batch get");
            extras($full, full.iter().map(|r| &r.extra), &mut expected);
        }};
    }
    expect!("TimePassListItem", "TimePass", client.time_passes());
    expect!(
        "CoworkerTimePassListItem",
        "CoworkerTimePass",
        client.coworker_time_passes()
    );
    expect!(
        "ProductTimePassListItem",
        "ProductTimePass",
        client.product_time_passes()
    );
    assert!(!expected.is_empty(), "the seed carries undocumented fields");

    // Every record listed (one page of 1,000), 100 full records sampled.
    let out = drift(
        &[
            "--demo",
            "-o",
            "json",
            "--pages",
            "1",
            "--page-size",
            "1000",
            "--sample",
            "100",
        ],
        None,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON findings");
    let mut found = Found::new();
    for f in &findings {
        let key = (
            f["schema"].as_str().unwrap_or_default().to_owned(),
            f["field"].as_str().unwrap_or_default().to_owned(),
            f["kind"].as_str().unwrap_or_default().to_owned(),
        );
        found.insert(key, f["count"].as_u64().unwrap_or_default());
    }
    assert_eq!(found, expected);

    // The default invocation, as a table: only those fields, only undeclared.
    let out = drift(&["--demo"], None).await;
    assert_eq!(out.status.code(), Some(7));
    let table = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = expected.keys().map(|(_, f, _)| f.as_str()).collect();
    for line in table.lines().skip(1) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert!(cells.len() >= 3, "{line}");
        assert!(fields.contains(&cells[1]), "an unexpected field: {line}");
        assert_eq!(cells[2], "undeclared", "{line}");
    }
    assert!(table.lines().count() > 1, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_the_spec_describes_exits_0_and_drift_exits_7() {
    // Seeded records 0..3 carry no undocumented fields.
    let clean = start(
        StandIn::builder()
            .records(Resource::TimePasses, 3)
            .records(Resource::CoworkerTimePasses, 3)
            .records(Resource::ProductTimePasses, 3),
    )
    .await;
    let out = drift(&["-o", "json"], Some(&clean)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings.is_empty());

    // Record 3 of each resource carries them.
    let drifted = start(
        StandIn::builder()
            .records(Resource::TimePasses, 4)
            .records(Resource::CoworkerTimePasses, 4)
            .records(Resource::ProductTimePasses, 4),
    )
    .await;
    let out = drift(&["timepasses"], Some(&drifted)).await;
    assert_eq!(out.status.code(), Some(7));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("TimePass ") && table.contains("UndocumentedFlag"),
        "{table}"
    );
    assert!(
        !table.contains("CoworkerTimePass"),
        "only the resource asked for: {table}"
    );
}

#[tokio::test]
async fn a_field_whose_type_changed_is_reported() {
    let server = start(
        StandIn::builder()
            .records(Resource::TimePasses, 2)
            .records(Resource::CoworkerTimePasses, 2)
            .records(Resource::ProductTimePasses, 2),
    )
    .await;
    // The server's own JSON, not a decoded and re-encoded record.
    let http = reqwest::Client::new();
    let batch = format!("{}/api/billing/coworkertimepasses/", server.base_url());
    let answer = http
        .get(&batch)
        .query(&[("id", "[100000000,100000001]")])
        .basic_auth(server.email(), Some(server.password()))
        .send()
        .await
        .expect("a batch get");
    assert!(answer.status().is_success(), "{}", answer.status());
    let records: Vec<Value> = answer.json().await.expect("JSON records");
    assert_eq!(records.len(), 2);
    let original = records[0].clone();

    let mut check = DriftCheck::new();
    check.observe("CoworkerTimePass", &original);
    assert!(check.is_clean(), "{:?}", check.findings());

    // A copy of the stand-in's record, with CoworkerId sent as text.
    let mut copy = original.clone();
    let coworker = copy["CoworkerId"].as_i64().unwrap();
    copy["CoworkerId"] = Value::String(coworker.to_string());
    let mut check = DriftCheck::new();
    check.observe("CoworkerTimePass", &copy);
    let findings = check.findings();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].field, "CoworkerId");
    assert_eq!(
        findings[0].problem,
        Problem::WrongType {
            expected: "integer".into(),
            found: "string".into()
        }
    );
    assert!(!check.is_clean());
}

/// A wrong password is a refused sign-in: exit 4, naming the sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_exits_4_naming_the_sign_in() {
    let server = StandIn::builder()
        .records(Resource::TimePasses, 3)
        .start()
        .await
        .unwrap();
    let out = Command::new(BIN)
        .args(["drift", "--base-url", server.base_url()])
        .env_remove("NEXUDUS_TOKEN")
        .env("NEXUDUS_EMAIL", server.email())
        .env("NEXUDUS_PASSWORD", "not-the-password")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("drift finishes in time")
        .expect("drift runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("sign-in refused"), "{stderr}");
}

/// `--sample` beyond one batch get reads that many full records, in
/// batches of 100, reading more listing pages when it needs their Ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_above_one_batch_is_read_in_several() {
    let server = StandIn::builder()
        .records(Resource::TimePasses, 3)
        .records(Resource::ProductTimePasses, 3)
        .records(Resource::CoworkerTimePasses, 250)
        .start()
        .await
        .unwrap();
    let before = server.stats().gets;
    let out = drift(
        &[
            "coworkertimepasses",
            "--sample",
            "250",
            "--page-size",
            "100",
        ],
        Some(&server),
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 7)), "{stderr}");
    // Three listing pages of 100 for 250 Ids, then three batch gets.
    assert_eq!(server.stats().gets - before, 6, "{stderr}");
}

/// Every API option reaches the client drift connects with (`-v` prints
/// the client's own settings), whether given after `drift` or before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_options_reach_the_client() {
    let server = start(
        StandIn::builder()
            .records(Resource::TimePasses, 3)
            .records(Resource::ProductTimePasses, 3),
    )
    .await;
    let after = drift(
        &["--concurrency", "7", "--page-size", "30", "-v"],
        Some(&server),
    )
    .await;
    let stderr = String::from_utf8_lossy(&after.stderr);
    assert!(matches!(after.status.code(), Some(0 | 7)), "{stderr}");
    assert!(
        stderr.contains("concurrency 7, page size 30 (30 when streaming)"),
        "{stderr}"
    );

    let before = Command::new(BIN)
        .args([
            "--concurrency",
            "9",
            "-v",
            "drift",
            "--reads-per-minute",
            "0",
        ])
        .args(["--base-url", server.base_url()])
        .env_remove("NEXUDUS_TOKEN")
        .env("NEXUDUS_EMAIL", server.email())
        .env("NEXUDUS_PASSWORD", server.password())
        .kill_on_drop(true)
        .output();
    let before = tokio::time::timeout(Duration::from_secs(300), before)
        .await
        .expect("drift finishes in time")
        .expect("drift runs");
    let stderr = String::from_utf8_lossy(&before.stderr);
    assert!(matches!(before.status.code(), Some(0 | 7)), "{stderr}");
    assert!(stderr.contains("concurrency 9"), "{stderr}");
}

/// `-o jsonl` gives one finding a line, `-o csv` a header and a row each,
/// and `--quiet` leaves stderr empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_come_in_every_format() {
    let drifted = start(
        StandIn::builder()
            .records(Resource::TimePasses, 4)
            .records(Resource::CoworkerTimePasses, 4)
            .records(Resource::ProductTimePasses, 4),
    )
    .await;
    let json = drift(&["timepasses", "-o", "json"], Some(&drifted)).await;
    let findings: Vec<Value> = serde_json::from_slice(&json.stdout).expect("a JSON array");
    assert!(!findings.is_empty());

    let jsonl = drift(&["timepasses", "-o", "jsonl", "--quiet"], Some(&drifted)).await;
    assert_eq!(jsonl.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&jsonl.stderr), "", "--quiet");
    let lines: Vec<Value> = String::from_utf8_lossy(&jsonl.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines, findings);

    let csv = drift(&["timepasses", "-o", "csv"], Some(&drifted)).await;
    assert_eq!(csv.status.code(), Some(7));
    let text = String::from_utf8_lossy(&csv.stdout);
    let mut rows = text.lines();
    assert_eq!(rows.next(), Some("schema,field,problem,detail,count"));
    assert_eq!(rows.count(), findings.len(), "{text}");
}

/// A reader of stdout that went away does not hide the drift: exit 7, no
/// error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_keeps_the_drift_exit_code() {
    let drifted = start(StandIn::builder().records(Resource::TimePasses, 4)).await;
    let mut child = Command::new(BIN)
        .args([
            "drift",
            "timepasses",
            "-o",
            "jsonl",
            "--reads-per-minute",
            "0",
        ])
        .args(["--base-url", drifted.base_url()])
        .env_remove("NEXUDUS_TOKEN")
        .env("NEXUDUS_EMAIL", drifted.email())
        .env("NEXUDUS_PASSWORD", drifted.password())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("drift starts");
    // The reader goes away before drift writes anything.
    drop(child.stdout.take());
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("drift finishes in time")
        .expect("drift runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}
