//! The three resources as the stand-in stores them: the shared database, the
//! `Resource` trait the generic handlers drive, and what every resource needs
//! (record metadata, shapes read from the generated types' JSON schemas).

mod coworker_time_pass;
mod product_time_pass;
mod time_pass;

use std::collections::BTreeSet;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::store::{PageMeta, Row, Table};
use crate::types::{self, FieldError};

pub(crate) use coworker_time_pass::{display as coworker_display, CoworkerTimePasses};
pub(crate) use product_time_pass::{display as product_display, ProductTimePasses};
pub(crate) use time_pass::TimePasses;

/// Every record the stand-in holds.
pub(crate) struct Db {
    pub(crate) time_passes: Table<types::TimePass>,
    pub(crate) coworker_time_passes: Table<types::CoworkerTimePass>,
    pub(crate) product_time_passes: Table<types::ProductTimePass>,
}

/// Who writes, and when: the clock reading of one request.
pub(crate) struct Stamp {
    pub(crate) now: DateTime<Utc>,
    pub(crate) by: String,
}

impl Stamp {
    /// The real clock, at millisecond precision.
    pub(crate) fn now(by: &str) -> Self {
        let now = Utc::now();
        Stamp {
            now: now
                .duration_trunc(TimeDelta::milliseconds(1))
                .unwrap_or(now),
            by: by.to_owned(),
        }
    }

    /// A new `UpdatedOn` for a record last written at `previous`: the clock,
    /// but always later than `previous`, so every write changes it.
    pub(crate) fn after(&self, previous: DateTime<Utc>) -> DateTime<Utc> {
        self.now.max(previous + TimeDelta::milliseconds(1))
    }
}

/// The server-managed fields of a record being written.
pub(crate) struct Meta {
    pub(crate) id: i32,
    pub(crate) unique_id: Uuid,
    pub(crate) created_on: DateTime<Utc>,
    pub(crate) updated_on: DateTime<Utc>,
    pub(crate) updated_by: Option<String>,
    pub(crate) is_new: bool,
}

impl Meta {
    /// Metadata of a record created now.
    pub(crate) fn created(id: i32, stamp: &Stamp) -> Self {
        Meta {
            id,
            unique_id: uuid::Builder::from_random_bytes(rand::random()).into_uuid(),
            created_on: stamp.now,
            updated_on: stamp.now,
            updated_by: Some(stamp.by.clone()),
            is_new: true,
        }
    }
}

/// Property names of a record type and the required fields of its create and
/// update bodies, read from the JSON schemas of the generated types, so the
/// stand-in follows openapi.yaml without a second list.
pub(crate) struct Shape {
    pub(crate) properties: Vec<String>,
    pub(crate) create_required: Vec<String>,
    pub(crate) update_required: Vec<String>,
}

impl Shape {
    pub(crate) fn of<Full: JsonSchema, Create: JsonSchema, Update: JsonSchema>() -> Self {
        Shape {
            properties: object(&schemars::schema_for!(Full))
                .map(|o| o.properties.keys().cloned().collect())
                .unwrap_or_default(),
            create_required: required(&schemars::schema_for!(Create)),
            update_required: required(&schemars::schema_for!(Update)),
        }
    }

    /// The canonical spelling of a property, matched without regard to case.
    pub(crate) fn resolve(&'static self, name: &str) -> Option<&'static str> {
        self.properties
            .iter()
            .find(|p| p.eq_ignore_ascii_case(name))
            .map(String::as_str)
    }

    /// Splits the unlisted fields of an update body: the undocumented record
    /// fields a PUT may set (`CustomFields`, `LocalizationDetails`), and the
    /// fields this document does not know, kept as sent. Other record fields
    /// that are read-only (`CreatedOn`, `BusinessName`, ...) are ignored.
    pub(crate) fn split_extra(&self, extra: Map<String, Value>) -> Extra {
        let mut out = Extra::default();
        for (key, value) in extra {
            match key.as_str() {
                "CustomFields" => out.custom_fields = Some(value),
                "LocalizationDetails" => out.localization_details = Some(value),
                _ if self.properties.contains(&key) => {}
                _ => {
                    out.unknown.insert(key, value);
                }
            }
        }
        out
    }
}

/// See [`Shape::split_extra`].
#[derive(Default)]
pub(crate) struct Extra {
    pub(crate) custom_fields: Option<Value>,
    pub(crate) localization_details: Option<Value>,
    pub(crate) unknown: Map<String, Value>,
}

fn object(root: &schemars::schema::RootSchema) -> Option<&schemars::schema::ObjectValidation> {
    root.schema.object.as_deref()
}

fn required(root: &schemars::schema::RootSchema) -> Vec<String> {
    object(root)
        .map(|o| o.required.iter().cloned().collect::<BTreeSet<_>>())
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// A command the stand-in offers: its key, display name and effect.
pub(crate) struct CommandDef<F> {
    pub(crate) key: &'static str,
    pub(crate) name: &'static str,
    pub(crate) apply: fn(&mut F),
}

/// One resource of the API, as the generic handlers drive it.
pub(crate) trait Resource: Send + Sync + 'static {
    /// The full record (get one, batch get).
    type Full: Row + Serialize + Clone + Send + Sync + 'static;
    /// The listing page, holding listing records.
    type Page: Serialize;
    /// The create body.
    type Create: DeserializeOwned + Serialize + JsonSchema;
    /// The update body (Id included).
    type Update: DeserializeOwned + Clone + JsonSchema;

    /// Entity name: `TimePass`, used in filter names and messages.
    const ENTITY: &'static str;
    /// Path segment under `/api/billing/`.
    const PATH: &'static str;

    fn shape() -> &'static Shape;
    fn table(db: &Db) -> &Table<Self::Full>;
    fn table_mut(db: &mut Db) -> &mut Table<Self::Full>;
    fn page(rows: &[&Self::Full], meta: PageMeta) -> Self::Page;
    fn meta(full: &Self::Full) -> Meta;
    fn update_id(body: &Self::Update) -> i32;
    /// Refusals the documented API makes beyond the body's shape: references
    /// that must be set and exist, bounds.
    fn check(db: &Db, body: &Self::Update) -> Vec<FieldError>;
    /// How many records one create makes (`CreateMultiple`).
    fn copies(_body: &Self::Update) -> usize {
        1
    }
    /// The record a write stores: the body's fields, the server-managed ones
    /// from `meta` and from `prior` (the stored record, on update).
    fn build(db: &Db, body: Self::Update, meta: Meta, prior: Option<&Self::Full>) -> Self::Full;
    /// Keeps other records' copies of this one's names up to date.
    fn after_write(_db: &mut Db, _id: i32) {}
    /// Whether other records still use this one (a delete is then refused).
    fn in_use(_db: &Db, _id: i32) -> bool {
        false
    }
    fn commands() -> &'static [CommandDef<Self::Full>];
    fn touch(full: &mut Self::Full, stamp: &Stamp);
}

/// A field error in the API's words.
pub(crate) fn field_error(property: &str, message: &str, attempted: Option<Value>) -> FieldError {
    FieldError {
        attempted_value: Some(attempted.unwrap_or(Value::Null)),
        message: message.to_owned(),
        property_name: property.to_owned(),
    }
}

/// Refuses a reference that is not set (the API takes 0 as "none").
pub(crate) fn require_reference(errors: &mut Vec<FieldError>, property: &str, id: i32) {
    if id < 1 {
        errors.push(field_error(
            property,
            "is a required field",
            Some(Value::from(id)),
        ));
    }
}

/// An object kept as sent; anything else, a null included, as `None`, which
/// the nullable field still writes as JSON null (the docs show these nulls).
pub(crate) fn null_if_none(v: Option<Value>) -> Option<serde_json::Map<String, Value>> {
    match v {
        Some(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// One resource's generated page type filled from the listing's records and
/// numbers: the three page types have the same fields, and no shared trait.
macro_rules! page_envelope {
    ($page:ident, $records:expr, $meta:expr) => {{
        let m = $meta;
        $page {
            records: $records,
            current_page: m.current_page,
            current_page_size: m.current_page_size,
            current_order_field: m.current_order_field,
            current_sort_direction: m.current_sort_direction,
            first_item: m.first_item,
            last_item: m.last_item,
            total_items: m.total_items,
            total_pages: m.total_pages,
            has_next_page: m.has_next_page,
            has_previous_page: m.has_previous_page,
            page_number: Some(m.current_page),
            page_size: Some(m.current_page_size),
            extra: Default::default(),
        }
    }};
}
pub(crate) use page_envelope;
