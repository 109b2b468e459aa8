//! Resource handles, one per resource of the spec, each an owned handle
//! with the resource's concrete types. The `handle!` macro below writes
//! them; the registry (`spec::for_each_resource!`, generated from the spec)
//! invokes it once per resource. What the methods share lives in the
//! private helpers beside it; each resource's own helpers (what a pass
//! sells, what a product grants) live in its file.

mod product_time_passes;
mod time_passes;

use std::{future::Future, num::NonZeroU32};

pub use product_time_passes::IncludedTime;
pub use time_passes::PassKind;

use crate::{
    error::{Error, Result},
    page::{Page, RecordStream},
    paging::stream_records,
    query::{Query, Wire},
    record::Record,
    request,
    spec::ResourceSpec,
    types::{CommandParameter, IdList, RunCommandRequest},
    wire,
};

/// A stream of every page `fetch` returns, `concurrency` pages at a time.
fn stream<T, Fut>(
    operation: &'static str,
    concurrency: usize,
    fetch: impl FnMut(u32) -> Fut + Send + 'static,
) -> RecordStream<T>
where
    T: Record + Send + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    RecordStream::new(stream_records(operation, fetch, concurrency))
}

/// The refusal of a stream whose query set `page`: a stream numbers its
/// pages itself.
fn refused_page(operation: &'static str) -> Error {
    Error::invalid(
        operation,
        "a stream numbers its pages itself: remove `.page(..)` from the filter \
         (use `list` for one page)",
    )
}

/// A stream that fails at once with `error`, sending nothing.
fn failed_stream<T: Send + 'static>(error: Error) -> RecordStream<T> {
    RecordStream::new(futures::stream::once(async move { Err(error) }))
}

/// One listing page of `query`, with `size` records unless it sets its own.
async fn page_request<T: serde::de::DeserializeOwned>(
    raw: &crate::raw::Client,
    spec: &'static ResourceSpec,
    query: &Query,
    size: NonZeroU32,
) -> request::Answer<T> {
    let wire = request::get_request(raw, spec.path, &Wire::new(query, size));
    request::get(raw, spec.operations.list, wire).await
}

/// The batch-get Id list, refusing an empty one (the caller sends nothing).
fn id_list(operation: &'static str, ids: &[i32]) -> Result<IdList> {
    IdList::try_from(wire::id_list(ids)).map_err(|e| Error::invalid(operation, e.to_string()))
}

/// Checks that an update's change kept the record's Id.
fn same_id(operation: &'static str, id: i32, record: &impl Record) -> Result<()> {
    if record.id() == id {
        Ok(())
    } else {
        Err(Error::invalid(
            operation,
            "the change altered the record's Id",
        ))
    }
}

/// The body of a run-command request.
fn run_body(
    operation: &'static str,
    key: &str,
    ids: &[i32],
    parameters: &[(&str, &str)],
) -> Result<RunCommandRequest> {
    if ids.is_empty() {
        return Err(Error::invalid(operation, "no record Ids given"));
    }
    if key.trim().is_empty() {
        return Err(Error::invalid(operation, "the command key is empty"));
    }
    Ok(RunCommandRequest {
        key: key
            .parse()
            .map_err(|e| Error::invalid(operation, format!("command key: {e}")))?,
        ids: ids.to_vec(),
        parameters: parameters
            .iter()
            .map(|(name, value)| CommandParameter {
                name: (*name).to_owned(),
                value: (*value).to_owned(),
                type_: None,
            })
            .collect(),
    })
}

/// Writes one resource's handle: the struct, its methods with the
/// resource's concrete types, and the `Client` method that gives it out.
macro_rules! handle {
    (
        $(#[$doc:meta])*
        $handle:ident, $accessor:ident, $module:ident, $name:literal,
        record: $record:ident, item: $item:ident, create: $create:ident,
        update: $update:ident, page: $page:ident,
        updated: [$from_updated:ident, $to_updated:ident],
        ops: [$list:ident, $get:ident, $get_many:ident, $create_op:ident, $update_op:ident,
              $delete:ident, $commands:ident, $run:ident] $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $handle {
            client: $crate::Client,
        }

        impl $crate::Client {
            #[doc = concat!("The ", $name, " resource: an owned handle (a clone of the client inside).")]
            pub fn $accessor(&self) -> $handle {
                $handle { client: self.clone() }
            }
        }

        impl $handle {
            #[doc = concat!(
                "One page of the ", $name, " listing. `query` sets filters, sorting, `page` and ",
                "`size` (`|q| q` for the first page of everything); unset, `size` is the ",
                "client's page size."
            )]
            pub async fn list(
                &self,
                query: impl FnOnce($crate::ListQuery<Self>) -> $crate::ListQuery<Self>,
            ) -> $crate::Result<$crate::Page<$crate::types::$item>> {
                let query = query($crate::ListQuery::default()).finish()?;
                self.page(&query).await
            }

            #[doc = concat!(
                "Every matching ", $name, " across all pages, as a stream in listing order. ",
                "`query` sets filters and sorting (and `size`, else the client's stream page ",
                "size, 2,000 by default: see [`DEFAULT_STREAM_PAGE_SIZE`](crate::DEFAULT_STREAM_PAGE_SIZE)). ",
                "The stream numbers the pages itself: a `page` set by `query` fails the stream ",
                "with [`Error::InvalidRequest`](crate::Error::InvalidRequest).\n\n",
                "Pages after the first are fetched `concurrency` at a time (see ",
                "[`ClientBuilder::concurrency`](crate::ClientBuilder::concurrency)); at most ",
                "that many pages are held in memory. Each record comes once, even when ",
                "records are added or removed while paging. The stream owns a clone of the ",
                "client: it is `Send + Unpin + 'static`."
            )]
            pub fn stream(
                &self,
                query: impl FnOnce($crate::ListQuery<Self>) -> $crate::ListQuery<Self>,
            ) -> $crate::RecordStream<$crate::types::$item> {
                match query($crate::ListQuery::default()).finish() {
                    Ok(query) => self.stream_of(query),
                    Err(error) => $crate::resources::failed_stream(error),
                }
            }

            #[doc = concat!(
                "Every matching ", $name, " across all pages, collected (see ",
                "[`stream`](Self::stream)). Prefer `stream` for large listings."
            )]
            pub async fn all(
                &self,
                query: impl FnOnce($crate::ListQuery<Self>) -> $crate::ListQuery<Self>,
            ) -> $crate::Result<Vec<$crate::types::$item>> {
                futures::TryStreamExt::try_collect(self.stream(query)).await
            }

            #[doc = concat!("The full ", $name, " with this Id.")]
            pub async fn get(&self, id: i32) -> $crate::Result<$crate::types::$record> {
                let raw = self.client.raw();
                $crate::request::send(raw, stringify!($get), raw.$get().id(id).send()).await
            }

            #[doc = concat!(
                "The full records of these Ids, in one request (batch get). Ids with no ",
                "record are missing from the answer; no Ids gives no records and sends nothing."
            )]
            pub async fn get_many(&self, ids: &[i32]) -> $crate::Result<Vec<$crate::types::$record>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let op = stringify!($get_many);
                let list = $crate::resources::id_list(op, ids)?;
                let raw = self.client.raw();
                $crate::request::send(raw, op, raw.$get_many().id(list).send()).await
            }

            #[doc = concat!(
                "Creates a ", $name, " and returns its new Id (the envelope's `Value.Id`). ",
                "`body` is the create body, or its generated builder (`types::", stringify!($create),
                "::builder()`), which keeps compiling when the spec gains optional fields; a ",
                "builder missing a required field fails with ",
                "[`Error::InvalidRequest`](crate::Error::InvalidRequest) and sends nothing."
            )]
            pub async fn create<B>(&self, body: B) -> $crate::Result<i32>
            where
                B: TryInto<$crate::types::$create>,
                B::Error: std::fmt::Display,
            {
                let (raw, op) = (self.client.raw(), stringify!($create_op));
                let request = raw.$create_op().body(body).send();
                let envelope = $crate::request::mutate(raw, op, $crate::request::Kind::Post, request).await?;
                $crate::request::written_id(raw, op, &envelope)
            }

            #[doc = concat!(
                "The safe update: reads the full ", $name, ", lets `change` edit it, and writes ",
                "the whole record back, so fields the change does not touch keep their values. ",
                "Returns the record as written.\n\n",
                "Nothing is written when the read fails, or when `change` alters the Id."
            )]
            pub async fn update(
                &self,
                id: i32,
                change: impl FnOnce(&mut $crate::types::$record),
            ) -> $crate::Result<$crate::types::$record> {
                let mut record = self.get(id).await?;
                change(&mut record);
                $crate::resources::same_id(stringify!($update_op), id, &record)?;
                self.replace(&record).await?;
                Ok(record)
            }

            #[doc = concat!(
                "Writes a full ", $name, " back (a PUT of every writable field, and of any ",
                "field the server sent that the spec does not list). Returns the Id."
            )]
            pub async fn replace(&self, record: &$crate::types::$record) -> $crate::Result<i32> {
                let (raw, op) = (self.client.raw(), stringify!($update_op));
                let body = self.update_body(record)?;
                let request = raw.$update_op().body(body).send();
                let kind = $crate::request::Kind::Idempotent;
                let envelope = $crate::request::mutate(raw, op, kind, request).await?;
                $crate::request::written_id(raw, op, &envelope)
            }

            #[doc = concat!(
                "The update body for a full ", $name, ": its writable fields, plus any field ",
                "the server sent that the spec does not list. For edits only the update body ",
                "can express, change the body and send it with [`raw`](crate::Client::raw)."
            )]
            pub fn update_body(
                &self,
                record: &$crate::types::$record,
            ) -> $crate::Result<$crate::types::$update> {
                $crate::update_body::update_body(record, &$crate::spec::$module::SPEC).map_err(|e| {
                    $crate::Error::invalid(
                        stringify!($update_op),
                        format!("cannot build the update body: {e}"),
                    )
                })
            }

            #[doc = concat!(
                "Deletes the ", $name, " with this Id and returns the Id the server reports. ",
                "A delete that failed on its way (a lost connection, an error page) is tried ",
                "again; when the first attempt did delete the record, the retry answers ",
                "[`Error::NotFound`](crate::Error::NotFound): the record is gone either way."
            )]
            pub async fn delete(&self, id: i32) -> $crate::Result<i32> {
                let (raw, op) = (self.client.raw(), stringify!($delete));
                let kind = $crate::request::Kind::Idempotent;
                let envelope = $crate::request::mutate(raw, op, kind, raw.$delete().id(id).send()).await?;
                Ok($crate::request::envelope_id(&envelope).unwrap_or(id))
            }

            #[doc = concat!("The commands available for ", $name, " records, or for the one with `id`.")]
            pub async fn commands(&self, id: Option<i32>) -> $crate::Result<Vec<$crate::types::Command>> {
                let raw = self.client.raw();
                let request = match id {
                    Some(id) => raw.$commands().id(id),
                    None => raw.$commands(),
                };
                $crate::request::send(raw, stringify!($commands), request.send()).await
            }

            /// Runs the command `key` on the records `ids` with `parameters`
            /// (name, value) and returns the server's envelope.
            pub async fn run_command(
                &self,
                key: &str,
                ids: &[i32],
                parameters: &[(&str, &str)],
            ) -> $crate::Result<$crate::types::MutationResult> {
                let (raw, op) = (self.client.raw(), stringify!($run));
                let body = $crate::resources::run_body(op, key, ids, parameters)?;
                let request = raw.$run().body(body).send();
                $crate::request::mutate(raw, op, $crate::request::Kind::Post, request).await
            }

            #[doc = concat!(
                "Every ", $name, " changed since `since`, as batches in `UpdatedOn` order, each ",
                "with the checkpoint to resume from; see [`Changes`](crate::Changes) for the ",
                "guarantee. Store each batch's checkpoint with its records."
            )]
            pub fn changes(
                &self,
                since: &$crate::Checkpoint,
            ) -> $crate::Changes<$crate::types::$item> {
                let client = self.client.clone();
                let size = self.client.stream_page_size().get();
                $crate::sync::changes(since, size, move |w: $crate::sync::Window| {
                    let client = client.clone();
                    async move {
                        let mut q = $crate::ListQuery::<Self>::default()
                            .order_by("UpdatedOn")
                            .dir($crate::SortDirection::Ascending)
                            .page(w.page)
                            .size(w.size);
                        if let Some(from) = w.from {
                            q = q.$from_updated(from);
                        }
                        if let Some(to) = w.to {
                            q = q.$to_updated(to);
                        }
                        let (raw, query) = (client.raw(), q.finish()?);
                        let spec = &$crate::spec::$module::SPEC;
                        let size = client.stream_page_size();
                        let request = $crate::resources::page_request(raw, spec, &query, size);
                        let op = stringify!($list);
                        let (page, date) = $crate::request::send_dated(raw, op, request).await?;
                        Ok((Self::page_of(page), date))
                    }
                })
            }

            #[doc = concat!(
                "Which of `known` no longer exist: a scan of every ", $name, " Id, then a ",
                "batch get of the Ids the scan did not see (a scan that records shifted ",
                "under can miss an Id; only Ids the server confirms missing are returned)."
            )]
            pub async fn gone(&self, known: &[i32]) -> $crate::Result<Vec<i32>> {
                use futures::TryStreamExt;
                let mut ids = std::collections::HashSet::new();
                let mut all = self.stream(|q| q.order_by("Id"));
                while let Some(record) = all.try_next().await? {
                    ids.insert(record.id);
                }
                let unseen: Vec<i32> = known.iter().copied().filter(|id| !ids.contains(id)).collect();
                let mut gone = Vec::new();
                for chunk in unseen.chunks($crate::spec::BATCH_IDS) {
                    let found: std::collections::HashSet<i32> =
                        self.get_many(chunk).await?.iter().map(|r| r.id).collect();
                    gone.extend(chunk.iter().copied().filter(|id| !found.contains(id)));
                }
                Ok(gone)
            }

            fn page_of(page: $crate::types::$page) -> $crate::Page<$crate::types::$item> {
                let numbers = [
                    page.current_page,
                    page.current_page_size,
                    page.total_items,
                    page.total_pages,
                ];
                $crate::Page::new(page.records, numbers, page.has_next_page)
            }

            /// One page of a checked `query`, `size` records unless it sets
            /// its own.
            async fn fetch(
                client: &$crate::Client,
                query: &$crate::Query,
                size: std::num::NonZeroU32,
            ) -> $crate::Result<$crate::Page<$crate::types::$item>> {
                let (raw, spec) = (client.raw(), &$crate::spec::$module::SPEC);
                let request = $crate::resources::page_request(raw, spec, query, size);
                let page = $crate::request::send(raw, stringify!($list), request).await?;
                Ok(Self::page_of(page))
            }

            /// One page of a checked `query`, of the client's page size
            /// unless it sets its own.
            async fn page(&self, query: &$crate::Query) -> $crate::Result<$crate::Page<$crate::types::$item>> {
                Self::fetch(&self.client, query, self.client.page_size()).await
            }

            /// Every page of a checked `query`, as a stream.
            fn stream_of(&self, query: $crate::Query) -> $crate::RecordStream<$crate::types::$item> {
                let op = stringify!($list);
                if query.page.is_some() {
                    return $crate::resources::failed_stream($crate::resources::refused_page(op));
                }
                let client = self.client.clone();
                $crate::resources::stream(op, self.client.concurrency(), move |page| {
                    let client = client.clone();
                    let query = $crate::Query { page: Some(page), ..query.clone() };
                    async move { Self::fetch(&client, &query, client.stream_page_size()).await }
                })
            }
        }

        $crate::record::impl_record!($crate::types::$record, $crate::types::$item);

        impl $crate::ResourceHandle for $handle {
            type Item = $crate::types::$item;
            type Full = $crate::types::$record;
            type Create = $crate::types::$create;
            type Update = $crate::types::$update;

            const RESOURCE: $crate::spec::Resource = $crate::spec::Resource::$handle;

            fn of(client: &$crate::Client) -> Self {
                client.$accessor()
            }

            fn list_where(
                &self,
                query: &$crate::Query,
            ) -> impl std::future::Future<Output = $crate::Result<$crate::Page<Self::Item>>> + Send {
                let (handle, query) = (self.clone(), query.clone());
                async move {
                    query.check(Self::spec())?;
                    handle.page(&query).await
                }
            }

            fn stream_where(&self, query: $crate::Query) -> $crate::RecordStream<Self::Item> {
                match query.check(Self::spec()) {
                    Ok(()) => self.stream_of(query),
                    Err(error) => $crate::resources::failed_stream(error),
                }
            }

            fn get_many(
                &self,
                ids: &[i32],
            ) -> impl std::future::Future<Output = $crate::Result<Vec<Self::Full>>> + Send {
                let (handle, ids) = (self.clone(), ids.to_vec());
                async move { $handle::get_many(&handle, &ids).await }
            }

            fn create(
                &self,
                body: Self::Create,
            ) -> impl std::future::Future<Output = $crate::Result<i32>> + Send {
                let handle = self.clone();
                async move { $handle::create(&handle, body).await }
            }

            fn replace(
                &self,
                record: &Self::Full,
            ) -> impl std::future::Future<Output = $crate::Result<i32>> + Send {
                $handle::replace(self, record)
            }

            fn delete(&self, id: i32) -> impl std::future::Future<Output = $crate::Result<i32>> + Send {
                $handle::delete(self, id)
            }

            fn commands(
                &self,
                id: Option<i32>,
            ) -> impl std::future::Future<Output = $crate::Result<Vec<$crate::types::Command>>> + Send {
                $handle::commands(self, id)
            }

            fn run_command(
                &self,
                key: &str,
                ids: &[i32],
                parameters: &[(&str, &str)],
            ) -> impl std::future::Future<Output = $crate::Result<$crate::types::MutationResult>> + Send {
                $handle::run_command(self, key, ids, parameters)
            }

            fn changes(&self, since: &$crate::Checkpoint) -> $crate::Changes<Self::Item> {
                $handle::changes(self, since)
            }

            fn gone(
                &self,
                known: &[i32],
            ) -> impl std::future::Future<Output = $crate::Result<Vec<i32>>> + Send {
                $handle::gone(self, known)
            }
        }
    };
}
crate::spec::for_each_resource!(handle);
