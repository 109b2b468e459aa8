//! ProductTimePass: passes granted by buying a product, and the time they add up to.

use crate::{
    error::{Error, Result},
    resources::PassKind,
    types::{ProductTimePass, TimePass},
};

super::handle!(
    /// Passes granted by buying a product: `client.product_time_passes()`.
    ///
    /// ```no_run
    /// # async fn run(client: nexudus_timepasses::Client) -> nexudus_timepasses::Result<()> {
    /// use nexudus_timepasses::IncludedTime;
    ///
    /// let link = client.product_time_passes().get(555).await?;
    /// let pass = client.time_passes().get(link.time_pass_id).await?;
    /// match link.included_time(&pass)? {
    ///     IncludedTime::Days(d) => println!("{d} day passes"),
    ///     IncludedTime::Minutes(m) => println!("{} hours", m / 60),
    /// }
    /// # Ok(()) }
    /// ```
    ProductTimePasses, product_time_passes, "ProductTimePass",
    record: ProductTimePass,
    item: ProductTimePassListItem,
    create: ProductTimePassCreate,
    update: ProductTimePassUpdate,
    page: ProductTimePassPage,
    query: ListProductTimePasses,
    updated: [from_product_time_pass_updated_on, to_product_time_pass_updated_on],
    ops: [
        list_product_time_passes,
        get_product_time_pass,
        get_product_time_passes_batch,
        create_product_time_pass,
        update_product_time_pass,
        delete_product_time_pass,
        list_product_time_pass_commands,
        run_product_time_pass_command
    ],
);

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
