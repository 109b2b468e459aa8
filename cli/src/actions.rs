//! The actions, written once for any [`Resource`]: list, export, get,
//! create, update (with --dry-run), delete, commands and run. Data goes to
//! stdout through [`Output`]; progress and the summary line to stderr.

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, IsTerminal, Stdout, Write};

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, TryStreamExt};
use nexudus_timepasses::Record;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::args::{
    Action, CreateArgs, DeleteArgs, ExportArgs, Format, ListArgs, RunArgs, UpdateArgs,
};
use crate::failure::{code, Failure};
use crate::fields;
use crate::filters::{self, names, split_pair};
use crate::output::{Columns, Output};
use crate::progress::{self, Progress};
use nexudus_timepasses::spec::FieldSpec;
use nexudus_timepasses::{Query, ResourceHandle as Resource};

/// What every action needs besides its own arguments.
pub struct Context {
    /// Output format.
    pub format: Format,
    /// `--columns` as given.
    pub columns: Vec<String>,
    /// `--quiet`.
    pub quiet: bool,
    /// Bold table headers.
    pub styled: bool,
    /// Width to fit tables to.
    pub width: Option<u16>,
    /// Pages (and batch gets) in flight at once.
    pub concurrency: usize,
    /// Records per request.
    pub page_size: u32,
}

type Out = Output<BufWriter<Stdout>>;

/// Ids per batch get of `export --full`: about 1 kB of query string.
const FULL_BATCH: u32 = 100;

impl Context {
    /// An output for records of a resource: `--columns` checked against
    /// `fields`, else the resource's table columns or every field for csv.
    fn records_output<R: Resource>(&self, fields: &[FieldSpec]) -> Result<Out, Failure> {
        let columns = if self.columns.is_empty() {
            match self.format {
                Format::Table => {
                    Columns::Fixed(R::spec().summary.iter().map(|c| c.to_string()).collect())
                }
                // Every field, the Id first (the spec lists it among the
                // common fields at the end), and a last column for any
                // field the server sent beyond the spec's.
                _ => {
                    let id = fields.iter().filter(|f| f.name == "Id");
                    let rest = fields.iter().filter(|f| f.name != "Id");
                    Columns::WithOthers(id.chain(rest).map(|f| f.name.to_owned()).collect())
                }
            }
        } else {
            Columns::Fixed(
                self.columns
                    .iter()
                    .map(|c| {
                        filters::field_named(fields, c)
                            .map(|f| f.name.to_owned())
                            .ok_or_else(|| {
                                Failure::usage(format!(
                                    "{} records have no column `{c}`",
                                    R::spec().entity
                                ))
                                .hint(format!("columns: {}", names(fields)))
                            })
                    })
                    .collect::<Result<_, _>>()?,
            )
        };
        Ok(self.output(columns))
    }

    /// An output of other data (commands, envelopes, diffs): `--columns`
    /// as given, else `default`.
    fn plain_output(&self, default: Columns) -> Out {
        if self.columns.is_empty() {
            self.output(default)
        } else {
            self.output(Columns::Fixed(self.columns.clone()))
        }
    }

    fn output(&self, columns: Columns) -> Out {
        let stdout = BufWriter::new(std::io::stdout());
        Output::new(self.format, columns, stdout, self.styled, self.width)
    }

    /// The summary line, unless `--quiet`.
    fn say(&self, line: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", line.as_ref());
        }
    }
}

/// Runs one action on a resource.
pub async fn run<R: Resource>(ctx: &Context, r: R, action: Action) -> Result<(), Failure> {
    match action {
        Action::List(args) => list(ctx, r, args).await,
        Action::Export(args) => export(ctx, r, args).await,
        Action::Get { ids } => get(ctx, r, &ids).await,
        Action::Create(args) => create(ctx, r, args).await,
        Action::Update(args) => update(ctx, r, args).await,
        Action::Delete(args) => delete(ctx, r, args).await,
        Action::Commands { id } => commands(ctx, r, id).await,
        Action::Run(args) => run_command(ctx, r, args).await,
    }
}

async fn list<R: Resource>(ctx: &Context, r: R, args: ListArgs) -> Result<(), Failure> {
    let mut query = filters::query::<R>(&args.filters)?;
    let mut out = ctx.records_output::<R>(R::spec().list_fields)?;
    let limit = args.limit.unwrap_or(u64::MAX);
    if args.all {
        let progress = Progress::new(ctx.quiet);
        set_total(&r, &query, &progress, limit).await;
        let stream = r.stream_where(query).map_ok(Some);
        let n = drain(stream, &mut out, &progress, limit).await?;
        out.finish()?;
        progress.finish(&format!(
            "listed {}{}",
            progress::records(n, R::spec().entity),
            pages(n, ctx)
        ));
        return Ok(());
    }
    query.page = args.page;
    let page = r.list_where(&query).await?;
    for record in page
        .records
        .iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        out.write(record)?;
    }
    let shown = out.written();
    out.finish()?;
    let more = if page.has_next_page {
        format!("; next: --page {}", page.page.saturating_add(1))
    } else {
        String::new()
    };
    ctx.say(format!(
        "page {} of {}: {} of {}{more}",
        page.page,
        page.total_pages.max(1),
        shown,
        progress::records(u64::from(page.total_items), R::spec().entity),
    ));
    Ok(())
}

async fn export<R: Resource>(ctx: &Context, r: R, args: ExportArgs) -> Result<(), Failure> {
    let mut query = filters::query::<R>(&args.filters)?;
    let since = match &args.since {
        Some(text) => {
            let since = filters::since_instant(text)?;
            filters::add_since::<R>(&mut query, since)?;
            Some(since)
        }
        None => None,
    };
    let fields = if args.full {
        R::spec().record_fields
    } else {
        R::spec().list_fields
    };
    let mut out = ctx.records_output::<R>(fields)?;
    let progress = Progress::new(ctx.quiet);
    set_total(&r, &query, &progress, u64::MAX).await;
    // The listing's `from_` filter has minute precision: drop the records of
    // that first minute that were updated before the instant asked for.
    let recent = move |t: DateTime<Utc>| since.is_none_or(|s| t >= s);
    let items = r.stream_where(query);
    let (n, skipped) = if args.full {
        // Batches no larger than a page, and small enough that their Ids
        // keep the URL short (servers cap query strings at a few kB).
        let size = usize::try_from(ctx.page_size.min(FULL_BATCH)).unwrap_or(1);
        let batches = items
            .try_filter(move |item| futures::future::ready(recent(item.updated_on())))
            .map_ok(|item| item.id())
            .try_chunks(size)
            .map_err(|e| e.1)
            .map(|ids| {
                let r = r.clone();
                async move {
                    let ids = ids?;
                    let records = r.get_many(&ids).await?;
                    Ok::<_, nexudus_timepasses::Error>(in_order(&ids, records))
                }
            })
            .buffered(ctx.concurrency)
            .map_ok(|batch| futures::stream::iter(batch.into_iter().map(Ok)))
            .try_flatten();
        let skipped = std::sync::atomic::AtomicU64::new(0);
        let records = batches.map_ok(|record| {
            if record.is_none() {
                skipped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            record
        });
        let n = drain(Box::pin(records), &mut out, &progress, u64::MAX).await?;
        (n, skipped.into_inner())
    } else {
        let stream = items.map_ok(move |item| recent(item.updated_on()).then_some(item));
        (drain(stream, &mut out, &progress, u64::MAX).await?, 0)
    };
    out.finish()?;
    let gone = if skipped > 0 {
        format!(" ({skipped} deleted while exporting, left out)")
    } else {
        String::new()
    };
    progress.finish(&format!(
        "exported {}{}{gone}",
        progress::records(n, R::spec().entity),
        pages(n, ctx)
    ));
    Ok(())
}

/// The records of a batch get in the order of `ids`; `None` for an Id the
/// answer left out (deleted since it was listed).
fn in_order<T: Record>(ids: &[i32], records: Vec<T>) -> Vec<Option<T>> {
    let mut by_id: HashMap<i32, T> = records.into_iter().map(|r| (r.id(), r)).collect();
    ids.iter().map(|id| by_id.remove(id)).collect()
}

/// Writes a stream's records (`None` items are skipped) until it ends or
/// `limit` records are written; the count written.
async fn drain<T, S>(
    mut stream: S,
    out: &mut Out,
    progress: &Progress,
    limit: u64,
) -> Result<u64, Failure>
where
    T: Serialize,
    S: Stream<Item = nexudus_timepasses::Result<Option<T>>> + Unpin,
{
    let mut n = 0;
    while n < limit {
        let Some(next) = stream.next().await else {
            break;
        };
        let record = match next {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(e) => {
                progress.abandon();
                return Err(e.into());
            }
        };
        if let Err(f) = out.write(&record) {
            progress.abandon();
            return Err(f);
        }
        progress.inc();
        n += 1;
    }
    Ok(n)
}

/// Asks for the listing's size (one record) when a progress bar shows it.
async fn set_total<R: Resource>(r: &R, query: &Query, progress: &Progress, limit: u64) {
    if !progress.shown() {
        return;
    }
    let mut probe = query.clone();
    probe.size = Some(1);
    if let Ok(page) = r.list_where(&probe).await {
        progress.set_total(u64::from(page.total_items).min(limit));
    }
}

/// `, N pages` for a summary.
fn pages(records: u64, ctx: &Context) -> String {
    let pages = records.div_ceil(u64::from(ctx.page_size)).max(1);
    format!(" ({pages} {})", if pages == 1 { "page" } else { "pages" })
}

async fn get<R: Resource>(ctx: &Context, r: R, ids: &[i32]) -> Result<(), Failure> {
    let records = in_order(ids, r.get_many(ids).await?);
    let mut out = ctx.records_output::<R>(R::spec().record_fields)?;
    let mut missing = Vec::new();
    for (id, record) in ids.iter().zip(&records) {
        match record {
            Some(record) => out.write(record)?,
            None => missing.push(id.to_string()),
        }
    }
    out.finish()?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(
            code::NOT_FOUND,
            format!("no {} with Id {}", R::spec().entity, missing.join(", ")),
        ))
    }
}

async fn create<R: Resource>(ctx: &Context, r: R, args: CreateArgs) -> Result<(), Failure> {
    let mut object = match &args.json {
        Some(source) => read_object(source)?,
        None => Map::new(),
    };
    if args.json.is_none() && args.set.is_empty() {
        return Err(
            Failure::usage("create needs --set FIELD=VALUE or --json FILE|-")
                .hint(format!("required: {}", required(R::spec().create_fields))),
        );
    }
    let assignments =
        fields::assignments(&args.set, R::spec().create_fields, R::spec().entity, &[])?;
    fields::apply(&mut object, assignments);
    let missing = fields::missing_required(&object, R::spec().create_fields);
    if !missing.is_empty() {
        return Err(Failure::usage(format!(
            "a new {} needs {}",
            R::spec().entity,
            missing.join(", ")
        ))
        .hint("give them with --set FIELD=VALUE"));
    }
    let body: R::Create = typed(Value::Object(object)).map_err(|e| {
        Failure::usage(format!(
            "cannot build the {} to create: {e}",
            R::spec().entity
        ))
    })?;
    let id = r.create(body).await?;
    let mut out = ctx.plain_output(Columns::Fixed(vec!["Id".into()]));
    out.write(&json!({ "Id": id }))?;
    out.finish()?;
    ctx.say(format!("created {} {id}", R::spec().entity));
    Ok(())
}

/// A JSON object from a file, or stdin for `-`.
fn read_object(source: &str) -> Result<Map<String, Value>, Failure> {
    let text = if source == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?
    } else {
        std::fs::read_to_string(source)
            .map_err(|e| Failure::usage(format!("cannot read {source}: {e}")))?
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::usage(format!(
            "{source} holds JSON but not an object"
        ))),
        Err(e) => Err(Failure::usage(format!("{source} is not JSON: {e}"))),
    }
}

fn required(fields: &[FieldSpec]) -> String {
    fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One changed field, as update and its --dry-run show it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Change {
    field: String,
    before: Value,
    after: Value,
}

async fn update<R: Resource>(ctx: &Context, r: R, args: UpdateArgs) -> Result<(), Failure> {
    let assignments = fields::assignments(
        &args.set,
        R::spec().update_fields,
        R::spec().entity,
        &["Id"],
    )?;
    let Some(before) = r.get_many(&[args.id]).await?.into_iter().next() else {
        return Err(Failure::new(
            code::NOT_FOUND,
            format!("no {} with Id {}", R::spec().entity, args.id),
        ));
    };
    let before_value = to_object(&before)?;
    let mut edited = before_value.clone();
    fields::apply(&mut edited, assignments);
    let after: R::Full = typed(Value::Object(edited))
        .map_err(|e| Failure::usage(format!("cannot apply the change: {e}")))?;
    // The typed record read back, so the diff shows what will be written.
    let after_value = to_object(&after)?;
    let changes: Vec<Change> = after_value
        .iter()
        .filter(|(k, v)| before_value.get(k.as_str()) != Some(v))
        .map(|(k, v)| Change {
            field: k.clone(),
            before: before_value.get(k).cloned().unwrap_or(Value::Null),
            after: v.clone(),
        })
        .collect();
    if changes.is_empty() {
        ctx.say(format!(
            "{} {}: nothing to change",
            R::spec().entity,
            args.id
        ));
        return Ok(());
    }
    if !args.dry_run {
        r.replace(&after).await?;
    }
    let columns = ["Field", "Before", "After"].map(String::from).to_vec();
    let mut out = ctx.plain_output(Columns::Fixed(columns));
    for change in &changes {
        out.write(change)?;
    }
    out.finish()?;
    let n = changes.len();
    let fields = if n == 1 { "field" } else { "fields" };
    if args.dry_run {
        ctx.say(format!(
            "dry run: {n} {fields} would change; nothing written"
        ));
    } else {
        ctx.say(format!(
            "updated {} {}: {n} {fields} changed",
            R::spec().entity,
            args.id
        ));
    }
    Ok(())
}

/// A JSON value as a generated type; the error names the field at fault
/// (`BusinessId: invalid value ...`), since the value came from the user.
fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })
}

fn to_object<T: Serialize>(record: &T) -> Result<Map<String, Value>, Failure> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::new(code::OTHER, "a record is not a JSON object")),
        Err(e) => Err(Failure::new(
            code::OTHER,
            format!("cannot read the record: {e}"),
        )),
    }
}

async fn delete<R: Resource>(ctx: &Context, r: R, args: DeleteArgs) -> Result<(), Failure> {
    let list = args
        .ids
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::usage(
                "refusing to delete without --yes: stdin is not a terminal to confirm on",
            ));
        }
        eprint!(
            "Delete {} ({list})? [y/N] ",
            progress::records(args.ids.len() as u64, R::spec().entity)
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            ctx.say("nothing deleted");
            return Ok(());
        }
    }
    let mut out = ctx.plain_output(Columns::Fixed(vec!["Id".into()]));
    for (done, id) in args.ids.iter().enumerate() {
        if let Err(e) = r.delete(*id).await {
            let _ = out.finish();
            let failure = Failure::from(e);
            let before = if args.ids.len() > 1 {
                format!(" ({done} of {} deleted before it)", args.ids.len())
            } else {
                String::new()
            };
            return Err(Failure {
                message: format!(
                    "cannot delete {} {id}{before}: {}",
                    R::spec().entity,
                    failure.message
                ),
                ..failure
            });
        }
        out.write(&json!({ "Id": id }))?;
    }
    out.finish()?;
    ctx.say(format!(
        "deleted {}",
        progress::records(args.ids.len() as u64, R::spec().entity)
    ));
    Ok(())
}

async fn commands<R: Resource>(ctx: &Context, r: R, id: Option<i32>) -> Result<(), Failure> {
    let commands = r.commands(id).await?;
    let default = match ctx.format {
        Format::Table => Columns::Fixed(
            ["Key", "Name", "NeedsEntitiesToRun", "RequiresParameters"]
                .map(String::from)
                .to_vec(),
        ),
        _ => Columns::FromFirst,
    };
    let mut out = ctx.plain_output(default);
    for command in &commands {
        out.write(command)?;
    }
    out.finish()?;
    ctx.say(format!(
        "{} {}",
        commands.len(),
        if commands.len() == 1 {
            "command"
        } else {
            "commands"
        }
    ));
    Ok(())
}

async fn run_command<R: Resource>(ctx: &Context, r: R, args: RunArgs) -> Result<(), Failure> {
    let params = args
        .params
        .iter()
        .map(|p| split_pair(p, "--param"))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = r.run_command(&args.key, &args.ids, &params).await?;
    let default = match ctx.format {
        Format::Table => Columns::Fixed(
            ["WasSuccessful", "Status", "Message"]
                .map(String::from)
                .to_vec(),
        ),
        _ => Columns::FromFirst,
    };
    let mut out = ctx.plain_output(default);
    out.write(&envelope)?;
    out.finish()?;
    ctx.say(format!(
        "ran {} on {}",
        args.key,
        progress::records(args.ids.len() as u64, R::spec().entity)
    ));
    Ok(())
}
