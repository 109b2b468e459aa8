//! The [`Record`] trait: what every record of the three resources has, full
//! or from a listing, for code that is generic over them. Each resource's
//! handle (`resources/mod.rs`) implements it for its two record types.

use chrono::{DateTime, Utc};

/// A record of one of the three resources, full or from a listing.
///
/// ```
/// use nexudus_timepasses::Record;
/// fn ids<R: Record>(records: &[R]) -> Vec<i32> {
///     records.iter().map(Record::id).collect()
/// }
/// # let _ = ids::<nexudus_timepasses::types::TimePass>;
/// ```
pub trait Record {
    /// The record's unique Id (`Id`).
    fn id(&self) -> i32;
    /// When the record was last changed (`UpdatedOn`).
    fn updated_on(&self) -> DateTime<Utc>;
}

/// Implements [`Record`] for record types with `id` and `updated_on`.
macro_rules! impl_record {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::Record for $ty {
            fn id(&self) -> i32 {
                self.id
            }
            fn updated_on(&self) -> chrono::DateTime<chrono::Utc> {
                self.updated_on
            }
        }
    )*};
}
pub(crate) use impl_record;
