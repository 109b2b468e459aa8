//! The reading actions: `list` (one page, or every page with `--all`),
//! `get` (full records by Id) and `commands` (what the API offers to run).

use futures::TryStreamExt;
use nexudus_timepasses::{Client, ResourceHandle as Resource};

use super::export::{drain, pages, set_total};
use super::{in_order, plain_output, records_output, table_columns};
use crate::args::ListArgs;
use crate::context::Context;
use crate::failure::{code, Failure};
use crate::filters;
use crate::progress::{self, Progress};

pub(super) async fn list<R: Resource>(
    ctx: &Context,
    client: &Client,
    args: ListArgs,
) -> Result<(), Failure> {
    if args.all {
        return list_all::<R>(ctx, client, args).await;
    }
    let mut query = filters::query::<R>(&args.filters)?;
    let mut out = records_output::<R>(ctx, R::spec().list_fields)?;
    let limit = usize::try_from(args.limit.unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
    query.page = args.page;
    let page = R::of(client).list_where(&query).await?;
    for record in page.records.iter().take(limit) {
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

/// `list --all`: every page, streamed, up to `--limit` records.
async fn list_all<R: Resource>(
    ctx: &Context,
    client: &Client,
    args: ListArgs,
) -> Result<(), Failure> {
    let query = filters::query::<R>(&args.filters)?;
    let mut out = records_output::<R>(ctx, R::spec().list_fields)?;
    let limit = args.limit.unwrap_or(u64::MAX);
    let r = R::of(client);
    let progress = Progress::new(ctx.quiet());
    set_total(&r, &query, &progress, limit).await;
    let stream = r.stream_where(query).map_ok(Some);
    let n = drain(stream, &mut out, &progress, limit).await?;
    out.finish()?;
    progress.finish(&format!(
        "listed {}{}",
        progress::records(n, R::spec().entity),
        pages(n, client)
    ));
    Ok(())
}

pub(super) async fn get<R: Resource>(
    ctx: &Context,
    client: &Client,
    ids: &[i32],
) -> Result<(), Failure> {
    let records = in_order(ids, R::of(client).get_many(ids).await?);
    let mut out = records_output::<R>(ctx, R::spec().record_fields)?;
    let mut missing = Vec::new();
    for (id, record) in ids.iter().zip(&records) {
        match record {
            Some(record) => out.write(record)?,
            None => missing.push(id.to_string()),
        }
    }
    out.finish()?;
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        code::NOT_FOUND,
        format!("no {} with Id {}", R::spec().entity, missing.join(", ")),
    ))
}

pub(super) async fn commands<R: Resource>(
    ctx: &Context,
    client: &Client,
    id: Option<i32>,
) -> Result<(), Failure> {
    let commands = R::of(client).commands(id).await?;
    let columns = ["Key", "Name", "NeedsEntitiesToRun", "RequiresParameters"];
    let mut out = plain_output(ctx, table_columns(ctx, &columns));
    for command in &commands {
        out.write(command)?;
    }
    out.finish()?;
    let noun = if commands.len() == 1 {
        "command"
    } else {
        "commands"
    };
    ctx.say(format!("{} {noun}", commands.len()));
    Ok(())
}
