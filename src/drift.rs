//! The drift check: compares JSON the API sent with the schemas of the
//! `openapi.yaml` this crate was built from (embedded as JSON by build.rs),
//! and reports what the spec does not describe: undeclared fields, declared
//! fields never seen, type mismatches, nulls where the spec does not allow
//! them, enum values outside a closed set, and listing records carrying
//! fields the spec says listings omit.
//!
//! ```
//! use nexudus_timepasses::drift::{DriftCheck, Problem};
//! let mut check = DriftCheck::new();
//! let record = serde_json::json!({"Id": 1, "Name": 7, "Colour": "teal"});
//! check.observe("TimePassListItem", &record);
//! let findings = check.findings();
//! assert!(findings.iter().any(|f| f.field == "Colour" && matches!(f.problem, Problem::Undeclared { .. })));
//! assert!(findings.iter().any(|f| f.field == "Name" && matches!(f.problem, Problem::WrongType { .. })));
//! ```

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    sync::OnceLock,
};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{client::Client, error::Result, request::get_json};

mod infer;
mod proposal;

pub use crate::spec::Resource;
use infer::Seen;
pub use proposal::{Change, ChangeKind, Proposal};

impl DriftCheck {
    /// Reads `pages` listing pages of `resource` (pages of `size`; more
    /// when they hold fewer than `sample` records) and the full records of
    /// `sample` of their Ids (batch gets of
    /// [`BATCH_IDS`](crate::spec::BATCH_IDS)), as the server sends them, and
    /// observes every object: the page envelope, its listing records and the
    /// full records.
    pub async fn read(
        &mut self,
        client: &Client,
        resource: Resource,
        pages: u32,
        size: u32,
        sample: usize,
    ) -> Result<()> {
        let spec = resource.spec();
        let (list, batch, schema) = (
            spec.operations.list,
            spec.operations.get_many,
            resource.schema(),
        );
        let mut ids = Vec::new();
        // At least `pages` pages, and more while the sample wants more Ids.
        for page in 1.. {
            if page > pages.max(1) && ids.len() >= sample {
                break;
            }
            let query = [
                ("page", page.to_string()),
                ("size", size.max(1).to_string()),
            ];
            let body = get_json(client.raw(), list, spec.path, &query).await?;
            let records = body
                .get("Records")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut envelope = body.clone();
            if let Some(map) = envelope.as_object_mut() {
                map.insert("Records".into(), Value::Array(Vec::new()));
            }
            self.observe(&format!("{schema}Page"), &envelope);
            for record in &records {
                self.observe(spec.list_schema(), record);
                if let Some(id) = record.get("Id").and_then(Value::as_i64) {
                    ids.push(id);
                }
            }
            let last = body.get("HasNextPage").and_then(Value::as_bool) != Some(true);
            if records.is_empty() || last {
                break;
            }
        }
        ids.truncate(sample);
        let path = format!("{}/", spec.path);
        for chunk in ids.chunks(crate::spec::BATCH_IDS) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let query = [("id", format!("[{}]", list.join(",")))];
            let full = get_json(client.raw(), batch, &path, &query).await?;
            for record in full.as_array().into_iter().flatten() {
                self.observe(schema, record);
            }
        }
        Ok(())
    }
}

/// The spec, as build.rs wrote it.
const SPEC_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// What was wrong with one field of one schema.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Problem {
    /// A field the schema does not declare.
    Undeclared {
        /// Its JSON type (`string`, `integer`, `object`, ...).
        json_type: String,
        /// An example, masked: strings keep only their length.
        example: String,
    },
    /// A declared field that no observed object carried.
    NeverSeen,
    /// A value of another JSON type than the schema's.
    WrongType {
        /// What the spec says.
        expected: String,
        /// What came.
        found: String,
    },
    /// `null` in a field the spec does not mark nullable.
    UnexpectedNull,
    /// A value of the schema's type outside its format: an integer past
    /// `int32`, or text that is not a `date-time`.
    WrongFormat {
        /// The spec's format.
        expected: String,
        /// What came (`int64`, `string`).
        found: String,
    },
    /// A value outside a closed enum.
    OutsideEnum {
        /// The value, as JSON.
        value: String,
    },
    /// A listing record carried a field the spec says listings omit.
    OmittedFieldPresent,
}

/// One finding: a field of a schema, and its problem.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The schema (`TimePass`, `CoworkerTimePassListItem`, ...).
    pub schema: String,
    /// The field's JSON name (nested fields as `Parent.Child`).
    pub field: String,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: Problem,
    /// In how many observed objects it was seen.
    pub count: u64,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.problem {
            Problem::Undeclared { json_type, example } => {
                format!("undeclared field ({json_type}, e.g. {example})")
            }
            Problem::NeverSeen => "declared but never seen".into(),
            Problem::WrongType { expected, found } => {
                format!("{found} where the spec says {expected}")
            }
            Problem::UnexpectedNull => "null, but not nullable in the spec".into(),
            Problem::WrongFormat { expected, found } => {
                format!("{found} where the spec says {expected}")
            }
            Problem::OutsideEnum { value } => format!("{value} is outside the enum"),
            Problem::OmittedFieldPresent => "present, but the spec says listings omit it".into(),
        };
        write!(
            f,
            "{}.{}: {what} ({} seen)",
            self.schema, self.field, self.count
        )
    }
}

/// Collects observations of API objects against the spec's schemas.
#[derive(Debug, Default)]
pub struct DriftCheck {
    /// (schema, field, problem key) → finding.
    found: BTreeMap<(String, String, String), Finding>,
    /// Schema → declared fields seen at least once.
    seen: BTreeMap<String, BTreeSet<String>>,
    /// (schema, top-level field) → the shapes of its values, declared or
    /// not: what [`DriftCheck::proposal`] infers types from.
    fields: BTreeMap<(String, String), Seen>,
}

impl DriftCheck {
    /// An empty check against the embedded spec.
    pub fn new() -> Self {
        DriftCheck::default()
    }

    /// The schema names this check knows (the spec's `components/schemas`).
    pub fn schemas() -> Vec<String> {
        spec_schemas().keys().cloned().collect()
    }

    /// Checks one object against the schema `schema` (a name of
    /// `components/schemas`). An unknown schema name is itself a finding.
    pub fn observe(&mut self, schema: &str, value: &Value) {
        let Some(declared) = spec_schemas().get(schema) else {
            self.note(
                schema,
                "",
                Problem::Undeclared {
                    json_type: "schema".into(),
                    example: "no such schema in the spec".into(),
                },
            );
            return;
        };
        let omitted = full_record_of(schema)
            .map(|full| {
                properties(full)
                    .keys()
                    .filter(|k| !properties(declared).contains_key(*k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        self.object(schema, "", declared, value, &omitted);
    }

    /// Every finding so far, with declared fields never seen in schemas
    /// that were observed at least once.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out: Vec<Finding> = self.found.values().cloned().collect();
        for (schema, seen) in &self.seen {
            let Some(declared) = spec_schemas().get(schema) else {
                continue;
            };
            for field in properties(declared).keys().filter(|f| !seen.contains(*f)) {
                out.push(Finding {
                    schema: schema.clone(),
                    field: field.clone(),
                    problem: Problem::NeverSeen,
                    count: 0,
                });
            }
        }
        out.sort_by(|a, b| (&a.schema, &a.field).cmp(&(&b.schema, &b.field)));
        out
    }

    /// Whether the spec describes everything observed.
    pub fn is_clean(&self) -> bool {
        self.findings().is_empty()
    }

    fn object(
        &mut self,
        schema: &str,
        prefix: &str,
        declared: &Value,
        value: &Value,
        omitted: &BTreeSet<String>,
    ) {
        let Value::Object(fields) = value else {
            self.value(schema, prefix, declared, value);
            return;
        };
        let props = properties(declared);
        let top = prefix.is_empty();
        for (name, field) in fields {
            if top {
                let key = (schema.to_owned(), name.clone());
                self.fields.entry(key).or_default().add(field);
            }
            let path = if top {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            match props.get(name) {
                Some(spec) => {
                    if top {
                        self.seen
                            .entry(schema.into())
                            .or_default()
                            .insert(name.clone());
                    }
                    self.value(schema, &path, spec, field);
                }
                None if top && omitted.contains(name) => {
                    self.note(schema, &path, Problem::OmittedFieldPresent)
                }
                None => self.note(
                    schema,
                    &path,
                    Problem::Undeclared {
                        json_type: json_type(field).into(),
                        example: masked(field),
                    },
                ),
            }
        }
        if top {
            self.seen.entry(schema.into()).or_default();
        }
    }

    fn value(&mut self, schema: &str, path: &str, spec: &Value, value: &Value) {
        let spec = resolve(spec);
        if value.is_null() {
            if !nullable(spec) {
                self.note(schema, path, Problem::UnexpectedNull);
            }
            return;
        }
        let found = json_type(value);
        if !fits(spec, found) {
            self.note(
                schema,
                path,
                Problem::WrongType {
                    expected: types(spec).join(" or "),
                    found: found.into(),
                },
            );
            return;
        }
        if let Some(found) = outside_format(spec, value) {
            let expected = spec
                .get("format")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let expected = expected.to_owned();
            self.note(schema, path, Problem::WrongFormat { expected, found });
        }
        if let Some(values) = closed_enum(spec) {
            if !values.contains(value) {
                self.note(
                    schema,
                    path,
                    Problem::OutsideEnum {
                        value: value.to_string(),
                    },
                );
            }
        }
        match value {
            Value::Object(_) if !properties(spec).is_empty() => {
                self.object(schema, path, spec, value, &BTreeSet::new())
            }
            Value::Array(items) => {
                if let Some(item) = spec.get("items") {
                    for v in items {
                        self.value(schema, &format!("{path}[]"), item, v);
                    }
                }
            }
            _ => {}
        }
    }

    fn note(&mut self, schema: &str, field: &str, problem: Problem) {
        let key = (schema.to_owned(), field.to_owned(), problem_key(&problem));
        self.found
            .entry(key)
            .or_insert_with(|| Finding {
                schema: schema.into(),
                field: field.into(),
                problem,
                count: 0,
            })
            .count += 1;
    }
}

/// The spec's `components/schemas`.
fn spec_schemas() -> &'static Map<String, Value> {
    static SCHEMAS: OnceLock<Map<String, Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        serde_json::from_str::<Value>(SPEC_JSON)
            .ok()
            .and_then(|v| {
                v.pointer("/components/schemas")
                    .and_then(Value::as_object)
                    .cloned()
            })
            .unwrap_or_default()
    })
}

/// The full record schema of a listing record schema (`TimePass` of
/// `TimePassListItem`); `None` for any other schema.
fn full_record_of(listing: &str) -> Option<&'static Value> {
    crate::spec::of_listing(listing).and_then(|r| spec_schemas().get(r.record_schema()))
}

/// A schema with a `$ref` followed (one level is all the spec uses).
fn resolve(schema: &Value) -> &Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .and_then(|name| spec_schemas().get(name))
        .unwrap_or(schema)
}

/// A schema's properties (none when it declares none), borrowed: drift
/// looks them up for every field of every record it reads.
fn properties(schema: &Value) -> &Map<String, Value> {
    static NONE: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    resolve(schema)
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&NONE)
}

/// The JSON types a schema allows (its `type`, or its `anyOf`/`oneOf`
/// branches' types); empty means any.
fn types(schema: &Value) -> Vec<&'static str> {
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        return vec![type_name(t)];
    }
    let branches = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array);
    let mut out = Vec::new();
    for branch in branches.into_iter().flatten() {
        let branch_types = types(resolve(branch));
        if branch_types.is_empty() {
            return Vec::new();
        }
        out.extend(branch_types);
    }
    out.dedup();
    out
}

/// Whether a value of JSON type `found` fits the schema (an integer fits
/// a number; a schema without types takes anything).
fn fits(schema: &Value, found: &str) -> bool {
    let allowed = types(schema);
    allowed.is_empty()
        || allowed
            .iter()
            .any(|t| *t == found || (*t == "number" && found == "integer"))
}

/// What `value` is when it does not fit the schema's format: an integer
/// past `int32` is `int64`, a string that is not an RFC 3339 date-time is
/// a `string` (the generated client decodes both strictly). Other formats
/// are not checked.
fn outside_format(schema: &Value, value: &Value) -> Option<String> {
    let format = schema.get("format").and_then(Value::as_str)?;
    let outside = match (format, value) {
        ("int32", Value::Number(n)) => n.as_i64().and_then(|i| i32::try_from(i).ok()).is_none(),
        ("date-time", Value::String(s)) => !infer::is_date_time(s),
        _ => false,
    };
    let found = if format == "int32" { "int64" } else { "string" };
    outside.then(|| found.to_owned())
}

fn type_name(t: &str) -> &'static str {
    match t {
        "integer" => "integer",
        "number" => "number",
        "string" => "string",
        "boolean" => "boolean",
        "array" => "array",
        _ => "object",
    }
}

fn nullable(schema: &Value) -> bool {
    let own = schema
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let branch = |key| {
        schema
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|bs| bs.iter().any(|b| nullable(resolve(b))))
    };
    own || branch("anyOf") || branch("oneOf")
}

/// The values of an enum that admits no others. An `anyOf` with an open
/// branch (as `ExpirationType`: the known codes, or any integer) is open.
fn closed_enum(schema: &Value) -> Option<Vec<Value>> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.clone());
    }
    let branches = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))?
        .as_array()?;
    let mut values = Vec::new();
    for branch in branches {
        values.extend(closed_enum(resolve(branch))?);
    }
    Some(values)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// An example that shows the shape, never the content of text (which may
/// be a secret or personal data).
fn masked(value: &Value) -> String {
    match value {
        Value::String(s) => format!("a string of {} characters", s.chars().count()),
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).take(5).collect();
            format!("an object with keys {}", keys.join(", "))
        }
        Value::Array(items) => format!("an array of {}", items.len()),
        other => crate::error::bounded(&other.to_string()),
    }
}

fn problem_key(problem: &Problem) -> String {
    match problem {
        Problem::Undeclared { json_type, .. } => format!("undeclared:{json_type}"),
        Problem::NeverSeen => "never".into(),
        Problem::WrongType { found, .. } => format!("type:{found}"),
        Problem::UnexpectedNull => "null".into(),
        Problem::WrongFormat { found, .. } => format!("format:{found}"),
        Problem::OutsideEnum { value } => format!("enum:{value}"),
        Problem::OmittedFieldPresent => "omitted".into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn findings(schema: &str, value: Value) -> Vec<Finding> {
        let mut check = DriftCheck::new();
        check.observe(schema, &value);
        check
            .findings()
            .into_iter()
            .filter(|f| f.problem != Problem::NeverSeen)
            .collect()
    }

    #[test]
    fn the_spec_is_embedded() {
        assert!(DriftCheck::schemas().contains(&"CoworkerTimePass".to_string()));
    }

    #[test]
    fn each_kind_of_drift_is_found() {
        let got = findings(
            "ProductTimePass",
            json!({
                "Id": 1, "PassesIncluded": "ten", "ProductName": null,
                "TimePassId": null, "ExpirationType": 0, "Nested": {"Secret": "hunter2"}
            }),
        );
        let kinds: Vec<(&str, &Problem)> =
            got.iter().map(|f| (f.field.as_str(), &f.problem)).collect();
        assert!(
            kinds
                .iter()
                .any(|(f, p)| *f == "PassesIncluded" && matches!(p, Problem::WrongType { .. })),
            "{got:?}"
        );
        assert!(
            kinds
                .iter()
                .any(|(f, p)| *f == "TimePassId" && matches!(p, Problem::UnexpectedNull)),
            "{got:?}"
        );
        assert!(
            kinds
                .iter()
                .any(|(f, p)| *f == "Nested" && matches!(p, Problem::Undeclared { .. })),
            "{got:?}"
        );
        // ExpirationType is open (any integer), and nullable fields may be null.
        assert!(
            !kinds
                .iter()
                .any(|(f, _)| *f == "ExpirationType" || *f == "ProductName"),
            "{got:?}"
        );
        assert!(
            !format!("{got:?}").contains("hunter2"),
            "examples are masked"
        );
    }

    #[test]
    fn values_outside_their_format_are_found() {
        let got = findings(
            "CoworkerTimePass",
            json!({"Id": 1, "CoworkerId": 3_000_000_000_i64, "CreatedOn": "2025-01-31T09:30:00",
                   "UpdatedOn": "2025-01-31T09:30:00Z"}),
        );
        let wrong = |field: &str, expected: &str, found: &str| {
            got.iter().any(|f| {
                f.field == field
                    && f.problem
                        == Problem::WrongFormat {
                            expected: expected.into(),
                            found: found.into(),
                        }
            })
        };
        assert!(wrong("CoworkerId", "int32", "int64"), "{got:?}");
        assert!(wrong("CreatedOn", "date-time", "string"), "{got:?}");
        assert!(!got.iter().any(|f| f.field == "UpdatedOn"), "{got:?}");
    }

    #[test]
    fn listing_records_with_omitted_fields_are_found() {
        let got = findings(
            "TimePassListItem",
            json!({"Id": 1, "CountsTowardsPlanLimits": true}),
        );
        assert!(
            got.iter().any(|f| f.field == "CountsTowardsPlanLimits"
                && f.problem == Problem::OmittedFieldPresent),
            "{got:?}"
        );
    }

    #[test]
    fn declared_fields_never_seen_are_listed() {
        let mut check = DriftCheck::new();
        check.observe("TimePassListItem", &json!({"Id": 1}));
        let never: Vec<Finding> = check
            .findings()
            .into_iter()
            .filter(|f| f.problem == Problem::NeverSeen)
            .collect();
        assert!(never.iter().any(|f| f.field == "Name"));
        assert!(!never.iter().any(|f| f.field == "Id"));
    }
}
