//! Tests of `nexudus sync`: the built binary syncs from a stand-in started
//! in this process into SQLite and into PostgreSQL (a throwaway cluster per
//! test), while a writer changes records through the API, while it is
//! killed, and while requests fail; afterwards every table must equal the
//! server's data, compared field by field with a batch get of every Id.

mod common;
#[path = "common/db.rs"]
mod db;

use std::collections::BTreeMap;
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::stand_in::StandIn;
use nexudus_timepasses::types::CoworkerTimePassCreate;
use nexudus_timepasses::{Client, Credentials, Pacing};
use serde_json::Value;
use tokio::process::Command;

use common::{client, server_data, start, BIN};
use db::cluster::{Cluster, PASSWORD};
use db::{differences, row_differences, Db};

const RESOURCES: [&str; 3] = ["timepasses", "coworkertimepasses", "producttimepasses"];
/// No single run of the binary may take longer than this.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// Both backends for a scenario called `name`: a new SQLite file, and a
/// new schema in `cluster`.
async fn backends(cluster: &Cluster, name: &str) -> [Db; 2] {
    [Db::sqlite(name), Db::postgres(cluster, name).await]
}

/// `nexudus sync` against `server` into `db`, pages of 7, no client pacing.
fn sync_command(server: &StandIn, db: &Db, extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("sync")
        .args(db.args())
        .args(["--base-url", server.base_url()])
        .args(["--page-size", "7", "--reads-per-minute", "0"])
        .args(extra)
        .env_remove("NEXUDUS_TOKEN")
        .env("NEXUDUS_EMAIL", server.email())
        .env("NEXUDUS_PASSWORD", server.password())
        .env("PGPASSWORD", PASSWORD)
        .kill_on_drop(true);
    cmd
}

async fn sync(server: &StandIn, db: &Db, extra: &[&str]) -> Output {
    let run = sync_command(server, db, extra).output();
    tokio::time::timeout(RUN_LIMIT, run)
        .await
        .expect("sync finishes in time")
        .expect("sync runs")
}

async fn sync_ok(server: &StandIn, db: &Db, extra: &[&str]) -> String {
    let out = sync(server, db, extra).await;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "sync into {} failed: {stderr}",
        db.label()
    );
    stderr
}

async fn assert_equal_to_server(db: &Db, client: &Client) {
    let expected = server_data(client).await;
    let diffs = differences(db, &expected).await;
    assert!(
        diffs.is_empty(),
        "the database differs:\n{}",
        diffs.join("\n")
    );
}

/// A small deterministic random source (xorshift), so a failing run can be
/// repeated.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// What the writer did.
#[derive(Debug, Default)]
struct Writes {
    updates: u64,
    same_minute_bursts: u64,
    creates: u64,
    deletes: u64,
}

/// Updates, creates and deletes records until `stop` (or 3,000 writes):
/// bursts of three updates to one record, updates of seeded records (which
/// moves them out of the window a sync is reading), creates and deletes.
async fn writer(client: Client, stop: Arc<AtomicBool>, done: Arc<AtomicU64>) -> Writes {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut w = Writes::default();
    let passes = client.time_passes().all(|q| q).await.unwrap();
    let products: Vec<i32> = client
        .product_time_passes()
        .all(|q| q)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let mut live: Vec<i32> = client
        .coworker_time_passes()
        .all(|q| q)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let cw = client.coworker_time_passes();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) && n < 3_000 {
        n += 1;
        match rng.below(10) {
            0..=3 if !live.is_empty() => {
                let id = live[rng.below(live.len())];
                cw.update(id, |r| {
                    r.notes = Some(format!("edit {n}: «ünïcode»\nline"));
                    r.price = Some(n as f64 / 8.0);
                })
                .await
                .expect("an update");
                w.updates += 1;
            }
            4 if !live.is_empty() => {
                // Several updates to one record within the same minute.
                let id = live[rng.below(live.len())];
                for k in 0..3 {
                    cw.update(id, |r| r.purchase_order = Some(format!("PO {n}.{k}")))
                        .await
                        .expect("an update");
                }
                w.same_minute_bursts += 1;
            }
            5 | 6 => {
                let pass = &passes[rng.below(passes.len())];
                let body = CoworkerTimePassCreate::builder()
                    .business_id(pass.business_id)
                    .coworker_id(1 + rng.below(500) as i32)
                    .create_multiple(1)
                    .free(Some(n.is_multiple_of(2)))
                    .notes(Some(format!("created {n}")))
                    .time_pass_id(pass.id);
                live.push(cw.create(body).await.expect("a create"));
                w.creates += 1;
            }
            7 if live.len() > 10 => {
                let id = live.swap_remove(rng.below(live.len()));
                match cw.delete(id).await {
                    Ok(_) => w.deletes += 1,
                    // The API keeps a pass that has check-ins (a 500 envelope).
                    Err(e) if e.status().map(|s| s.as_u16()) == Some(500) => live.push(id),
                    Err(e) => panic!("a delete: {e}"),
                }
            }
            8 => {
                let id = products[rng.below(products.len())];
                client
                    .product_time_passes()
                    .update(id, |r| r.passes_included = 1 + (n % 30) as i32)
                    .await
                    .expect("a product update");
                w.updates += 1;
            }
            _ => {
                let id = passes[rng.below(passes.len())].id;
                client
                    .time_passes()
                    .update(id, |r| r.price = n as f64 / 4.0)
                    .await
                    .expect("a time-pass update");
                w.updates += 1;
            }
        }
        done.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_while_a_writer_changes_records_end_equal_to_the_server() {
    let server = start(
        StandIn::builder()
            .seed(11)
            .records(Resource::TimePasses, 6)
            .records(Resource::CoworkerTimePasses, 150)
            .records(Resource::ProductTimePasses, 30),
    )
    .await;
    let client = client(&server);
    let cluster = Cluster::start("writer");
    let dbs = backends(&cluster, "writer").await;
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let writing = tokio::spawn(writer(client.clone(), stop.clone(), done.clone()));
    while done.load(Ordering::Relaxed) < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Each run starts while the writer is busy; the first is the full
    // load. The two backends take turns on the same stream of writes.
    let mut runs = Vec::new();
    for _ in 0..5 {
        for db in &dbs {
            let before = done.load(Ordering::Relaxed);
            runs.push(sync_ok(&server, db, &[]).await);
            runs.push(format!(
                "writes during the {} run: {}",
                db.label(),
                done.load(Ordering::Relaxed) - before
            ));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let writes = writing.await.expect("the writer ends");
    assert!(
        writes.updates > 0
            && writes.same_minute_bursts > 0
            && writes.creates > 0
            && writes.deletes > 0,
        "the writer did too little: {writes:?}"
    );
    for db in &dbs {
        let last = sync_ok(&server, db, &["--detect-deletes"]).await;
        assert!(last.contains("coworkertimepasses:"), "{last}");
        assert_equal_to_server(db, &client).await;
    }
    eprintln!("{writes:?}\n{}", runs.join("\n"));
}

/// With the server's data fixed, a committed checkpoint promises every
/// record changed before its minute is stored as it is on the server.
async fn assert_checkpoint_covered(db: &Db, expected: &BTreeMap<&str, BTreeMap<i32, Value>>) {
    for table in RESOURCES {
        let Some(text) = db.checkpoint(table).await else {
            continue;
        };
        let cp: nexudus_timepasses::Checkpoint = serde_json::from_str(&text).unwrap();
        let Some(minute) = cp.updated_since else {
            continue;
        };
        let (rows, types) = db.rows(table).await;
        for (id, record) in &expected[table] {
            let at = record["UpdatedOn"].as_str().unwrap();
            if at[..16] < minute[..] {
                let row = rows.get(id).unwrap_or_else(|| {
                    panic!("{table} {id} ({at}) is before the checkpoint {minute} but not stored")
                });
                let diffs = row_differences(table, *id, row, record, &types);
                assert!(diffs.is_empty(), "{}", diffs.join("\n"));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_after_each_commit_resumes_to_the_same_database() {
    let server = start(
        StandIn::builder()
            .seed(5)
            .records(Resource::TimePasses, 4)
            .records(Resource::CoworkerTimePasses, 120)
            .records(Resource::ProductTimePasses, 10)
            // Slow answers keep the run busy long enough to be killed in it.
            .latency(Duration::from_millis(15)),
    )
    .await;
    let client = client(&server);
    let expected = server_data(&client).await;

    let cluster = Cluster::start("killed");
    for (reference, db) in backends(&cluster, "reference")
        .await
        .into_iter()
        .zip(backends(&cluster, "killed").await)
    {
        // The reference: one uninterrupted run.
        sync_ok(&server, &reference, &[]).await;
        assert!(differences(&reference, &expected).await.is_empty());
        let kills = kill_after_each_commit(&server, &db, &expected).await;
        sync_ok(&server, &db, &[]).await;
        let diffs = differences(&db, &expected).await;
        assert!(
            diffs.is_empty(),
            "after {kills} kills:\n{}",
            diffs.join("\n")
        );
        for table in RESOURCES {
            assert_eq!(
                db.rows(table).await.0,
                reference.rows(table).await.0,
                "{} {table}",
                db.label()
            );
        }
    }
}

/// Kills runs into `db` as soon as each commits a checkpoint it had not
/// committed before (right after a transaction, or inside the next one),
/// again and again until a run completes on its own; the kills.
async fn kill_after_each_commit(
    server: &StandIn,
    db: &Db,
    expected: &BTreeMap<&str, BTreeMap<i32, Value>>,
) -> u32 {
    let checkpoints = || async {
        let mut all = Vec::new();
        for r in RESOURCES {
            all.push(db.checkpoint(r).await);
        }
        all
    };
    let mut kills = 0;
    for _ in 0..200 {
        let before = checkpoints().await;
        let mut child = sync_command(server, db, &[]).spawn().expect("sync starts");
        let status = loop {
            if let Some(status) = child.try_wait().expect("the child's status") {
                break Some(status);
            }
            if checkpoints().await != before {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        match status {
            Some(status) => {
                assert!(status.success(), "an unkilled run failed: {status}");
                assert!(kills > 0, "no run into {} was killed", db.label());
                return kills;
            }
            None => {
                child.start_kill().expect("kill");
                let _ = child.wait().await;
                kills += 1;
                assert_checkpoint_covered(db, expected).await;
            }
        }
    }
    panic!("no run into {} completed", db.label());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_failing_between_pages_resumes_without_loss() {
    // Every 11th request answers 503 and retries are off, so runs fail
    // part-way, after some committed batches, before others (a run with
    // nothing left to read needs 9 requests, so one can complete).
    let server = start(
        StandIn::builder()
            .seed(3)
            .records(Resource::TimePasses, 3)
            .records(Resource::CoworkerTimePasses, 60)
            .records(Resource::ProductTimePasses, 8)
            .fail_every(11),
    )
    .await;
    let cluster = Cluster::start("failing");
    let dbs = backends(&cluster, "failing").await;
    for db in &dbs {
        let (mut failures, mut completed) = (0, false);
        for _ in 0..100 {
            let out = sync(&server, db, &["--retries", "0"]).await;
            if out.status.success() {
                completed = true;
                break;
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("resume"), "{stderr}");
            failures += 1;
        }
        assert!(completed, "no run into {} completed", db.label());
        assert!(failures > 0, "no run into {} failed", db.label());
    }
    // The check reads around the injected failures with retries on.
    let checker = Client::builder()
        .base_url(server.base_url())
        .credentials(Credentials::password(server.email(), server.password()))
        .pacing(Pacing::unlimited())
        .retry(nexudus_timepasses::RetryPolicy::default().max_attempts(6))
        .build()
        .unwrap();
    for db in &dbs {
        assert_equal_to_server(db, &checker).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_runs_read_only_changes_and_full_drops_deleted_rows() {
    let cluster = Cluster::start("incremental");
    for db in backends(&cluster, "incremental").await {
        changes_then_full(&db).await;
    }
}

/// One resource synced, then again unchanged, after an update and two
/// deletes, then with `--full`, against a server of its own.
async fn changes_then_full(db: &Db) {
    let server = start(
        StandIn::builder()
            .seed(9)
            .records(Resource::TimePasses, 3)
            .records(Resource::CoworkerTimePasses, 40)
            .records(Resource::ProductTimePasses, 5),
    )
    .await;
    let client = client(&server);
    let first = sync_ok(&server, db, &["coworker-time-passes"]).await;
    assert!(
        first.contains("coworkertimepasses: 40 inserted, 0 updated"),
        "{first}"
    );
    assert!(
        !first.contains("producttimepasses:"),
        "only the resource asked for: {first}"
    );

    // Nothing changed: every row stays as it was.
    let quiet = sync_ok(&server, db, &["coworkertimepasses"]).await;
    assert!(
        quiet.contains("0 inserted, 0 updated, 0 deleted, 40 unchanged"),
        "{quiet}"
    );

    let cw = client.coworker_time_passes();
    let ids: Vec<i32> = cw.all(|q| q).await.unwrap().iter().map(|r| r.id).collect();
    cw.update(ids[0], |r| r.notes = Some("changed".into()))
        .await
        .unwrap();
    let mut deleted = 0;
    for id in &ids[1..] {
        // The API keeps passes that have check-ins: delete two it lets go.
        if deleted < 2 && cw.delete(*id).await.is_ok() {
            deleted += 1;
        }
    }
    assert_eq!(deleted, 2, "two seeded passes without check-ins");
    let changed = sync_ok(&server, db, &["coworkertimepasses"]).await;
    assert!(
        changed.contains("0 inserted, 1 updated, 0 deleted"),
        "{changed}"
    );
    assert!(
        !changed.contains("40 records read"),
        "an incremental run: {changed}"
    );
    // The deleted records are still rows until deletes are looked for.
    assert_eq!(db.rows("coworkertimepasses").await.0.len(), 40);

    let full = sync_ok(&server, db, &["coworkertimepasses", "--full"]).await;
    assert!(
        full.contains("0 inserted, 0 updated, 2 deleted, 38 unchanged"),
        "{full}"
    );
    let expected = server_data(&client).await;
    let only: BTreeMap<&str, BTreeMap<i32, Value>> = expected
        .into_iter()
        .filter(|(t, _)| *t == "coworkertimepasses")
        .collect();
    let diffs = differences(db, &only).await;
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// A first sync of 10,000 records, then one after 1% of them changed: the
/// second reads only the changes (a handful of requests, whatever the
/// table's size) and reports exactly those rows updated. Times and request
/// counts are printed (`--nocapture`; on a release build for real figures).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_after_one_percent_changed_reads_only_the_changes() {
    let cluster = Cluster::start("one-percent");
    for db in backends(&cluster, "one_percent").await {
        one_percent_changed(&db).await;
    }
}

async fn one_percent_changed(db: &Db) {
    let pacing: &[&str] = &["--reads-per-minute", "0"];
    let server = start(StandIn::builder().records(Resource::CoworkerTimePasses, 10_000)).await;
    let client = client(&server);
    let run = || {
        let mut cmd = Command::new(BIN);
        cmd.arg("sync")
            .args(db.args())
            .args(["--base-url", server.base_url(), "coworkertimepasses"])
            .args(pacing)
            .env_remove("NEXUDUS_TOKEN")
            .env("NEXUDUS_EMAIL", server.email())
            .env("NEXUDUS_PASSWORD", server.password())
            .env("PGPASSWORD", PASSWORD);
        cmd
    };
    let measure = |label: &str, before: u64, started: std::time::Instant, out: &Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let requests = server.stats().requests() - before;
        eprintln!(
            "{}: {label}: {:.2} s, {requests} requests at the stand-in",
            db.label(),
            started.elapsed().as_secs_f64()
        );
        requests
    };
    let (before, started) = (server.stats().requests(), std::time::Instant::now());
    let out = run().output().await.unwrap();
    measure("first sync of 10,000", before, started, &out);

    let cw = client.coworker_time_passes();
    let ids: Vec<i32> = cw.all(|q| q).await.unwrap().iter().map(|r| r.id).collect();
    for id in ids.iter().step_by(100) {
        cw.update(*id, |r| r.notes = Some("changed".into()))
            .await
            .unwrap();
    }
    let (before, started) = (server.stats().requests(), std::time::Instant::now());
    let out = run().output().await.unwrap();
    let requests = measure("incremental after 100 changes", before, started, &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0 inserted, 100 updated"), "{stderr}");
    // Token, clock probe, the window, the tail and one batch get.
    assert!(requests <= 6, "{requests} requests for 100 changes");
}

/// A wrong password is a refused sign-in: exit 4 (the documented code for
/// credentials) with a message that says so, and no hint to resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_exits_4_naming_the_sign_in() {
    let server = StandIn::builder()
        .records(Resource::TimePasses, 3)
        .start()
        .await
        .unwrap();
    let db = Db::sqlite("wrong-password");
    let mut cmd = sync_command(&server, &db, &[]);
    cmd.env("NEXUDUS_PASSWORD", "not-the-password");
    let out = tokio::time::timeout(RUN_LIMIT, cmd.output())
        .await
        .expect("sync finishes in time")
        .expect("sync runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("sign-in refused"), "{stderr}");
    assert!(!stderr.contains("resume"), "{stderr}");
}

/// Every API option reaches the client sync connects with (`-v` prints the
/// client's own settings), whether given after `sync` or before it, and
/// `--quiet` leaves stderr empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_options_reach_the_client_and_quiet_is_quiet() {
    let server = start(
        StandIn::builder()
            .records(Resource::TimePasses, 3)
            .records(Resource::ProductTimePasses, 3),
    )
    .await;
    let db = Db::sqlite("options");
    let stderr = sync_ok(&server, &db, &["--concurrency", "7", "-v"]).await;
    assert!(
        stderr.contains("concurrency 7, page size 7 (7 when streaming)"),
        "{stderr}"
    );

    let mut before = Command::new(BIN);
    before
        .args(["--concurrency", "9", "-v", "sync"])
        .args(db.args())
        .args(["--base-url", server.base_url(), "--reads-per-minute", "0"])
        .env_remove("NEXUDUS_TOKEN")
        .env("NEXUDUS_EMAIL", server.email())
        .env("NEXUDUS_PASSWORD", server.password());
    let out = tokio::time::timeout(RUN_LIMIT, before.output())
        .await
        .expect("sync finishes in time")
        .expect("sync runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("concurrency 9"), "{stderr}");

    let quiet = sync(&server, &db, &["--quiet"]).await;
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "", "--quiet");
}

/// Ctrl-C (SIGINT) stops a sync with exit 130, saying it can resume.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_sync_exits_130_and_says_it_resumes() {
    let server = start(
        StandIn::builder()
            .records(Resource::CoworkerTimePasses, 200)
            .latency(Duration::from_millis(300)),
    )
    .await;
    let db = Db::sqlite("interrupted");
    let child = sync_command(&server, &db, &[])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sync starts");
    // Past the connect (no request is sent before the handler is set),
    // inside the first slow answers.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let pid = child.id().expect("running").to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().await;
    assert!(killed.expect("kill runs").success());
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("sync stops in time")
        .expect("sync ran");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted") && stderr.contains("resume"),
        "{stderr}"
    );
}

/// Bad PostgreSQL input, each with its own clear error before any
/// record is read: a wrong password (exit 4), a database that does not
/// exist, a server that does not answer (exit 1), a password in the URL
/// (exit 2, never echoed); and a table whose column conflicts with the
/// spec (exit 1), with what was committed before kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_input_errors_are_clear_and_lose_nothing() {
    let server = start(StandIn::builder().records(Resource::TimePasses, 3)).await;
    let cluster = Cluster::start("errors");
    let db = Db::postgres(&cluster, "errors").await;
    let run = |into: String, password: &'static str| {
        let mut cmd = Command::new(BIN);
        cmd.args(["sync", "--into", &into, "--base-url", server.base_url()])
            .env_remove("NEXUDUS_TOKEN")
            .env("NEXUDUS_EMAIL", server.email())
            .env("NEXUDUS_PASSWORD", server.password())
            .env("PGPASSWORD", password);
        async move {
            let out = tokio::time::timeout(RUN_LIMIT, cmd.output())
                .await
                .expect("sync finishes in time")
                .expect("sync runs");
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            (out.status.code(), stderr)
        }
    };
    let url = cluster.url("postgres");
    let (code, stderr) = run(url.clone(), "not-the-password").await;
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    let (code, stderr) = run(cluster.url("missing"), PASSWORD).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    let (code, stderr) = run("postgres://postgres@127.0.0.1:1/postgres".into(), PASSWORD).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot connect"), "{stderr}");
    let with_password = url.replace("postgres@", "postgres:hunter22@");
    let (code, stderr) = run(with_password, PASSWORD).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains("hunter22"), "{stderr}");

    sync_ok(&server, &db, &["timepasses"]).await;
    let Db::Postgres { reader, .. } = &db else {
        unreachable!()
    };
    reader
        .batch_execute(
            "ALTER TABLE errors.timepasses DROP COLUMN \"Name\";
             ALTER TABLE errors.timepasses ADD COLUMN \"Name\" integer;",
        )
        .await
        .unwrap();
    let out = sync(&server, &db, &["timepasses", "--full"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("\"Name\" is integer"), "{stderr}");
    assert_eq!(db.rows("timepasses").await.0.len(), 3, "rows were lost");
    assert!(db.checkpoint("timepasses").await.is_some());
}

/// A field the spec no longer names keeps its column, and the summary
/// says so; a column the spec gained is added to an existing table with
/// the values an older run kept in `extra` (both backends). The older
/// table is made by hand: `Name` moved into `extra` and its column dropped,
/// as a run of a spec without `Name` would have left it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_the_spec_drops_are_kept_and_said() {
    let server = start(StandIn::builder().records(Resource::TimePasses, 4)).await;
    let cluster = Cluster::start("columns");
    for db in backends(&cluster, "columns").await {
        sync_ok(&server, &db, &["timepasses"]).await;
        let older = match &db {
            Db::Sqlite(_) => {
                "UPDATE timepasses SET extra = json_set(coalesce(extra, '{}'), '$.Name', \"Name\");
                 ALTER TABLE timepasses DROP COLUMN \"Name\";
                 ALTER TABLE timepasses ADD COLUMN \"Legacy\" text;"
            }
            Db::Postgres { .. } => {
                "UPDATE columns.timepasses
                    SET extra = coalesce(extra, '{}') || jsonb_build_object('Name', \"Name\");
                 ALTER TABLE columns.timepasses DROP COLUMN \"Name\";
                 ALTER TABLE columns.timepasses ADD COLUMN \"Legacy\" text;"
            }
        };
        match &db {
            Db::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(older)
                .unwrap(),
            Db::Postgres { reader, .. } => reader.batch_execute(older).await.unwrap(),
        }
        let (rows, _) = db.rows("timepasses").await;
        assert!(
            rows.values().all(|r| !r.contains_key("Name")),
            "Name still a column"
        );
        let again = sync_ok(&server, &db, &["timepasses"]).await;
        assert!(
            again.contains("columns the spec no longer names are kept: Legacy"),
            "{}: {again}",
            db.label()
        );
        // Nothing was read again: the names came back from `extra`.
        assert!(again.contains("0 records read"), "{again}");
        assert_equal_to_server_for(&db, &client(&server), "timepasses").await;
    }
}

async fn assert_equal_to_server_for(db: &Db, client: &Client, table: &str) {
    let only: BTreeMap<&str, BTreeMap<i32, Value>> = server_data(client)
        .await
        .into_iter()
        .filter(|(t, _)| *t == table)
        .collect();
    let diffs: Vec<String> = differences(db, &only)
        .await
        .into_iter()
        .filter(|d| !d.contains(" Legacy:"))
        .collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// Two syncs into one PostgreSQL schema at once: the second waits for the
/// first (and says so), and the data ends as one sync leaves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_into_one_postgres_schema_end_as_one() {
    let server = start(
        StandIn::builder()
            .seed(21)
            .records(Resource::CoworkerTimePasses, 300)
            .latency(Duration::from_millis(5)),
    )
    .await;
    let cluster = Cluster::start("two");
    let db = Db::postgres(&cluster, "two").await;
    let (a, b) = tokio::join!(sync(&server, &db, &[]), sync(&server, &db, &[]));
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let said = [&a, &b]
        .iter()
        .any(|o| String::from_utf8_lossy(&o.stderr).contains("waited for another sync"));
    assert!(said, "neither run said it waited");
    assert_equal_to_server(&db, &client(&server)).await;
}
