//! Tests of `nexudus tap`: the built binary runs against a stand-in started
//! in this process and its messages go into a real Singer target, the
//! pinned `target-jsonl` (tools/singer-requirements.txt, installed into
//! `<target dir>/singer-venv` by `cargo xtask singer` or `cargo xtask
//! check`). What the target wrote must equal the server's records; every
//! RECORD must validate against its stream's SCHEMA (the `jsonschema`
//! crate, formats asserted); a killed run resumed from the state the target
//! kept must end with the same data; bad files must fail before any request.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::stand_in::StandIn;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use common::{client, server_data, start, venv_tool, BIN};

const STREAMS: [&str; 3] = ["timepasses", "coworkertimepasses", "producttimepasses"];
/// No single run of the tap or the target may take longer than this.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Records per stream, by Id.
type Data = BTreeMap<String, BTreeMap<i32, Value>>;

/// A new, empty directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nexudus-tap-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// The pinned target's executable; a clear failure when it is missing.
fn target_jsonl() -> PathBuf {
    venv_tool("singer-venv", "target-jsonl", "cargo xtask singer")
}

/// A config file in `dir` for `server` (pages of 7, no pacing), with
/// `extra` keys added.
fn config(dir: &Path, server: &StandIn, extra: Value) -> PathBuf {
    let mut config = json!({
        "base_url": server.base_url(),
        "email": server.email(),
        "password": server.password(),
        "page_size": 7,
        "reads_per_minute": 0,
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        config[k] = v.clone();
    }
    write(dir, "config.json", &config.to_string())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("a file written");
    path
}

/// `nexudus tap ARGS`, with no credentials from the environment.
fn tap_command(args: &[&Path]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("tap")
        .args(args)
        .env_remove("NEXUDUS_TOKEN")
        .env_remove("NEXUDUS_EMAIL")
        .env_remove("NEXUDUS_PASSWORD")
        .env_remove("NEXUDUS_BASE_URL")
        .env_remove("NEXUDUS_PROFILE")
        .kill_on_drop(true);
    cmd
}

async fn tap(args: &[&Path]) -> Output {
    let run = tap_command(args).output();
    tokio::time::timeout(RUN_LIMIT, run)
        .await
        .expect("the tap finishes in time")
        .expect("the tap runs")
}

/// The messages of a run that succeeded.
async fn tap_ok(args: &[&Path]) -> (Vec<u8>, String) {
    let out = tap(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the tap failed: {stderr}");
    (out.stdout, stderr)
}

/// A run with `config` from the state `text` (written into `dir`).
async fn resume(config: &Path, dir: &Path, text: &str) -> (Vec<u8>, String) {
    let state = write(dir, "state.json", text);
    tap_ok(&["--config".as_ref(), config, "--state".as_ref(), &state]).await
}

/// Each stdout line as JSON.
fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
        .collect()
}

/// Checks a run's messages as Singer defines them: a SCHEMA before a
/// stream's records, every RECORD valid against it with `time_extracted`
/// set, a STATE last; the records per stream, in order.
fn check_messages(messages: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut validators = BTreeMap::new();
    let mut records: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in messages {
        let stream = m["stream"].as_str().unwrap_or("").to_owned();
        match m["type"].as_str() {
            Some("SCHEMA") => {
                assert_eq!(m["key_properties"], json!(["Id"]), "{m}");
                let validator = jsonschema::options()
                    .should_validate_formats(true)
                    .build(&m["schema"])
                    .unwrap_or_else(|e| panic!("{stream}: not a JSON Schema: {e}"));
                validators.insert(stream, validator);
            }
            Some("RECORD") => {
                let validator = validators
                    .get(&stream)
                    .unwrap_or_else(|| panic!("a RECORD of {stream} before its SCHEMA"));
                let record = &m["record"];
                let errors: Vec<String> = validator
                    .iter_errors(record)
                    .map(|e| format!("{}: {e}", e.instance_path()))
                    .collect();
                assert!(errors.is_empty(), "{stream} {}: {errors:?}", record["Id"]);
                let extracted = m["time_extracted"].as_str().unwrap_or("");
                assert!(
                    chrono::DateTime::parse_from_rfc3339(extracted).is_ok(),
                    "time_extracted {extracted:?}"
                );
                records.entry(stream).or_default().push(record.clone());
            }
            Some("STATE") => assert!(m["value"]["bookmarks"].is_object(), "{m}"),
            _ => panic!("not a Singer message: {m}"),
        }
    }
    let last = messages.last().map(|m| m["type"].clone());
    assert_eq!(last, Some(json!("STATE")), "the last message is a STATE");
    records
}

/// Pipes `messages` into the target writing into `dir`; the state it
/// printed (the last STATE it received), when it printed one.
async fn into_target(dir: &Path, messages: &[u8]) -> Option<Value> {
    let config = write(
        dir,
        "target.json",
        &json!({"destination_path": dir.join("out"), "do_timestamp_file": false}).to_string(),
    );
    let mut target = Command::new(target_jsonl())
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the target starts");
    let mut stdin = target.stdin.take().expect("the target's stdin");
    stdin.write_all(messages).await.expect("the target reads");
    drop(stdin);
    let out = tokio::time::timeout(RUN_LIMIT, target.wait_with_output())
        .await
        .expect("the target finishes in time")
        .expect("the target runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the target failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last()?;
    Some(serde_json::from_str(last).expect("the target's state is JSON"))
}

/// What the target wrote into `dir`, per stream, each line in order.
fn target_lines(dir: &Path) -> BTreeMap<String, Vec<Value>> {
    let mut out = BTreeMap::new();
    for stream in STREAMS {
        let path = dir.join("out").join(format!("{stream}.jsonl"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        out.insert(stream.to_owned(), lines(text.as_bytes()));
    }
    out
}

/// Records by Id, a later one replacing an earlier (what a target that
/// upserts by key keeps), with the fields of `extra` back in place, as the
/// API sent them.
fn by_id(records: &BTreeMap<String, Vec<Value>>) -> Data {
    let mut out = Data::new();
    for (stream, list) in records {
        let table = out.entry(stream.clone()).or_default();
        for r in list {
            let id = r["Id"].as_i64().expect("an Id") as i32;
            table.insert(id, unfolded(r.clone()));
        }
    }
    out
}

/// A record with the fields of its `extra` object among the others.
fn unfolded(mut record: Value) -> Value {
    let extra = record.as_object_mut().and_then(|r| r.remove("extra"));
    if let (Some(Value::Object(extra)), Some(r)) = (extra, record.as_object_mut()) {
        r.extend(extra);
    }
    record
}

/// The server's records, as the target's lines are keyed.
async fn expected(server: &StandIn) -> Data {
    let data = server_data(&client(server)).await;
    data.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Field-by-field differences between what a target holds and the server.
fn differences(got: &Data, want: &Data) -> Vec<String> {
    let mut diffs = Vec::new();
    for (stream, records) in want {
        let held = got.get(stream).cloned().unwrap_or_default();
        for (id, record) in records {
            match held.get(id) {
                None => diffs.push(format!("{stream} {id}: missing")),
                Some(r) if r != record => diffs.push(format!("{stream} {id}: {r} != {record}")),
                Some(_) => {}
            }
        }
        for id in held.keys().filter(|id| !records.contains_key(id)) {
            diffs.push(format!("{stream} {id}: not on the server"));
        }
    }
    diffs
}

fn seeded(seed: u64) -> nexudus_timepasses::stand_in::StandInBuilder {
    StandIn::builder()
        .seed(seed)
        .records(Resource::TimePasses, 5)
        .records(Resource::CoworkerTimePasses, 60)
        .records(Resource::ProductTimePasses, 8)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_prints_a_catalog_of_the_documented_shape() {
    let dir = scratch("discover");
    let plain = write(&dir, "plain.json", "{}");
    let deletes = write(&dir, "deletes.json", r#"{"detect_deletes": true}"#);
    for (config, with_deleted_at) in [(plain, false), (deletes, true)] {
        let (stdout, _) = tap_ok(&["--config".as_ref(), &config, "--discover".as_ref()]).await;
        let catalog: Value = serde_json::from_slice(&stdout).expect("the catalog is JSON");
        let streams = catalog["streams"].as_array().expect("streams: an array");
        let names: Vec<&str> = streams
            .iter()
            .map(|s| s["tap_stream_id"].as_str().expect("tap_stream_id"))
            .collect();
        assert_eq!(names, STREAMS);
        for s in streams {
            check_entry(s, with_deleted_at);
        }
    }
}

/// The keys a catalog entry must have (Singer's DISCOVERY_MODE.md), and
/// metadata for the stream and for every field of its schema.
fn check_entry(s: &Value, with_deleted_at: bool) {
    let name = s["tap_stream_id"].as_str().unwrap_or("");
    assert_eq!(s["stream"], json!(name));
    assert_eq!(s["key_properties"], json!(["Id"]));
    assert_eq!(s["replication_key"], json!("UpdatedOn"));
    let schema = &s["schema"];
    assert_eq!(schema["type"], json!("object"), "{name}");
    assert!(
        jsonschema::meta::is_valid(schema),
        "{name}: the schema is not a valid JSON Schema"
    );
    let properties = schema["properties"].as_object().expect("properties");
    let resource = Resource::ALL
        .into_iter()
        .find(|r| r.spec().name == name)
        .expect("a resource");
    // Every field of the spec's full record, nothing else.
    let want: BTreeSet<&str> = resource
        .spec()
        .record_fields
        .iter()
        .map(|f| f.name)
        .collect();
    let got: BTreeSet<&str> = properties
        .keys()
        .map(String::as_str)
        .filter(|k| !["_sdc_deleted_at", "extra"].contains(k))
        .collect();
    assert_eq!(got, want, "{name}");
    assert_eq!(properties["extra"]["type"], json!(["null", "object"]));
    assert_eq!(properties.contains_key("_sdc_deleted_at"), with_deleted_at);
    assert_eq!(properties["UpdatedOn"]["format"], json!("date-time"));
    // The validator the other tests check RECORDs with can fail.
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .expect("a validator");
    assert!(validator.is_valid(&json!({"Id": 1, "UpdatedOn": "2025-01-02T03:04:05Z"})));
    assert!(!validator.is_valid(&json!({"Id": 1, "UpdatedOn": "yesterday"})));
    assert!(!validator.is_valid(&json!({"Id": "1"})));
    assert!(!validator.is_valid(&json!({"Id": null})));
    let metadata = s["metadata"].as_array().expect("metadata: an array");
    let top = metadata
        .iter()
        .find(|m| m["breadcrumb"] == json!([]))
        .expect("stream metadata");
    let top = &top["metadata"];
    assert_eq!(top["selected"], json!(true));
    assert_eq!(top["replication-method"], json!("INCREMENTAL"));
    assert_eq!(top["valid-replication-keys"], json!(["UpdatedOn"]));
    assert_eq!(top["table-key-properties"], json!(["Id"]));
    for field in properties.keys() {
        let entry = metadata
            .iter()
            .find(|m| m["breadcrumb"] == json!(["properties", field]))
            .unwrap_or_else(|| panic!("{name}: no metadata for {field}"));
        let inclusion = entry["metadata"]["inclusion"].as_str();
        let want = if ["Id", "UpdatedOn"].contains(&field.as_str()) {
            "automatic"
        } else {
            "available"
        };
        assert_eq!(inclusion, Some(want), "{name} {field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_target_gets_every_record_and_a_second_run_only_the_changes() {
    let server = start(seeded(13)).await;
    let dir = scratch("target");
    let config = config(&dir, &server, json!({}));
    let (stdout, stderr) = tap_ok(&["--config".as_ref(), config.as_path()]).await;
    assert!(
        !String::from_utf8_lossy(&stdout).contains(server.password())
            && !stderr.contains(server.password()),
        "the password was printed"
    );
    check_messages(&lines(&stdout));
    let state = into_target(&dir, &stdout)
        .await
        .expect("the target's state");
    let first = target_lines(&dir);
    let want = expected(&server).await;
    for (stream, records) in &first {
        let ids: BTreeSet<i64> = records.iter().filter_map(|r| r["Id"].as_i64()).collect();
        assert_eq!(ids.len(), records.len(), "{stream}: every Id once");
    }
    let diffs = differences(&by_id(&first), &want);
    assert!(
        diffs.is_empty(),
        "the target differs:\n{}",
        diffs.join("\n")
    );

    // Change a few records, then run again from the target's state.
    let client = client(&server);
    let cw = client.coworker_time_passes();
    let ids: Vec<i32> = want["coworkertimepasses"].keys().copied().collect();
    let mut changed = BTreeSet::new();
    for id in ids.iter().step_by(20) {
        cw.update(*id, |r| r.notes = Some(format!("changed {id}")))
            .await
            .expect("an update");
        changed.insert(*id);
    }
    let pass = *want["timepasses"].keys().next().expect("a time pass");
    client
        .time_passes()
        .update(pass, |r| r.price = 99.5)
        .await
        .expect("an update");
    let (stdout, _) = resume(&config, &dir, &state.to_string()).await;
    let again = check_messages(&lines(&stdout));
    let ids_of = |stream: &str| -> BTreeSet<i32> {
        again
            .get(stream)
            .into_iter()
            .flatten()
            .filter_map(|r| r["Id"].as_i64())
            .map(|id| id as i32)
            .collect()
    };
    assert_eq!(ids_of("coworkertimepasses"), changed);
    assert_eq!(ids_of("timepasses"), BTreeSet::from([pass]));
    assert_eq!(ids_of("producttimepasses"), BTreeSet::new());
    into_target(&dir, &stdout).await.expect("a state");
    let diffs = differences(&by_id(&target_lines(&dir)), &expected(&server).await);
    assert!(
        diffs.is_empty(),
        "after the second run:\n{}",
        diffs.join("\n")
    );
}

/// One run of the tap from `state` into the target in `dir`, its messages
/// forwarded line by line; the tap is killed right after the first STATE
/// that differs from the one it started from, as if the pipe broke there.
/// The state the target printed, and whether the run ended by itself.
async fn run_killed_at_first_new_state(
    config: &Path,
    state: Option<&Value>,
    dir: &Path,
) -> (Option<Value>, bool) {
    let mut args = vec!["--config".as_ref(), config];
    let state_file;
    if let Some(state) = state {
        state_file = write(dir, "state.json", &state.to_string());
        args.extend(["--state".as_ref(), state_file.as_path()]);
    }
    let mut child = tap_command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the tap starts");
    let mut reader = BufReader::new(child.stdout.take().expect("the tap's stdout")).lines();
    let mut forwarded = Vec::new();
    let mut ended = true;
    let read = async {
        while let Some(line) = reader.next_line().await.expect("a line") {
            forwarded.extend_from_slice(line.as_bytes());
            forwarded.push(b'\n');
            let message: Value = serde_json::from_str(&line).expect("a message");
            if message["type"] == "STATE" && Some(&message["value"]) != state {
                ended = false;
                break;
            }
        }
    };
    tokio::time::timeout(RUN_LIMIT, read)
        .await
        .expect("the tap writes in time");
    if ended {
        let status = child.wait().await.expect("the tap's status");
        assert!(status.success(), "an unkilled run failed: {status}");
    } else {
        child.start_kill().expect("kill");
        let _ = child.wait().await;
    }
    (into_target(dir, &forwarded).await, ended)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_a_state_resumes_to_the_same_data() {
    // Slow answers keep each run busy long enough to be killed in it.
    let server = start(seeded(17).latency(Duration::from_millis(10))).await;
    let reference = scratch("reference");
    let config = config(&reference, &server, json!({}));
    let (stdout, _) = tap_ok(&["--config".as_ref(), config.as_path()]).await;
    into_target(&reference, &stdout).await.expect("a state");
    let want = by_id(&target_lines(&reference));
    assert!(differences(&want, &expected(&server).await).is_empty());

    let killed = scratch("killed");
    let (mut state, mut kills) = (None, 0);
    for _ in 0..200 {
        let (kept, ended) = run_killed_at_first_new_state(&config, state.as_ref(), &killed).await;
        if ended {
            break;
        }
        kills += 1;
        state = Some(kept.expect("the target printed the last STATE it received"));
    }
    assert!(kills > 3, "only {kills} runs were killed");
    eprintln!("{kills} runs killed, each right after a STATE");
    let got = by_id(&target_lines(&killed));
    let diffs = differences(&got, &want);
    assert!(
        diffs.is_empty(),
        "after {kills} kills, the target differs from an uninterrupted run:\n{}",
        diffs.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_exit_2_naming_them_before_any_request() {
    let server = start(seeded(3)).await;
    let dir = scratch("bad");
    let good = config(&dir, &server, json!({}));
    let cases: [(&str, &str, &str, &str); 6] = [
        ("--config", "config.bad.json", "{\"base_url\": ", "EOF"),
        (
            "--config",
            "config.typo.json",
            r#"{"pasword": "x"}"#,
            "unknown field `pasword`",
        ),
        (
            "--state",
            "state.bad.json",
            r#"{"bookmarks": {"timepasses": {"updated_since": "yesterday"}}}"#,
            "bookmarks.timepasses",
        ),
        ("--state", "state.list.json", "[1, 2]", "invalid type"),
        (
            "--catalog",
            "catalog.bad.json",
            r#"{"streams": [{"stream": "rooms"}]}"#,
            "\"rooms\" is not one of",
        ),
        (
            "--properties",
            "properties.bad.json",
            r#"{"streams": {}}"#,
            "streams",
        ),
    ];
    for (option, name, text, problem) in cases {
        let path = write(&dir, name, text);
        let mut args = vec![option.as_ref(), path.as_path()];
        if option != "--config" {
            args.extend(["--config".as_ref(), good.as_path()]);
        }
        let out = tap(&args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(&path.display().to_string()),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(problem), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: wrote to stdout");
    }
    let missing = dir.join("missing.json");
    let out = tap(&["--config".as_ref(), missing.as_path()]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));
    assert_eq!(server.stats().requests(), 0, "a request was sent");

    // A stream the tap does not know is ignored, with a warning.
    let rooms = r#"{"bookmarks": {"rooms": {"updated_since": "2025-01-01T00:00"}}}"#;
    let (stdout, stderr) = resume(&good, &dir, rooms).await;
    assert!(
        stderr.contains("warning") && stderr.contains("\"rooms\""),
        "{stderr}"
    );
    let messages = lines(&stdout);
    let last = &messages.last().expect("messages")["value"]["bookmarks"];
    assert!(last.get("rooms").is_none(), "{last}");
    assert_eq!(
        check_messages(&messages)
            .values()
            .map(Vec::len)
            .sum::<usize>(),
        73
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_chooses_streams_fields_and_full_table() {
    let server = start(seeded(7)).await;
    let dir = scratch("catalog");
    let config = config(&dir, &server, json!({}));
    let (stdout, _) = tap_ok(&["--config".as_ref(), config.as_path(), "--discover".as_ref()]).await;
    let mut catalog: Value = serde_json::from_slice(&stdout).expect("a catalog");
    for stream in catalog["streams"].as_array_mut().expect("streams") {
        let name = stream["stream"].as_str().unwrap_or("").to_owned();
        for m in stream["metadata"].as_array_mut().expect("metadata") {
            if m["breadcrumb"] == json!([]) {
                m["metadata"]["selected"] = json!(name != "producttimepasses");
                if name == "coworkertimepasses" {
                    m["metadata"]["replication-method"] = json!("FULL_TABLE");
                }
            }
            if m["breadcrumb"] == json!(["properties", "Notes"]) {
                m["metadata"]["selected"] = json!(false);
            }
        }
    }
    let catalog = write(&dir, "catalog.json", &catalog.to_string());
    // A state from a run that read everything: incremental streams have
    // nothing new; the FULL_TABLE one is read whole all the same.
    let (first, _) = tap_ok(&["--config".as_ref(), config.as_path()]).await;
    let state = lines(&first).last().expect("a STATE")["value"].clone();
    let state = write(&dir, "state.json", &state.to_string());
    let (stdout, _) = tap_ok(&[
        "--config".as_ref(),
        config.as_path(),
        "--catalog".as_ref(),
        catalog.as_path(),
        "--state".as_ref(),
        state.as_path(),
    ])
    .await;
    let messages = lines(&stdout);
    let schemas: Vec<&str> = messages
        .iter()
        .filter(|m| m["type"] == "SCHEMA")
        .filter_map(|m| m["stream"].as_str())
        .collect();
    assert_eq!(schemas, ["timepasses", "coworkertimepasses"]);
    let records = check_messages(&messages);
    assert!(records.get("timepasses").is_none_or(Vec::is_empty));
    let coworker = &records["coworkertimepasses"];
    assert_eq!(coworker.len(), 60, "FULL_TABLE reads every record");
    assert!(coworker
        .iter()
        .all(|r| r.get("Notes").is_none() && r.get("Id").is_some()));
    assert!(coworker.iter().all(|r| r.get("UpdatedOn").is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_records_are_emitted_with_sdc_deleted_at() {
    let server = start(seeded(9)).await;
    let dir = scratch("deletes");
    let config = config(&dir, &server, json!({"detect_deletes": true}));
    let (stdout, _) = tap_ok(&["--config".as_ref(), config.as_path()]).await;
    let first = check_messages(&lines(&stdout));
    assert!(first
        .values()
        .flatten()
        .all(|r| r.get("_sdc_deleted_at").is_none()));
    let state = into_target(&dir, &stdout).await.expect("a state");

    let (ids, deleted) = delete_two(&server).await;
    let (stdout, _) = resume(&config, &dir, &state.to_string()).await;
    let messages = lines(&stdout);
    let again = check_messages(&messages);
    assert_eq!(marked_deleted(again.values().flatten()), deleted);
    into_target(&dir, &stdout).await.expect("a state");
    let last =
        &messages.last().expect("a STATE")["value"]["bookmarks"]["coworkertimepasses"]["ids"];
    let ranges: Vec<[i32; 2]> = serde_json::from_value(last.clone()).expect("Id ranges");
    let held: BTreeSet<i32> = ranges.iter().flat_map(|[a, b]| *a..=*b).collect();
    let want: BTreeSet<i32> = ids
        .iter()
        .copied()
        .filter(|id| !deleted.contains(id))
        .collect();
    assert_eq!(held, want, "the state holds the Ids that remain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_table_stream_emits_the_records_its_walk_no_longer_finds_as_deleted() {
    let server = start(seeded(11)).await;
    let dir = scratch("full-table-deletes");
    let config = config(&dir, &server, json!({"detect_deletes": true}));
    let (stdout, _) = tap_ok(&["--config".as_ref(), config.as_path(), "--discover".as_ref()]).await;
    let mut catalog: Value = serde_json::from_slice(&stdout).expect("a catalog");
    for stream in catalog["streams"].as_array_mut().expect("streams") {
        let coworker = stream["stream"] == "coworkertimepasses";
        for m in stream["metadata"].as_array_mut().expect("metadata") {
            if m["breadcrumb"] == json!([]) {
                m["metadata"]["selected"] = json!(coworker);
                m["metadata"]["replication-method"] = json!("FULL_TABLE");
            }
        }
    }
    let catalog = write(&dir, "catalog.json", &catalog.to_string());
    let run = |state: Option<PathBuf>| {
        let (config, catalog) = (config.clone(), catalog.clone());
        async move {
            let mut args: Vec<PathBuf> =
                vec!["--config".into(), config, "--catalog".into(), catalog];
            if let Some(state) = state {
                args.extend([PathBuf::from("--state"), state]);
            }
            let args: Vec<&Path> = args.iter().map(PathBuf::as_path).collect();
            tap_ok(&args).await.0
        }
    };
    let first = run(None).await;
    let state = lines(&first).last().expect("a STATE")["value"].clone();
    let state = write(&dir, "state.json", &state.to_string());

    let (ids, deleted) = delete_two(&server).await;
    let again = check_messages(&lines(&run(Some(state)).await));
    let coworker = &again["coworkertimepasses"];
    assert_eq!(marked_deleted(coworker), deleted);
    assert_eq!(
        coworker.len(),
        ids.len(),
        "every record that remains, and the two deleted"
    );
}

/// Every CoworkerTimePass Id, and two of them deleted: the API keeps passes
/// that have check-ins, so the first two it lets go.
async fn delete_two(server: &StandIn) -> (Vec<i32>, BTreeSet<i32>) {
    let cw = client(server).coworker_time_passes();
    let ids: Vec<i32> = cw
        .all(|q| q)
        .await
        .expect("a listing")
        .iter()
        .map(|r| r.id)
        .collect();
    let mut deleted = BTreeSet::new();
    for id in &ids {
        if deleted.len() < 2 && cw.delete(*id).await.is_ok() {
            deleted.insert(*id);
        }
    }
    assert_eq!(deleted.len(), 2, "two seeded passes without check-ins");
    (ids, deleted)
}

/// The Ids of the records marked deleted (`_sdc_deleted_at` set).
fn marked_deleted<'a>(records: impl IntoIterator<Item = &'a Value>) -> BTreeSet<i32> {
    records
        .into_iter()
        .filter(|r| r["_sdc_deleted_at"].is_string())
        .filter_map(|r| r["Id"].as_i64())
        .map(|id| id as i32)
        .collect()
}
