//! Update bodies built from full records. A PUT replaces the whole record, so
//! the body carries every writable field as read, and every field the server
//! sent that the spec does not list, so a write-back never drops them. Which
//! fields are which comes from the registry's tables (`spec.rs`).

use serde::{de::DeserializeOwned, Serialize};

use crate::spec::{FieldSpec, ResourceSpec};

/// Builds an update body from a full record: keeps the fields the update
/// schema declares, and every field the record schema does not know (fields
/// a newer server sent). Known read-only fields (names, timestamps,
/// counters) are left out.
pub(crate) fn update_body<R, U>(record: &R, spec: &ResourceSpec) -> serde_json::Result<U>
where
    R: Serialize,
    U: DeserializeOwned,
{
    let declares = |fields: &[FieldSpec], name: &str| fields.iter().any(|f| f.name == name);
    let mut fields = match serde_json::to_value(record)? {
        serde_json::Value::Object(map) => map,
        other => return serde_json::from_value(other),
    };
    fields.retain(|name, _| {
        declares(spec.update_fields, name) || !declares(spec.record_fields, name)
    });
    serde_json::from_value(serde_json::Value::Object(fields))
}
