//! What a sync's writes take and what they did, for both databases: a
//! [`Write`] in, and per record inserted, updated or unchanged, rows
//! deleted, values not stored as sent out.

use nexudus_timepasses::Checkpoint;
use serde_json::Value;

/// One write of a batch, in one transaction: all of it is committed, or
/// none.
#[derive(Clone, Copy, Debug, Default)]
pub struct Write<'a> {
    /// Full records as JSON, upserted.
    pub records: &'a [Value],
    /// Ids whose rows are deleted.
    pub deleted: &'a [i32],
    /// The checkpoint stored for a resource (its key, the checkpoint).
    pub checkpoint: Option<(&'a str, &'a Checkpoint)>,
}

impl<'a> Write<'a> {
    /// A write that only deletes the rows of `ids`.
    pub fn deletes(ids: &'a [i32]) -> Self {
        Write {
            deleted: ids,
            ..Write::default()
        }
    }
}

/// What an upsert did to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Inserted,
    Updated,
    Unchanged,
}

/// What one batch's transaction did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Each record's outcome.
    pub outcomes: Vec<(i32, Outcome)>,
    /// Rows deleted.
    pub removed: u64,
    /// Values not stored as sent (PostgreSQL): a value that does not fit its
    /// column's type (kept in `extra`), or text with a NUL character, which
    /// PostgreSQL cannot hold (stored with U+FFFD in its place).
    pub not_as_sent: u64,
}
