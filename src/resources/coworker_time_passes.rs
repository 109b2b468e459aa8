//! CoworkerTimePass: passes held by customers.

super::handle!(
    /// Passes held by customers: `client.coworker_time_passes()`.
    ///
    /// `create` returns the envelope's `Value.Id`. With `CreateMultiple` above 1
    /// the server issues several passes in one call, and which Id it reports then
    /// is not documented: the Id returned is the one the server gave.
    ///
    /// ```no_run
    /// # async fn run(client: nexudus_timepasses::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use nexudus_timepasses::types::CoworkerTimePassCreate;
    ///
    /// // Unused passes of one customer.
    /// let unused = client
    ///     .coworker_time_passes()
    ///     .all(|q| q.coworker_time_pass_coworker(42).coworker_time_pass_used(false))
    ///     .await?;
    ///
    /// // Give the customer one more pass of TimePass 7 at location 1234.
    /// let pass: CoworkerTimePassCreate = CoworkerTimePassCreate::builder()
    ///     .coworker_id(42)
    ///     .business_id(1234)
    ///     .time_pass_id(7)
    ///     .create_multiple(1)
    ///     .try_into()?;
    /// let id = client.coworker_time_passes().create(pass).await?;
    ///
    /// // Add a note, keeping every other field as stored.
    /// client
    ///     .coworker_time_passes()
    ///     .update(id, |p| p.notes = Some(format!("had {} unused", unused.len())))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    CoworkerTimePasses, coworker_time_passes, "CoworkerTimePass",
    record: CoworkerTimePass,
    item: CoworkerTimePassListItem,
    create: CoworkerTimePassCreate,
    update: CoworkerTimePassUpdate,
    page: CoworkerTimePassPage,
    query: ListCoworkerTimePasses,
    updated: [from_coworker_time_pass_updated_on, to_coworker_time_pass_updated_on],
    ops: [
        list_coworker_time_passes,
        get_coworker_time_pass,
        get_coworker_time_passes_batch,
        create_coworker_time_pass,
        update_coworker_time_pass,
        delete_coworker_time_pass,
        list_coworker_time_pass_commands,
        run_coworker_time_pass_command
    ],
);
