//! What the stand-in does beyond the spec's tables, as small explicit rules:
//! each resource's display text (`ToStringText`), the fields the server
//! keeps in step with others (`UsedDate` with `Used`, `IsFromTariff` with
//! the tariff), `CreateMultiple`, the deletes the API refuses for what a
//! record holds, and the commands it offers (the docs list none).
//! Everything else is read from the tables.

use serde_json::{Map, Value};

use super::envelope::{refusal, Refusal};
use super::row::{Cell, Fields, Layout, Row};

/// Most records one create may make (`CreateMultiple`): the platform's
/// limit of passes a customer can hold.
pub(crate) const MAX_CREATE_MULTIPLE: i64 = 500;

/// A command: its key and name, and the boolean field it sets.
pub(crate) struct Command {
    pub(crate) key: &'static str,
    pub(crate) name: &'static str,
    pub(crate) field: &'static str,
    pub(crate) value: bool,
}

const fn command(
    key: &'static str,
    name: &'static str,
    field: &'static str,
    value: bool,
) -> Command {
    Command {
        key,
        name,
        field,
        value,
    }
}

const TIME_PASS: &[Command] = &[
    command("ArchiveTimePass", "Archive", "Archived", true),
    command("UnarchiveTimePass", "Unarchive", "Archived", false),
];

const COWORKER_TIME_PASS: &[Command] = &[
    command("MarkAsUsed", "Mark as used", "Used", true),
    command("MarkAsUnused", "Mark as unused", "Used", false),
];

/// The commands of the resource `entity`.
pub(crate) fn commands(entity: &str) -> &'static [Command] {
    match entity {
        "TimePass" => TIME_PASS,
        "CoworkerTimePass" => COWORKER_TIME_PASS,
        _ => &[],
    }
}

/// `CreateMultiple` of a body, where it has one.
fn create_multiple(body: &Map<String, Value>) -> Option<i64> {
    body.get("CreateMultiple").and_then(Value::as_i64)
}

/// Refusals beyond the references: `CreateMultiple` outside 0..=500.
pub(crate) fn check(body: &Map<String, Value>) -> Option<Refusal> {
    let n = create_multiple(body)?;
    (!(0..=MAX_CREATE_MULTIPLE).contains(&n)).then(|| {
        refusal(
            "CreateMultiple",
            &format!("must be between 0 and {MAX_CREATE_MULTIPLE}"),
            Some(Value::from(n)),
        )
    })
}

/// How many records one create makes: `CreateMultiple`, at least one.
pub(crate) fn copies(body: &Map<String, Value>) -> usize {
    create_multiple(body)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(1)
        .max(1)
}

/// The display text of a record, as the API's `ToStringText` gives one.
fn display(layout: &Layout, row: &Row) -> Option<String> {
    let text = |name| row.get(layout, name).and_then(Cell::as_text);
    match layout.spec.entity {
        "TimePass" => text("Name").map(str::to_owned),
        "CoworkerTimePass" => Some(format!(
            "{} (customer {})",
            text("TimePassName").unwrap_or("Time pass"),
            row.get(layout, "CoworkerId")
                .and_then(Cell::as_int)
                .unwrap_or_default()
        )),
        "ProductTimePass" => Some(format!(
            "{} → {}",
            text("ProductName").unwrap_or("Product"),
            text("TimePassName").unwrap_or("Time pass")
        )),
        _ => None,
    }
}

/// Whether the API refuses to delete this record for what it holds, as
/// people who run real tenants report: a CoworkerTimePass that has
/// check-ins (checked in, used, or with uses spent), a TimePass that a
/// pricing plan (`Tariffs`) still lists.
pub(crate) fn undeletable(layout: &Layout, row: &impl Fields) -> bool {
    let flag = |name| matches!(row.get(layout, name), Some(Cell::Bool(true)));
    let int = |name| row.get(layout, name).and_then(Cell::as_int);
    match layout.spec.entity {
        "CoworkerTimePass" => {
            let spent =
                matches!((int("RemainingUses"), int("TotalUses")), (Some(r), Some(t)) if r < t);
            flag("CheckedIn") || flag("Used") || spent
        }
        "TimePass" => matches!(
            row.get(layout, "Tariffs"),
            Some(Cell::Json(list)) if list.as_array().is_some_and(|l| !l.is_empty())
        ),
        _ => false,
    }
}

/// Brings the fields the server computes in line with the others, after
/// any write: `UsedDate` is set when a record becomes used (to its
/// `UpdatedOn`) and cleared when unused, `IsFromTariff` says whether a
/// tariff issued it, `ToStringText` is the display text.
pub(crate) fn settle(layout: &Layout, row: &mut Row) {
    if let Some(Cell::Bool(used)) = row.get(layout, "Used").cloned() {
        let when = row.get(layout, "UsedDate").cloned().unwrap_or(Cell::Null);
        let at = |row: &Row| match row.get(layout, "UpdatedOn") {
            Some(Cell::Time(t)) => Cell::Time(*t),
            _ => Cell::Null,
        };
        match (used, when.is_null()) {
            (true, true) => {
                let at = at(row);
                row.set(layout, "UsedDate", at);
            }
            (false, false) => row.set(layout, "UsedDate", Cell::Null),
            _ => {}
        }
    }
    if let Some(tariff) = row.get(layout, "TariffTimePassUniqueId") {
        let from_tariff = Cell::Bool(!tariff.is_null());
        row.set(layout, "IsFromTariff", from_tariff);
    }
    if let Some(text) = display(layout, row) {
        row.set(layout, "ToStringText", Cell::text(Some(text)));
    }
}
