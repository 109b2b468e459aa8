//! `nexudus tap`: a Singer tap (singer-io/getting-started's SPEC.md and
//! DISCOVERY_MODE.md). `--discover` prints the catalog; otherwise, per
//! selected stream, a SCHEMA message, then the full records changed since
//! the state's checkpoint (the change reader `nexudus sync` uses,
//! at-least-once), a STATE after each batch, so that a target that persists
//! the last STATE it committed resumes without loss. Logs go to stderr.
//! The config, state and catalog files are all read and checked before any
//! request; a bad one is a usage error (exit 2) naming it.

mod catalog;
mod config;
mod file;
mod messages;
mod schema;
mod state;

use std::collections::{BTreeSet, HashSet};
use std::io::{BufWriter, Stdout, Write};
use std::path::PathBuf;
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use nexudus_timepasses::{Checkpoint, Client};
use serde_json::{json, Map, Value};

use crate::args::ApiArgs;
use crate::context::Context;
use crate::failure::{Done, Failure};
use crate::progress;
use crate::reader::{fetch, gone, record_id, Reader};
use catalog::{Chosen, Method};
use config::Config;
use messages::Messages;
use state::State;

/// Options of `nexudus tap`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The API options, given after the command (the config file's
    /// settings win over them).
    #[command(flatten)]
    pub api: ApiArgs,
    /// JSON: base_url, profile (or token, or email and password), page_size,
    /// concurrency, retries, reads_per_minute, detect_deletes.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The last STATE's value a target persisted: resume from it.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// The streams, fields and replication methods to emit (a catalog from
    /// --discover, edited) [default: everything, incrementally].
    #[arg(long, value_name = "FILE", conflicts_with = "properties")]
    catalog: Option<PathBuf>,
    /// The older name of --catalog.
    #[arg(long, value_name = "FILE")]
    properties: Option<PathBuf>,
    /// Print the catalog of streams and exit.
    #[arg(long)]
    discover: bool,
}

/// What the files say, all read before any request.
struct Input {
    config: Config,
    state: State,
    streams: Vec<Chosen>,
}

impl Input {
    fn load(args: &Args) -> Result<(Input, Vec<String>), Failure> {
        let config = match &args.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        let (state, warnings) = match &args.state {
            Some(path) => State::load(path)?,
            None => (State::default(), Vec::new()),
        };
        let streams = match args.catalog.as_ref().or(args.properties.as_ref()) {
            Some(path) => catalog::load(path)?,
            None => catalog::everything(),
        };
        let input = Input {
            config,
            state,
            streams,
        };
        Ok((input, warnings))
    }
}

/// `nexudus tap`: discovery, or a run that stops cleanly on Ctrl-C (exit
/// code 130; the last STATE written covers everything before it).
pub async fn run(args: &Args, color: bool) -> Result<Done, Failure> {
    let (input, warnings) = Input::load(args)?;
    let api = input.config.apply(args.api.clone())?;
    let ctx = Context::new(api, color).with_credentials(input.config.credentials());
    for warning in warnings {
        ctx.say(format!("warning: {warning}"));
    }
    if args.discover {
        let catalog = catalog::discover(input.config.detect_deletes);
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &catalog)
            .map_err(std::io::Error::from)
            .and_then(|()| stdout.write_all(b"\n"))
            .map_err(Failure::output)?;
        return Ok(Done::Success);
    }
    let connection = ctx.connect().await?;
    // Dropped on Ctrl-C, which writes what it holds: whole messages only,
    // as none is written across an await.
    let mut out = Messages::new(BufWriter::new(std::io::stdout()));
    tokio::select! {
        result = tap(&ctx, &connection.client, &input, &mut out) => result.map(|()| Done::Success),
        _ = stopped() => {
            Err(Failure::interrupted().hint("run again with the last STATE the target kept"))
        }
    }
}

/// Ctrl-C, or SIGTERM (how runners such as Meltano cancel a tap): either
/// ends the run at an await point, with whole messages written.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Emits every chosen stream.
async fn tap(
    ctx: &Context,
    client: &Client,
    input: &Input,
    out: &mut Messages<BufWriter<Stdout>>,
) -> Result<(), Failure> {
    let started = Instant::now();
    let mut state = input.state.clone();
    for chosen in &input.streams {
        let name = chosen.resource.spec().name;
        let (clock, before) = (Instant::now(), progress::requests());
        let mut stream = Stream {
            chosen,
            described: chosen
                .resource
                .spec()
                .record_fields
                .iter()
                .map(|f| f.name)
                .collect(),
            deletes: input.config.detect_deletes,
            emitted: 0,
            deleted: 0,
        };
        let unknown = state.bookmarks.get(name).is_some_and(|b| b.ids.is_none());
        if stream.deletes && unknown {
            ctx.say(format!(
                "warning: {name}: the state holds no Ids; records deleted before this run are not detected"
            ));
        }
        let result = stream.emit(client, &mut state, out).await;
        // A reader that went away is no error to report (exit 0).
        if let Err(failure) = &result {
            if failure.is_closed_pipe() {
                return result;
            }
        }
        ctx.say(format!(
            "{name}: {} records, {} deleted in {:.1} s, {} requests{}",
            stream.emitted,
            stream.deleted,
            clock.elapsed().as_secs_f64(),
            progress::requests() - before,
            if result.is_err() {
                "; stopped early by the error below"
            } else {
                ""
            }
        ));
        result.map_err(|f| f.within(name))?;
    }
    out.flush()?;
    ctx.say(format!(
        "tap: done in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// One stream's run and its counts.
struct Stream<'a> {
    chosen: &'a Chosen,
    /// The fields the spec describes for a full record.
    described: HashSet<&'static str>,
    deletes: bool,
    emitted: u64,
    deleted: u64,
}

impl Stream<'_> {
    fn name(&self) -> &'static str {
        self.chosen.resource.spec().name
    }

    /// SCHEMA, then each batch's RECORDs and a STATE; with deletes, the
    /// records found deleted, and a last STATE.
    async fn emit<W: Write>(
        &mut self,
        client: &Client,
        state: &mut State,
        out: &mut Messages<W>,
    ) -> Result<(), Failure> {
        let (name, chosen) = (self.name(), self.chosen);
        let fields = &chosen.fields;
        let schema = schema::of(chosen.resource.spec(), |f| fields.contains(f), self.deletes);
        out.schema(name, &schema, chosen.method)?;
        let bookmark = state.bookmarks.get(name).cloned().unwrap_or_default();
        let since = match chosen.method {
            Method::Incremental => bookmark.checkpoint.clone(),
            Method::FullTable => Checkpoint::default(),
        };
        // Expanded only when deletes are emitted: a state's ranges may
        // stand for millions of Ids.
        let mut known = match self.deletes {
            true => bookmark.id_set(),
            false => BTreeSet::new(),
        };
        // A full walk sees every live record: the known Ids it did not see
        // are the only ones that may be gone.
        let mut seen = BTreeSet::new();
        let mut reader = Reader::new(client, chosen.resource, &since);
        let mut checkpoint = since;
        while let Some(batch) = reader.next().await? {
            let extracted = now();
            for record in batch.records {
                if let (true, Some(id)) = (self.deletes, record_id(&record)) {
                    known.insert(id);
                    if chosen.method == Method::FullTable {
                        seen.insert(id);
                    }
                }
                out.record(name, self.selected(record), &extracted)?;
                self.emitted += 1;
            }
            // Only records the target got: a deleted record's message has
            // no other field, and would make an empty row of an Id never sent.
            let vanished: Vec<i32> = batch
                .vanished
                .into_iter()
                .filter(|id| known.contains(id))
                .collect();
            self.deleted(&vanished, &mut known, out)?;
            checkpoint = batch.checkpoint;
            self.bookmark(state, &checkpoint, &known);
            out.state(state)?;
        }
        if self.deletes {
            let gone = match chosen.method {
                Method::FullTable => {
                    let unseen: Vec<i32> = known.difference(&seen).copied().collect();
                    fetch(client, chosen.resource, &unseen).await?.1
                }
                Method::Incremental => {
                    let ids: Vec<i32> = known.iter().copied().collect();
                    gone(client, chosen.resource, &ids).await?
                }
            };
            self.deleted(&gone, &mut known, out)?;
            self.bookmark(state, &checkpoint, &known);
            out.state(state)?;
        }
        Ok(())
    }

    /// The record with the chosen fields only, and the fields the spec
    /// does not describe moved into `extra` (null when there are none).
    fn selected(&self, record: Value) -> Value {
        let Value::Object(map) = record else {
            return record;
        };
        let fields = &self.chosen.fields;
        let (mut out, mut extra) = (Map::new(), Map::new());
        for (name, value) in map {
            if !self.described.contains(name.as_str()) {
                extra.insert(name, value);
            } else if fields.contains(name.as_str()) {
                out.insert(name, value);
            }
        }
        if fields.contains(schema::EXTRA) {
            let extra = (!extra.is_empty()).then_some(Value::Object(extra));
            out.insert(schema::EXTRA.to_owned(), extra.unwrap_or(Value::Null));
        }
        Value::Object(out)
    }

    /// With deletes: a record per Id in `ids` with `_sdc_deleted_at` set.
    fn deleted<W: Write>(
        &mut self,
        ids: &[i32],
        known: &mut BTreeSet<i32>,
        out: &mut Messages<W>,
    ) -> Result<(), Failure> {
        let at = now();
        for id in ids {
            known.remove(id);
            let record = json!({ schema::KEY: id, schema::DELETED_AT: at });
            out.record(self.name(), record, &at)?;
            self.deleted += 1;
        }
        Ok(())
    }

    /// The stream's bookmark in `state`: the checkpoint, and the Ids
    /// when deletes are emitted.
    fn bookmark(&self, state: &mut State, checkpoint: &Checkpoint, known: &BTreeSet<i32>) {
        let bookmark = state.bookmarks.entry(self.name().to_owned()).or_default();
        bookmark.checkpoint = checkpoint.clone();
        // Without deletes the Ids the state came with stay, so that turning
        // deletes on later still knows what the target holds.
        if self.deletes {
            bookmark.ids = Some(state::ranges(known));
        }
    }
}

/// The time now, as RFC 3339 in UTC.
fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}
