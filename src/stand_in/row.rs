//! Records as the stand-in holds them: a row of typed cells laid out by the
//! spec's field tables ([`crate::spec`]), plus the undocumented fields a
//! record carries. Every per-field decision — a cell's type, whether a null
//! is written, what a listing shows, which fields copy another record's —
//! is read from those tables, so a field added to openapi.yaml is stored,
//! returned and filtered with no edit here.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::body::{self, Parser};
use super::catalog;
use crate::spec::{FieldSpec, Kind, Resource, ResourceSpec};

/// Record fields that no body schema lists, written as `null` when unset
/// (the docs show them null in every record), which a PUT may set to any
/// object (their members are not documented).
pub(crate) const OPEN_OBJECTS: [&str; 2] = ["CustomFields", "LocalizationDetails"];

/// One field's value. A value that does not read as its field's type (the
/// spec's `Kind` and `format`) is kept as text or JSON rather than lost.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Num(f64),
    Bool(bool),
    Text(Box<str>),
    Time(DateTime<Utc>),
    Uuid(Uuid),
    Json(Box<Value>),
}

/// A date as the API reads one: RFC 3339, or a date and time without a zone
/// (read as UTC), or a date alone (midnight UTC).
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    use chrono::{NaiveDate, NaiveDateTime};
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
                .ok()
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
}

/// What a column holds, from its [`FieldSpec`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Int,
    Num,
    Bool,
    Text,
    Uuid,
    Time,
    Json,
}

impl Type {
    fn of(field: &FieldSpec) -> Type {
        match field.kind {
            Kind::Integer => Type::Int,
            Kind::Number => Type::Num,
            Kind::Boolean => Type::Bool,
            Kind::Text if field.format == "uuid" => Type::Uuid,
            Kind::Text => Type::Text,
            Kind::DateTime | Kind::FilterDate => Type::Time,
            Kind::Json => Type::Json,
        }
    }
}

impl Cell {
    fn read(t: Type, value: Value) -> Cell {
        let typed = match (t, &value) {
            (_, Value::Null) => return Cell::Null,
            (Type::Json, _) => return Cell::Json(Box::new(value)),
            (Type::Int, Value::Number(n)) => n.as_i64().map(Cell::Int),
            (Type::Num, Value::Number(n)) => n.as_f64().map(Cell::Num),
            (Type::Bool, Value::Bool(b)) => Some(Cell::Bool(*b)),
            (Type::Uuid, Value::String(s)) => s.parse().ok().map(Cell::Uuid),
            (Type::Time, Value::String(s)) => parse_date(s).map(Cell::Time),
            _ => None,
        };
        typed.unwrap_or_else(|| match value {
            Value::String(s) => Cell::Text(s.into_boxed_str()),
            other => Cell::Json(Box::new(other)),
        })
    }

    /// The value of a field a record leaves out: null where the field may
    /// be null, else its type's zero (lists, for JSON: the spec's
    /// non-nullable JSON fields are lists).
    fn absent(field: &FieldSpec) -> Cell {
        if field.nullable {
            return Cell::Null;
        }
        match Type::of(field) {
            Type::Int => Cell::Int(0),
            Type::Num => Cell::Num(0.0),
            Type::Bool => Cell::Bool(false),
            Type::Text => Cell::Text("".into()),
            Type::Uuid => Cell::Uuid(Uuid::nil()),
            Type::Time => Cell::Time(DateTime::UNIX_EPOCH),
            Type::Json => Cell::Json(Box::new(Value::Array(Vec::new()))),
        }
    }

    pub(crate) fn text(text: Option<impl Into<Box<str>>>) -> Cell {
        text.map_or(Cell::Null, |t| Cell::Text(t.into()))
    }

    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Text(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Cell::Null)
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null => s.serialize_unit(),
            Cell::Int(i) => s.serialize_i64(*i),
            Cell::Num(n) => s.serialize_f64(*n),
            Cell::Bool(b) => s.serialize_bool(*b),
            Cell::Text(t) => s.serialize_str(t),
            Cell::Time(t) => t.serialize(s),
            Cell::Uuid(u) => u.serialize(s),
            Cell::Json(v) => v.serialize(s),
        }
    }
}

/// Read access to one record's fields: a stored one ([`RowRef`](super::store::RowRef))
/// or one being written ([`Row`]).
pub(crate) trait Fields {
    fn id(&self) -> i32;
    /// The cell of a column of the resource's layout.
    fn cell(&self, column: usize) -> &Cell;
    /// The fields the spec does not know.
    fn extra(&self) -> &Map<String, Value>;
    /// The field `name`, if the resource has it.
    fn get(&self, layout: &Layout, name: &str) -> Option<&Cell> {
        layout.column(name).map(|c| self.cell(c))
    }
}

impl<T: Fields> Fields for &T {
    fn id(&self) -> i32 {
        (**self).id()
    }
    fn cell(&self, column: usize) -> &Cell {
        (**self).cell(column)
    }
    fn extra(&self) -> &Map<String, Value> {
        (**self).extra()
    }
}

/// One record on its own (seeded, built by a write, or copied out of its
/// table to be changed): a cell per field of the resource's
/// `RECORD_FIELDS`, in that order, and the fields the spec does not know,
/// kept as sent. `id` is the `Id` cell's value.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub(crate) id: i32,
    pub(crate) cells: Vec<Cell>,
    pub(crate) extra: Map<String, Value>,
}

impl Fields for Row {
    fn id(&self) -> i32 {
        self.id
    }
    fn cell(&self, column: usize) -> &Cell {
        &self.cells[column]
    }
    fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }
}

impl Row {
    /// A record from a JSON object: each field read as its type, a field
    /// left out as [`Cell::absent`], anything else into `extra`.
    pub(crate) fn from_map(layout: &Layout, mut map: Map<String, Value>) -> Row {
        let cells: Vec<Cell> = layout
            .spec
            .record_fields
            .iter()
            .zip(&layout.types)
            .map(|(f, t)| match map.remove(f.name) {
                Some(v) => Cell::read(*t, v),
                None => Cell::absent(f),
            })
            .collect();
        Row {
            id: cells[layout.id].as_int().map_or(0, clamp_id),
            cells,
            extra: map,
        }
    }

    pub(crate) fn set_cell(&mut self, column: usize, cell: Cell) {
        self.cells[column] = cell;
    }

    /// Sets the field `name`; nothing when the resource has no such field.
    pub(crate) fn set(&mut self, layout: &Layout, name: &str, cell: Cell) {
        if let Some(c) = layout.column(name) {
            if c == layout.id {
                self.id = cell.as_int().map_or(0, clamp_id);
            }
            self.cells[c] = cell;
        }
    }
}

fn clamp_id(id: i64) -> i32 {
    i32::try_from(id).unwrap_or(0)
}

/// A field copied from the record another field points at: `TimePassName`
/// from the TimePass of `TimePassId`, `BusinessName` from the catalog.
#[derive(Debug)]
pub(crate) struct Link {
    /// The copy.
    pub(crate) column: usize,
    /// The reference (`TimePassId`).
    pub(crate) via: usize,
    pub(crate) source: Source,
}

/// Where a [`Link`] copies from.
#[derive(Debug)]
pub(crate) enum Source {
    /// A column of another resource's records (by `Resource::ALL` position).
    Record { table: usize, column: usize },
    /// A name of the catalog of records outside the API.
    Catalog(&'static [(i32, &'static str)]),
}

/// How one resource's records are laid out, read from its spec tables once.
pub(crate) struct Layout {
    pub(crate) spec: &'static ResourceSpec,
    /// Its position in `Resource::ALL`, which is its table's in the database.
    pub(crate) table: usize,
    types: Vec<Type>,
    /// Whether a null is written for the column (required, or an open object).
    written: Vec<bool>,
    columns: HashMap<&'static str, usize>,
    /// The `Id` column.
    pub(crate) id: usize,
    every: Vec<usize>,
    /// The columns of a listing record, in `LIST_FIELDS` order.
    listed: Vec<usize>,
    /// Fields copied from records others point at.
    pub(crate) links: Vec<Link>,
    /// References to other resources' records: (column, table).
    pub(crate) references: Vec<(usize, usize)>,
    /// Decoders of the create and update bodies into their generated types.
    pub(crate) parse_create: Parser,
    pub(crate) parse_update: Parser,
}

/// Every resource's layout, in `Resource::ALL` order.
pub(crate) fn layouts() -> &'static [Layout] {
    static LAYOUTS: OnceLock<Vec<Layout>> = OnceLock::new();
    LAYOUTS.get_or_init(|| {
        Resource::ALL
            .iter()
            .enumerate()
            .map(|(table, r)| Layout::new(table, *r))
            .collect()
    })
}

/// The layout of `resource`.
pub(crate) fn layout(resource: Resource) -> &'static Layout {
    let at = Resource::ALL
        .iter()
        .position(|r| *r == resource)
        .unwrap_or_default();
    &layouts()[at]
}

/// The resource whose entity is `entity` (`TimePass`), by table position.
fn table_of(entity: &str) -> Option<usize> {
    Resource::ALL.iter().position(|r| r.spec().entity == entity)
}

impl Layout {
    fn new(table: usize, resource: Resource) -> Layout {
        let spec = resource.spec();
        let fields = spec.record_fields;
        let columns: HashMap<_, _> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name, i))
            .collect();
        let parsers = body::parsers(resource);
        let mut layout = Layout {
            spec,
            table,
            types: fields.iter().map(Type::of).collect(),
            written: fields
                .iter()
                .map(|f| f.required || OPEN_OBJECTS.contains(&f.name))
                .collect(),
            id: columns.get("Id").copied().unwrap_or_default(),
            every: (0..fields.len()).collect(),
            listed: spec
                .list_fields
                .iter()
                .filter_map(|f| columns.get(f.name).copied())
                .collect(),
            columns,
            links: Vec::new(),
            references: Vec::new(),
            parse_create: parsers.create,
            parse_update: parsers.update,
        };
        layout.link();
        layout
    }

    /// Finds the references (integer fields `XId`) and the read-only fields
    /// `X…` that copy from the record they point at.
    fn link(&mut self) {
        let fields = self.spec.record_fields;
        let writable = |name: &str| {
            [self.spec.create_fields, self.spec.update_fields]
                .iter()
                .any(|t| t.iter().any(|f| f.name == name))
        };
        for (via, f) in fields.iter().enumerate() {
            let Some(prefix) = f.name.strip_suffix("Id").filter(|p| !p.is_empty()) else {
                continue;
            };
            if f.kind != Kind::Integer {
                continue;
            }
            let target = table_of(prefix);
            if let Some(t) = target {
                self.references.push((via, t));
            }
            for (column, copy) in fields.iter().enumerate() {
                let Some(property) = copy.name.strip_prefix(prefix) else {
                    continue;
                };
                if column == via || property.is_empty() || writable(copy.name) {
                    continue;
                }
                let source = match target {
                    Some(t) => Resource::ALL[t]
                        .spec()
                        .record_fields
                        .iter()
                        .position(|f| f.name == property)
                        .map(|c| Source::Record {
                            table: t,
                            column: c,
                        }),
                    None => catalog::table(prefix, property).map(Source::Catalog),
                };
                if let Some(source) = source {
                    self.links.push(Link {
                        column,
                        via,
                        source,
                    });
                }
            }
        }
    }

    /// The column of the field `name`, spelt exactly.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.columns.get(name).copied()
    }

    /// The column of the field `name`, spelt in any case.
    pub(crate) fn resolve(&self, name: &str) -> Option<usize> {
        self.column(name).or_else(|| {
            self.spec
                .record_fields
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(name))
        })
    }

    /// The full record, as JSON.
    pub(crate) fn full<F: Fields>(&self, row: F) -> View<'_, F> {
        View {
            layout: self,
            row,
            columns: &self.every,
        }
    }

    /// The listing record: the full record's `LIST_FIELDS`, and its
    /// undocumented fields.
    pub(crate) fn listed<F: Fields>(&self, row: F) -> View<'_, F> {
        View {
            layout: self,
            row,
            columns: &self.listed,
        }
    }
}

/// Some columns of a record, serialized as a JSON object: a null only for
/// the fields whose null is written, then the undocumented fields.
pub(crate) struct View<'a, F> {
    layout: &'a Layout,
    row: F,
    columns: &'a [usize],
}

impl<F: Fields> Serialize for View<'_, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = self.layout.spec.record_fields;
        let mut map = s.serialize_map(None)?;
        for &c in self.columns {
            let cell = self.row.cell(c);
            if !cell.is_null() || self.layout.written[c] {
                map.serialize_entry(fields[c].name, cell)?;
            }
        }
        for (key, value) in self.row.extra() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_resource_is_laid_out_from_its_tables() {
        for l in layouts() {
            let spec = l.spec;
            assert_eq!(l.types.len(), spec.record_fields.len(), "{}", spec.entity);
            assert_eq!(
                l.listed.len(),
                spec.list_fields.len(),
                "{}: a listing field that the record lacks",
                spec.entity
            );
            assert_eq!(spec.record_fields[l.id].name, "Id");
        }
    }

    #[test]
    fn copies_and_references_follow_the_names() {
        let ctp = layout(Resource::parse("CoworkerTimePass").unwrap());
        let name = |c: usize| ctp.spec.record_fields[c].name;
        let links: Vec<_> = ctp
            .links
            .iter()
            .map(|l| (name(l.column), name(l.via)))
            .collect();
        assert_eq!(
            links,
            [
                ("TimePassName", "TimePassId"),
                ("TimePassCurrencyCode", "TimePassId")
            ]
        );
        assert_eq!(ctp.references.len(), 1);
        let tp = layout(Resource::parse("TimePass").unwrap());
        let tp_links: Vec<_> = tp
            .links
            .iter()
            .map(|l| tp.spec.record_fields[l.column].name)
            .collect();
        assert_eq!(tp_links, ["BusinessName", "CurrencyCode"]);
    }

    #[test]
    fn cells_keep_what_does_not_read_as_their_type() {
        let tp = layout(Resource::parse("TimePass").unwrap());
        let row = Row::from_map(
            tp,
            json!({"Id": 7, "UniqueId": "not a uuid", "Price": 2.5, "Undocumented": [1]})
                .as_object()
                .cloned()
                .unwrap(),
        );
        assert_eq!(row.id, 7);
        assert_eq!(
            row.get(tp, "UniqueId"),
            Some(&Cell::Text("not a uuid".into()))
        );
        assert_eq!(row.get(tp, "Price"), Some(&Cell::Num(2.5)));
        assert_eq!(row.get(tp, "Archived"), Some(&Cell::Bool(false)));
        assert_eq!(
            row.get(tp, "Businesses"),
            Some(&Cell::Json(Box::new(json!([]))))
        );
        assert_eq!(row.extra["Undocumented"], json!([1]));
    }
}
