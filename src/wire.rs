//! Wire formats the API wants in requests: dates for range filters and Id
//! lists for batch get.

use chrono::{DateTime, NaiveDateTime, TimeZone};

use crate::{error::Error, types::FilterDateTime};

/// The format range filters take: minute precision, no seconds, no zone.
pub(crate) const FILTER_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// A wall-clock date-time, sent as `YYYY-MM-DDTHH:mm` (seconds dropped).
/// Years outside 0000-9999 cannot be written in that form and are refused.
///
/// ```
/// use chrono::NaiveDate;
/// use nexudus_timepasses::types::FilterDateTime;
/// let at = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap().and_hms_opt(23, 59, 30).unwrap();
/// assert_eq!(FilterDateTime::try_from(at).unwrap().as_str(), "2025-01-31T23:59");
/// ```
impl TryFrom<NaiveDateTime> for FilterDateTime {
    type Error = Error;

    fn try_from(at: NaiveDateTime) -> Result<Self, Error> {
        at.format(FILTER_FORMAT)
            .to_string()
            .parse()
            .map_err(|_| Error::InvalidRequest {
                operation: "FilterDateTime",
                reason: format!("{at} cannot be sent as a range filter (years 0000-9999 only)"),
            })
    }
}

/// A zoned date-time, converted to UTC and sent as `YYYY-MM-DDTHH:mm`. The
/// API's timestamps carry `Z`, so range filters are read as UTC; the docs do
/// not say so for filters.
impl<Tz: TimeZone> TryFrom<DateTime<Tz>> for FilterDateTime {
    type Error = Error;

    fn try_from(at: DateTime<Tz>) -> Result<Self, Error> {
        FilterDateTime::try_from(at.naive_utc())
    }
}

impl FilterDateTime {
    /// The text sent on the wire.
    pub fn as_str(&self) -> &str {
        self
    }
}

/// Ids as batch get takes them: `[1,2,3]`.
pub(crate) fn id_list(ids: &[i32]) -> String {
    let joined: Vec<String> = ids.iter().map(i32::to_string).collect();
    format!("[{}]", joined.join(","))
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, NaiveDate};

    use super::*;

    #[test]
    fn zoned_times_are_sent_in_utc() {
        let local = FixedOffset::east_opt(2 * 3600)
            .unwrap()
            .with_ymd_and_hms(2025, 6, 1, 10, 15, 59)
            .unwrap();
        assert_eq!(
            FilterDateTime::try_from(local).unwrap().as_str(),
            "2025-06-01T08:15"
        );
    }

    #[test]
    fn id_lists_use_brackets() {
        assert_eq!(id_list(&[1, 22, 333]), "[1,22,333]");
    }

    #[test]
    fn strings_outside_the_format_are_refused() {
        assert!("2025-06-01 08:15".parse::<FilterDateTime>().is_err());
        let ok = NaiveDate::from_ymd_opt(2025, 6, 1)
            .unwrap()
            .and_hms_opt(8, 15, 0)
            .unwrap();
        assert_eq!(
            FilterDateTime::try_from(ok).unwrap().as_str(),
            "2025-06-01T08:15"
        );
        let far = NaiveDate::from_ymd_opt(12000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert!(matches!(
            FilterDateTime::try_from(far),
            Err(Error::InvalidRequest { .. })
        ));
    }
}
