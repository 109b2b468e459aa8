//! TimePass: pass definitions, and the day-pass/time-pass distinction.

use crate::types::{TimePass, TimePassListItem};

/// What a TimePass sells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassKind {
    /// One calendar day with unlimited check-ins (`MinutesIncluded` null).
    DayPass,
    /// A number of minutes usable over several days.
    TimePass {
        /// Minutes included in one pass.
        minutes: i32,
    },
}

impl PassKind {
    /// The kind that `MinutesIncluded` describes.
    pub fn from_minutes(minutes_included: Option<i32>) -> Self {
        match minutes_included {
            None => PassKind::DayPass,
            Some(minutes) => PassKind::TimePass { minutes },
        }
    }
}

impl TimePass {
    /// Day pass or time pass, from `MinutesIncluded`.
    pub fn kind(&self) -> PassKind {
        PassKind::from_minutes(self.minutes_included)
    }
}

impl TimePassListItem {
    /// Day pass or time pass, from `MinutesIncluded`.
    pub fn kind(&self) -> PassKind {
        PassKind::from_minutes(self.minutes_included)
    }
}
