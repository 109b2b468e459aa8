//! `--set Field=Value` for create and update: names checked against the
//! spec's create or update schema, values read as the field's type, and
//! `Field:=JSON` for a value given as JSON (a list, an object, null).

use serde_json::{Map, Value};

use crate::failure::Failure;
use crate::filters::{field_named, parse_bool};
use nexudus_timepasses::spec::{FieldSpec, Kind};

/// The `--set` pairs as (field name, JSON value), in the order given.
/// `refused` names fields of the table that cannot be set (the Id).
pub fn assignments(
    pairs: &[String],
    fields: &'static [FieldSpec],
    entity: &str,
    refused: &[&str],
) -> Result<Vec<(&'static str, Value)>, Failure> {
    let settable = || {
        fields
            .iter()
            .filter(|f| !refused.contains(&f.name))
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    pairs
        .iter()
        .map(|pair| {
            let (lhs, text) = pair.split_once('=').ok_or_else(|| {
                Failure::usage(format!(
                    "--set takes FIELD=VALUE or FIELD:=JSON, got `{pair}`"
                ))
            })?;
            let (name, json) = match lhs.strip_suffix(':') {
                Some(name) => (name.trim(), true),
                None => (lhs.trim(), false),
            };
            let spec = field_named(fields, name)
                .filter(|f| !refused.contains(&f.name))
                .ok_or_else(|| {
                    Failure::usage(format!("{entity} has no writable field `{name}`"))
                        .hint(format!("fields: {}", settable()))
                })?;
            let value = if json {
                serde_json::from_str(text)
                    .map_err(|e| Failure::usage(format!("bad JSON for {}: {e}", spec.name)))?
            } else {
                typed(spec, text)?
            };
            Ok((spec.name, value))
        })
        .collect()
}

/// Sets the assignments on a JSON object.
pub fn apply(object: &mut Map<String, Value>, assignments: Vec<(&'static str, Value)>) {
    for (name, value) in assignments {
        object.insert(name.to_owned(), value);
    }
}

/// Text read as the field's type. An empty value of a nullable number or
/// boolean is null; text stays text (`Field:=null` gives a null text).
fn typed(spec: &FieldSpec, text: &str) -> Result<Value, Failure> {
    let bad = || bad_value(text, spec.name, spec.kind);
    let empty = text.trim().is_empty();
    Ok(match spec.kind {
        Kind::Integer | Kind::Number | Kind::Boolean if empty && spec.nullable => Value::Null,
        Kind::Integer => Value::from(text.trim().parse::<i64>().map_err(|_| bad())?),
        Kind::Number => {
            let n: f64 = text.trim().parse().map_err(|_| bad())?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(bad)?
        }
        Kind::Boolean => Value::Bool(parse_bool(text).ok_or_else(bad)?),
        Kind::Text | Kind::DateTime | Kind::FilterDate => Value::String(text.to_owned()),
        Kind::Json => serde_json::from_str(text).map_err(|_| {
            bad().hint(format!(
                "{} takes JSON, for example --set {}:='[1,2]'",
                spec.name, spec.name
            ))
        })?,
    })
}

/// The usage error of a value `text` that is not a `kind` for `what` (a
/// field or a filter).
pub fn bad_value(text: &str, what: &str, kind: Kind) -> Failure {
    Failure::usage(format!(
        "bad value `{text}` for {what}: expected {}",
        kind.word()
    ))
}

/// The required fields of a create schema that `object` lacks.
pub fn missing_required(object: &Map<String, Value>, fields: &[FieldSpec]) -> Vec<&'static str> {
    fields
        .iter()
        .filter(|f| f.required && !object.contains_key(f.name))
        .map(|f| f.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexudus_timepasses::spec::coworker_time_pass::UPDATE_FIELDS;
    use serde_json::json;

    fn set(pairs: &[&str]) -> Result<Vec<(&'static str, Value)>, Failure> {
        let pairs: Vec<String> = pairs.iter().map(|s| s.to_string()).collect();
        assignments(&pairs, UPDATE_FIELDS, "CoworkerTimePass", &["Id"])
    }

    #[test]
    fn values_take_their_field_type() {
        let got = set(&[
            "notes=hi",
            "Used=true",
            "Price=",
            "Price:=2.5",
            "CreateMultiple=3",
        ])
        .map_err(|f| f.message)
        .expect("valid");
        assert_eq!(
            got,
            [
                ("Notes", json!("hi")),
                ("Used", json!(true)),
                ("Price", Value::Null),
                ("Price", json!(2.5)),
                ("CreateMultiple", json!(3)),
            ]
        );
    }

    #[test]
    fn unknown_fields_the_id_and_bad_values_are_usage_errors() {
        for bad in [
            &["Nots=x"][..],
            &["Id=3"],
            &["Used=yes"],
            &["CreateMultiple=x"],
            &["x"],
        ] {
            let e = set(bad).expect_err("refused");
            assert_eq!(e.code, 2, "{bad:?}");
        }
        let e = set(&["Nots=x"]).expect_err("refused");
        assert!(e.hint.unwrap_or_default().contains("Notes"));
    }
}
