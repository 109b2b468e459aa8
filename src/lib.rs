#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod auth;
mod client;
pub mod drift;
mod error;
mod generated;
mod handle;
mod pacing;
mod page;
mod paging;
mod query;
mod record;
mod replacements;
mod request;
mod resources;
mod retry;
mod secrets;
pub mod spec;
#[cfg(feature = "stand-in")]
pub mod stand_in;
mod status;
mod sync;
mod token_store;
mod transport;
mod update_body;
mod wire;

pub use auth::{Credentials, PasswordGrant, TotpProvider};
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_MAX_BODY_BYTES, DEFAULT_PAGE_SIZE,
    DEFAULT_STREAM_PAGE_SIZE,
};
pub use error::{Error, FieldError, Result};
pub use generated::types;
pub use handle::ResourceHandle;
pub use pacing::Pacing;
pub use page::{Page, RecordStream};
pub use query::{ListQuery, Query};
pub use record::Record;
pub use replacements::{ExpirationType, SortDirection};
pub use resources::*;
pub use retry::RetryPolicy;
pub use sync::{ChangeBatch, Changes, Checkpoint};
pub use token_store::{FileTokenStore, StoreGuard, StoredToken, TokenStore};
pub use transport::Hooks;

/// The generated client and its request builders, for calls the typed
/// handles do not wrap. Requests sent through it get the same auth, retries,
/// pacing and tracing.
pub mod raw {
    pub use crate::generated::{builder, Client, ClientInfo, Error, ResponseValue};
}
