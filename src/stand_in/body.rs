//! Request bodies read as the API reads them: malformed JSON, a missing
//! required field or a value of the wrong type becomes a field error for the
//! 400 envelope, never a panic. Bodies decode into the generated types.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::resources::field_error;
use crate::types::FieldError;

/// Decodes `bytes` into `T`, checking first that every field in `required`
/// is present and not null.
pub(crate) fn parse<T: DeserializeOwned>(
    bytes: &[u8],
    required: &[String],
) -> Result<T, Vec<FieldError>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        vec![field_error(
            "",
            &format!("the request body is not valid JSON ({e})"),
            None,
        )]
    })?;
    let Value::Object(map) = &value else {
        return Err(vec![field_error(
            "",
            "the request body must be a JSON object",
            Some(value),
        )]);
    };
    let missing: Vec<FieldError> = required
        .iter()
        .filter(|key| map.get(key.as_str()).is_none_or(Value::is_null))
        .map(|key| field_error(key, "is a required field", None))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let attempted = |property: &str| map.get(property).cloned();
    let attempted_of = |path: &str| {
        let top = path.split(['.', '[']).next().unwrap_or_default();
        attempted(top)
    };
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let property = if path == "." { String::new() } else { path };
        vec![field_error(
            &property,
            &format!("is not a valid value ({})", e.inner()),
            attempted_of(&property),
        )]
    })
}

/// Turns one body type into another with the same fields (a create body
/// into the update body the stores work from), setting `Id`.
pub(crate) fn recast<A: serde::Serialize, B: DeserializeOwned>(
    body: &A,
    id: i32,
) -> Result<B, Vec<FieldError>> {
    let mut value = serde_json::to_value(body).map_err(|e| internal(&e))?;
    if let Value::Object(map) = &mut value {
        map.insert("Id".into(), Value::from(id));
    }
    serde_json::from_value(value).map_err(|e| internal(&e))
}

fn internal(e: &serde_json::Error) -> Vec<FieldError> {
    vec![field_error(
        "",
        &format!("the body cannot be stored ({e})"),
        None,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TimePassCreate;

    fn required() -> Vec<String> {
        ["BusinessId", "CurrencyId", "Name", "Price"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn names_the_field_at_fault() {
        let e = parse::<TimePassCreate>(b"{", &required()).unwrap_err();
        assert_eq!(e[0].property_name, "");
        let e = parse::<TimePassCreate>(br#"{"Name":"x","Price":1}"#, &required()).unwrap_err();
        let names: Vec<_> = e.iter().map(|e| e.property_name.as_str()).collect();
        assert_eq!(names, ["BusinessId", "CurrencyId"]);
        let body = br#"{"Name":"x","Price":1,"BusinessId":"one","CurrencyId":1}"#;
        let e = parse::<TimePassCreate>(body, &required()).unwrap_err();
        assert_eq!(e[0].property_name, "BusinessId");
        assert_eq!(e[0].attempted_value, Some(Value::from("one")));
        let body = br#"{"Name":"x","Price":1,"BusinessId":1,"CurrencyId":1,"Businesses":[1,"a"]}"#;
        let e = parse::<TimePassCreate>(body, &required()).unwrap_err();
        assert_eq!(e[0].property_name, "Businesses[1]");
        assert!(parse::<TimePassCreate>(b"[1]", &required()).is_err());
    }
}
