//! Request bodies read as the API reads them: malformed JSON, a missing
//! required field or a value of the wrong type becomes a field error for the
//! 400 envelope, never a panic. Bodies are checked by decoding them into the
//! generated types (each resource's through [`crate::ResourceHandle`]), and
//! stored from the JSON object that type writes back.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::envelope::{refusal, Refusal};
use crate::spec::{FieldSpec, Kind, Resource, ResourceVisitor};
use crate::ResourceHandle;

/// The property errors about the body as a whole are filed under.
pub(crate) const BODY: &str = "Body";

/// Decodes a body into a generated type (with the body schema's field
/// table) and gives back the object it writes.
pub(crate) type Parser = fn(&[u8], &[FieldSpec]) -> Result<Map<String, Value>, Vec<Refusal>>;

/// The create and update body parsers of one resource.
pub(crate) struct Parsers {
    pub(crate) create: Parser,
    pub(crate) update: Parser,
}

struct Visit;

impl ResourceVisitor for Visit {
    type Output = Parsers;
    fn visit<H: ResourceHandle>(self) -> Parsers {
        Parsers {
            create: parse::<H::Create>,
            update: parse::<H::Update>,
        }
    }
}

/// The body parsers of `resource`, with its generated body types.
pub(crate) fn parsers(resource: Resource) -> Parsers {
    resource.visit(Visit)
}

/// [`decode`]s `bytes` into `T`, then writes `T` back as a JSON object:
/// values the type normalises come out as it writes them, and fields it
/// does not know are kept only where it keeps them (`extra`).
pub(crate) fn parse<T: DeserializeOwned + Serialize>(
    bytes: &[u8],
    fields: &[FieldSpec],
) -> Result<Map<String, Value>, Vec<Refusal>> {
    let required: Vec<&str> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    let typed = decode::<T>(bytes, &required, fields)?;
    match serde_json::to_value(typed) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(vec![refusal(BODY, "cannot be stored", None)]),
    }
}

/// Decodes `bytes` into `T`, checking first that every field in `required`
/// is present and not null. A value of the wrong type is refused in words
/// from its field's entry in `fields` (never the decoder's Rust types).
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    required: &[impl AsRef<str>],
    fields: &[FieldSpec],
) -> Result<T, Vec<Refusal>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let at = format!("line {}, column {}", e.line(), e.column());
        vec![refusal(BODY, &format!("is not valid JSON (at {at})"), None)]
    })?;
    let Value::Object(map) = &value else {
        return Err(vec![refusal(BODY, "must be a JSON object", Some(value))]);
    };
    let missing: Vec<Refusal> = required
        .iter()
        .map(AsRef::as_ref)
        .filter(|key| map.get(*key).is_none_or(Value::is_null))
        .map(|key| refusal(key, "is a required field", None))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let attempted_of = |path: &str| {
        let top = path.split(['.', '[']).next().unwrap_or_default();
        map.get(top).cloned()
    };
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let property = if path == "." { BODY.to_owned() } else { path };
        let top = property.split(['.', '[']).next().unwrap_or_default();
        let field = fields.iter().find(|f| f.name == top);
        let message = field.map_or("is not a valid value", expected);
        vec![refusal(&property, message, attempted_of(&property))]
    })
}

/// What a field's values must be, in the API's words.
fn expected(field: &FieldSpec) -> &'static str {
    match field.kind {
        Kind::Integer if field.format == "int32" => "must be a whole number that fits in 32 bits",
        Kind::Integer => "must be a whole number",
        Kind::Number => "must be a number",
        Kind::Boolean => "must be true or false",
        Kind::Text if field.format == "uuid" => "must be a GUID",
        Kind::Text => "must be text",
        Kind::DateTime | Kind::FilterDate => "must be a date",
        Kind::Json => "is not a valid list or object for this field",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TimePassCreate;

    use crate::spec::time_pass::CREATE_FIELDS as REQUIRED;

    fn names(e: &[Refusal]) -> Vec<&str> {
        e.iter().map(|e| e.property_name.as_str()).collect()
    }

    #[test]
    fn names_the_field_at_fault() {
        let e = parse::<TimePassCreate>(b"{", REQUIRED).unwrap_err();
        assert_eq!(names(&e), [BODY]);
        assert_eq!(e[0].message, "is not valid JSON (at line 1, column 1)");
        let e = parse::<TimePassCreate>(br#"{"Name":"x","Price":1}"#, REQUIRED).unwrap_err();
        assert_eq!(names(&e), ["BusinessId", "CurrencyId"]);
        let body = br#"{"Name":"x","Price":1,"BusinessId":"one","CurrencyId":1}"#;
        let e = parse::<TimePassCreate>(body, REQUIRED).unwrap_err();
        assert_eq!(names(&e), ["BusinessId"]);
        assert_eq!(e[0].attempted_value, Value::from("one"));
        assert_eq!(e[0].message, "must be a whole number that fits in 32 bits");
        let body = br#"{"Name":"x","Price":1,"BusinessId":1,"CurrencyId":1,"Businesses":[1,"a"]}"#;
        let e = parse::<TimePassCreate>(body, REQUIRED).unwrap_err();
        assert_eq!(names(&e), ["Businesses[1]"]);
        assert!(parse::<TimePassCreate>(b"[1]", REQUIRED).is_err());
    }

    #[test]
    fn gives_the_object_the_generated_type_writes() {
        let body = br#"{"Name":"x","Price":1,"BusinessId":1,"CurrencyId":1,"Nope":2}"#;
        let map = parse::<TimePassCreate>(body, REQUIRED).unwrap();
        assert_eq!(map["Price"], Value::from(1.0));
        assert!(
            !map.contains_key("Nope"),
            "the create body keeps no unknown field"
        );
    }
}
