//! Cross-checks `openapi.yaml` against the Nexudus reference it was written
//! from, `nexudus-api/REFERENCE.md` in the shared directory beside the
//! repository (`../shared/` from the crate root). That file is not part of
//! the repository, so this test needs the `reference-check` feature, which
//! `cargo xtask reference` (a step of `cargo xtask check`) turns on when the
//! file is there and reports as skipped when it is not. The markdown tables are parsed as they stand, so a fact added to
//! the reference is checked without touching this file.
//!
//! Where the spec deliberately differs from the reference, the difference is
//! listed in a commented constant below and asserted to still be needed:
//! nothing is skipped silently.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::PathBuf,
};

use serde_json::Value;

const SPEC: &str = include_str!("../openapi.yaml");

fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/nexudus-api")
}

/// The reference text. Missing is a failure, never a skip: the checks below
/// are the only link between the contract and its sources.
fn reference() -> String {
    let path = shared_dir().join("REFERENCE.md");
    fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}\nWith the `reference-check` feature on, the Nexudus reference must sit \
             beside the repository at ../shared/nexudus-api/REFERENCE.md.",
            path.display()
        )
    })
}

fn spec() -> Value {
    serde_yaml::from_str(SPEC).expect("openapi.yaml does not parse")
}

// ---------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------

/// The text of the section whose heading starts with `heading` (for example
/// `### 6.1 ` or `## 7. `), up to the next heading of the same or a higher
/// level.
fn section<'a>(md: &'a str, heading: &str) -> &'a str {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let start = md
        .lines()
        .scan(0, |offset, line| {
            let here = *offset;
            *offset += line.len() + 1;
            Some((here, line))
        })
        .find(|(_, line)| line.starts_with(heading))
        .map(|(at, _)| at)
        .unwrap_or_else(|| panic!("REFERENCE.md has no heading starting `{heading}`"));
    let body = &md[start..];
    let mut offset = body.find('\n').map_or(body.len(), |n| n + 1);
    for line in body[offset..].lines() {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
            return &body[..offset];
        }
        offset += line.len() + 1;
    }
    body
}

/// The rows (cells trimmed) of the first table in `text`, without the header
/// row and the `|---|` row.
fn table(text: &str) -> Vec<Vec<String>> {
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with('|'))
        .take_while(|l| l.trim_start().starts_with('|'))
        .map(|l| {
            let l = l.trim();
            l[1..l.len() - 1]
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    assert!(rows.len() > 2, "no table found in:\n{text}");
    assert!(rows[1].iter().all(|c| c.starts_with("---")));
    rows[2..].to_vec()
}

/// The `code spans` of a piece of markdown.
fn ticks(s: &str) -> Vec<String> {
    s.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The one code span of a table cell that names a field or filter.
fn name_cell(cell: &str) -> String {
    let t = ticks(cell);
    assert_eq!(t.len(), 1, "expected one `name` in the cell `{cell}`");
    t[0].clone()
}

/// The line of `text` that starts with `prefix`.
fn line_starting<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting `{prefix}` in:\n{text}"))
}

/// A type as the reference writes it, reduced to what a schema can show:
/// `integer`, `string`, `number`, `boolean`, `integer[]`, `array`, `object`,
/// or `any` (the reference's "unknown").
fn doc_type(cell: &str) -> String {
    let word = cell
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default();
    match word {
        "integer" | "string" | "number" | "boolean" | "integer[]" | "array" | "object" => {
            word.to_string()
        }
        "unknown" => "any".into(),
        other => panic!("the reference type `{cell}` ({other}) is not one this test knows"),
    }
}

/// Whether a reference type cell says the value may be null.
fn doc_nullable(cell: &str) -> bool {
    cell.contains("or null")
}

// ---------------------------------------------------------------------------
// Spec
// ---------------------------------------------------------------------------

fn schema<'a>(spec: &'a Value, name: &str) -> &'a Value {
    let s = &spec["components"]["schemas"][name];
    assert!(s.is_object(), "components/schemas/{name} is missing");
    s
}

fn ref_target<'a>(spec: &'a Value, v: &'a Value) -> Option<&'a Value> {
    let r = v.get("$ref")?.as_str()?;
    let (kind, name) = r
        .strip_prefix("#/components/")?
        .split_once('/')
        .unwrap_or_else(|| panic!("odd reference {r}"));
    let target = &spec["components"][kind][name];
    assert!(target.is_object(), "dangling reference {r}");
    Some(target)
}

fn ref_name(v: &Value) -> Option<&str> {
    v.get("$ref")?.as_str()?.rsplit('/').next()
}

/// The type of a schema in the reference's terms, following a `$ref` only
/// when `follow_refs` (callers that do not follow must list the field as an
/// exception first).
fn spec_type(spec: &Value, s: &Value, follow_refs: bool) -> String {
    if let Some(target) = ref_target(spec, s) {
        assert!(
            follow_refs,
            "unexpected $ref {} (list it as an exception)",
            s["$ref"]
        );
        return spec_type(spec, target, true);
    }
    match s.get("type").and_then(Value::as_str) {
        None => "any".into(),
        Some("array") => {
            let items = ref_target(spec, &s["items"]).unwrap_or(&s["items"]);
            if items.get("type").and_then(Value::as_str) == Some("integer") {
                "integer[]".into()
            } else {
                "array".into()
            }
        }
        Some(t) => t.to_string(),
    }
}

fn spec_nullable(spec: &Value, s: &Value) -> bool {
    let target = ref_target(spec, s).unwrap_or(s);
    target.get("nullable").and_then(Value::as_bool) == Some(true)
}

fn properties<'a>(spec: &'a Value, schema_name: &str) -> &'a serde_json::Map<String, Value> {
    schema(spec, schema_name)["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{schema_name} has no properties"))
}

fn required(spec: &Value, schema_name: &str) -> BTreeSet<String> {
    schema(spec, schema_name)["required"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The query parameters of an operation, by name, with `$ref`s resolved.
fn query_parameters<'a>(spec: &'a Value, path: &str, method: &str) -> BTreeMap<String, &'a Value> {
    let op = &spec["paths"][path][method];
    assert!(op.is_object(), "no {method} {path} in the spec");
    op["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path} has no parameters"))
        .iter()
        .map(|p| ref_target(spec, p).unwrap_or(p))
        .filter(|p| p["in"] == "query")
        .map(|p| (p["name"].as_str().unwrap().to_string(), p))
        .collect()
}

// ---------------------------------------------------------------------------
// The three resources
// ---------------------------------------------------------------------------

struct Resource {
    /// Section number in REFERENCE.md.
    section: &'static str,
    /// Heading of its list-filter table (§8 has two more subsections first).
    filters: &'static str,
    /// Entity name, the prefix of its filters.
    entity: &'static str,
    path: &'static str,
    /// Schema of the full record (get one, batch get).
    full: &'static str,
    /// Schema of a listing record.
    list_item: &'static str,
    create: &'static str,
    update: &'static str,
}

const RESOURCES: &[Resource] = &[
    Resource {
        section: "6",
        filters: "### 6.4 ",
        entity: "TimePass",
        path: "/api/billing/timepasses",
        full: "TimePass",
        list_item: "TimePassListItem",
        create: "TimePassCreate",
        update: "TimePassUpdate",
    },
    Resource {
        section: "7",
        filters: "### 7.4 ",
        entity: "CoworkerTimePass",
        path: "/api/billing/coworkertimepasses",
        full: "CoworkerTimePass",
        list_item: "CoworkerTimePassListItem",
        create: "CoworkerTimePassCreate",
        update: "CoworkerTimePassUpdate",
    },
    Resource {
        section: "8",
        filters: "### 8.5 ",
        entity: "ProductTimePass",
        path: "/api/billing/producttimepasses",
        full: "ProductTimePass",
        list_item: "ProductTimePassListItem",
        create: "ProductTimePassCreate",
        update: "ProductTimePassUpdate",
    },
];

/// Record fields the spec types through a `$ref` to a shared schema rather
/// than inline: (schema, field, referenced schema). The referenced schema
/// must still have the documented type. `ExpirationType` is a `$ref` so that
/// build.rs can replace it with the handwritten `crate::ExpirationType`,
/// which keeps values outside the documented enum (the docs show `0`).
const REF_FIELDS: &[(&str, &str, &str)] = &[
    ("ProductTimePass", "ExpirationType", "ExpirationType"),
    (
        "ProductTimePassListItem",
        "ExpirationType",
        "ExpirationType",
    ),
    ("ProductTimePassCreate", "ExpirationType", "ExpirationType"),
    ("ProductTimePassUpdate", "ExpirationType", "ExpirationType"),
];

/// Range filters the reference expects only "by pattern" and marks [NF]
/// (§8.5: cut off in the stored copy of the page). The spec leaves them out on
/// purpose: a filter the server does not know is ignored, which would
/// silently widen a listing. The test asserts they are indeed absent, and
/// still mentioned by the reference.
const RANGE_FILTERS_LEFT_OUT: &[&str] = &[
    "ProductTimePass_ExpireTimeInMonths",
    "ProductTimePass_ExpireTimeInWeeks",
    "ProductTimePass_ExpiresIn",
];

/// Body fields the spec accepts although the reference's POST/PUT body
/// tables do not list them. `SystemId` is a common field that §4.8 calls
/// "only visible/settable via the API": the API is how it is set.
const BODY_EXTRAS: &[&str] = &["SystemId"];

/// Fields the reference types as unknown (null in every example) that the
/// spec types as nullable objects: `nullable` needs a `type` beside it for
/// other languages' generators to read it, and an object is what such
/// fields hold elsewhere in the API. Only that difference is allowed.
const TYPED_WHERE_UNKNOWN: &[&str] = &["LocalizationDetails", "CustomFields"];

/// Code spans of a range-filter line that are not filter names.
const RANGE_LINE_NOISE: &[&str] = &["from_", "to_", "YYYY-MM-DDTHH:mm"];

/// The documented record fields of a resource, in order: the rows of
/// `### N.1`, with the row "common fields" expanded to the rows of §4.8.
/// Each is (field, type cell, "nullable in examples" cell if any).
fn record_fields(md: &str, section: &str) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for row in table(self::section(md, &format!("### {section}.1 "))) {
        if row[0] == "common fields" {
            for common in table(self::section(md, "### 4.8 ")) {
                out.push((name_cell(&common[0]), common[1].clone(), None));
            }
        } else {
            out.push((name_cell(&row[0]), row[1].clone(), Some(row[2].clone())));
        }
    }
    out
}

fn check_field(
    spec: &Value,
    schema_name: &str,
    field: &str,
    doc: &str,
    problems: &mut Vec<String>,
) {
    let Some(prop) = properties(spec, schema_name).get(field) else {
        problems.push(format!("{schema_name}.{field}: missing"));
        return;
    };
    let is_ref = prop.get("$ref").is_some();
    let listed = REF_FIELDS
        .iter()
        .find(|(s, f, _)| *s == schema_name && *f == field);
    match (is_ref, listed) {
        (true, Some((_, _, target))) => assert_eq!(
            ref_name(prop),
            Some(*target),
            "{schema_name}.{field}: REF_FIELDS names another schema"
        ),
        (true, None) => {
            problems.push(format!(
                "{schema_name}.{field}: a $ref ({}) not listed in REF_FIELDS",
                prop["$ref"]
            ));
            return;
        }
        (false, Some(_)) => problems.push(format!(
            "{schema_name}.{field}: listed in REF_FIELDS but no longer a $ref"
        )),
        (false, None) => {}
    }
    let want = doc_type(doc);
    let got = spec_type(spec, prop, true);
    let typed_on_purpose = TYPED_WHERE_UNKNOWN.contains(&field) && want == "any" && got == "object";
    if want != got && !typed_on_purpose {
        problems.push(format!(
            "{schema_name}.{field}: documented `{doc}`, spec has {got}"
        ));
    }
}

#[test]
fn documented_record_fields_exist_with_their_types() {
    let md = reference();
    let spec = spec();
    let mut problems = Vec::new();
    for r in RESOURCES {
        let fields = record_fields(&md, r.section);
        let documented: BTreeSet<&str> = fields.iter().map(|(f, _, _)| f.as_str()).collect();
        for (field, ty, nullable) in &fields {
            check_field(&spec, r.full, field, ty, &mut problems);
            // "Nullable in examples: yes" means the server sends null: the
            // schema must allow it. ("no" is not checked: the spec may be
            // more lenient than the examples.)
            if nullable.as_deref() == Some("yes") {
                let prop = &properties(&spec, r.full)[field.as_str()];
                if !spec_nullable(&spec, prop) {
                    problems.push(format!(
                        "{}.{field}: null in the docs' examples, not nullable in the spec",
                        r.full
                    ));
                }
            }
        }
        // And the other way: the full record has no field the reference does
        // not know.
        for field in properties(&spec, r.full).keys() {
            if !documented.contains(field.as_str()) {
                problems.push(format!("{}.{field}: not in the reference", r.full));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn listing_records_lack_exactly_the_omitted_fields() {
    let md = reference();
    let spec = spec();
    for r in RESOURCES {
        let text = section(&md, &format!("## {}. ", r.section));
        let line = line_starting(text, "Fields **omitted from list records**:");
        let omitted: BTreeSet<String> = ticks(line).into_iter().collect();
        assert!(!omitted.is_empty(), "{line}");

        let full = properties(&spec, r.full);
        let item = properties(&spec, r.list_item);
        let full_keys: BTreeSet<String> = full.keys().cloned().collect();
        let item_keys: BTreeSet<String> = item.keys().cloned().collect();
        assert!(
            item_keys.is_subset(&full_keys),
            "{} has fields {} lacks: {:?}",
            r.list_item,
            r.full,
            item_keys.difference(&full_keys).collect::<Vec<_>>()
        );
        let missing: BTreeSet<String> = full_keys.difference(&item_keys).cloned().collect();
        assert_eq!(
            missing, omitted,
            "{} should lack exactly the fields §{} omits from listings",
            r.list_item, r.section
        );
        // What both have, they describe the same way.
        for (k, v) in item {
            assert_eq!(
                v, &full[k],
                "{}.{k} differs from {}.{k}",
                r.list_item, r.full
            );
        }
        // Required fields of the full record stay required in the listing.
        let want: BTreeSet<String> = required(&spec, r.full)
            .difference(&omitted)
            .cloned()
            .collect();
        assert_eq!(
            required(&spec, r.list_item),
            want,
            "{} required",
            r.list_item
        );
    }
}

#[test]
fn documented_filters_exist_with_their_types() {
    let md = reference();
    let spec = spec();
    let mut problems = Vec::new();
    for r in RESOURCES {
        let heading = r.filters;
        let params = query_parameters(&spec, r.path, "get");
        let rows = table(section(&md, heading));
        assert!(rows.len() >= 9, "{heading}: only {} filters", rows.len());
        for row in rows {
            let name = name_cell(&row[0]);
            assert!(name.starts_with(&format!("{}_", r.entity)), "{name}");
            match params.get(&name) {
                None => problems.push(format!("GET {}: no filter {name}", r.path)),
                Some(p) => {
                    let want = doc_type(&row[1]);
                    let got = spec_type(&spec, &p["schema"], false);
                    if want != got {
                        problems.push(format!("{name}: documented `{}`, spec has {got}", row[1]));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn documented_range_filters_exist_as_from_to_pairs() {
    let md = reference();
    let spec = spec();
    let mut problems = Vec::new();
    let mut left_out_seen = BTreeSet::new();
    for r in RESOURCES {
        let text = section(&md, &format!("## {}. ", r.section));
        let line = line_starting(text, "Range filters");
        let prefix = format!("{}_", r.entity);
        let names: Vec<String> = ticks(line)
            .into_iter()
            .filter(|t| !RANGE_LINE_NOISE.contains(&t.as_str()))
            .map(|t| {
                let t = t.strip_prefix("from_/to_").unwrap_or(&t).to_string();
                if t.starts_with(&prefix) {
                    t
                } else {
                    // §8.5 lists bare property names "expected by pattern".
                    assert!(
                        t.chars().all(|c| c.is_ascii_alphanumeric())
                            && t.starts_with(|c: char| c.is_ascii_uppercase()),
                        "`{t}` in `{line}` is neither a filter nor a property name"
                    );
                    format!("{prefix}{t}")
                }
            })
            .collect();
        assert!(!names.is_empty(), "{line}");

        let fields: BTreeMap<String, String> = record_fields(&md, r.section)
            .into_iter()
            .map(|(f, t, _)| (f, t))
            .collect();
        let params = query_parameters(&spec, r.path, "get");
        for name in names {
            let (from, to) = (format!("from_{name}"), format!("to_{name}"));
            if RANGE_FILTERS_LEFT_OUT.contains(&name.as_str()) {
                left_out_seen.insert(name.clone());
                for p in [&from, &to] {
                    if params.contains_key(p) {
                        problems.push(format!(
                            "{p} is in the spec now: remove {name} from RANGE_FILTERS_LEFT_OUT"
                        ));
                    }
                }
                continue;
            }
            let property = &name[prefix.len()..];
            let field_type = fields.get(property).unwrap_or_else(|| {
                panic!("range filter {name}: {property} is not a documented record field")
            });
            for p in [&from, &to] {
                let Some(param) = params.get(p) else {
                    problems.push(format!("GET {}: no range filter {p}", r.path));
                    continue;
                };
                let s = &param["schema"];
                if field_type.contains("date") {
                    // Dates are filtered as YYYY-MM-DDTHH:mm (§4.4), which the
                    // spec names once as the FilterDateTime schema.
                    if ref_name(s) != Some("FilterDateTime") {
                        problems.push(format!(
                            "{p}: a date range filter should $ref FilterDateTime"
                        ));
                    }
                } else {
                    let want = doc_type(field_type);
                    let got = spec_type(&spec, s, false);
                    if want != got {
                        problems.push(format!("{p}: the field is `{field_type}`, spec has {got}"));
                    }
                }
            }
        }
    }
    let listed: BTreeSet<String> = RANGE_FILTERS_LEFT_OUT
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        left_out_seen, listed,
        "RANGE_FILTERS_LEFT_OUT names filters the reference no longer mentions"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn create_and_update_bodies_match_the_documented_fields() {
    let md = reference();
    let spec = spec();
    let mut problems = Vec::new();
    for r in RESOURCES {
        // §N.2: one row, required fields | optional fields.
        let row = &table(section(&md, &format!("### {}.2 ", r.section)))[0];
        let post_required: BTreeSet<String> = ticks(&row[0]).into_iter().collect();
        let post_optional: BTreeSet<String> = ticks(&row[1]).into_iter().collect();
        // §N.3: "Required: `Id`, ... Optional: same as POST [plus `X`, ...]".
        let text = section(&md, &format!("### {}.3 ", r.section));
        let line = line_starting(text, "Required:");
        let (req, opt) = line.split_once("Optional:").expect("no Optional: in §N.3");
        let put_required: BTreeSet<String> = ticks(req).into_iter().collect();
        let mut put_optional: BTreeSet<String> = ticks(opt).into_iter().collect();
        put_optional.extend(post_optional.iter().cloned());

        let record: BTreeMap<String, String> = record_fields(&md, r.section)
            .into_iter()
            .map(|(f, t, _)| (f, t))
            .collect();
        for (schema_name, want_required, optional) in [
            (r.create, &post_required, &post_optional),
            (r.update, &put_required, &put_optional),
        ] {
            assert_eq!(
                &required(&spec, schema_name),
                want_required,
                "{schema_name}: required fields"
            );
            let documented: BTreeSet<&String> = want_required.iter().chain(optional).collect();
            let props = properties(&spec, schema_name);
            for f in &documented {
                if !props.contains_key(f.as_str()) {
                    problems.push(format!("{schema_name}.{f}: documented, missing"));
                }
            }
            for (f, _) in props {
                if !documented.contains(f) && !BODY_EXTRAS.contains(&f.as_str()) {
                    problems.push(format!("{schema_name}.{f}: not a documented body field"));
                }
                // A body field that is also a record field has the record's type.
                if let Some(t) = record.get(f) {
                    check_field(&spec, schema_name, f, t, &mut problems);
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------

/// Checks a `| Field | Type | ...` table against a schema: every field
/// exists with the documented type, and "or null" types are nullable. `$ref`
/// properties (envelope parts such as `Value`) are followed. `exceptions`
/// lists (field, spec type, why) where the spec's type deliberately differs.
fn check_shape(
    spec: &Value,
    rows: &[Vec<String>],
    schema_name: &str,
    exceptions: &[(&str, &str, &str)],
) -> Vec<String> {
    let props = properties(spec, schema_name);
    let mut problems = Vec::new();
    for row in rows {
        let field = name_cell(&row[0]);
        let Some(prop) = props.get(&field) else {
            problems.push(format!("{schema_name}.{field}: missing"));
            continue;
        };
        let got = spec_type(spec, prop, true);
        let want = match exceptions.iter().find(|(f, _, _)| *f == field) {
            Some((_, t, _)) => t.to_string(),
            None => doc_type(&row[1]),
        };
        if got != want {
            problems.push(format!(
                "{schema_name}.{field}: documented `{}`, spec has {got}",
                row[1]
            ));
        }
        if doc_nullable(&row[1]) && !spec_nullable(spec, prop) {
            problems.push(format!(
                "{schema_name}.{field}: documented `{}`, not nullable",
                row[1]
            ));
        }
    }
    problems
}

#[test]
fn envelopes_match_the_reference() {
    let md = reference();
    let spec = spec();
    let mut problems = Vec::new();

    // §4.2, for the page of each resource.
    let rows = table(section(&md, "### 4.2 "));
    for page in [
        "TimePassPage",
        "CoworkerTimePassPage",
        "ProductTimePassPage",
    ] {
        problems.extend(check_shape(&spec, &rows, page, &[]));
    }

    // §4.6: the success table (the first one); the validation-failure table
    // after it documents the same envelope with other values.
    let rows = table(section(&md, "### 4.6 "));
    problems.extend(check_shape(&spec, &rows, "MutationResult", &[]));

    // §4.7: command descriptor, then run-command body.
    let commands = section(&md, "### 4.7 ");
    problems.extend(check_shape(&spec, &table(commands), "Command", &[]));
    let body = &commands[commands
        .find("Run-command body")
        .expect("no run-command body")..];
    let body_rows = table(body);
    problems.extend(check_shape(&spec, &body_rows, "RunCommandRequest", &[]));
    let body_required: BTreeSet<String> = body_rows
        .iter()
        .filter(|row| row[2] == "yes")
        .map(|row| name_cell(&row[0]))
        .collect();
    assert_eq!(required(&spec, "RunCommandRequest"), body_required);

    // §2.4: token response.
    problems.extend(check_shape(
        &spec,
        &table(section(&md, "### 2.4 ")),
        "TokenResponse",
        // The reference says "number (seconds)"; every documented value is a
        // whole number of seconds and OAuth servers send integers, so the spec
        // narrows it to an integer (decoded as i64).
        &[("expires_in", "integer", "whole seconds in every example")],
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn oauth_error_codes_are_described() {
    let md = reference();
    let spec = spec();
    let description = properties(&spec, "OAuthError")["error"]["description"]
        .as_str()
        .expect("OAuthError.error has no description");
    for row in table(section(&md, "### 2.5 ")) {
        let code = name_cell(&row[0]);
        assert!(
            description.contains(&code),
            "OAuthError.error does not mention {code}"
        );
    }
}

#[test]
fn paging_parameters_match_the_reference() {
    let md = reference();
    let spec = spec();
    let rows = table(section(&md, "### 4.3 "));
    for r in RESOURCES {
        let params = query_parameters(&spec, r.path, "get");
        for row in &rows {
            let name = name_cell(&row[0]);
            let p = params
                .get(&name)
                .unwrap_or_else(|| panic!("GET {}: no {name}", r.path));
            // `dir` is a $ref to SortDirection, whose values the spec chose
            // among the documented ones (1/-1, see the parameter's description).
            assert_eq!(
                spec_type(&spec, &p["schema"], name == "dir"),
                doc_type(&row[1]),
                "{name}"
            );
            let default = row[2].trim_matches('`');
            if let Ok(n) = default.parse::<i64>() {
                assert_eq!(p["schema"]["default"], n, "{name} default");
            }
        }
    }
    let dir = schema(&spec, "SortDirection");
    assert_eq!(dir["enum"], serde_json::json!([1, -1]));
}

#[test]
fn the_operations_are_the_documented_endpoints() {
    let md = reference();
    let spec = spec();
    let mut documented = BTreeSet::new();
    for row in table(section(&md, "## 5. ")) {
        for cell in &row[1..] {
            let t = ticks(cell);
            assert_eq!(t.len(), 1, "endpoint cell `{cell}`");
            let (method, path) = t[0].split_once(' ').unwrap();
            // Batch get is documented as `/?id=[..]`: the path keeps the
            // slash, the Ids are the `id` query parameter.
            let path = path.split('?').next().unwrap();
            documented.insert((method.to_lowercase(), path.to_string()));
        }
    }
    // §2.2: the token endpoint.
    let token = section(&md, "### 2.2 ");
    assert!(token.contains("`POST https://spaces.nexudus.com/api/token`"));
    documented.insert(("post".into(), "/api/token".into()));

    let mut in_spec = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some() {
                in_spec.insert((method.to_string(), path.clone()));
            }
        }
    }
    assert_eq!(in_spec, documented);
}

#[test]
fn seed_fixtures_are_unchanged_copies() {
    let originals = shared_dir().join("seeds");
    let copies = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seeds");
    let names = |dir: &PathBuf| -> BTreeSet<String> {
        fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(&copies), names(&originals));
    for name in names(&originals) {
        assert!(
            fs::read(originals.join(&name)).unwrap() == fs::read(copies.join(&name)).unwrap(),
            "tests/fixtures/seeds/{name} differs from the original"
        );
    }
}
