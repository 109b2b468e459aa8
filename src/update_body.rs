//! Update bodies built from full records. A PUT replaces the whole record, so
//! the body carries every writable field as read, and every field the server
//! sent that the spec does not list, so a write-back never drops them.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};

/// Builds an update body from a full record: keeps the fields the update
/// schema declares, and every field the record schema does not know (fields
/// a newer server sent). Known read-only fields (names, timestamps,
/// counters) are left out.
pub(crate) fn update_body<R, U>(record: &R) -> serde_json::Result<U>
where
    R: Serialize + JsonSchema,
    U: DeserializeOwned + JsonSchema,
{
    let writable = declared_fields::<U>();
    let known = declared_fields::<R>();
    let mut fields = match serde_json::to_value(record)? {
        serde_json::Value::Object(map) => map,
        other => return serde_json::from_value(other),
    };
    fields.retain(|name, _| writable.contains(name) || !known.contains(name));
    serde_json::from_value(serde_json::Value::Object(fields))
}

/// Property names a schemars schema declares.
fn declared_fields<T: JsonSchema>() -> BTreeSet<String> {
    let root = schemars::schema_for!(T);
    root.schema
        .object
        .map(|o| o.properties.into_keys().collect())
        .unwrap_or_default()
}
