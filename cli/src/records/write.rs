//! The writing actions: `create`, `update` (the safe update, with
//! `--dry-run`), `delete` (asks first on a terminal) and `run` (one of the
//! API's record commands).

use std::io::{BufRead, IsTerminal, Write};

use nexudus_timepasses::spec::FieldSpec;
use nexudus_timepasses::{Client, ResourceHandle as Resource};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{fixed, plain_output, table_columns};
use crate::args::{CreateArgs, DeleteArgs, RunArgs, UpdateArgs};
use crate::context::Context;
use crate::failure::{code, Failure};
use crate::fields;
use crate::filters::split_pair;
use crate::progress;

pub(super) async fn create<R: Resource>(
    ctx: &Context,
    client: &Client,
    args: CreateArgs,
) -> Result<(), Failure> {
    let spec = R::spec();
    if args.json.is_none() && args.set.is_empty() {
        return Err(
            Failure::usage("create needs --set FIELD=VALUE or --json FILE|-")
                .hint(format!("required: {}", required(spec.create_fields))),
        );
    }
    let mut object = match &args.json {
        Some(source) => read_object(source)?,
        None => Map::new(),
    };
    let assignments = fields::assignments(&args.set, spec.create_fields, spec.entity, &[])?;
    fields::apply(&mut object, assignments);
    let missing = fields::missing_required(&object, spec.create_fields);
    if !missing.is_empty() {
        let message = format!("a new {} needs {}", spec.entity, missing.join(", "));
        return Err(Failure::usage(message).hint("give them with --set FIELD=VALUE"));
    }
    let body: R::Create = typed(Value::Object(object))
        .map_err(|e| Failure::usage(format!("cannot build the {} to create: {e}", spec.entity)))?;
    let id = R::of(client).create(body).await?;
    let mut out = plain_output(ctx, fixed(&["Id"]));
    out.write(&json!({ "Id": id }))?;
    out.finish()?;
    ctx.say(format!("created {} {id}", spec.entity));
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

/// The required fields, for a usage hint.
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

pub(super) async fn update<R: Resource>(
    ctx: &Context,
    client: &Client,
    args: UpdateArgs,
) -> Result<(), Failure> {
    let spec = R::spec();
    let assignments = fields::assignments(&args.set, spec.update_fields, spec.entity, &["Id"])?;
    let r = R::of(client);
    let Some(before) = r.get_many(&[args.id]).await?.into_iter().next() else {
        let message = format!("no {} with Id {}", spec.entity, args.id);
        return Err(Failure::new(code::NOT_FOUND, message));
    };
    let before = to_object(&before)?;
    let mut edited = before.clone();
    fields::apply(&mut edited, assignments);
    let after: R::Full = typed(Value::Object(edited))
        .map_err(|e| Failure::usage(format!("cannot apply the change: {e}")))?;
    // The typed record read back, so the diff shows what will be written.
    let changes = changes(&before, &to_object(&after)?);
    if changes.is_empty() {
        ctx.say(format!("{} {}: nothing to change", spec.entity, args.id));
        return Ok(());
    }
    if !args.dry_run {
        r.replace(&after).await?;
    }
    let mut out = plain_output(ctx, fixed(&["Field", "Before", "After"]));
    for change in &changes {
        out.write(change)?;
    }
    out.finish()?;
    let n = changes.len();
    let fields = if n == 1 { "field" } else { "fields" };
    ctx.say(match args.dry_run {
        true => format!("dry run: {n} {fields} would change; nothing written"),
        false => format!("updated {} {}: {n} {fields} changed", spec.entity, args.id),
    });
    Ok(())
}

/// The fields whose values differ between two versions of a record.
fn changes(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<Change> {
    after
        .iter()
        .filter(|(k, v)| before.get(k.as_str()) != Some(v))
        .map(|(k, v)| Change {
            field: k.clone(),
            before: before.get(k).cloned().unwrap_or(Value::Null),
            after: v.clone(),
        })
        .collect()
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

pub(super) async fn delete<R: Resource>(
    ctx: &Context,
    client: &Client,
    args: DeleteArgs,
) -> Result<(), Failure> {
    let entity = R::spec().entity;
    if !args.yes && !confirmed(&args.ids, entity)? {
        ctx.say("nothing deleted");
        return Ok(());
    }
    let r = R::of(client);
    let mut out = plain_output(ctx, fixed(&["Id"]));
    for (done, id) in args.ids.iter().enumerate() {
        if let Err(e) = r.delete(*id).await {
            let _ = out.finish();
            let before = match args.ids.len() {
                1 => String::new(),
                n => format!(" ({done} of {n} deleted before it)"),
            };
            return Err(Failure::from(e).within(format!("cannot delete {entity} {id}{before}")));
        }
        out.write(&json!({ "Id": id }))?;
    }
    out.finish()?;
    let n = args.ids.len() as u64;
    ctx.say(format!("deleted {}", progress::records(n, entity)));
    Ok(())
}

/// Asks on the terminal whether to delete `ids`; a usage error when stdin
/// is not a terminal to ask on.
fn confirmed(ids: &[i32], entity: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "refusing to delete without --yes: stdin is not a terminal to confirm on",
        ));
    }
    let list: Vec<String> = ids.iter().map(i32::to_string).collect();
    let records = progress::records(ids.len() as u64, entity);
    eprint!("Delete {records} ({})? [y/N] ", list.join(", "));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

pub(super) async fn run_command<R: Resource>(
    ctx: &Context,
    client: &Client,
    args: RunArgs,
) -> Result<(), Failure> {
    let params = args
        .params
        .iter()
        .map(|p| split_pair(p, "--param"))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = R::of(client)
        .run_command(&args.key, &args.ids, &params)
        .await?;
    let columns = ["WasSuccessful", "Status", "Message"];
    let mut out = plain_output(ctx, table_columns(ctx, &columns));
    out.write(&envelope)?;
    out.finish()?;
    ctx.say(format!(
        "ran {} on {}",
        args.key,
        progress::records(args.ids.len() as u64, R::spec().entity)
    ));
    Ok(())
}
