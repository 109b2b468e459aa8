//! The columns of each resource's table, from the registry's field
//! table of the spec's full record (`nexudus_timepasses::spec`): one typed
//! column per field, so a field added to the spec becomes a column with no
//! edit here; `extra` for the rest, and the quoting of column names.

use nexudus_timepasses::spec::{self, ResourceSpec};

pub use crate::reader::EXTRA;

/// `name` quoted as an SQL identifier (the same in SQLite and PostgreSQL).
pub fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The quoted names of a table's columns, `extra` last: the order of a
/// row's values.
pub fn quoted_names(columns: &[Column]) -> Vec<String> {
    columns
        .iter()
        .map(|c| c.name.as_str())
        .chain([EXTRA])
        .map(quoted)
        .collect()
}

/// How a field's JSON values are stored (each database's module maps it
/// to its own column type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// JSON integers, as SQLite INTEGER.
    Integer,
    /// JSON numbers, as REAL.
    Real,
    /// `true`/`false`, as INTEGER 1/0.
    Boolean,
    /// Strings, as TEXT.
    Text,
    /// Date-times: the API's text in SQLite, `timestamptz` in PostgreSQL.
    DateTime,
    /// Arrays, objects and anything the schema leaves open: JSON text.
    Json,
}

/// One column: the field's JSON name (also the column's name) and kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// A records table's column definitions: each column with its backend's
/// type (`Id` the primary key), then the `extra` column as `extra_type`.
pub fn definitions(
    columns: &[Column],
    sql_type: fn(Kind) -> &'static str,
    extra_type: &str,
) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let key = if c.name == "Id" { " PRIMARY KEY" } else { "" };
            format!("{} {}{key}", quoted(&c.name), sql_type(c.kind))
        })
        .chain([format!("{} {extra_type}", quoted(EXTRA))])
        .collect()
}

/// The columns of a resource's table, in name order, `Id` included.
pub fn columns(resource: &ResourceSpec) -> Result<Vec<Column>, String> {
    let mut columns: Vec<Column> = resource
        .record_fields
        .iter()
        .map(|field| Column {
            name: field.name.to_owned(),
            kind: kind(field.kind),
        })
        .collect();
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    check_names(&columns)?;
    Ok(columns)
}

/// SQLite compares column names without regard to ASCII case, and the
/// table also holds `extra`: refuse a spec whose names would collide rather
/// than lose a field.
fn check_names(columns: &[Column]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    if !columns.iter().any(|c| c.name == "Id") {
        return Err("the record schema has no Id".into());
    }
    for c in columns {
        let folded = c.name.to_ascii_lowercase();
        if folded == EXTRA || !seen.insert(folded) {
            return Err(format!(
                "field {:?} would share a column with another field",
                c.name
            ));
        }
    }
    Ok(())
}

/// How a field of this kind is stored.
fn kind(kind: spec::Kind) -> Kind {
    match kind {
        spec::Kind::Integer => Kind::Integer,
        spec::Kind::Number => Kind::Real,
        spec::Kind::Boolean => Kind::Boolean,
        spec::Kind::DateTime | spec::Kind::FilterDate => Kind::DateTime,
        spec::Kind::Text => Kind::Text,
        spec::Kind::Json => Kind::Json,
    }
}

#[cfg(test)]
mod tests {
    use nexudus_timepasses::spec::Resource;

    use super::*;

    fn kind_of(columns: &[Column], name: &str) -> Option<Kind> {
        columns.iter().find(|c| c.name == name).map(|c| c.kind)
    }

    #[test]
    fn columns_follow_the_field_tables() {
        let c = columns(Resource::CoworkerTimePasses.spec()).unwrap();
        assert_eq!(kind_of(&c, "Id"), Some(Kind::Integer));
        assert_eq!(kind_of(&c, "Price"), Some(Kind::Real));
        assert_eq!(kind_of(&c, "Used"), Some(Kind::Boolean));
        assert_eq!(kind_of(&c, "UpdatedOn"), Some(Kind::DateTime));
        assert_eq!(kind_of(&c, "TariffTimePassUniqueId"), Some(Kind::Text));
        assert_eq!(kind_of(&c, "CustomFields"), Some(Kind::Json));
        assert_eq!(kind_of(&c, "extra"), None);
        let t = columns(Resource::TimePasses.spec()).unwrap();
        assert_eq!(kind_of(&t, "Businesses"), Some(Kind::Json));
        let p = columns(Resource::ProductTimePasses.spec()).unwrap();
        assert_eq!(kind_of(&p, "ExpirationType"), Some(Kind::Integer));
        for resource in Resource::ALL {
            let c = columns(resource.spec()).unwrap();
            assert_eq!(c.len(), resource.spec().record_fields.len());
        }
    }
}
