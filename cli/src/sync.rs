//! `nexudus sync --into sqlite:PATH|postgres://… [RESOURCE...]`: keeps a
//! SQLite or PostgreSQL database up to date with the API, incrementally and
//! resumably, with the same logic for both (`store` is the one interface).
//!
//! Per resource: read the checkpoint from `sync_state` (none: a full load),
//! walk every record changed since it (`changes`, at-least-once), fetch the
//! full records of each listing batch by batch get (listings omit fields),
//! then write that batch's rows and its checkpoint in ONE transaction. A run
//! that stops anywhere (Ctrl-C, a crash, a failed request) leaves the
//! database at the end of a committed batch with the checkpoint that covers
//! it; the next run resumes there, and the upsert by Id makes records read
//! again harmless. Deleted records: a listed record that the batch get no
//! longer finds is gone, and its row is deleted at once; `--detect-deletes`
//! scans every Id (`gone`) and deletes the rows of records that no longer
//! exist; `--full` reloads everything and deletes the rows it did not see.

mod outcome;
mod postgres;
mod schema;
mod sqlite;
mod store;

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::{Checkpoint, Client};

use crate::args::{chosen, parse_resource, ApiArgs};
use crate::context::Context;
use crate::failure::{Done, Failure};
use crate::progress;
use crate::reader::{fetch, gone, record_id, Reader};
use outcome::{Outcome, Write};
use store::{Store, Target};

/// What to do after a failure that running again can mend.
const RESUME: &str = "committed batches are kept; run the same command to resume";

/// Options of `nexudus sync`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The API options, given after the command.
    #[command(flatten)]
    pub api: ApiArgs,
    /// The database: `sqlite:PATH` (created when missing), or
    /// `postgres://USER@HOST:PORT/DB` (the password from PGPASSWORD or
    /// ~/.pgpass, never from the URL).
    #[arg(long, value_name = "sqlite:PATH|postgres://…")]
    into: String,
    /// PostgreSQL: the schema of the tables and the checkpoints, created
    /// when missing [default: nexudus].
    #[arg(long, value_name = "NAME")]
    schema: Option<String>,
    /// Resources to sync: timepasses, coworkertimepasses, producttimepasses
    /// (also spelled time-passes, coworker-time-passes, ...); none: all three.
    #[arg(value_name = "RESOURCE", value_parser = parse_resource)]
    resources: Vec<Resource>,
    /// Reload everything from the start, and delete the rows of records not
    /// seen (ignores the stored checkpoint).
    #[arg(long)]
    full: bool,
    /// After the changes, scan every Id and delete the rows of records that
    /// no longer exist.
    #[arg(long)]
    detect_deletes: bool,
}

/// The command-line name of a resource, also its table's name.
fn name(resource: Resource) -> &'static str {
    resource.spec().name
}

/// `nexudus sync`: connects, syncs, and stops cleanly on Ctrl-C (exit
/// code 130).
pub async fn run(ctx: &Context, args: &Args) -> Result<Done, Failure> {
    let target = Target::parse(&args.into, args.schema.as_deref()).map_err(Failure::usage)?;
    // Kept until the sync is done: dropping it stops a demo server.
    let connection = ctx.connect().await?;
    tokio::select! {
        result = sync(ctx, &connection.client, &target, args) => result.map(|()| Done::Success),
        _ = tokio::signal::ctrl_c() => {
            // The sync is dropped at an await point, never inside a
            // transaction (they hold no await), so every committed batch
            // stands with its checkpoint.
            Err(Failure::interrupted().hint(RESUME))
        }
    }
}

/// The counts of one resource's run.
#[derive(Debug, Default)]
struct Summary {
    /// Final outcome per Id: inserted beats updated beats unchanged.
    outcomes: HashMap<i32, Outcome>,
    deleted: u64,
    /// Values not stored as sent (see `outcome::Applied`).
    not_as_sent: u64,
    /// Columns the spec no longer names, kept in the table.
    dropped: Vec<String>,
    read: u64,
    rows: u64,
    requests: u64,
    elapsed: Duration,
}

impl Summary {
    fn note(&mut self, id: i32, outcome: Outcome) {
        let rank = |o: &Outcome| match o {
            Outcome::Inserted => 2,
            Outcome::Updated => 1,
            Outcome::Unchanged => 0,
        };
        let slot = self.outcomes.entry(id).or_insert(outcome);
        if rank(&outcome) > rank(slot) {
            *slot = outcome;
        }
    }

    fn line(&self, resource: &str) -> String {
        let count = |o| self.outcomes.values().filter(|x| **x == o).count() as u64;
        let (inserted, updated) = (count(Outcome::Inserted), count(Outcome::Updated));
        // Unchanged: rows this run left as they were, read or not.
        let unchanged = self.rows.saturating_sub(inserted + updated);
        let mut line = format!(
            "{resource}: {inserted} inserted, {updated} updated, {} deleted, {unchanged} unchanged \
             ({} rows; {} records read) in {:.1} s, {} requests",
            self.deleted,
            self.rows,
            self.read,
            self.elapsed.as_secs_f64(),
            self.requests,
        );
        if self.not_as_sent > 0 {
            line += &format!(
                "; {} values not stored as sent (a type that does not fit its column, kept in \
                 extra; or a NUL character, stored as U+FFFD)",
                self.not_as_sent
            );
        }
        if !self.dropped.is_empty() {
            line += &format!(
                "; columns the spec no longer names are kept: {}",
                self.dropped.join(", ")
            );
        }
        line
    }
}

/// Syncs the chosen resources into the database `target` names, with `client`.
async fn sync(ctx: &Context, client: &Client, target: &Target, args: &Args) -> Result<(), Failure> {
    let mut store = Store::open(target).await?;
    if store.waited() {
        ctx.say("sync: waited for another sync into the same schema to finish");
    }
    let (started, first) = (Instant::now(), progress::requests());
    for resource in chosen(&args.resources) {
        let mut summary = Summary::default();
        let (clock, before) = (Instant::now(), progress::requests());
        let result = sync_one(ctx, client, &mut store, resource, args, &mut summary).await;
        summary.requests = progress::requests() - before;
        summary.elapsed = clock.elapsed();
        let line = summary.line(name(resource));
        // What a failed resource committed is kept; the line must not read
        // as a finished sync.
        match &result {
            Ok(()) => ctx.say(line),
            Err(_) => ctx.say(format!("{line}; stopped early by the error below")),
        }
        result.map_err(|failure| resumable(failure.within(name(resource))))?;
    }
    ctx.say(format!(
        "sync: done in {:.1} s, {} requests",
        started.elapsed().as_secs_f64(),
        progress::requests() - first
    ));
    Ok(())
}

/// A failure that running again can mend (the server or the network
/// failed) says that committed batches are kept; others keep their hint.
fn resumable(failure: Failure) -> Failure {
    if failure.transient {
        failure.hint(RESUME)
    } else {
        failure
    }
}

/// One resource: changes since the checkpoint, then deletes.
async fn sync_one(
    ctx: &Context,
    client: &Client,
    store: &mut Store,
    resource: Resource,
    args: &Args,
    summary: &mut Summary,
) -> Result<(), Failure> {
    let key = name(resource);
    let (table, dropped) = store.table(key, schema::columns(resource.spec())?).await?;
    summary.dropped = dropped;
    let since = if args.full {
        Checkpoint::default()
    } else {
        store.checkpoint(key).await?.unwrap_or_default()
    };
    let progress = progress(key, ctx.quiet());
    let mut seen = HashSet::new();
    let mut reader = Reader::new(client, resource, &since);
    while let Some(batch) = reader.next().await? {
        summary.read += batch.listed as u64;
        let applied = store
            .apply(
                &table,
                Write {
                    records: &batch.records,
                    deleted: &batch.vanished,
                    checkpoint: Some((key, &batch.checkpoint)),
                },
            )
            .await?;
        for (id, outcome) in applied.outcomes {
            summary.note(id, outcome);
        }
        if args.full {
            seen.extend(batch.records.iter().filter_map(record_id));
        }
        summary.deleted += applied.removed;
        summary.not_as_sent += applied.not_as_sent;
        progress.set_message(format!("{key}: {} records read", summary.read));
    }
    if args.full {
        summary.deleted += delete_unseen(client, store, &table, resource, &seen).await?;
    } else if args.detect_deletes {
        progress.set_message(format!("{key}: scanning Ids for deletes"));
        let known = store.ids(&table).await?;
        let gone = gone(client, resource, &known).await?;
        summary.deleted += store.apply(&table, Write::deletes(&gone)).await?.removed;
    }
    progress.finish_and_clear();
    summary.rows = store.count(&table).await?;
    Ok(())
}

/// After a full walk: deletes the rows of records it did not see, each
/// confirmed gone by a batch get first; the count deleted.
async fn delete_unseen(
    client: &Client,
    store: &mut Store,
    table: &store::Table,
    resource: Resource,
    seen: &HashSet<i32>,
) -> Result<u64, Failure> {
    let unseen: Vec<i32> = store
        .ids(table)
        .await?
        .into_iter()
        .filter(|id| !seen.contains(id))
        .collect();
    let (_, gone) = fetch(client, resource, &unseen).await?;
    Ok(store.apply(table, Write::deletes(&gone)).await?.removed)
}

/// A spinner on stderr when it is a terminal and not `quiet`; hidden
/// otherwise.
fn progress(key: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(format!("{key}: reading changes"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
