//! One generic layer over the library's three resource handles. The handles
//! are distinct types with the same methods; the [`Resource`] trait names
//! what the commands need, and the `resource!` macro implements it once for
//! each handle, with the spec tables `build.rs` generated for that resource.

use std::future::Future;
use std::marker::PhantomData;

use nexudus_timepasses::types::{Command, MutationResult};
use nexudus_timepasses::{Client, Page, Record, RecordStream, Result, SortDirection};
use serde::{de::DeserializeOwned, Serialize};

use crate::spec::{self, FieldSpec, FilterSpec, FilterValue};

/// A listing request as the CLI builds it: filters checked against the
/// resource's own table (the `R` marks whose), sorting, and a page.
#[derive(Debug)]
pub struct Query<R> {
    /// Filters, by their spec name, each with a value of its type.
    pub filters: Vec<(&'static str, FilterValue)>,
    /// The property to sort by.
    pub order_by: Option<String>,
    /// The sort direction.
    pub dir: Option<SortDirection>,
    /// The page to fetch (`list` only; streams number their own pages).
    pub page: Option<u32>,
    /// Records per page, instead of the client's (`list` only).
    pub size: Option<u32>,
    resource: PhantomData<fn() -> R>,
}

impl<R> Default for Query<R> {
    fn default() -> Self {
        Query {
            filters: Vec::new(),
            order_by: None,
            dir: None,
            page: None,
            size: None,
            resource: PhantomData,
        }
    }
}

impl<R> Clone for Query<R> {
    fn clone(&self) -> Self {
        Query {
            filters: self.filters.clone(),
            order_by: self.order_by.clone(),
            dir: self.dir,
            page: self.page,
            size: self.size,
            resource: PhantomData,
        }
    }
}

/// What the commands need of a resource handle.
pub trait Resource: Clone + Send + Sync + 'static {
    /// A listing record.
    type Item: Serialize + Record + Send + 'static;
    /// A full record.
    type Full: Serialize + DeserializeOwned + Record + Send + Sync + 'static;
    /// The body of a create.
    type Create: DeserializeOwned + Send + 'static;

    /// The API's entity name, for example `CoworkerTimePass`.
    const NAME: &'static str;
    /// The list filters of the spec.
    const FILTERS: &'static [FilterSpec];
    /// The listing record's properties.
    const LIST_FIELDS: &'static [FieldSpec];
    /// The full record's properties.
    const RECORD_FIELDS: &'static [FieldSpec];
    /// The create body's properties.
    const CREATE_FIELDS: &'static [FieldSpec];
    /// The update body's properties (the writable fields).
    const UPDATE_FIELDS: &'static [FieldSpec];
    /// The columns a table shows unless `--columns` says otherwise: a few
    /// that identify a record, since every column rarely fits a terminal.
    const TABLE_COLUMNS: &'static [&'static str];

    /// The handle of this resource on `client`.
    fn of(client: &Client) -> Self;
    /// One page of the listing.
    fn list(&self, query: &Query<Self>) -> impl Future<Output = Result<Page<Self::Item>>> + Send;
    /// Every matching record, streamed (the query's page is not used).
    fn stream(&self, query: Query<Self>) -> RecordStream<Self::Item>;
    /// Full records by Id, in one request.
    fn get_many(&self, ids: &[i32]) -> impl Future<Output = Result<Vec<Self::Full>>> + Send;
    /// Creates a record; its new Id.
    fn create(&self, body: Self::Create) -> impl Future<Output = Result<i32>> + Send;
    /// Writes a full record back.
    fn replace(&self, record: &Self::Full) -> impl Future<Output = Result<i32>> + Send;
    /// Deletes a record.
    fn delete(&self, id: i32) -> impl Future<Output = Result<i32>> + Send;
    /// The commands available, for all records or one.
    fn commands(&self, id: Option<i32>) -> impl Future<Output = Result<Vec<Command>>> + Send;
    /// Runs a command on records.
    fn run_command(
        &self,
        key: &str,
        ids: &[i32],
        parameters: &[(&str, &str)],
    ) -> impl Future<Output = Result<MutationResult>> + Send;
}

/// Implements [`Resource`] for one handle.
macro_rules! resource {
    (
        $handle:ident, $accessor:ident, $tables:ident, $name:literal,
        item: $item:ident, full: $full:ident, create: $create:ident,
        columns: [$($column:literal),* $(,)?] $(,)?
    ) => {
        impl Resource for nexudus_timepasses::$handle {
            type Item = nexudus_timepasses::types::$item;
            type Full = nexudus_timepasses::types::$full;
            type Create = nexudus_timepasses::types::$create;

            const NAME: &'static str = $name;
            const FILTERS: &'static [FilterSpec] = spec::$tables::FILTERS;
            const LIST_FIELDS: &'static [FieldSpec] = spec::$tables::LIST_FIELDS;
            const RECORD_FIELDS: &'static [FieldSpec] = spec::$tables::RECORD_FIELDS;
            const CREATE_FIELDS: &'static [FieldSpec] = spec::$tables::CREATE_FIELDS;
            const UPDATE_FIELDS: &'static [FieldSpec] = spec::$tables::UPDATE_FIELDS;
            const TABLE_COLUMNS: &'static [&'static str] = &[$($column),*];

            fn of(client: &Client) -> Self {
                client.$accessor()
            }

            fn list(&self, query: &Query<Self>) -> impl Future<Output = Result<Page<Self::Item>>> + Send {
                let (handle, query) = (self.clone(), query.clone());
                async move {
                    handle
                        .list(|q| {
                            let q = apply!(q, &query, spec::$tables::set_filter);
                            let q = match query.page {
                                Some(page) => q.page(page),
                                None => q,
                            };
                            match query.size {
                                Some(size) => q.size(size),
                                None => q,
                            }
                        })
                        .await
                }
            }

            fn stream(&self, query: Query<Self>) -> RecordStream<Self::Item> {
                nexudus_timepasses::$handle::stream(self, move |q| {
                    apply!(q, &query, spec::$tables::set_filter)
                })
            }

            fn get_many(&self, ids: &[i32]) -> impl Future<Output = Result<Vec<Self::Full>>> + Send {
                let (handle, ids) = (self.clone(), ids.to_vec());
                async move { handle.get_many(&ids).await }
            }

            fn create(&self, body: Self::Create) -> impl Future<Output = Result<i32>> + Send {
                let handle = self.clone();
                async move { handle.create(body).await }
            }

            fn replace(&self, record: &Self::Full) -> impl Future<Output = Result<i32>> + Send {
                nexudus_timepasses::$handle::replace(self, record)
            }

            fn delete(&self, id: i32) -> impl Future<Output = Result<i32>> + Send {
                nexudus_timepasses::$handle::delete(self, id)
            }

            fn commands(&self, id: Option<i32>) -> impl Future<Output = Result<Vec<Command>>> + Send {
                nexudus_timepasses::$handle::commands(self, id)
            }

            fn run_command(
                &self,
                key: &str,
                ids: &[i32],
                parameters: &[(&str, &str)],
            ) -> impl Future<Output = Result<MutationResult>> + Send {
                nexudus_timepasses::$handle::run_command(self, key, ids, parameters)
            }
        }
    };
}

/// Applies a query's filters and sorting to a generated list builder. The
/// filter names come from the same resource's table (`Query<R>`), so
/// `set_filter` knows each one; for a name it did not know it would hand
/// the builder back unchanged.
macro_rules! apply {
    ($q:expr, $query:expr, $set:path) => {{
        let query = $query;
        let mut q = $q;
        for (name, value) in &query.filters {
            (q, _) = $set(q, name, value.clone());
        }
        if let Some(field) = &query.order_by {
            q = q.order_by(field.clone());
        }
        if let Some(dir) = query.dir {
            q = q.dir(dir);
        }
        q
    }};
}

resource!(
    TimePasses, time_passes, time_pass, "TimePass",
    item: TimePassListItem, full: TimePass, create: TimePassCreate,
    columns: ["Id", "Name", "BusinessName", "Price", "CurrencyCode", "MinutesIncluded", "Archived", "UpdatedOn"],
);

resource!(
    CoworkerTimePasses, coworker_time_passes, coworker_time_pass, "CoworkerTimePass",
    item: CoworkerTimePassListItem, full: CoworkerTimePass, create: CoworkerTimePassCreate,
    columns: ["Id", "CoworkerId", "TimePassName", "Used", "RemainingUses", "TotalUses", "ExpireDate", "UpdatedOn"],
);

resource!(
    ProductTimePasses, product_time_passes, product_time_pass, "ProductTimePass",
    item: ProductTimePassListItem, full: ProductTimePass, create: ProductTimePassCreate,
    columns: ["Id", "ProductName", "TimePassName", "PassesIncluded", "UpdatedOn"],
);
