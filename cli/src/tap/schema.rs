//! The JSON Schema of each stream, from the registry's field table of the
//! spec's full record (`nexudus_timepasses::spec`): a field's kind gives its
//! type, its nullability adds `null`, date-times carry `format: date-time`.
//! A field added to the spec becomes a property with no edit here; fields
//! the spec does not describe travel in one more property, `extra` (as in
//! the tables of `nexudus sync`), so the schema stays exact and nothing is
//! lost.

use nexudus_timepasses::spec::{FieldSpec, Kind, ResourceSpec};
use serde_json::{json, Map, Value};

/// The key of every stream.
pub const KEY: &str = "Id";
/// The replication key of every stream.
pub const REPLICATION_KEY: &str = "UpdatedOn";
/// The property a deleted record's message sets (the Singer convention).
pub const DELETED_AT: &str = "_sdc_deleted_at";
pub use crate::reader::EXTRA;

/// The schema of `resource`'s records, with the properties `keep` accepts;
/// with `_sdc_deleted_at` when deletes are emitted.
pub fn of(resource: &ResourceSpec, keep: impl Fn(&str) -> bool, deletes: bool) -> Value {
    let mut properties: Map<String, Value> = resource
        .record_fields
        .iter()
        .filter(|f| keep(f.name))
        .map(|f| (f.name.to_owned(), property(f)))
        .collect();
    if keep(EXTRA) {
        let extra = json!({
            "type": ["null", "object"],
            "description": "Fields the spec does not describe, as the API sent them",
        });
        properties.insert(EXTRA.to_owned(), extra);
    }
    if deletes {
        let deleted_at = json!({"type": ["null", "string"], "format": "date-time"});
        properties.insert(DELETED_AT.to_owned(), deleted_at);
    }
    json!({"type": "object", "properties": properties})
}

/// The schema of one field.
fn property(field: &FieldSpec) -> Value {
    let (types, format): (&[&str], _) = match field.kind {
        Kind::Integer => (&["integer"], None),
        Kind::Number => (&["number"], None),
        Kind::Boolean => (&["boolean"], None),
        Kind::Text => (&["string"], None),
        // Only what the spec says is a date-time: the legacy date fields
        // are text the server writes as it likes (with no zone, or a date).
        Kind::DateTime | Kind::FilterDate => (
            &["string"],
            (field.format == "date-time").then_some("date-time"),
        ),
        // The spec's lists and objects.
        Kind::Json => (&["array", "object"], None),
    };
    let nullable = field.nullable.then_some("null");
    let types: Vec<&str> = nullable.into_iter().chain(types.iter().copied()).collect();
    let mut schema = json!({ "type": types });
    if let Some(format) = format {
        schema["format"] = json!(format);
    }
    if !field.description.is_empty() {
        schema["description"] = json!(field.description);
    }
    schema
}

#[cfg(test)]
mod tests {
    use nexudus_timepasses::spec::Resource;

    use super::*;

    #[test]
    fn properties_follow_the_field_table() {
        let spec = Resource::CoworkerTimePasses.spec();
        let schema = of(spec, |_| true, false);
        let p = &schema["properties"];
        assert_eq!(p["Id"]["type"], json!(["integer"]));
        assert_eq!(p["UpdatedOn"]["format"], json!("date-time"));
        // A legacy date is text in the spec, whatever shape it has.
        assert_eq!(p["UsedDate"]["type"], json!(["null", "string"]));
        assert!(p["UsedDate"].get("format").is_none(), "{}", p["UsedDate"]);
        assert_eq!(p["Price"]["type"], json!(["null", "number"]));
        assert_eq!(
            p["CustomFields"]["type"],
            json!(["null", "array", "object"])
        );
        assert_eq!(
            p.as_object().map(Map::len),
            Some(spec.record_fields.len() + 1)
        );
        assert_eq!(p[EXTRA]["type"], json!(["null", "object"]));
        assert!(p.get(DELETED_AT).is_none());
        let some = of(spec, |f| f == "Id", true);
        let names: Vec<&String> = some["properties"].as_object().unwrap().keys().collect();
        assert_eq!(names, ["Id", DELETED_AT]);
    }
}
