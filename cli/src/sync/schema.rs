//! The SQLite columns of each resource's table, derived at run time from the
//! JSON schema (schemars) of the generated full-record type, which progenitor
//! wrote from openapi.yaml: one typed column per field of the spec's full
//! record, so a field added to the spec becomes a column with no edit here.

use schemars::JsonSchema;
use serde_json::{Map, Value};

/// How a field's JSON values are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// JSON integers, as SQLite INTEGER.
    Integer,
    /// JSON numbers, as REAL.
    Real,
    /// `true`/`false`, as INTEGER 1/0.
    Boolean,
    /// Strings (date-times included, as the API's ISO 8601 text), as TEXT.
    Text,
    /// Arrays, objects and anything the schema leaves open: JSON text.
    Json,
}

impl Kind {
    /// The column's declared SQLite type.
    pub fn sql_type(self) -> &'static str {
        match self {
            Kind::Integer | Kind::Boolean => "INTEGER",
            Kind::Real => "REAL",
            Kind::Text | Kind::Json => "TEXT",
        }
    }
}

/// One column: the field's JSON name (also the column's name) and kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// The columns of `T`'s table, in the schema's order (alphabetical, as
/// schemars lists properties), `Id` included.
pub fn columns<T: JsonSchema>() -> Result<Vec<Column>, String> {
    let root = serde_json::to_value(schemars::schema_for!(T))
        .map_err(|e| format!("cannot read the record schema: {e}"))?;
    let empty = Map::new();
    let definitions = root
        .get("definitions")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let properties = root
        .get("properties")
        .and_then(Value::as_object)
        .ok_or("the record schema lists no properties")?;
    let columns: Vec<Column> = properties
        .iter()
        .map(|(name, schema)| Column {
            name: name.clone(),
            kind: kind(schema, definitions),
        })
        .collect();
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
        if folded == super::store::EXTRA || !seen.insert(folded) {
            return Err(format!(
                "field {:?} would share a column with another field",
                c.name
            ));
        }
    }
    Ok(())
}

/// The kind of a property's schema: the JSON types it admits apart from
/// null (following `$ref` and `anyOf`/`oneOf`/`allOf`), mapped to one
/// storage kind; a mix or an open schema is stored as JSON.
fn kind(schema: &Value, definitions: &Map<String, Value>) -> Kind {
    let mut types = Vec::new();
    if !collect(schema, definitions, &mut types, 0) {
        return Kind::Json;
    }
    types.retain(|t| t != "null");
    types.sort();
    types.dedup();
    let names: Vec<&str> = types.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["integer"] => Kind::Integer,
        ["number"] | ["integer", "number"] => Kind::Real,
        ["boolean"] => Kind::Boolean,
        ["string"] => Kind::Text,
        _ => Kind::Json,
    }
}

/// Adds the JSON types `schema` admits to `out`; false when it admits any
/// value (no type anywhere) or nests too deep to follow.
fn collect(
    schema: &Value,
    definitions: &Map<String, Value>,
    out: &mut Vec<String>,
    depth: u32,
) -> bool {
    if depth > 16 {
        return false;
    }
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let name = target.rsplit('/').next().unwrap_or_default();
        return match definitions.get(name) {
            Some(def) => collect(def, definitions, out, depth + 1),
            None => false,
        };
    }
    match schema.get("type") {
        Some(Value::String(t)) => {
            out.push(t.clone());
            return true;
        }
        Some(Value::Array(ts)) => {
            out.extend(ts.iter().filter_map(Value::as_str).map(str::to_owned));
            return !ts.is_empty();
        }
        _ => {}
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            return !branches.is_empty()
                && branches
                    .iter()
                    .all(|b| collect(b, definitions, out, depth + 1));
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use nexudus_timepasses::types::{CoworkerTimePass, ProductTimePass, TimePass};

    use super::*;

    fn kind_of(columns: &[Column], name: &str) -> Option<Kind> {
        columns.iter().find(|c| c.name == name).map(|c| c.kind)
    }

    #[test]
    fn columns_follow_the_generated_types() {
        let c = columns::<CoworkerTimePass>().unwrap();
        assert_eq!(kind_of(&c, "Id"), Some(Kind::Integer));
        assert_eq!(kind_of(&c, "Price"), Some(Kind::Real));
        assert_eq!(kind_of(&c, "Used"), Some(Kind::Boolean));
        assert_eq!(kind_of(&c, "UpdatedOn"), Some(Kind::Text));
        assert_eq!(kind_of(&c, "TariffTimePassUniqueId"), Some(Kind::Text));
        assert_eq!(kind_of(&c, "CustomFields"), Some(Kind::Json));
        // The flattened map of undocumented fields is no column.
        assert_eq!(kind_of(&c, "extra"), None);
        let t = columns::<TimePass>().unwrap();
        assert_eq!(kind_of(&t, "Businesses"), Some(Kind::Json));
        let p = columns::<ProductTimePass>().unwrap();
        assert_eq!(kind_of(&p, "ExpirationType"), Some(Kind::Integer));
    }

    #[test]
    fn open_and_mixed_schemas_are_json() {
        let defs = Map::new();
        assert_eq!(kind(&serde_json::json!({}), &defs), Kind::Json);
        assert_eq!(
            kind(&serde_json::json!({"type": ["string", "integer"]}), &defs),
            Kind::Json
        );
        assert_eq!(
            kind(&serde_json::json!({"$ref": "#/definitions/Missing"}), &defs),
            Kind::Json
        );
        assert_eq!(
            kind(
                &serde_json::json!({"anyOf": [{"type": "integer"}, {"type": "null"}]}),
                &defs
            ),
            Kind::Integer
        );
    }
}
