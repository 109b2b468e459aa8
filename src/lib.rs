#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod expiration;
mod generated;
mod transport;

pub use expiration::ExpirationType;
pub use generated::types;
