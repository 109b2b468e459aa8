//! The registry: what `openapi.yaml` says of each resource (its
//! operations, list filters and the fields of its four schemas), generated
//! by build.rs into [`Resource`], [`RESOURCES`] and one module of tables
//! per resource, with the typed filter setters of its handle's
//! [`ListQuery`]. Drift, update bodies, listings, the stand-in and the CLI
//! read these tables; none keeps a list of its own.

use serde::Serialize;

use crate::{query::ListQuery, types::FilterDateTime};

/// The most Ids one batch get asks for: the API documents no limit, and
/// 100 keeps the URL well within what servers and proxies accept.
pub const BATCH_IDS: usize = 100;

/// Which side of a filter: an exact match, or one end of a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// `Entity_Field`: equal to the value.
    Exact,
    /// `from_Entity_Field`: at or after the value.
    From,
    /// `to_Entity_Field`: at or before the value.
    To,
}

/// What a field or filter holds, as far as reading it from text goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An integer.
    Integer,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// Text, taken as given (Ids of other systems, names, enums).
    Text,
    /// A record's date and time (RFC 3339).
    DateTime,
    /// A range filter's date and time (`YYYY-MM-DDTHH:mm`).
    FilterDate,
    /// Anything else (lists, objects): JSON.
    Json,
}

impl Kind {
    /// The word usage messages show for the kind.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::Boolean => "true|false",
            Kind::Text => "text",
            Kind::DateTime => "date-time",
            Kind::FilterDate => "date",
            Kind::Json => "JSON",
        }
    }
}

/// One list filter of the spec.
#[derive(Debug)]
pub struct FilterSpec {
    /// The query parameter, for example `from_CoworkerTimePass_UpdatedOn`.
    pub name: &'static str,
    /// The field it filters, without the entity prefix: `UpdatedOn`.
    pub field: &'static str,
    /// Exact or one end of a range.
    pub bound: Bound,
    /// The value's type.
    pub kind: Kind,
    /// The spec's description.
    pub description: &'static str,
}

/// One property of a schema.
#[derive(Debug)]
pub struct FieldSpec {
    /// The property's name on the wire, for example `Notes`.
    pub name: &'static str,
    /// The value's type.
    pub kind: Kind,
    /// The spec's `format` (`int32`, `double`, `uuid`...), empty when none.
    pub format: &'static str,
    /// Whether it may be null.
    pub nullable: bool,
    /// Whether the schema requires it.
    pub required: bool,
    /// The smallest value the spec allows (for a list, for each item);
    /// `None` when it sets none.
    pub minimum: Option<i64>,
    /// The values of a closed enum; empty for any other field.
    pub values: &'static [&'static str],
    /// The spec's description.
    pub description: &'static str,
}

/// The operationIds of a resource.
#[derive(Debug)]
pub struct Operations {
    /// One page of the listing.
    pub list: &'static str,
    /// One full record.
    pub get: &'static str,
    /// Full records by Id, in one request.
    pub get_many: &'static str,
    /// A create.
    pub create: &'static str,
    /// An update (a PUT of the whole record).
    pub update: &'static str,
    /// A delete.
    pub delete: &'static str,
    /// The commands available.
    pub commands: &'static str,
    /// Runs a command.
    pub run_command: &'static str,
}

/// What the spec says of one resource.
#[derive(Debug)]
pub struct ResourceSpec {
    /// The API's entity name, for example `CoworkerTimePass`.
    pub entity: &'static str,
    /// Its name in the listing path, for example `coworkertimepasses`.
    pub name: &'static str,
    /// Another spelling people use, for example `coworker-time-passes`.
    pub alias: &'static str,
    /// The listing path.
    pub path: &'static str,
    /// The spec's description of the entity.
    pub description: &'static str,
    /// The full record, listing record, create body and update body schemas.
    pub schemas: [&'static str; 4],
    /// The operationIds.
    pub operations: Operations,
    /// The list filters.
    pub filters: &'static [FilterSpec],
    /// The listing record's fields.
    pub list_fields: &'static [FieldSpec],
    /// The full record's fields.
    pub record_fields: &'static [FieldSpec],
    /// The create body's fields.
    pub create_fields: &'static [FieldSpec],
    /// The update body's fields (the writable ones).
    pub update_fields: &'static [FieldSpec],
    /// The fields a table shows by default (`x-summary-fields`).
    pub summary: &'static [&'static str],
}

impl ResourceSpec {
    /// The full record's schema name.
    pub fn record_schema(&self) -> &'static str {
        self.schemas[0]
    }

    /// The listing record's schema name.
    pub fn list_schema(&self) -> &'static str {
        self.schemas[1]
    }
}

/// The resource whose full record schema is `schema` (`TimePass`).
pub(crate) fn of_record(schema: &str) -> Option<&'static ResourceSpec> {
    RESOURCES
        .iter()
        .copied()
        .find(|r| r.record_schema() == schema)
}

/// The resource whose listing record schema is `schema` (`TimePassListItem`).
pub(crate) fn of_listing(schema: &str) -> Option<&'static ResourceSpec> {
    RESOURCES
        .iter()
        .copied()
        .find(|r| r.list_schema() == schema)
}

impl Resource {
    /// The resource named `text`: its path name (`timepasses`), its alias
    /// (`time-passes`) or its entity (`TimePass`), in any case.
    pub fn parse(text: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| {
            let s = r.spec();
            [s.name, s.alias, s.entity]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(text))
        })
    }

    /// The full record's schema name, for example `CoworkerTimePass`.
    pub fn schema(self) -> &'static str {
        self.spec().record_schema()
    }
}

/// Code run with a resource's handle type, chosen at run time by
/// [`Resource::visit`].
pub trait ResourceVisitor {
    /// What the visit returns.
    type Output;
    /// Runs with the handle type `H`.
    fn visit<H: crate::ResourceHandle>(self) -> Self::Output;
}

/// A filter value, checked against its filter's [`Kind`]: a value of
/// another variant than the filter's fails the request before it is sent
/// rather than being dropped. Sent as the bare value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FilterValue {
    /// For integer filters.
    Integer(i32),
    /// For number filters.
    Number(f64),
    /// For boolean filters.
    Boolean(bool),
    /// For text filters.
    Text(String),
    /// For date range filters.
    Date(FilterDateTime),
}

impl FilterValue {
    /// Whether the value is of `kind`: a date of [`Kind::FilterDate`];
    /// text of [`Kind::Text`], and of the kinds filters send as the text
    /// given ([`Kind::DateTime`], [`Kind::Json`]).
    pub fn is(&self, kind: Kind) -> bool {
        matches!(
            (self, kind),
            (FilterValue::Integer(_), Kind::Integer)
                | (FilterValue::Number(_), Kind::Number)
                | (FilterValue::Boolean(_), Kind::Boolean)
                | (
                    FilterValue::Text(_),
                    Kind::Text | Kind::DateTime | Kind::Json
                )
                | (FilterValue::Date(_), Kind::FilterDate)
        )
    }
}

include!(concat!(env!("OUT_DIR"), "/registry.rs"));
