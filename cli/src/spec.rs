//! What the CLI knows of the spec: the filter and field tables that
//! `build.rs` generates from `openapi.yaml`, and the typed filter value that
//! the generated list builders' setters take.

use nexudus_timepasses::raw::builder;
use nexudus_timepasses::types::FilterDateTime;

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

/// How a value of a field or filter is read from text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A 32-bit integer.
    Integer,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// Text, taken as given.
    Text,
    /// A record's date and time (RFC 3339).
    DateTime,
    /// A range filter's date and time (`YYYY-MM-DDTHH:mm`).
    FilterDate,
    /// Anything else (lists, objects): JSON text.
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
    #[allow(dead_code)] // kept for `--help` texts to come; the table is generated whole
    pub description: &'static str,
}

/// One property of a schema.
#[derive(Debug)]
pub struct FieldSpec {
    /// The property's name on the wire, for example `Notes`.
    pub name: &'static str,
    /// The value's type.
    pub kind: Kind,
    /// Whether it may be null.
    pub nullable: bool,
    /// Whether the schema requires it.
    pub required: bool,
    /// The spec's description.
    #[allow(dead_code)] // as for FilterSpec
    pub description: &'static str,
}

/// A filter value, checked against its filter's [`Kind`]. The generated
/// builders' setters take any `TryInto` of their parameter's type; a value
/// of the wrong variant (which the CLI never builds) fails the request
/// before it is sent rather than being dropped.
#[derive(Clone, Debug, PartialEq)]
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

/// The error of a conversion to the wrong type; progenitor's builder
/// replaces it with its own message naming the parameter.
#[derive(Debug)]
pub struct WrongKind;

macro_rules! convert {
    ($($variant:ident => $ty:ty),* $(,)?) => {$(
        impl TryFrom<FilterValue> for $ty {
            type Error = WrongKind;
            fn try_from(value: FilterValue) -> Result<Self, WrongKind> {
                match value {
                    FilterValue::$variant(v) => Ok(v),
                    _ => Err(WrongKind),
                }
            }
        }
    )*};
}
convert!(Integer => i32, Number => f64, Boolean => bool, Text => String, Date => FilterDateTime);

include!(concat!(env!("OUT_DIR"), "/spec_tables.rs"));
