//! The change reader `nexudus sync` and `nexudus tap` share: a resource's
//! changes since a checkpoint (the library's `changes`, at-least-once), each
//! listing batch turned into the full records of its Ids by batch get
//! (listings omit fields), with the Ids the batch get no longer finds
//! (deleted since they were listed) and the checkpoint after the batch.
//! Also the Id scan that finds deleted records (`gone`).

use std::collections::HashSet;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use nexudus_timepasses::spec::{Resource, ResourceVisitor, BATCH_IDS};
use nexudus_timepasses::{ChangeBatch, Checkpoint, Client, Record, ResourceHandle};
use serde_json::Value;

use crate::failure::Failure;

/// Where the fields of a record that the spec does not describe go: a
/// table column of `nexudus sync` and a property of `nexudus tap`'s
/// records (a JSON object; null when there are none).
pub const EXTRA: &str = "extra";

/// One listing batch, read whole.
pub struct Batch {
    /// Ids the listing batch held.
    pub listed: usize,
    /// The full records of the listed Ids that still exist, as JSON.
    pub records: Vec<Value>,
    /// Listed, then gone before the batch get: the server confirms they
    /// were deleted.
    pub vanished: Vec<i32>,
    /// Where to resume once this batch (and all before it) is stored.
    pub checkpoint: Checkpoint,
}

/// The batches of one resource's changes since a checkpoint.
pub struct Reader<'a> {
    client: &'a Client,
    resource: Resource,
    listing: BoxStream<'static, nexudus_timepasses::Result<Listed>>,
}

impl<'a> Reader<'a> {
    /// The changes of `resource` since `since` (the default: everything).
    pub fn new(client: &'a Client, resource: Resource, since: &Checkpoint) -> Self {
        Reader {
            client,
            resource,
            listing: changes(client, resource, since),
        }
    }

    /// The next batch, or `None` when the walk is over. Every listed record
    /// is fetched whole, even one read before with the same `UpdatedOn`: the
    /// API stamps to the second, so a second write within that second keeps it.
    pub async fn next(&mut self) -> Result<Option<Batch>, Failure> {
        let Some((ids, checkpoint)) = self.listing.try_next().await? else {
            return Ok(None);
        };
        let (records, vanished) = fetch(self.client, self.resource, &ids).await?;
        Ok(Some(Batch {
            listed: ids.len(),
            vanished,
            records,
            checkpoint,
        }))
    }
}

/// A record's `Id`, when it has one that fits an `i32`.
pub fn record_id(record: &Value) -> Option<i32> {
    record
        .get("Id")
        .and_then(Value::as_i64)
        .and_then(|id| i32::try_from(id).ok())
}

/// A listing batch's Ids, and the checkpoint after it.
type Listed = (Vec<i32>, Checkpoint);

/// The resource's changes since `since`, as [`Listed`] batches.
fn changes(
    client: &Client,
    resource: Resource,
    since: &Checkpoint,
) -> BoxStream<'static, nexudus_timepasses::Result<Listed>> {
    fn listed<T: Record>(batch: ChangeBatch<T>) -> Listed {
        let ids = batch.records.iter().map(Record::id).collect();
        (ids, batch.checkpoint)
    }
    struct Changes<'a>(&'a Client, &'a Checkpoint);
    impl ResourceVisitor for Changes<'_> {
        type Output = BoxStream<'static, nexudus_timepasses::Result<Listed>>;
        fn visit<H: ResourceHandle>(self) -> Self::Output {
            H::of(self.0)
                .changes(self.1)
                .map_ok(listed::<H::Item>)
                .boxed()
        }
    }
    resource.visit(Changes(client, since))
}

/// The full records of `ids` (batch gets), and the Ids among them the
/// server no longer has: it confirms they were deleted.
pub async fn fetch(
    client: &Client,
    resource: Resource,
    ids: &[i32],
) -> Result<(Vec<Value>, Vec<i32>), Failure> {
    let records = full_records(client, resource, ids).await?;
    let found: HashSet<i32> = records.iter().filter_map(record_id).collect();
    let missing = ids.iter().copied().filter(|id| !found.contains(id));
    Ok((records, missing.collect()))
}

/// The full records of `ids` as JSON, by batch gets of at most
/// [`BATCH_IDS`], as many at once as the client's concurrency.
async fn full_records(
    client: &Client,
    resource: Resource,
    ids: &[i32],
) -> Result<Vec<Value>, Failure> {
    struct GetMany<'a>(&'a Client, &'a [i32]);
    impl<'a> ResourceVisitor for GetMany<'a> {
        type Output = futures::future::BoxFuture<'a, Result<Vec<Value>, Failure>>;
        fn visit<H: ResourceHandle>(self) -> Self::Output {
            let GetMany(client, ids) = self;
            Box::pin(async move {
                let records = H::of(client).get_many(ids).await?;
                records
                    .iter()
                    .map(|r| {
                        serde_json::to_value(r)
                            .map_err(|e| Failure::from(format!("cannot encode a record: {e}")))
                    })
                    .collect()
            })
        }
    }
    let chunks = futures::stream::iter(ids.chunks(BATCH_IDS))
        .map(|chunk| resource.visit(GetMany(client, chunk)))
        .buffered(client.concurrency().max(1));
    let batches: Vec<Vec<Value>> = chunks.try_collect().await?;
    Ok(batches.into_iter().flatten().collect())
}

/// Which of `known` no longer exist on the server (a scan of every Id).
pub async fn gone(client: &Client, resource: Resource, known: &[i32]) -> Result<Vec<i32>, Failure> {
    struct Gone<'a>(&'a Client, &'a [i32]);
    impl<'a> ResourceVisitor for Gone<'a> {
        type Output = futures::future::BoxFuture<'a, nexudus_timepasses::Result<Vec<i32>>>;
        fn visit<H: ResourceHandle>(self) -> Self::Output {
            let Gone(client, known) = self;
            Box::pin(async move { H::of(client).gone(known).await })
        }
    }
    Ok(resource.visit(Gone(client, known)).await?)
}
