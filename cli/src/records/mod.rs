//! `nexudus <RESOURCE> <ACTION>`: the actions on a resource's records,
//! written once for any [`Resource`] handle and run with the handle of the
//! resource named. Reading actions are in `read`, `export` streams, the
//! writing ones are in `write`; data goes to stdout through [`Output`],
//! progress and the summary line to stderr.

mod export;
mod read;
mod write;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use nexudus_timepasses::spec::{FieldSpec, ResourceVisitor};
use nexudus_timepasses::{Client, Record, ResourceHandle as Resource};

use crate::args::{Action, Format};
use crate::context::{Context, Out};
use crate::failure::{Done, Failure};
use crate::filters::{self, names};
use crate::output::Columns;

/// Runs `action` on the records of `resource`.
pub async fn run(
    ctx: &Context,
    resource: nexudus_timepasses::spec::Resource,
    action: Action,
) -> Result<Done, Failure> {
    // Kept until the action is done: dropping it stops a demo server.
    let connection = ctx.connect().await?;
    let client = &connection.client;
    resource
        .visit(Dispatch {
            ctx,
            client,
            action,
        })
        .await?;
    Ok(Done::Success)
}

/// Runs an action with the handle type of the resource it names.
struct Dispatch<'a> {
    ctx: &'a Context,
    client: &'a Client,
    action: Action,
}

impl<'a> ResourceVisitor for Dispatch<'a> {
    type Output = Pin<Box<dyn Future<Output = Result<(), Failure>> + 'a>>;

    fn visit<R: Resource>(self) -> Self::Output {
        Box::pin(act::<R>(self.ctx, self.client, self.action))
    }
}

async fn act<R: Resource>(ctx: &Context, client: &Client, action: Action) -> Result<(), Failure> {
    match action {
        Action::List(args) => read::list::<R>(ctx, client, args).await,
        Action::Export(args) => export::export::<R>(ctx, client, args).await,
        Action::Get { ids } => read::get::<R>(ctx, client, &ids).await,
        Action::Commands { id } => read::commands::<R>(ctx, client, id).await,
        Action::Create(args) => write::create::<R>(ctx, client, args).await,
        Action::Update(args) => write::update::<R>(ctx, client, args).await,
        Action::Delete(args) => write::delete::<R>(ctx, client, args).await,
        Action::Run(args) => write::run_command::<R>(ctx, client, args).await,
    }
}

/// An output for records of a resource: `--columns` checked against
/// `fields`, else the resource's table columns or every field for csv.
fn records_output<R: Resource>(ctx: &Context, fields: &[FieldSpec]) -> Result<Out, Failure> {
    let format = ctx.format();
    let columns = if !ctx.columns().is_empty() {
        Columns::Fixed(named_columns::<R>(ctx.columns(), fields)?)
    } else if format == Format::Table {
        Columns::Fixed(R::spec().summary.iter().map(|c| c.to_string()).collect())
    } else {
        // Every field, the Id first (the spec lists it among the common
        // fields at the end), and a last column for any field the server
        // sent beyond the spec's.
        let id = fields.iter().filter(|f| f.name == "Id");
        let rest = fields.iter().filter(|f| f.name != "Id");
        Columns::WithOthers(id.chain(rest).map(|f| f.name.to_owned()).collect())
    };
    Ok(ctx.output(format, columns))
}

/// `--columns` as the spec spells the fields; a usage error for a column
/// the records do not have.
fn named_columns<R: Resource>(
    asked: &[String],
    fields: &[FieldSpec],
) -> Result<Vec<String>, Failure> {
    asked
        .iter()
        .map(|c| {
            filters::field_named(fields, c)
                .map(|f| f.name.to_owned())
                .ok_or_else(|| {
                    Failure::usage(format!("{} records have no column `{c}`", R::spec().entity))
                        .hint(format!("columns: {}", names(fields)))
                })
        })
        .collect()
}

/// An output of other data (commands, envelopes, diffs): `--columns` as
/// given, else `default`.
fn plain_output(ctx: &Context, default: Columns) -> Out {
    let columns = if ctx.columns().is_empty() {
        default
    } else {
        Columns::Fixed(ctx.columns().to_vec())
    };
    ctx.output(ctx.format(), columns)
}

/// These columns on a table, every key of the first record in csv.
fn table_columns(ctx: &Context, table: &[&str]) -> Columns {
    match ctx.format() {
        Format::Table => Columns::Fixed(table.iter().map(|c| c.to_string()).collect()),
        _ => Columns::FromFirst,
    }
}

/// Just these columns, whatever the format.
fn fixed(columns: &[&str]) -> Columns {
    Columns::Fixed(columns.iter().map(|c| c.to_string()).collect())
}

/// The records of a batch get in the order of `ids`; `None` for an Id the
/// answer left out (deleted since it was listed, or never there).
fn in_order<T: Record>(ids: &[i32], records: Vec<T>) -> Vec<Option<T>> {
    let mut by_id: HashMap<i32, T> = records.into_iter().map(|r| (r.id(), r)).collect();
    ids.iter().map(|id| by_id.remove(id)).collect()
}
