//! What a sync's writes did, as both databases report it: per record
//! inserted, updated or unchanged, rows deleted, values kept in `extra`.

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
    /// Values that did not fit their column's type, kept in `extra`.
    pub kept_as_text: u64,
}
