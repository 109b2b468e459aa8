//! Every example response the contract shows, and every example response of
//! the original documentation pages, decodes into the generated type and
//! encodes back without losing a value.
//!
//! The documentation pages are copied unchanged into `tests/fixtures/seeds/`
//! (from `nexudus-api/seeds/` beside the repository), so this test runs
//! without the shared directory; `tests/reference.rs` checks that the copies
//! still match the originals.

use std::{borrow::Borrow, collections::BTreeSet, fs, path::PathBuf};

use nexudus_timepasses::{types, ExpirationType};
use openapiv3::{Components, MediaType, OpenAPI, ReferenceOr, Response, Schema, SchemaKind, Type};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Value};

const SPEC: &str = include_str!("../openapi.yaml");

/// Example responses in `openapi.yaml`: one success example for each of the
/// 22 operations that return data (the three command listings have none),
/// the token endpoint's 400 (OAuth error), and the two shared responses in
/// `components/responses` (validation failure, failed delete).
const SPEC_EXAMPLES: usize = 22 + 1 + 2;

/// The documentation pages kept as fixtures, the schema their "Example
/// Response" is an instance of, and a phrase that identifies the page (so
/// that a renamed or swapped file is noticed).
const SEEDS: &[(&str, &str, &str)] = &[
    (
        "000_fd46731029083496.txt",
        "CoworkerTimePass",
        "Get one CoworkerTimePass",
    ),
    (
        "001_4906b6a46bfd0f1d.txt",
        "CoworkerTimePassPage",
        "have the CoworkerTimePass-List role",
    ),
    (
        "002_729010f75b8f495b.txt",
        "TimePassPage",
        "have the TimePass-List role",
    ),
    ("003_f19323b93ec32969.txt", "TimePass", "# Get one TimePass"),
    (
        "004_5967bc81ea2ee48c.txt",
        "ProductTimePass",
        "have the ProductTimePass-Read role",
    ),
];

/// One example to check: where it comes from, the schema it claims to be an
/// instance of (`[Name]` for an array of `Name`), and the JSON itself.
struct Example {
    origin: String,
    schema: String,
    value: Value,
}

fn seeds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds")
}

fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// The schema name of a media type: a `$ref`, or an inline array of `$ref`s.
fn schema_label<S: Borrow<Schema>>(s: &ReferenceOr<S>) -> String {
    match s {
        ReferenceOr::Reference { reference } => ref_name(reference).to_string(),
        ReferenceOr::Item(schema) => match &schema.borrow().schema_kind {
            SchemaKind::Type(Type::Array(a)) => {
                let items = a.items.as_ref().expect("an array schema without items");
                format!("[{}]", schema_label(items))
            }
            other => panic!("an example under an inline schema this test cannot map: {other:?}"),
        },
    }
}

fn media_examples(c: &Components, origin: &str, media: &MediaType, out: &mut Vec<Example>) {
    let schema = media
        .schema
        .as_ref()
        .map(schema_label)
        .unwrap_or_else(|| panic!("{origin}: examples without a schema"));
    if let Some(value) = &media.example {
        out.push(Example {
            origin: format!("{origin} (example)"),
            schema: schema.clone(),
            value: value.clone(),
        });
    }
    for (name, ex) in &media.examples {
        let ex = match ex {
            ReferenceOr::Item(ex) => ex,
            ReferenceOr::Reference { reference } => c
                .examples
                .get(ref_name(reference))
                .and_then(ReferenceOr::as_item)
                .unwrap_or_else(|| panic!("{origin}: dangling example reference {reference}")),
        };
        let value = ex.value.clone().unwrap_or_else(|| {
            panic!("{origin}: example `{name}` has no inline value (externalValue is not checked)")
        });
        out.push(Example {
            origin: format!("{origin} examples.{name}"),
            schema: schema.clone(),
            value,
        });
    }
}

fn response_examples(c: &Components, origin: &str, r: &Response, out: &mut Vec<Example>) {
    for (content_type, media) in &r.content {
        media_examples(c, &format!("{origin} {content_type}"), media, out);
    }
}

/// Every example in the spec: request bodies and inline responses of every
/// operation, and the shared responses in `components/responses` (counted
/// once there, not once per operation that refers to them).
fn spec_examples() -> Vec<Example> {
    let spec: OpenAPI = serde_yaml::from_str(SPEC).expect("openapi.yaml does not parse");
    let c = spec.components.as_ref().expect("no components");
    let mut out = Vec::new();
    for (path, method, op) in spec.operations() {
        let at = format!("{} {path}", method.to_uppercase());
        if let Some(ReferenceOr::Item(body)) = &op.request_body {
            for (content_type, media) in &body.content {
                media_examples(c, &format!("{at} request {content_type}"), media, &mut out);
            }
        }
        let responses = op
            .responses
            .responses
            .iter()
            .map(|(code, r)| (code.to_string(), r))
            .chain(op.responses.default.iter().map(|r| ("default".into(), r)));
        for (code, r) in responses {
            if let ReferenceOr::Item(r) = r {
                response_examples(c, &format!("{at} {code}"), r, &mut out);
            }
        }
    }
    for (name, r) in &c.responses {
        let r = r
            .as_item()
            .expect("a components/responses entry is a reference");
        response_examples(c, &format!("components/responses/{name}"), r, &mut out);
    }
    out
}

/// The JSON after a page's "Example Response" marker. The pages show it two
/// ways: a line "Example Response" followed by the JSON (rendered pages), or
/// a fence line ```` ```json Example Response theme={null} ```` (markdown
/// pages). In both the JSON starts at the first `{` or `[` on the lines after
/// the marker's line and is read as one value, ignoring what follows it.
fn seed_example(text: &str) -> Value {
    let marker = text
        .find("Example Response")
        .expect("no \"Example Response\" in the page");
    let line_end = text[marker..]
        .find('\n')
        .expect("nothing after \"Example Response\"");
    let rest = &text[marker + line_end..];
    let start = rest
        .find(['{', '['])
        .expect("no JSON after \"Example Response\"");
    let mut values = serde_json::Deserializer::from_str(&rest[start..]).into_iter::<Value>();
    values
        .next()
        .expect("nothing after the marker")
        .expect("the example after \"Example Response\" is not valid JSON")
}

fn seed_examples() -> Vec<Example> {
    let on_disk: BTreeSet<String> = fs::read_dir(seeds_dir())
        .expect("tests/fixtures/seeds is missing")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = SEEDS.iter().map(|(f, _, _)| f.to_string()).collect();
    assert_eq!(
        on_disk, listed,
        "every seed page must be mapped to a schema in SEEDS"
    );
    SEEDS
        .iter()
        .map(|(file, schema, phrase)| {
            let text = fs::read_to_string(seeds_dir().join(file)).unwrap();
            assert!(text.contains(phrase), "{file} is not the page SEEDS says");
            Example {
                origin: format!("seed {file}"),
                schema: schema.to_string(),
                value: seed_example(&text),
            }
        })
        .collect()
}

/// Decodes `value` as `T` and encodes it again.
fn roundtrip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let decoded: T = serde_json::from_value(value.clone()).map_err(|e| format!("decode: {e}"))?;
    serde_json::to_value(&decoded).map_err(|e| format!("encode: {e}"))
}

/// Schema name to generated type: `Name` decodes as `types::Name`, `[Name]`
/// as `Vec<types::Name>`.
macro_rules! roundtrip_as {
    ($schema:expr, $value:expr; $($name:ident),+ $(,)?) => {{
        let schema: &str = $schema;
        let (inner, array) = match schema.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(inner) => (inner, true),
            None => (schema, false),
        };
        match inner {
            $(stringify!($name) => if array {
                roundtrip::<Vec<types::$name>>($value)
            } else {
                roundtrip::<types::$name>($value)
            },)+
            other => panic!("no generated type mapped for schema `{other}`: add it to roundtrip_as!"),
        }
    }};
}

fn roundtrip_schema(schema: &str, value: &Value) -> Result<Value, String> {
    roundtrip_as!(schema, value;
        TimePass, TimePassListItem, TimePassPage, TimePassCreate, TimePassUpdate,
        CoworkerTimePass, CoworkerTimePassListItem, CoworkerTimePassPage,
        CoworkerTimePassCreate, CoworkerTimePassUpdate,
        ProductTimePass, ProductTimePassListItem, ProductTimePassPage,
        ProductTimePassCreate, ProductTimePassUpdate,
        MutationResult, FieldError, Command, RunCommandRequest,
        TokenRequest, TokenResponse, OAuthError,
    )
}

/// Removes every object key whose value is null, at every depth.
///
/// The generated types write an optional field that holds nothing as an
/// absent key (`skip_serializing_if`), or as `null` where the field is
/// required-but-nullable; the server sends `null`. Both mean "no value", so
/// the comparison treats a JSON `null` and an absent key as equal.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Numbers are compared by value: `0` sent for a `number` field comes back
/// as `0.0`, which is the same value.
fn same_number(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

/// Every difference between the original and the re-encoded value (both
/// without nulls), with its JSON path.
fn differences(path: &str, original: &Value, encoded: &Value, out: &mut Vec<String>) {
    match (original, encoded) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => differences(&format!("{path}.{k}"), v, w, out),
                    None => out.push(format!("{path}.{k}: lost (was {v})")),
                }
            }
            for (k, w) in b {
                if !a.contains_key(k) {
                    out.push(format!("{path}.{k}: added ({w})"));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{i}]"), v, w, out);
            }
        }
        (Value::Number(a), Value::Number(b)) if same_number(a, b) => {}
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: was {a}, came back as {b}")),
    }
}

/// Checks one example; returns what went wrong, if anything.
fn check(ex: &Example) -> Option<String> {
    let encoded = match roundtrip_schema(&ex.schema, &ex.value) {
        Ok(v) => v,
        Err(e) => return Some(format!("{} as {}: {e}", ex.origin, ex.schema)),
    };
    let mut diffs = Vec::new();
    differences(
        "$",
        &without_nulls(&ex.value),
        &without_nulls(&encoded),
        &mut diffs,
    );
    (!diffs.is_empty()).then(|| {
        format!(
            "{} as {}: the round trip changed it:\n  {}",
            ex.origin,
            ex.schema,
            diffs.join("\n  ")
        )
    })
}

fn check_all(examples: &[Example]) {
    let failures: Vec<String> = examples.iter().filter_map(check).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The comparison itself: nulls and absent keys are equal, numbers compare
/// by value, and a lost, added or changed value is reported.
#[test]
fn the_comparison_reports_lost_added_and_changed_values() {
    let diff = |a: Value, b: Value| {
        let mut out = Vec::new();
        differences("$", &without_nulls(&a), &without_nulls(&b), &mut out);
        out
    };
    assert!(diff(
        json!({ "A": 0, "B": null, "C": [{ "D": null, "E": 1.5 }] }),
        json!({ "A": 0.0, "C": [{ "E": 1.5 }] }),
    )
    .is_empty());
    assert_eq!(diff(json!({ "A": 1 }), json!({})), ["$.A: lost (was 1)"]);
    assert_eq!(diff(json!({}), json!({ "A": 1 })), ["$.A: added (1)"]);
    assert_eq!(
        diff(json!({ "A": [1, 2] }), json!({ "A": [1, 3] })),
        ["$.A[1]: was 2, came back as 3"]
    );
    assert_eq!(
        diff(json!({ "A": [1] }), json!({ "A": [] })),
        ["$.A: was [1], came back as []"]
    );
}

#[test]
fn every_spec_example_round_trips_through_its_generated_type() {
    let examples = spec_examples();
    assert_eq!(
        examples.len(),
        SPEC_EXAMPLES,
        "examples found: {:#?}",
        examples.iter().map(|e| &e.origin).collect::<Vec<_>>()
    );
    check_all(&examples);
}

#[test]
fn every_seed_example_round_trips_through_its_generated_type() {
    let examples = seed_examples();
    assert_eq!(examples.len(), SEEDS.len());
    check_all(&examples);
}

/// The envelopes the reference documents (§2.4, §2.5, §4.6) are all among
/// the spec's examples, and decode to what they say.
#[test]
fn the_spec_examples_include_every_documented_envelope() {
    let mut shapes = BTreeSet::new();
    for ex in spec_examples() {
        match ex.schema.as_str() {
            "MutationResult" => {
                let m: types::MutationResult = serde_json::from_value(ex.value).unwrap();
                let errors = m.errors.as_deref().unwrap_or_default();
                if m.was_successful {
                    assert!(errors.is_empty(), "{}: success with errors", ex.origin);
                    assert_eq!(m.status, Some(200), "{}", ex.origin);
                    shapes.insert("success envelope");
                } else if !errors.is_empty() {
                    // The reference's 400 example: no Status, Value null, one
                    // error naming the field.
                    assert_eq!(m.status, None, "{}", ex.origin);
                    assert!(m.value.as_ref().is_none_or(|v| v.is_none()));
                    assert_eq!(errors[0].property_name, "Name");
                    assert_eq!(errors[0].message, "is a required field");
                    assert!(errors[0]
                        .attempted_value
                        .as_ref()
                        .is_none_or(Value::is_null));
                    shapes.insert("validation failure");
                } else {
                    assert_eq!(m.status, Some(500), "{}", ex.origin);
                    assert!(m.value.as_ref().is_none_or(|v| v.is_none()));
                    shapes.insert("delete failure");
                }
            }
            "TokenResponse" => {
                let t: types::TokenResponse = serde_json::from_value(ex.value).unwrap();
                assert_eq!(t.token_type, "bearer");
                assert!(!t.access_token.is_empty());
                assert!(t.refresh_token.is_some());
                assert_eq!(t.expires_in, Some(604_799));
                shapes.insert("token response");
            }
            "OAuthError" => {
                let e: types::OAuthError = serde_json::from_value(ex.value).unwrap();
                assert_eq!(e.error, "invalid_grant");
                assert!(e.error_description.is_some());
                shapes.insert("oauth error");
            }
            _ => {}
        }
    }
    let expected: BTreeSet<&str> = [
        "success envelope",
        "validation failure",
        "delete failure",
        "token response",
        "oauth error",
    ]
    .into();
    assert_eq!(shapes, expected);
}

/// The docs' get-one ProductTimePass example, from the fixture.
fn product_time_pass_example() -> Value {
    let text = fs::read_to_string(seeds_dir().join("004_5967bc81ea2ee48c.txt")).unwrap();
    seed_example(&text)
}

#[test]
fn unknown_fields_and_undocumented_expiration_types_are_kept() {
    let mut v = product_time_pass_example();
    let obj = v.as_object_mut().unwrap();
    obj.insert("ExpirationType".into(), json!(0));
    obj.insert("BrandNewField".into(), json!({ "nested": [1, 2, 3] }));
    obj.insert("AnotherNewField".into(), json!("kept as sent"));

    let p: types::ProductTimePass = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(p.expiration_type, Some(ExpirationType::Other(0)));
    // Only the fields the spec does not list land in `extra`.
    assert_eq!(
        p.extra.keys().map(String::as_str).collect::<Vec<_>>(),
        ["AnotherNewField", "BrandNewField"]
    );
    assert_eq!(p.extra["BrandNewField"], json!({ "nested": [1, 2, 3] }));

    let back = serde_json::to_value(&p).unwrap();
    assert_eq!(back["ExpirationType"], json!(0));
    assert_eq!(back["BrandNewField"], json!({ "nested": [1, 2, 3] }));
    assert_eq!(back["AnotherNewField"], json!("kept as sent"));
    let mut diffs = Vec::new();
    differences("$", &without_nulls(&v), &without_nulls(&back), &mut diffs);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn documented_expiration_types_decode_to_their_names() {
    let mut v = product_time_pass_example();
    v["ExpirationType"] = json!(4);
    let p: types::ProductTimePass = serde_json::from_value(v).unwrap();
    assert_eq!(p.expiration_type, Some(ExpirationType::Month));
    assert_eq!(
        serde_json::to_value(&p).unwrap()["ExpirationType"],
        json!(4)
    );
}

#[test]
fn a_null_expiration_type_decodes_to_none_and_a_missing_one_is_refused() {
    let mut v = product_time_pass_example();
    v["ExpirationType"] = Value::Null;
    let p: types::ProductTimePass = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(p.expiration_type, None);
    assert!(p.extra.is_empty());
    // The docs write it in every record, null included; so does the client.
    assert_eq!(
        serde_json::to_value(&p).unwrap()["ExpirationType"],
        Value::Null
    );

    v.as_object_mut().unwrap().remove("ExpirationType");
    let missing = serde_json::from_value::<types::ProductTimePass>(v).unwrap_err();
    assert!(missing.to_string().contains("ExpirationType"), "{missing}");
}

#[test]
fn listing_records_keep_undocumented_expiration_types_too() {
    let mut record = product_time_pass_example();
    for omitted in ["ExpireTimeInMonths", "ExpireTimeInWeeks", "ExpiresIn"] {
        record.as_object_mut().unwrap().remove(omitted);
    }
    record["ExpirationType"] = json!(0);
    let item: types::ProductTimePassListItem = serde_json::from_value(record).unwrap();
    assert_eq!(item.expiration_type, Some(ExpirationType::Other(0)));
    assert!(item.extra.is_empty());
}
