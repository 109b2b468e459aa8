//! What the values a field was seen with say about its type: [`Seen`]
//! gathers them (types, nulls, the integer range, whether every string is a
//! date-time) without keeping a single value, and [`Seen::schema`] turns
//! them into the OpenAPI schema of a property.

use std::collections::BTreeSet;

use chrono::DateTime;
use serde_json::{json, Map, Value};

/// The values one field was seen with, as shapes only (never the values:
/// they may be secrets or personal data).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    /// Values seen, nulls included.
    pub values: u64,
    /// Of them, nulls.
    pub nulls: u64,
    /// JSON types of the non-null values (`integer`, `number`, `string`, ...).
    pub types: BTreeSet<&'static str>,
    /// The smallest and largest integer seen.
    pub range: Option<(i128, i128)>,
    /// Strings seen, and how many of them read as a date-time.
    pub strings: u64,
    /// See `strings`.
    pub date_times: u64,
    /// The items of the arrays seen.
    pub items: Option<Box<Seen>>,
}

impl Seen {
    /// Adds one value.
    pub fn add(&mut self, value: &Value) {
        self.values += 1;
        let kind = super::json_type(value);
        if kind != "null" {
            self.types.insert(kind);
        }
        match value {
            Value::Null => self.nulls += 1,
            Value::Number(n) => {
                let int = n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
                if let Some(i) = int {
                    let (lo, hi) = self.range.unwrap_or((i, i));
                    self.range = Some((lo.min(i), hi.max(i)));
                }
            }
            Value::String(s) => {
                self.strings += 1;
                self.date_times += u64::from(is_date_time(s));
            }
            Value::Array(items) => {
                let seen = self.items.get_or_insert_with(Box::default);
                items.iter().for_each(|item| seen.add(item));
            }
            Value::Bool(_) | Value::Object(_) => {}
        }
    }

    /// Adds what `other` saw.
    pub fn merge(&mut self, other: &Seen) {
        self.values += other.values;
        self.nulls += other.nulls;
        self.types.extend(other.types.iter().copied());
        self.range = match (self.range, other.range) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (mine, theirs) => mine.or(theirs),
        };
        self.strings += other.strings;
        self.date_times += other.date_times;
        if let Some(items) = &other.items {
            self.items.get_or_insert_with(Box::default).merge(items);
        }
    }

    /// Whether an integer seen does not fit an `int32`.
    pub fn beyond_int32(&self) -> bool {
        self.range
            .is_some_and(|(lo, hi)| lo < i128::from(i32::MIN) || hi > i128::from(i32::MAX))
    }

    /// The property schema these values imply: one JSON type (integers and
    /// numbers together are numbers), `format` `int32`/`int64` from the
    /// range, `double` for non-integral numbers, `date-time` when every
    /// string read as one, `nullable` when nulls came, `items` for arrays,
    /// and objects as open objects (their members are not inferred).
    /// `None` when the values had several JSON types: only a person can say
    /// which the API means.
    pub fn schema(&self) -> Option<Map<String, Value>> {
        let mut types = self.types.clone();
        if types.contains("number") {
            types.remove("integer");
        }
        let mut schema = Map::new();
        match types.len() {
            0 => {}
            1 => {
                let kind = types.pop_first().unwrap_or("object");
                schema.insert("type".into(), kind.into());
                self.describe(kind, &mut schema)?;
            }
            _ => return None,
        }
        if self.nulls > 0 {
            schema.insert("nullable".into(), true.into());
        }
        Some(schema)
    }

    /// The format, items or members of a value of type `kind`.
    fn describe(&self, kind: &str, schema: &mut Map<String, Value>) -> Option<()> {
        match kind {
            "integer" => {
                let format = if self.beyond_int32() {
                    "int64"
                } else {
                    "int32"
                };
                schema.insert("format".into(), format.into());
            }
            "number" => {
                schema.insert("format".into(), "double".into());
            }
            "string" if self.strings > 0 && self.date_times == self.strings => {
                schema.insert("format".into(), "date-time".into());
            }
            "array" => {
                let items = match &self.items {
                    Some(items) => Value::Object(items.schema()?),
                    None => json!({}),
                };
                schema.insert("items".into(), items);
            }
            "object" => {
                schema.insert("additionalProperties".into(), json!({}));
            }
            _ => {}
        }
        Some(())
    }
}

/// Whether `text` is an RFC 3339 date-time, as OpenAPI's `date-time`
/// means. One without an offset (`2025-01-31T09:30:00`) is not: the
/// generated client decodes `date-time` as an instant, and would refuse it.
pub(super) fn is_date_time(text: &str) -> bool {
    DateTime::parse_from_rfc3339(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(values: &[Value]) -> Option<Value> {
        let mut seen = Seen::default();
        values.iter().for_each(|v| seen.add(v));
        seen.schema().map(Value::Object)
    }

    #[test]
    fn types_and_formats_follow_the_values() {
        let int = schema(&[json!(1), json!(-5)]);
        assert_eq!(int, Some(json!({"type": "integer", "format": "int32"})));
        let wide = schema(&[json!(1), json!(3_000_000_000_i64)]);
        assert_eq!(wide, Some(json!({"type": "integer", "format": "int64"})));
        let num = schema(&[json!(1), json!(2.5), Value::Null]);
        let double = json!({"type": "number", "format": "double", "nullable": true});
        assert_eq!(num, Some(double));
        let when = schema(&[
            json!("2025-01-31T09:30:00+01:00"),
            json!("2025-02-01T10:00:00Z"),
        ]);
        assert_eq!(when, Some(json!({"type": "string", "format": "date-time"})));
        let text = schema(&[json!("2025-01-31T09:30:00Z"), json!("soon")]);
        assert_eq!(text, Some(json!({"type": "string"})));
        // No offset: not an instant the generated client could decode.
        let naive = schema(&[json!("2025-01-31T09:30:00")]);
        assert_eq!(naive, Some(json!({"type": "string"})));
        let list = schema(&[json!(["a"]), json!([])]);
        let strings = json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(list, Some(strings));
        let open = schema(&[json!({"Secret": "x"})]);
        let object = json!({"type": "object", "additionalProperties": {}});
        assert_eq!(open, Some(object));
    }

    #[test]
    fn mixed_types_are_left_to_a_person() {
        assert_eq!(schema(&[json!(1), json!("1")]), None);
        assert_eq!(schema(&[json!([1, "a"])]), None);
    }

    #[test]
    fn only_nulls_give_an_untyped_nullable_property() {
        assert_eq!(schema(&[Value::Null]), Some(json!({"nullable": true})));
    }
}
