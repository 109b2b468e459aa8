#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod auth;
mod client;
mod error;
mod expiration;
mod filters;
mod generated;
mod paging;
mod resources;
mod sorting;
#[cfg(feature = "stand-in")]
pub mod stand_in;
mod transport;

pub use auth::{Credentials, PasswordGrant, TotpProvider};
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_PAGE_SIZE};
pub use error::{Error, FieldError, Result};
pub use expiration::ExpirationType;
pub use generated::types;
pub use resources::{
    CoworkerTimePasses, Handle, IncludedTime, Kind, PassKind, ProductTimePasses, TimePasses,
};
pub use sorting::SortDirection;
pub use transport::{Hooks, Pacing, RetryPolicy};

/// The generated client and its request builders, for calls the typed
/// handles do not wrap. Requests sent through it get the same auth, retries,
/// pacing and tracing.
pub mod raw {
    pub use crate::generated::{builder, Client, ClientInfo, Error, ResponseValue};
}
