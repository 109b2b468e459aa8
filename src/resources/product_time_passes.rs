//! ProductTimePass: passes granted by buying a product, and the time they add up to.

use crate::{
    error::{Error, Result},
    resources::PassKind,
    types::{ProductTimePass, TimePass},
};

/// The check-in time a product grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludedTime {
    /// Calendar days (the TimePass is a day pass).
    Days(i64),
    /// Minutes in all: passes x minutes per pass.
    Minutes(i64),
}

impl ProductTimePass {
    /// The time this product grants, given its TimePass: `PassesIncluded`
    /// days for a day pass, `PassesIncluded x MinutesIncluded` minutes for a
    /// time pass. Fails when `pass` is not the linked TimePass.
    pub fn included_time(&self, pass: &TimePass) -> Result<IncludedTime> {
        if pass.id != self.time_pass_id {
            return Err(Error::invalid(
                "included_time",
                format!(
                    "TimePass {} is not the one this product grants ({})",
                    pass.id, self.time_pass_id
                ),
            ));
        }
        let passes = i64::from(self.passes_included);
        Ok(match pass.kind() {
            PassKind::DayPass => IncludedTime::Days(passes),
            PassKind::TimePass { minutes } => IncludedTime::Minutes(passes * i64::from(minutes)),
        })
    }
}
