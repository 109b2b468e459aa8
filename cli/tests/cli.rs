//! End-to-end tests of the `nexudus` binary: every action, every output
//! format and every documented exit code, against `--demo` or a
//! `nexudus serve --port 0` the test starts on 127.0.0.1. Every command runs
//! under a deadline; nothing asserts on timing.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_nexudus");
/// Longest any one command may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(120);
const EMAIL: &str = "admin@example.com";
const PASSWORD: &str = "stand-in-password";

/// What a finished command left.
#[derive(Debug)]
struct Done {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Done {
    fn jsonl(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {e}: {l}")))
            .collect()
    }

    fn ids(&self) -> Vec<i64> {
        self.jsonl().iter().map(id).collect()
    }
}

fn id(record: &Value) -> i64 {
    record["Id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no Id in {record}"))
}

/// The binary with a clean environment: no credentials, no colour.
fn nexudus(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("NEXUDUS_TOKEN")
        .env_remove("NEXUDUS_EMAIL")
        .env_remove("NEXUDUS_PASSWORD")
        .env_remove("NEXUDUS_TOTP")
        .env_remove("NEXUDUS_BASE_URL")
        .env_remove("NEXUDUS_PROFILE")
        // No profile of the person running the tests is found.
        .env(
            "NEXUDUS_CONFIG_DIR",
            std::env::temp_dir().join("nexudus-cli-tests-no-profiles"),
        )
        .env("NO_COLOR", "1");
    cmd
}

/// Runs a command to its end (stdin empty unless `input`), under [`DEADLINE`].
fn run_with(mut cmd: Command, input: Option<&str>) -> Done {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary starts");
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).expect("stdin written");
    }
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let code = wait(&mut child);
    Done {
        code,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

fn run(args: &[&str]) -> Done {
    run_with(nexudus(args), None)
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// Waits for the child, killing it past the deadline.
fn wait(child: &mut Child) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            return status.code().unwrap_or(-1);
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command ran past {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// `nexudus serve --port 0 ...`, stopped when dropped.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = nexudus(&[&["serve", "--port", "0"], args].concat())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let stdout: ChildStdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("serve announces");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Serve { child, url }
    }

    /// The binary pointed at this server with its account in the environment.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = nexudus(&[&["--base-url", self.url.as_str()], args].concat());
        cmd.env("NEXUDUS_EMAIL", EMAIL)
            .env("NEXUDUS_PASSWORD", PASSWORD);
        cmd
    }

    fn run(&self, args: &[&str]) -> Done {
        run_with(self.cmd(args), None)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ok(done: &Done) {
    assert_eq!(done.code, 0, "{done:?}");
}

#[test]
fn list_shows_one_page_in_every_format() {
    let jsonl = run(&["--demo", "coworkertimepasses", "list", "-o", "jsonl"]);
    ok(&jsonl);
    assert_eq!(jsonl.jsonl().len(), 25, "the API's default page size");
    assert!(jsonl.stderr.contains("page 1 of 40"), "{}", jsonl.stderr);

    let json = run(&[
        "--demo",
        "coworkertimepasses",
        "list",
        "-o",
        "json",
        "--page",
        "2",
    ]);
    ok(&json);
    let array: Vec<Value> = serde_json::from_str(&json.stdout).expect("one JSON array");
    assert_eq!(array.len(), 25);
    assert!(
        array.iter().all(|r| !jsonl.ids().contains(&id(r))),
        "page 2 differs from page 1"
    );

    let csv = run(&[
        "--demo",
        "coworkertimepasses",
        "list",
        "-o",
        "csv",
        "--page-size",
        "7",
    ]);
    ok(&csv);
    let mut reader = csv::Reader::from_reader(csv.stdout.as_bytes());
    assert_eq!(reader.headers().expect("a header").get(0), Some("Id"));
    assert_eq!(reader.records().count(), 7);

    let table = run(&[
        "--demo",
        "timepasses",
        "list",
        "-o",
        "table",
        "--columns",
        "id,name",
    ]);
    ok(&table);
    let header = table.stdout.lines().next().unwrap_or_default();
    assert!(
        header.contains("Id") && header.contains("Name"),
        "{}",
        table.stdout
    );
    assert!(
        !header.contains("Price"),
        "only the chosen columns: {header}"
    );
    // Header, rule, then a line or more per record (a name may hold a line break).
    assert!(table.stdout.lines().count() >= 2 + 25, "{}", table.stdout);
    let ids = run(&["--demo", "timepasses", "list"]).ids();
    assert!(
        ids.iter().all(|id| table.stdout.contains(&id.to_string())),
        "{}",
        table.stdout
    );

    // Piped without -o: JSON lines.
    let piped = run(&["--demo", "producttimepasses", "list"]);
    ok(&piped);
    assert_eq!(piped.jsonl().len(), 25);
}

#[test]
fn list_all_applies_filters_sorting_and_limit() {
    let unused = run(&[
        "--demo",
        "coworkertimepasses",
        "list",
        "--all",
        "--where",
        "used=false",
        "--limit",
        "130",
    ]);
    ok(&unused);
    let records = unused.jsonl();
    assert_eq!(records.len(), 130);
    assert!(records.iter().all(|r| r["Used"] == Value::Bool(false)));

    let ranged = run(&[
        "--demo",
        "coworkertimepasses",
        "list",
        "--all",
        "--from",
        "UpdatedOn=2024-02-01",
        "--to",
        "UpdatedOn=2024-02-29",
    ]);
    ok(&ranged);
    let records = ranged.jsonl();
    assert!(!records.is_empty());
    for r in &records {
        let t = r["UpdatedOn"].as_str().unwrap_or_default();
        assert!(
            ("2024-02-01".."2024-03-01").contains(&t),
            "{t} outside February"
        );
    }

    let sorted = run(&[
        "--demo",
        "timepasses",
        "list",
        "--all",
        "--order-by",
        "price",
        "--desc",
    ]);
    ok(&sorted);
    let prices: Vec<f64> = sorted
        .jsonl()
        .iter()
        .map(|r| r["Price"].as_f64().unwrap_or(0.0))
        .collect();
    assert_eq!(prices.len(), 40);
    assert!(prices.windows(2).all(|w| w[0] >= w[1]), "{prices:?}");
}

#[test]
fn usage_errors_exit_2_and_name_the_choices() {
    let misspelt = run(&[
        "--demo",
        "coworkertimepasses",
        "list",
        "--where",
        "Usd=true",
    ]);
    assert_eq!(misspelt.code, 2, "{misspelt:?}");
    assert!(
        misspelt.stderr.contains("Usd") && misspelt.stderr.contains("Used"),
        "{}",
        misspelt.stderr
    );
    assert!(misspelt.stdout.is_empty());

    let bad_value = run(&[
        "--demo",
        "coworkertimepasses",
        "list",
        "--where",
        "Coworker=abc",
    ]);
    assert_eq!(bad_value.code, 2);
    assert!(bad_value.stderr.contains("integer"), "{}", bad_value.stderr);

    let bad_date = run(&[
        "--demo",
        "timepasses",
        "list",
        "--from",
        "UpdatedOn=yesterday",
    ]);
    assert_eq!(bad_date.code, 2);

    let bad_sort = run(&["--demo", "timepasses", "list", "--order-by", "Prise"]);
    assert_eq!(bad_sort.code, 2);
    assert!(bad_sort.stderr.contains("Price"), "{}", bad_sort.stderr);

    let bad_column = run(&[
        "--demo",
        "timepasses",
        "list",
        "-o",
        "csv",
        "--columns",
        "Id,Nmae",
    ]);
    assert_eq!(bad_column.code, 2);

    let bad_set = run(&["--demo", "timepasses", "update", "1001", "--set", "Nmae=x"]);
    assert_eq!(bad_set.code, 2);
    assert!(bad_set.stderr.contains("Name"), "{}", bad_set.stderr);

    let clap = run(&["timepasses", "list", "--no-such-option"]);
    assert_eq!(clap.code, 2);
    let password_in_argv = run(&["--password", "x", "timepasses", "list"]);
    assert_eq!(password_in_argv.code, 2, "there is no --password option");
}

#[test]
fn export_from_a_flaky_throttling_server_gives_every_record_once() {
    let server = Serve::start(&["--fail-every", "10", "--read-limit", "20"]);
    // Default settings (one large page), then pages of 25: 40 pages, four
    // of them failing first, several throttled while four are in flight.
    for extra in [&[][..], &["--page-size", "25"]] {
        let export =
            server.run(&[&["coworkertimepasses", "export", "-o", "jsonl"], extra].concat());
        ok(&export);
        let ids = export.ids();
        assert_eq!(ids.len(), 1_000, "the stand-in's 1,000 CoworkerTimePasses");
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1_000, "each once");
        assert!(
            export
                .stderr
                .contains("exported 1000 CoworkerTimePass records"),
            "{}",
            export.stderr
        );
        if !extra.is_empty() {
            assert!(
                !export.stderr.contains(" 0 retries"),
                "failures were retried: {}",
                export.stderr
            );
        }
    }
}

#[test]
fn csv_parses_back_into_the_same_records() {
    let server = Serve::start(&[]);
    let jsonl = server.run(&["coworkertimepasses", "export", "-o", "jsonl"]);
    let csv = server.run(&["coworkertimepasses", "export", "-o", "csv"]);
    ok(&jsonl);
    ok(&csv);
    let mut reader = csv::Reader::from_reader(csv.stdout.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a CSV record")).collect();
    let records = jsonl.jsonl();
    assert_eq!(rows.len(), records.len());
    let mut multiline = 0;
    let mut others = 0;
    for (row, record) in rows.iter().zip(&records) {
        // The row read back as a record: each cell by its value's JSON type,
        // `OtherFields` (fields beyond the spec's) merged back in.
        let mut back = serde_json::Map::new();
        for (column, cell) in header.iter().zip(row.iter()) {
            multiline += usize::from(cell.contains('\n'));
            if column == "OtherFields" {
                if !cell.is_empty() {
                    others += 1;
                    let extra: serde_json::Map<String, Value> =
                        serde_json::from_str(cell).expect("a JSON object of other fields");
                    back.extend(extra);
                }
                continue;
            }
            // CSV has one empty cell for a null and for a field left out.
            if record.get(column.as_str()).is_none() {
                assert_eq!(cell, "", "{column} is absent");
                continue;
            }
            let value = match &record[column.as_str()] {
                Value::Null => {
                    assert_eq!(cell, "", "{column}");
                    Value::Null
                }
                Value::String(_) => Value::String(cell.to_owned()),
                _ => {
                    serde_json::from_str(cell).expect("JSON text of a number, bool, list or object")
                }
            };
            back.insert(column.clone(), value);
        }
        assert_eq!(&Value::Object(back), record, "row {}", id(record));
    }
    assert!(
        others > 0,
        "the stand-in sends fields beyond the spec; none seen"
    );
    // The seeded names include line breaks and quotes: the quoting was exercised.
    assert!(
        multiline > 0 || csv.stdout.contains("\"\""),
        "no cell needed quoting"
    );
}

#[test]
fn export_full_and_since() {
    let server = Serve::start(&[]);
    let listing = server.run(&["coworkertimepasses", "export", "--page-size", "250"]);
    ok(&listing);
    let all = listing.jsonl();
    assert!(
        all.iter().all(|r| r.get("Notes").is_none()),
        "listing records leave out Notes"
    );

    let full = server.run(&[
        "coworkertimepasses",
        "export",
        "--full",
        "--page-size",
        "250",
    ]);
    ok(&full);
    let records = full.jsonl();
    assert_eq!(
        full.ids(),
        listing.ids(),
        "the same records in the same order"
    );
    assert!(
        records.iter().all(|r| r.get("Notes").is_some()),
        "full records carry Notes"
    );

    let since = "2024-06-01T12:34:56Z";
    let recent = server.run(&[
        "coworkertimepasses",
        "export",
        "--since",
        since,
        "--page-size",
        "250",
    ]);
    ok(&recent);
    let expected: Vec<i64> = all
        .iter()
        .filter(|r| r["UpdatedOn"].as_str().unwrap_or_default() >= since)
        .map(id)
        .collect();
    assert!(!expected.is_empty() && expected.len() < all.len());
    let mut got = recent.ids();
    let mut want = expected;
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "exactly the records updated at or after {since}");
}

#[test]
fn get_fetches_several_and_exits_3_for_a_missing_one() {
    let page = run(&["--demo", "coworkertimepasses", "list", "--page-size", "3"]);
    let ids: Vec<String> = page.ids().iter().map(i64::to_string).collect();
    let [a, b, c] = [ids[0].as_str(), ids[1].as_str(), ids[2].as_str()];
    let got = run(&["--demo", "coworkertimepasses", "get", c, a, b, "-o", "json"]);
    ok(&got);
    let records: Vec<Value> = serde_json::from_str(&got.stdout).expect("a JSON array");
    let order: Vec<String> = records.iter().map(|r| id(r).to_string()).collect();
    assert_eq!(order, [c, a, b], "in the order asked");
    assert!(
        records.iter().all(|r| r.get("Notes").is_some()),
        "full records"
    );

    let missing = run(&["--demo", "coworkertimepasses", "get", a, "7"]);
    assert_eq!(missing.code, 3, "{missing:?}");
    assert_eq!(missing.ids(), [ids[0].parse::<i64>().unwrap_or(0)]);
    assert!(missing.stderr.contains('7'), "{}", missing.stderr);
}

#[test]
fn update_dry_run_then_update_changes_only_that_field() {
    let server = Serve::start(&[]);
    let first = server.run(&["coworkertimepasses", "list", "--page-size", "1"]);
    let target = first.ids()[0].to_string();
    let before = server
        .run(&["coworkertimepasses", "get", &target])
        .jsonl()
        .remove(0);

    let dry = server.run(&[
        "coworkertimepasses",
        "update",
        &target,
        "--set",
        "Notes=checked by the test",
        "--dry-run",
    ]);
    ok(&dry);
    let diff = dry.jsonl();
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert_eq!(diff[0]["Field"], "Notes");
    assert_eq!(diff[0]["Before"], before["Notes"]);
    assert_eq!(diff[0]["After"], "checked by the test");
    assert!(dry.stderr.contains("nothing written"), "{}", dry.stderr);
    let unchanged = server
        .run(&["coworkertimepasses", "get", &target])
        .jsonl()
        .remove(0);
    assert_eq!(unchanged, before, "a dry run writes nothing");

    let table = server.run(&[
        "-o",
        "table",
        "coworkertimepasses",
        "update",
        &target,
        "--set",
        "Notes=x",
        "--dry-run",
    ]);
    ok(&table);
    assert!(
        table.stdout.contains("Before") && table.stdout.contains("Notes"),
        "{}",
        table.stdout
    );

    let update = server.run(&[
        "coworkertimepasses",
        "update",
        &target,
        "--set",
        "notes=checked by the test",
    ]);
    ok(&update);
    let after = server
        .run(&["coworkertimepasses", "get", &target])
        .jsonl()
        .remove(0);
    let changed: Vec<&String> = after
        .as_object()
        .expect("an object")
        .iter()
        .filter(|(k, v)| before.get(k.as_str()) != Some(v))
        .map(|(k, _)| k)
        .collect();
    let bookkeeping = ["UpdatedOn", "UpdatedBy"];
    let changed: Vec<&String> = changed
        .into_iter()
        .filter(|k| !bookkeeping.contains(&k.as_str()))
        .collect();
    assert_eq!(changed, ["Notes"], "only the field set changed");
    assert_eq!(after["Notes"], "checked by the test");

    let again = server.run(&[
        "coworkertimepasses",
        "update",
        &target,
        "--set",
        "Notes=checked by the test",
    ]);
    ok(&again);
    assert!(
        again.stderr.contains("nothing to change"),
        "{}",
        again.stderr
    );

    let missing = server.run(&["coworkertimepasses", "update", "7", "--set", "Notes=x"]);
    assert_eq!(missing.code, 3);
    let refused = server.run(&[
        "coworkertimepasses",
        "update",
        &target,
        "--set",
        "CreateMultiple=-5",
    ]);
    assert_eq!(refused.code, 5, "{refused:?}");
}

#[test]
fn create_from_set_and_from_json_on_stdin() {
    let server = Serve::start(&[]);
    let created = server.run(&[
        "timepasses",
        "create",
        "--set",
        "Name=Test pass",
        "--set",
        "BusinessId=1001",
        "--set",
        "Price=12.5",
        "--set",
        "CurrencyId=1",
    ]);
    ok(&created);
    let new_id = created.ids()[0].to_string();
    let record = server
        .run(&["timepasses", "get", &new_id])
        .jsonl()
        .remove(0);
    assert_eq!(record["Name"], "Test pass");
    assert_eq!(record["Price"], 12.5);

    let body = r#"{"Name": "From JSON", "BusinessId": 1001, "Price": 1, "CurrencyId": 1}"#;
    let from_json = run_with(
        server.cmd(&["timepasses", "create", "--json", "-", "--set", "Price=2"]),
        Some(body),
    );
    ok(&from_json);
    let id2 = from_json.ids()[0].to_string();
    let record = server.run(&["timepasses", "get", &id2]).jsonl().remove(0);
    assert_eq!(
        (record["Name"].as_str(), record["Price"].as_f64()),
        (Some("From JSON"), Some(2.0))
    );

    let incomplete = server.run(&["timepasses", "create", "--set", "Name=x"]);
    assert_eq!(incomplete.code, 2);
    assert!(
        incomplete.stderr.contains("BusinessId"),
        "{}",
        incomplete.stderr
    );

    let zero = server.run(&[
        "timepasses",
        "create",
        "--set",
        "Name=x",
        "--set",
        "BusinessId=0",
        "--set",
        "Price=1",
        "--set",
        "CurrencyId=1",
    ]);
    assert_eq!(
        zero.code, 5,
        "the server refuses a reference of 0 and nothing is written: {zero:?}"
    );
    assert!(zero.stderr.contains("BusinessId"), "{}", zero.stderr);

    // A reference to no TimePass: only the server can tell.
    let refused = server.run(&[
        "coworkertimepasses",
        "create",
        "--set",
        "CoworkerId=5",
        "--set",
        "BusinessId=1001",
        "--set",
        "TimePassId=999999",
        "--set",
        "CreateMultiple=1",
    ]);
    assert_eq!(refused.code, 5, "{refused:?}");
    assert!(
        refused.stderr.lines().count() <= 2,
        "one or two lines: {}",
        refused.stderr
    );
}

#[test]
fn delete_asks_refuses_without_a_terminal_and_deletes_with_yes() {
    let server = Serve::start(&[]);
    // Passes of its own: the API refuses to delete a pass with check-ins,
    // which most seeded ones have.
    let time_pass = server
        .run(&["timepasses", "list", "--page-size", "1"])
        .ids()[0]
        .to_string();
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let created = server.run(&[
                "coworkertimepasses",
                "create",
                "--set",
                "CoworkerId=5",
                "--set",
                "BusinessId=1001",
                "--set",
                &format!("TimePassId={time_pass}"),
                "--set",
                "CreateMultiple=1",
            ]);
            ok(&created);
            created.ids()[0].to_string()
        })
        .collect();

    let refused = server.run(&["coworkertimepasses", "delete", &ids[0]]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    ok(&server.run(&["coworkertimepasses", "get", &ids[0]]));

    let deleted = server.run(&["coworkertimepasses", "delete", &ids[0], &ids[1], "--yes"]);
    ok(&deleted);
    assert_eq!(deleted.ids().len(), 2);
    assert_eq!(server.run(&["coworkertimepasses", "get", &ids[0]]).code, 3);

    let again = server.run(&["coworkertimepasses", "delete", &ids[0], "--yes"]);
    assert_eq!(again.code, 3, "{again:?}");

    // A TimePass that passes still use: the server's 500 envelope, exit 1.
    let used = server.run(&[
        "coworkertimepasses",
        "list",
        "--page-size",
        "1",
        "--page",
        "3",
    ]);
    let time_pass = used.jsonl()[0]["TimePassId"].to_string();
    let in_use = server.run(&["timepasses", "delete", &time_pass, "--yes"]);
    assert_eq!(in_use.code, 1, "{in_use:?}");
    assert!(
        !in_use.stderr.contains("Error {"),
        "no Debug dump: {}",
        in_use.stderr
    );
}

#[test]
fn commands_and_run() {
    let server = Serve::start(&[]);
    let listed = server.run(&["coworkertimepasses", "commands"]);
    ok(&listed);
    let keys: Vec<String> = listed
        .jsonl()
        .iter()
        .map(|c| c["Key"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(keys.contains(&"MarkAsUsed".to_owned()), "{keys:?}");

    let unused = server.run(&[
        "coworkertimepasses",
        "list",
        "--where",
        "Used=false",
        "--page-size",
        "1",
    ]);
    let target = unused.ids()[0].to_string();
    ok(&server.run(&["coworkertimepasses", "commands", &target, "-o", "table"]));
    let ran = server.run(&[
        "coworkertimepasses",
        "run",
        "MarkAsUsed",
        "--id",
        &target,
        "-o",
        "json",
    ]);
    ok(&ran);
    let envelope: Vec<Value> = serde_json::from_str(&ran.stdout).expect("JSON");
    assert_eq!(envelope[0]["WasSuccessful"], true);
    let record = server
        .run(&["coworkertimepasses", "get", &target])
        .jsonl()
        .remove(0);
    assert_eq!(record["Used"], true);
}

#[test]
fn authentication_failures_exit_4() {
    let server = Serve::start(&[]);
    let mut wrong = server.cmd(&["timepasses", "list"]);
    wrong.env("NEXUDUS_PASSWORD", "not-the-password");
    let wrong = run_with(wrong, None);
    assert_eq!(wrong.code, 4, "{wrong:?}");
    assert!(
        !wrong.stderr.contains("not-the-password"),
        "no secret in errors"
    );
    assert!(wrong.stderr.lines().count() <= 2, "{}", wrong.stderr);

    let mut token = nexudus(&["--base-url", &server.url, "timepasses", "get", "1001"]);
    token.env("NEXUDUS_TOKEN", "not-a-token");
    let token = run_with(token, None);
    assert_eq!(token.code, 4, "{token:?}");
    assert!(!token.stderr.contains("not-a-token"));

    let none = run_with(
        nexudus(&["--base-url", &server.url, "timepasses", "list"]),
        None,
    );
    assert_eq!(none.code, 4);
    assert!(none.stderr.contains("NEXUDUS_TOKEN"), "{}", none.stderr);

    let mut stdin = nexudus(&[
        "--base-url",
        &server.url,
        "--password-stdin",
        "timepasses",
        "list",
    ]);
    stdin.env("NEXUDUS_EMAIL", EMAIL);
    let stdin = run_with(stdin, Some(&format!("{PASSWORD}\n")));
    ok(&stdin);
    assert_eq!(stdin.jsonl().len(), 25);
}

#[test]
fn throttled_or_unavailable_after_retries_exit_6() {
    // One read a second: the second page's request is throttled, and with
    // no retries allowed that is the end.
    let slow = Serve::start(&["--read-limit", "1"]);
    let throttled = slow.run(&["--retries", "0", "--page-size", "1", "timepasses", "export"]);
    assert_eq!(throttled.code, 6, "{throttled:?}");
    assert!(
        throttled.stderr.contains("throttled"),
        "{}",
        throttled.stderr
    );

    let down = Serve::start(&["--fail-every", "1"]);
    let unavailable = down.run(&["--retries", "1", "timepasses", "list"]);
    assert_eq!(unavailable.code, 6, "{unavailable:?}");
    assert!(
        !unavailable.stderr.contains("<html"),
        "no HTML dump: {}",
        unavailable.stderr
    );

    let mut nowhere = nexudus(&[
        "--base-url",
        "http://127.0.0.1:9",
        "--retries",
        "0",
        "timepasses",
        "list",
    ]);
    nowhere.env("NEXUDUS_TOKEN", "t");
    let nowhere = run_with(nowhere, None);
    assert_eq!(nowhere.code, 6, "{nowhere:?}");
}

#[test]
fn a_closed_pipe_ends_quietly_with_exit_0() {
    let mut child = nexudus(&["--demo", "coworkertimepasses", "export", "-o", "jsonl"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("piped");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    // The reader is dropped here, as `| head -1` exits: the rest of the
    // export (far more than a pipe buffer) meets a closed pipe.
    assert!(first.starts_with('{'), "{first}");
    let err = reader(child.stderr.take());
    let code = wait(&mut child);
    let stderr = err.join().unwrap_or_default();
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("error"), "quiet: {stderr}");
}

#[test]
fn serve_help_shows_only_what_a_server_takes_and_api_options_go_anywhere() {
    let serve = run(&["serve", "--help"]);
    ok(&serve);
    for option in [
        "--columns",
        "--page-size",
        "--retries",
        "--output",
        "--password-stdin",
    ] {
        assert!(
            !serve.stdout.contains(option),
            "serve --help lists {option}"
        );
    }
    assert!(serve.stdout.contains("--port"), "{}", serve.stdout);
    // Typed before `serve`, an API option is a usage error, not ignored.
    let refused = run(&["--page-size", "5", "serve", "--port", "0"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("--page-size"), "{}", refused.stderr);
    // Before the resource, between resource and action, after the action.
    for args in [
        &["--demo", "-o", "csv", "timepasses", "list", "--limit", "1"][..],
        &["timepasses", "--demo", "list", "-o", "csv", "--limit", "1"][..],
        &["timepasses", "list", "--limit", "1", "--demo", "-o", "csv"][..],
    ] {
        let listed = run(args);
        ok(&listed);
        assert!(
            listed.stdout.starts_with("AccessControlGroupId,") || listed.stdout.starts_with("Id,"),
            "{args:?}: {}",
            listed.stdout
        );
    }
}

#[test]
fn help_completions_quiet_and_aliases() {
    let help = run(&["--help"]);
    ok(&help);
    for code in [
        "0  success",
        "2  usage",
        "3  a record",
        "4  authentication",
        "5  the server refused",
        "6  throttled",
        "7  drift",
        "130  sync interrupted",
    ] {
        assert!(
            help.stdout.contains(code),
            "--help documents `{code}`: {}",
            help.stdout
        );
    }
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        ok(&script);
        assert!(script.stdout.contains("coworkertimepasses"), "{shell}");
    }
    let quiet = run(&["--demo", "-q", "time-passes", "list", "--limit", "1"]);
    ok(&quiet);
    assert_eq!(quiet.jsonl().len(), 1);
    assert_eq!(quiet.stderr, "", "--quiet prints nothing on stderr");
    let alias = run(&["--demo", "coworker-time-passes", "list", "--limit", "1"]);
    ok(&alias);

    // Data stays on stdout, the summary on stderr.
    let counts: BTreeMap<&str, usize> = [
        ("stdout", alias.stdout.lines().count()),
        ("stderr", alias.stderr.lines().count()),
    ]
    .into();
    assert_eq!(counts, [("stderr", 1), ("stdout", 1)].into());
}

/// The API's own burst of 500 "Ooops!" pages (`serve --fail-with 500`):
/// the export retries them and gives every record once.
#[test]
fn export_from_a_server_failing_with_500_pages_gives_every_record_once() {
    let server = Serve::start(&["--fail-every", "5", "--fail-with", "500"]);
    let export = server.run(&[
        "coworkertimepasses",
        "export",
        "-o",
        "jsonl",
        "--page-size",
        "25",
    ]);
    ok(&export);
    let ids = export.ids();
    assert_eq!(ids.len(), 1_000, "the stand-in's 1,000 CoworkerTimePasses");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1_000, "each once");
    assert!(
        !export.stderr.contains(" 0 retries"),
        "the 500 pages were retried: {}",
        export.stderr
    );
}
