//! What a sync's writes did, as both databases report it: per record
//! inserted, updated or unchanged, rows deleted, values not stored as sent.

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
