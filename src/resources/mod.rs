//! Resource handles: one generic [`Handle`] with list, stream, get, batch get,
//! create, update, delete and commands, and one [`Kind`] per resource that
//! wires it to the generated operations.

mod coworker_time_passes;
mod product_time_passes;
mod time_passes;

use std::{collections::BTreeSet, marker::PhantomData, num::NonZeroU32, sync::Arc};

use futures::{future::BoxFuture, Stream, TryStreamExt};
use progenitor_client::{Error as GenError, ResponseValue};
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};

pub use coworker_time_passes::CoworkerTimePasses;
pub use product_time_passes::{IncludedTime, ProductTimePasses};
pub use time_passes::{PassKind, TimePasses};

use crate::{
    error::{Error, ErrorBody, Result},
    generated::Client as Raw,
    paging::{stream_records, Keyed, PageOf},
    types::{Command, CommandParameter, IdList, MutationResult, RunCommandRequest},
    Client,
};

/// What the generated client answers.
pub(crate) type Answer<T, E = ()> = std::result::Result<ResponseValue<T>, GenError<E>>;

/// A request of the generated client, sent when awaited.
#[doc(hidden)]
pub type Sent<'a, T, E = ()> = BoxFuture<'a, Answer<T, E>>;

/// A mutation request: its success and error bodies are both the envelope.
#[doc(hidden)]
pub type Mutated<'a> = Sent<'a, MutationResult, MutationResult>;

/// A resource of the API, as the generic [`Handle`] needs it. Implemented by
/// [`TimePasses`], [`CoworkerTimePasses`] and [`ProductTimePasses`]; not meant
/// to be implemented elsewhere.
pub trait Kind: Send + Sync + 'static {
    /// The full record (get one, batch get): the only start of an update.
    type Record: DeserializeOwned + Serialize + JsonSchema + Clone + Send + 'static;
    /// The partial record listings return.
    type ListItem: DeserializeOwned + Keyed + Send + 'static;
    /// The body of a create.
    type Create: Serialize + Send + 'static;
    /// The body of an update, built from a full record.
    type Update: DeserializeOwned + Serialize + JsonSchema + Send + 'static;
    /// One page of a listing, as the API answers it.
    type Page: DeserializeOwned + Send + 'static;
    /// The generated listing request: its methods set filters and sorting.
    type Query<'a>: Send;

    #[doc(hidden)]
    const OPS: Ops;

    #[doc(hidden)]
    fn record_id(record: &Self::Record) -> i32;
    #[doc(hidden)]
    fn page_of(page: Self::Page) -> PageOf<Self::ListItem>;
    #[doc(hidden)]
    fn query(raw: &Raw) -> Self::Query<'_>;
    #[doc(hidden)]
    fn paged(query: Self::Query<'_>, page: NonZeroU32) -> Self::Query<'_>;
    #[doc(hidden)]
    fn sized(query: Self::Query<'_>, size: NonZeroU32) -> Self::Query<'_>;
    #[doc(hidden)]
    fn send_list(query: Self::Query<'_>) -> Sent<'_, Self::Page>;
    #[doc(hidden)]
    fn send_get(raw: &Raw, id: i32) -> Sent<'_, Self::Record>;
    #[doc(hidden)]
    fn send_get_many(raw: &Raw, ids: IdList) -> Sent<'_, Vec<Self::Record>>;
    #[doc(hidden)]
    fn send_create(raw: &Raw, body: Self::Create) -> Mutated<'_>;
    #[doc(hidden)]
    fn send_update(raw: &Raw, body: Self::Update) -> Mutated<'_>;
    #[doc(hidden)]
    fn send_delete(raw: &Raw, id: i32) -> Mutated<'_>;
    #[doc(hidden)]
    fn send_commands(raw: &Raw, id: Option<i32>) -> Sent<'_, Vec<Command>>;
    #[doc(hidden)]
    fn send_run(raw: &Raw, body: RunCommandRequest) -> Mutated<'_>;
}

/// The operationIds of one resource, for errors and logs.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Ops {
    pub list: &'static str,
    pub get: &'static str,
    pub get_many: &'static str,
    pub create: &'static str,
    pub update: &'static str,
    pub delete: &'static str,
    pub commands: &'static str,
    pub run: &'static str,
}

/// Operations on one resource; see [`Client::time_passes`],
/// [`Client::coworker_time_passes`] and [`Client::product_time_passes`].
///
/// Listing methods take the typed filters as a function that sets them on
/// the generated request, for example `|q| q.time_pass_archived(false)`;
/// `|q| q` lists everything.
pub struct Handle<'c, K: Kind> {
    client: &'c Client,
    kind: PhantomData<fn() -> K>,
}

impl<K: Kind> Clone for Handle<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: Kind> Copy for Handle<'_, K> {}

impl<K: Kind> std::fmt::Debug for Handle<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("resource", &K::OPS.list)
            .finish_non_exhaustive()
    }
}

impl<'c, K: Kind> Handle<'c, K> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Handle {
            client,
            kind: PhantomData,
        }
    }

    fn raw(&self) -> &'c Raw {
        &self.client.raw
    }

    /// One page of the listing. `query` sets filters, sorting, `page` and
    /// `size` on the generated request; unset, `size` is the client's page size.
    pub async fn list(&self, query: impl FnOnce(K::Query<'c>) -> K::Query<'c>) -> Result<K::Page> {
        let request = query(K::sized(K::query(self.raw()), self.client.page_size));
        call(self.client, K::OPS.list, K::send_list(request)).await
    }

    /// Every matching record across all pages, as a stream in listing order.
    /// Pages after the first are fetched `concurrency` at a time (see
    /// [`ClientBuilder::concurrency`](crate::ClientBuilder::concurrency)); at
    /// most that many pages are held in memory. Each record comes once, even
    /// when records are added or removed while paging. A `page` set by
    /// `query` is ignored.
    pub fn stream<F>(&self, query: F) -> impl Stream<Item = Result<K::ListItem>> + Send + 'c
    where
        F: Fn(K::Query<'c>) -> K::Query<'c> + Send + Sync + 'c,
    {
        let client = self.client;
        let query = Arc::new(query);
        let fetch = move |page: u32| {
            let query = query.clone();
            async move {
                let page = NonZeroU32::new(page)
                    .ok_or_else(|| Error::InvalidInput("pages are numbered from 1".into()))?;
                let request = K::paged(
                    query(K::sized(K::query(&client.raw), client.page_size)),
                    page,
                );
                let answer = call(client, K::OPS.list, K::send_list(request)).await?;
                Ok(K::page_of(answer))
            }
        };
        stream_records(fetch, client.concurrency)
    }

    /// Every matching record across all pages, collected. Prefer
    /// [`stream`](Self::stream) for large listings.
    pub async fn all<F>(&self, query: F) -> Result<Vec<K::ListItem>>
    where
        F: Fn(K::Query<'c>) -> K::Query<'c> + Send + Sync + 'c,
    {
        self.stream(query).try_collect().await
    }

    /// The full record with this Id.
    pub async fn get(&self, id: i32) -> Result<K::Record> {
        call(self.client, K::OPS.get, K::send_get(self.raw(), id)).await
    }

    /// The full records of these Ids, in one request (batch get). Ids with no
    /// record are missing from the answer; no Ids gives no records and sends
    /// nothing.
    pub async fn get_many(&self, ids: &[i32]) -> Result<Vec<K::Record>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = IdList::try_from(crate::filters::id_list(ids))
            .map_err(|e| Error::InvalidInput(format!("{}: {e}", K::OPS.get_many)))?;
        call(
            self.client,
            K::OPS.get_many,
            K::send_get_many(self.raw(), list),
        )
        .await
    }

    /// Creates a record and returns its new Id (the envelope's `Value.Id`).
    pub async fn create(&self, body: K::Create) -> Result<i32> {
        let envelope =
            mutation(self.client, K::OPS.create, K::send_create(self.raw(), body)).await?;
        value_id(K::OPS.create, &envelope)
    }

    /// Reads the full record, lets `change` edit it, and writes the whole
    /// record back, so fields the change does not touch keep their values.
    /// Returns the record as written.
    ///
    /// Nothing is written when the read fails, or when `change` alters the Id.
    pub async fn update(&self, id: i32, change: impl FnOnce(&mut K::Record)) -> Result<K::Record> {
        let mut record = self.get(id).await?;
        change(&mut record);
        if K::record_id(&record) != id {
            return Err(Error::InvalidInput(format!(
                "{}: the change altered the record's Id",
                K::OPS.update
            )));
        }
        self.replace(&record).await?;
        Ok(record)
    }

    /// Writes a full record back (a PUT of every writable field, and of any
    /// field the server sent that the spec does not list).
    pub async fn replace(&self, record: &K::Record) -> Result<i32> {
        let body = self.update_body(record)?;
        let envelope =
            mutation(self.client, K::OPS.update, K::send_update(self.raw(), body)).await?;
        value_id(K::OPS.update, &envelope)
    }

    /// The update body for a full record: its writable fields, plus any field
    /// the server sent that the spec does not list. For edits that only the
    /// update body can express (such as `AddedBusinesses`), change the body
    /// and send it with [`raw`](Client::raw).
    pub fn update_body(&self, record: &K::Record) -> Result<K::Update> {
        crate::filters::update_body::<K::Record, K::Update>(record).map_err(|e| {
            Error::InvalidInput(format!(
                "{}: cannot build the update body: {e}",
                K::OPS.update
            ))
        })
    }

    /// Deletes the record with this Id and returns the Id the server reports.
    pub async fn delete(&self, id: i32) -> Result<i32> {
        let envelope = mutation(self.client, K::OPS.delete, K::send_delete(self.raw(), id)).await?;
        Ok(envelope_id(&envelope).unwrap_or(id))
    }

    /// The commands available, for all records or for the one with `id`.
    pub async fn commands(&self, id: Option<i32>) -> Result<Vec<Command>> {
        call(
            self.client,
            K::OPS.commands,
            K::send_commands(self.raw(), id),
        )
        .await
    }

    /// Runs the command `key` on the records `ids` with `parameters`
    /// (name, value) and returns the server's envelope.
    pub async fn run_command(
        &self,
        key: &str,
        ids: &[i32],
        parameters: &[(&str, &str)],
    ) -> Result<MutationResult> {
        if ids.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{}: no record Ids given",
                K::OPS.run
            )));
        }
        let body = RunCommandRequest {
            key: key.to_owned(),
            ids: ids.to_vec(),
            parameters: parameters
                .iter()
                .map(|(name, value)| CommandParameter {
                    name: (*name).to_owned(),
                    value: (*value).to_owned(),
                    type_: None,
                })
                .collect(),
        };
        mutation(self.client, K::OPS.run, K::send_run(self.raw(), body)).await
    }
}

impl Client {
    /// TimePass definitions (day passes and time passes).
    pub fn time_passes(&self) -> Handle<'_, TimePasses> {
        Handle::new(self)
    }

    /// Passes held by customers.
    pub fn coworker_time_passes(&self) -> Handle<'_, CoworkerTimePasses> {
        Handle::new(self)
    }

    /// Passes granted by buying a product.
    pub fn product_time_passes(&self) -> Handle<'_, ProductTimePasses> {
        Handle::new(self)
    }
}

/// Sends a request and unwraps the answer or converts the failure.
///
/// Signs in first when the credentials need a token: the hooks can only
/// report a failed sign-in as text, so doing it here keeps its typed error
/// (an OAuth code, a decode failure, a timeout). The hook then finds the
/// token ready.
async fn call<T: DeserializeOwned, E: ErrorBody>(
    client: &Client,
    op: &'static str,
    request: Sent<'_, T, E>,
) -> Result<T> {
    client.raw.inner.auth().header(&client.raw).await?;
    match request.await {
        Ok(value) => Ok(value.into_inner()),
        Err(e) => Err(Error::from_generated::<T, E>(op, e).await),
    }
}

/// Like [`call`], and a 200 envelope with `WasSuccessful: false` is an error.
async fn mutation(
    client: &Client,
    op: &'static str,
    request: Mutated<'_>,
) -> Result<MutationResult> {
    let envelope = call(client, op, request).await?;
    if envelope.was_successful {
        Ok(envelope)
    } else {
        Err(Error::from_envelope(op, &envelope))
    }
}

/// The Id a successful mutation reports in `Value.Id`.
fn value_id(op: &'static str, envelope: &MutationResult) -> Result<i32> {
    envelope_id(envelope).ok_or_else(|| Error::Decode {
        operation: op,
        path: "Value.Id".into(),
        message: "the success envelope carries no Id".into(),
        excerpt: envelope.message.clone().unwrap_or_default(),
    })
}

/// `Value.Id` of an envelope, when there is one.
fn envelope_id(envelope: &MutationResult) -> Option<i32> {
    envelope.value.as_ref()?.0.as_ref()?.id
}

/// Property names a schemars schema declares.
pub(crate) fn declared_fields<T: JsonSchema>() -> BTreeSet<String> {
    let root = schemars::schema_for!(T);
    root.schema
        .object
        .map(|o| o.properties.into_keys().collect())
        .unwrap_or_default()
}

/// Wires one resource to its generated operations; see [`Kind`].
macro_rules! resource_kind {
    (
        $kind:ident, record: $record:ident, item: $item:ident, create: $create:ident,
        update: $update:ident, page: $page:ident, query: $query:ident,
        ops: [$list:ident, $get:ident, $get_many:ident, $create_op:ident, $update_op:ident,
              $delete:ident, $commands:ident, $run:ident] $(,)?
    ) => {
        impl $crate::resources::Kind for $kind {
            type Record = $crate::types::$record;
            type ListItem = $crate::types::$item;
            type Create = $crate::types::$create;
            type Update = $crate::types::$update;
            type Page = $crate::types::$page;
            type Query<'a> = $crate::generated::builder::$query<'a>;

            const OPS: $crate::resources::Ops = $crate::resources::Ops {
                list: stringify!($list),
                get: stringify!($get),
                get_many: stringify!($get_many),
                create: stringify!($create_op),
                update: stringify!($update_op),
                delete: stringify!($delete),
                commands: stringify!($commands),
                run: stringify!($run),
            };

            fn record_id(record: &Self::Record) -> i32 {
                record.id
            }
            fn page_of(page: Self::Page) -> $crate::paging::PageOf<Self::ListItem> {
                $crate::paging::PageOf {
                    total_pages: u32::try_from(page.total_pages).unwrap_or(0),
                    total_items: u32::try_from(page.total_items).unwrap_or(0),
                    records: page.records,
                }
            }
            fn query(raw: &$crate::generated::Client) -> Self::Query<'_> {
                raw.$list()
            }
            fn paged(query: Self::Query<'_>, page: std::num::NonZeroU32) -> Self::Query<'_> {
                query.page(page)
            }
            fn sized(query: Self::Query<'_>, size: std::num::NonZeroU32) -> Self::Query<'_> {
                query.size(size)
            }
            fn send_list(query: Self::Query<'_>) -> $crate::resources::Sent<'_, Self::Page> {
                Box::pin(query.send())
            }
            fn send_get(
                raw: &$crate::generated::Client,
                id: i32,
            ) -> $crate::resources::Sent<'_, Self::Record> {
                Box::pin(raw.$get().id(id).send())
            }
            fn send_get_many(
                raw: &$crate::generated::Client,
                ids: $crate::types::IdList,
            ) -> $crate::resources::Sent<'_, Vec<Self::Record>> {
                Box::pin(raw.$get_many().id(ids).send())
            }
            fn send_create(
                raw: &$crate::generated::Client,
                body: Self::Create,
            ) -> $crate::resources::Mutated<'_> {
                Box::pin(raw.$create_op().body(body).send())
            }
            fn send_update(
                raw: &$crate::generated::Client,
                body: Self::Update,
            ) -> $crate::resources::Mutated<'_> {
                Box::pin(raw.$update_op().body(body).send())
            }
            fn send_delete(
                raw: &$crate::generated::Client,
                id: i32,
            ) -> $crate::resources::Mutated<'_> {
                Box::pin(raw.$delete().id(id).send())
            }
            fn send_commands(
                raw: &$crate::generated::Client,
                id: Option<i32>,
            ) -> $crate::resources::Sent<'_, Vec<$crate::types::Command>> {
                let request = raw.$commands();
                Box::pin(
                    match id {
                        Some(id) => request.id(id),
                        None => request,
                    }
                    .send(),
                )
            }
            fn send_run(
                raw: &$crate::generated::Client,
                body: $crate::types::RunCommandRequest,
            ) -> $crate::resources::Mutated<'_> {
                Box::pin(raw.$run().body(body).send())
            }
        }

        impl $crate::paging::Keyed for $crate::types::$item {
            fn key(&self) -> i32 {
                self.id
            }
        }
    };
}
pub(crate) use resource_kind;
