#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod error;
mod expiration;
mod generated;
mod sorting;
mod transport;

pub use error::{Error, FieldError, Result};
pub use expiration::ExpirationType;
pub use generated::types;
pub use sorting::SortDirection;
