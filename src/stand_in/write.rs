//! How a write makes a record, for every resource alike: the refusals of
//! references (a required `XId` must be set, and point at a record when X
//! is a resource), the record built from the body's fields (the create
//! body's `CREATE_FIELDS`, the update body's `UPDATE_FIELDS`) and the
//! server's, the fields copied from the records others point at, and the
//! delete refusal of a record still pointed at.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{Map, Value};

use super::envelope::{refusal, Refusal};
use super::row::{layouts, parse_date, Cell, Fields, Layout, Row, Source, OPEN_OBJECTS};
use super::rules;
use super::store::Db;
use crate::spec::{FieldSpec, Kind};

/// Who writes, and when: the clock reading of one request.
pub(crate) struct Stamp {
    pub(crate) now: DateTime<Utc>,
    pub(crate) by: String,
}

impl Stamp {
    /// The real clock, to the second: the API writes its timestamps with
    /// seconds and `Z` (`2025-01-15T10:30:00Z`). Writes within one second
    /// share their `UpdatedOn`; listings by `UpdatedOn` break ties by Id.
    pub(crate) fn now(by: &str) -> Self {
        let now = Utc::now();
        Stamp {
            now: now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now),
            by: by.to_owned(),
        }
    }
}

/// What a write is: a create with its new Id, or an update of a record.
pub(crate) enum Write<'a> {
    Create(i32),
    Update(&'a Row),
}

/// The references of a body: its required integer fields `XId` (the
/// API takes 0 as "none").
fn references(fields: &[FieldSpec]) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    fields.iter().filter_map(|f| {
        let prefix = f.name.strip_suffix("Id").filter(|p| !p.is_empty())?;
        (f.required && f.kind == Kind::Integer).then_some((f.name, prefix))
    })
}

/// What the documented API refuses beyond the body's shape: references
/// that are not set, references to a resource's record that does not
/// exist, and [`rules::check`].
pub(crate) fn check(db: &Db, body: &Map<String, Value>, fields: &[FieldSpec]) -> Vec<Refusal> {
    let id = |name: &str| body.get(name).and_then(Value::as_i64).unwrap_or_default();
    let mut errors: Vec<Refusal> = references(fields)
        .filter(|(name, _)| id(name) < 1)
        .map(|(name, _)| refusal(name, "is a required field", Some(Value::from(id(name)))))
        .collect();
    for (name, prefix) in references(fields).filter(|(name, _)| id(name) >= 1) {
        let target = layouts().iter().find(|l| l.spec.entity == prefix);
        if let Some(target) = target {
            let exists = i32::try_from(id(name))
                .ok()
                .and_then(|i| db.table(target).get(i))
                .is_some();
            if !exists {
                let message = format!("is not the Id of a {prefix}");
                errors.push(refusal(name, &message, Some(Value::from(id(name)))));
            }
        }
    }
    for f in fields {
        if !errors.iter().any(|e| e.property_name == f.name) {
            errors.extend(out_of_range(body, f).or_else(|| not_a_date(body, f)));
        }
    }
    // A field already refused (below its minimum, say) is refused once.
    if let Some(refused) = rules::check(body) {
        if !errors
            .iter()
            .any(|e| e.property_name == refused.property_name)
        {
            errors.push(refused);
        }
    }
    errors
}

/// A value below the field's `minimum` (for a list, an item below it).
fn out_of_range(body: &Map<String, Value>, field: &FieldSpec) -> Option<Refusal> {
    let minimum = field.minimum?;
    let low = |v: &Value| v.as_i64().is_some_and(|n| n < minimum);
    let sent = body.get(field.name)?;
    let bad = match sent {
        Value::Array(items) => items.iter().any(low),
        value => low(value),
    };
    let message = format!("must be at least {minimum}");
    bad.then(|| refusal(field.name, &message, Some(sent.clone())))
}

/// A date-time field whose text is not a date (the API types these fields
/// `DateTime?`): refused like any other bad value.
fn not_a_date(body: &Map<String, Value>, field: &FieldSpec) -> Option<Refusal> {
    if field.kind != Kind::DateTime {
        return None;
    }
    let text = body.get(field.name)?.as_str()?;
    let message = "is not a valid date (for example 2025-01-15T10:30:00Z)";
    parse_date(text)
        .is_none()
        .then(|| refusal(field.name, message, Some(Value::from(text))))
}

/// The record a write stores. Each field is the body's when the body's
/// schema (`fields`) lists it (left out: cleared), else the server's: the
/// stored record's on update, nothing on create. Lists with `Added…` and
/// `Removed…` fields take those edits; fields the spec does not know are
/// kept as sent; then the server's own fields are set.
pub(crate) fn build(
    db: &Db,
    layout: &Layout,
    mut body: Map<String, Value>,
    fields: &[FieldSpec],
    write: Write<'_>,
    stamp: &Stamp,
) -> Row {
    let prior = match write {
        Write::Update(prior) => Some(prior),
        Write::Create(_) => None,
    };
    let in_body = |name: &str| name != "Id" && fields.iter().any(|f| f.name == name);
    let mut map = Map::new();
    for f in layout.spec.record_fields {
        let value = if in_body(f.name) {
            let sent = body.remove(f.name);
            let stored = prior.and_then(|p| p.get(layout, f.name));
            edit_list(f.name, sent, stored, &mut body)
        } else if OPEN_OBJECTS.contains(&f.name) {
            body.remove(f.name).filter(Value::is_object)
        } else {
            body.remove(f.name);
            prior
                .and_then(|p| p.get(layout, f.name))
                .and_then(|c| serde_json::to_value(c).ok())
        };
        if let Some(value) = value {
            map.insert(f.name.to_owned(), value);
        }
    }
    let mut row = Row::from_map(layout, map);
    row.extra = body
        .into_iter()
        .filter(|(key, _)| !fields.iter().any(|f| f.name == key))
        .collect();
    match write {
        Write::Create(id) => {
            row.set(layout, "Id", Cell::Int(id.into()));
            let unique = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
            row.set(layout, "UniqueId", Cell::Uuid(unique));
            row.set(layout, "CreatedOn", Cell::Time(stamp.now));
            row.set(layout, "UpdatedOn", Cell::Time(stamp.now));
            row.set(layout, "UpdatedBy", Cell::text(Some(stamp.by.as_str())));
            row.set(layout, "IsNew", Cell::Bool(true));
        }
        Write::Update(_) => {
            touch(layout, &mut row, stamp);
            row.set(layout, "IsNew", Cell::Bool(false));
        }
    }
    finish(db, layout, &mut row);
    row
}

/// A list sent whole, or an edit of the stored one: `Added{name}` and
/// `Removed{name}` apply to the list sent, or to the stored list when none
/// was sent. Any other field: the value sent.
fn edit_list(
    name: &str,
    sent: Option<Value>,
    stored: Option<&Cell>,
    body: &mut Map<String, Value>,
) -> Option<Value> {
    let mut ids = |edit: &str| match body.remove(&format!("{edit}{name}")) {
        Some(Value::Array(ids)) => ids,
        _ => Vec::new(),
    };
    let (added, removed) = (ids("Added"), ids("Removed"));
    if added.is_empty() && removed.is_empty() {
        return sent;
    }
    let mut list = match sent {
        Some(Value::Array(sent)) if !sent.is_empty() => sent,
        _ => match stored {
            Some(Cell::Json(v)) => v.as_array().cloned().unwrap_or_default(),
            _ => Vec::new(),
        },
    };
    for id in added {
        if !list.contains(&id) {
            list.push(id);
        }
    }
    list.retain(|id| !removed.contains(id));
    Some(Value::Array(list))
}

/// Sets `UpdatedOn` and `UpdatedBy`, as any write does.
pub(crate) fn touch(layout: &Layout, row: &mut Row, stamp: &Stamp) {
    row.set(layout, "UpdatedOn", Cell::Time(stamp.now));
    row.set(layout, "UpdatedBy", Cell::text(Some(stamp.by.as_str())));
}

/// Fills the fields a record copies from those it points at, then the
/// fields [`rules::settle`] keeps in step.
pub(crate) fn finish(db: &Db, layout: &Layout, row: &mut Row) {
    for link in &layout.links {
        let id = row.cell(link.via).as_int().unwrap_or_default();
        let copy = match link.source {
            Source::Record { table, column } => i32::try_from(id)
                .ok()
                .and_then(|id| db.tables[table].get(id))
                .map_or(Cell::Null, |source| source.cell(column).clone()),
            Source::Catalog(names) => Cell::text(super::catalog::name(names, id)),
        };
        row.set_cell(link.column, copy);
    }
    rules::settle(layout, row);
}

/// The columns of `other` that point at records of `layout`.
fn pointing<'a>(other: &'a Layout, layout: &'a Layout) -> impl Iterator<Item = usize> + 'a {
    other
        .references
        .iter()
        .filter(|(_, table)| *table == layout.table)
        .map(|(column, _)| *column)
}

/// Whether a record of another resource still points at record `id` of
/// `layout` (its delete is then refused).
pub(crate) fn in_use(db: &Db, layout: &Layout, id: i32) -> bool {
    let id = Some(i64::from(id));
    layouts().iter().any(|other| {
        let table = &db.tables[other.table];
        pointing(other, layout).any(|c| table.column(c).iter().any(|cell| cell.as_int() == id))
    })
}

/// After record `id` of `layout` changed: the records that point at it
/// copy its fields again.
pub(crate) fn propagate(db: &mut Db, layout: &Layout, id: i32) {
    let wanted = Some(i64::from(id));
    for other in layouts() {
        let table = &db.tables[other.table];
        let ids: Vec<i32> = pointing(other, layout)
            .flat_map(|c| {
                table
                    .column(c)
                    .iter()
                    .enumerate()
                    .filter(|(_, cell)| cell.as_int() == wanted)
                    .map(|(at, _)| table.at(at).id())
            })
            .collect();
        for id in ids {
            if let Some(mut row) = db.tables[other.table].row(id) {
                finish(db, other, &mut row);
                db.tables[other.table].put(row);
            }
        }
    }
}
