//! [`ResourceHandle`]: what every resource handle can do, as one trait, so
//! that code written once (the CLI's commands, sync, a service's exports)
//! serves every resource the spec lists, chosen at run time through
//! [`spec::Resource::visit`](crate::spec::Resource::visit). Filters travel
//! as a [`Query`] of names and values checked against the spec's table.

use std::future::Future;

use serde::{de::DeserializeOwned, Serialize};

use crate::{
    error::Result,
    spec::{Resource, ResourceSpec},
    types::{Command, MutationResult},
    Changes, Checkpoint, Client, Page, Query, Record, RecordStream,
};

/// What every resource handle can do. Implemented by each handle
/// ([`TimePasses`](crate::TimePasses) and the others) with its own types;
/// the inherent methods of the same names are the same calls.
pub trait ResourceHandle: Clone + Send + Sync + 'static {
    /// A listing record.
    type Item: Serialize + DeserializeOwned + Record + Send + 'static;
    /// A full record.
    type Full: Serialize + DeserializeOwned + Record + Send + Sync + 'static;
    /// The body of a create.
    type Create: Serialize + DeserializeOwned + Send + 'static;
    /// The body of an update.
    type Update: Serialize + DeserializeOwned + Send + 'static;

    /// Which resource this handle serves.
    const RESOURCE: Resource;

    /// What the spec says of the resource.
    fn spec() -> &'static ResourceSpec {
        Self::RESOURCE.spec()
    }
    /// The handle of this resource on `client`.
    fn of(client: &Client) -> Self;
    /// One page of the listing.
    fn list_where(&self, query: &Query) -> impl Future<Output = Result<Page<Self::Item>>> + Send;
    /// Every matching record, streamed (the query's `page` is refused).
    fn stream_where(&self, query: Query) -> RecordStream<Self::Item>;
    /// Full records by Id, in one request.
    fn get_many(&self, ids: &[i32]) -> impl Future<Output = Result<Vec<Self::Full>>> + Send;
    /// Creates a record; its new Id.
    fn create(&self, body: Self::Create) -> impl Future<Output = Result<i32>> + Send;
    /// Writes a full record back.
    fn replace(&self, record: &Self::Full) -> impl Future<Output = Result<i32>> + Send;
    /// Deletes a record; the Id the server reports.
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
    /// Every record changed since `since`, in batches with checkpoints.
    fn changes(&self, since: &Checkpoint) -> Changes<Self::Item>;
    /// Which of `known` no longer exist.
    fn gone(&self, known: &[i32]) -> impl Future<Output = Result<Vec<i32>>> + Send;
}
