//! Handwritten types that replace generated ones (build.rs names them in
//! progenitor's `with_replacement`), so their wire values stay readable and
//! values the docs do not list survive a read-modify-write.

mod expiration;
mod sorting;

pub use expiration::ExpirationType;
pub use sorting::SortDirection;
