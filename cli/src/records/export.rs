//! `export`: every record, streamed to stdout in constant memory, as
//! listing records or (`--full`) as full records by batch get; and the
//! streaming that `list --all` shares with it.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, TryStreamExt};
use nexudus_timepasses::spec::BATCH_IDS;
use nexudus_timepasses::{Client, Query, Record, ResourceHandle as Resource};
use serde::Serialize;

use super::{in_order, records_output};
use crate::args::ExportArgs;
use crate::context::{Context, Out};
use crate::failure::Failure;
use crate::filters;
use crate::progress::{self, Progress};

pub(super) async fn export<R: Resource>(
    ctx: &Context,
    client: &Client,
    args: ExportArgs,
) -> Result<(), Failure> {
    let mut query = filters::query::<R>(&args.filters)?;
    let since = match &args.since {
        Some(text) => Some(filters::since_instant(text)?),
        None => None,
    };
    if let Some(since) = since {
        filters::add_since::<R>(&mut query, since)?;
    }
    let spec = R::spec();
    let fields = match args.full {
        true => spec.record_fields,
        false => spec.list_fields,
    };
    let mut out = records_output::<R>(ctx, fields)?;
    let progress = Progress::new(ctx.quiet());
    let r = R::of(client);
    set_total(&r, &query, &progress, u64::MAX).await;
    // The listing's `from_` filter has minute precision: drop the records of
    // that first minute that were updated before the instant asked for.
    let recent = move |t: DateTime<Utc>| since.is_none_or(|s| t >= s);
    let items = r.stream_where(query);
    let (n, skipped) = if args.full {
        full::<R>(client, items, recent, &mut out, &progress).await?
    } else {
        let stream = items.map_ok(move |item| recent(item.updated_on()).then_some(item));
        (drain(stream, &mut out, &progress, u64::MAX).await?, 0)
    };
    out.finish()?;
    let gone = match skipped {
        0 => String::new(),
        n => format!(" ({n} deleted while exporting, left out)"),
    };
    progress.finish(&format!(
        "exported {}{}{gone}",
        progress::records(n, spec.entity),
        pages(n, client)
    ));
    Ok(())
}

/// `export --full`: the full records of the listed `items` that are
/// `recent`, by batch gets, as many at once as the client's concurrency.
/// The records written, and those deleted between listing and batch get.
async fn full<R: Resource>(
    client: &Client,
    items: impl Stream<Item = nexudus_timepasses::Result<R::Item>> + Send + 'static,
    recent: impl Fn(DateTime<Utc>) -> bool + Send + 'static,
    out: &mut Out,
    progress: &Progress,
) -> Result<(u64, u64), Failure> {
    // Batches no larger than a page, and small enough that their Ids keep
    // the URL short (servers cap query strings at a few kB).
    let page = usize::try_from(client.stream_page_size().get()).unwrap_or(BATCH_IDS);
    let r = R::of(client);
    let batches = items
        .try_filter(move |item| futures::future::ready(recent(item.updated_on())))
        .map_ok(|item| item.id())
        .try_chunks(page.min(BATCH_IDS))
        .map_err(|e| e.1)
        .map(move |ids| {
            let r = r.clone();
            async move {
                let ids = ids?;
                let records = r.get_many(&ids).await?;
                Ok::<_, nexudus_timepasses::Error>(in_order(&ids, records))
            }
        })
        .buffered(client.concurrency().max(1))
        .map_ok(|batch| futures::stream::iter(batch.into_iter().map(Ok)))
        .try_flatten();
    let skipped = AtomicU64::new(0);
    let records = batches.inspect_ok(|record| {
        if record.is_none() {
            skipped.fetch_add(1, Ordering::Relaxed);
        }
    });
    let n = drain(Box::pin(records), out, progress, u64::MAX).await?;
    Ok((n, skipped.into_inner()))
}

/// Writes a stream's records (`None` items are skipped) until it ends or
/// `limit` records are written; the count written.
pub(super) async fn drain<T, S>(
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
        let written = match stream.next().await {
            None => break,
            Some(Ok(None)) => continue,
            Some(Ok(Some(record))) => out.write(&record),
            Some(Err(e)) => Err(e.into()),
        };
        if let Err(failure) = written {
            progress.abandon();
            return Err(failure);
        }
        progress.inc();
        n += 1;
    }
    Ok(n)
}

/// Asks for the listing's size (one record) when a progress bar shows it.
pub(super) async fn set_total<R: Resource>(r: &R, query: &Query, progress: &Progress, limit: u64) {
    if !progress.shown() {
        return;
    }
    let mut probe = query.clone();
    probe.size = Some(1);
    if let Ok(page) = r.list_where(&probe).await {
        progress.set_total(u64::from(page.total_items).min(limit));
    }
}

/// ` (N pages)` for the summary of a stream of `records`.
pub(super) fn pages(records: u64, client: &Client) -> String {
    let size = u64::from(client.stream_page_size().get());
    let pages = records.div_ceil(size).max(1);
    format!(" ({pages} {})", if pages == 1 { "page" } else { "pages" })
}
