//! Request bodies read as the API reads them: malformed JSON, a missing
//! required field or a value of the wrong type becomes a field error for the
//! 400 envelope, never a panic. Bodies are checked by decoding them into the
//! generated types (each resource's through [`crate::ResourceHandle`]), and
//! stored from the JSON object that type writes back.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::envelope::{refusal, Refusal};
use crate::spec::{Resource, ResourceVisitor};
use crate::ResourceHandle;

/// Decodes a body into a generated type and gives back the object it writes.
pub(crate) type Parser = fn(&[u8], &[&str]) -> Result<Map<String, Value>, Vec<Refusal>>;

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
    required: &[&str],
) -> Result<Map<String, Value>, Vec<Refusal>> {
    let typed = decode::<T>(bytes, required)?;
    match serde_json::to_value(typed) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(vec![refusal("", "the body cannot be stored", None)]),
        Err(e) => Err(vec![refusal(
            "",
            &format!("the body cannot be stored ({e})"),
            None,
        )]),
    }
}

/// Decodes `bytes` into `T`, checking first that every field in `required`
/// is present and not null.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    required: &[impl AsRef<str>],
) -> Result<T, Vec<Refusal>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        vec![refusal(
            "",
            &format!("the request body is not valid JSON ({e})"),
            None,
        )]
    })?;
    let Value::Object(map) = &value else {
        return Err(vec![refusal(
            "",
            "the request body must be a JSON object",
            Some(value),
        )]);
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
        let property = if path == "." { String::new() } else { path };
        vec![refusal(
            &property,
            &format!("is not a valid value ({})", e.inner()),
            attempted_of(&property),
        )]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TimePassCreate;

    const REQUIRED: [&str; 4] = ["BusinessId", "CurrencyId", "Name", "Price"];

    fn names(e: &[Refusal]) -> Vec<&str> {
        e.iter().map(|e| e.property_name.as_str()).collect()
    }

    #[test]
    fn names_the_field_at_fault() {
        let e = parse::<TimePassCreate>(b"{", &REQUIRED).unwrap_err();
        assert_eq!(names(&e), [""]);
        let e = parse::<TimePassCreate>(br#"{"Name":"x","Price":1}"#, &REQUIRED).unwrap_err();
        assert_eq!(names(&e), ["BusinessId", "CurrencyId"]);
        let body = br#"{"Name":"x","Price":1,"BusinessId":"one","CurrencyId":1}"#;
        let e = parse::<TimePassCreate>(body, &REQUIRED).unwrap_err();
        assert_eq!(names(&e), ["BusinessId"]);
        assert_eq!(e[0].attempted_value, Value::from("one"));
        let body = br#"{"Name":"x","Price":1,"BusinessId":1,"CurrencyId":1,"Businesses":[1,"a"]}"#;
        let e = parse::<TimePassCreate>(body, &REQUIRED).unwrap_err();
        assert_eq!(names(&e), ["Businesses[1]"]);
        assert!(parse::<TimePassCreate>(b"[1]", &REQUIRED).is_err());
    }

    #[test]
    fn gives_the_object_the_generated_type_writes() {
        let body = br#"{"Name":"x","Price":1,"BusinessId":1,"CurrencyId":1,"Nope":2}"#;
        let map = parse::<TimePassCreate>(body, &REQUIRED).unwrap();
        assert_eq!(map["Price"], Value::from(1.0));
        assert!(
            !map.contains_key("Nope"),
            "the create body keeps no unknown field"
        );
    }
}
