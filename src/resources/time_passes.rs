//! TimePass: pass definitions, and the day-pass/time-pass distinction.

use crate::types::{TimePass, TimePassListItem};

super::handle!(
    /// TimePass definitions: `client.time_passes()`.
    ///
    /// ```no_run
    /// # async fn run(client: nexudus_timepasses::Client) -> nexudus_timepasses::Result<()> {
    /// use futures::TryStreamExt;
    /// use nexudus_timepasses::{PassKind, SortDirection};
    ///
    /// // Every active pass of one location, by name.
    /// let mut passes = client.time_passes().stream(|q| {
    ///     q.time_pass_business(1234)
    ///         .time_pass_archived(false)
    ///         .order_by("Name")
    ///         .dir(SortDirection::Ascending)
    /// });
    /// while let Some(pass) = passes.try_next().await? {
    ///     match pass.kind() {
    ///         PassKind::DayPass => println!("{}: day pass", pass.name),
    ///         PassKind::TimePass { minutes } => println!("{}: {minutes} min", pass.name),
    ///     }
    /// }
    ///
    /// // Raise a price without touching any other field.
    /// client.time_passes().update(87654321, |p| p.price = 12.5).await?;
    /// # Ok(()) }
    /// ```
    TimePasses, time_passes, "TimePass",
    record: TimePass,
    item: TimePassListItem,
    create: TimePassCreate,
    update: TimePassUpdate,
    page: TimePassPage,
    query: ListTimePasses,
    updated: [from_time_pass_updated_on, to_time_pass_updated_on],
    ops: [
        list_time_passes,
        get_time_pass,
        get_time_passes_batch,
        create_time_pass,
        update_time_pass,
        delete_time_pass,
        list_time_pass_commands,
        run_time_pass_command
    ],
);

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
