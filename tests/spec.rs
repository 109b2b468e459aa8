//! Checks on `openapi.yaml` as a document: it parses as OpenAPI 3.0, has the
//! operations the crate covers, and describes everything a reader of the
//! contract (or another language's generator) needs.
//!
//! Facts checked against the Nexudus reference itself live in
//! `tests/reference.rs`; these are the document's own rules.

use std::collections::BTreeSet;

use openapiv3::{
    Components, OpenAPI, Parameter, ReferenceOr, Response, Schema, SchemaKind, SecurityScheme,
    StatusCode, Type,
};

const SPEC: &str = include_str!("../openapi.yaml");

/// Operations in the contract: 8 per resource (list, get one, batch get,
/// create, update, delete, list commands, run command) times three, plus
/// the token endpoint.
const OPERATIONS: usize = 25;

fn spec() -> OpenAPI {
    serde_yaml::from_str(SPEC).expect("openapi.yaml is not a valid OpenAPI 3.0 document")
}

fn components(spec: &OpenAPI) -> &Components {
    spec.components
        .as_ref()
        .expect("openapi.yaml has no components")
}

/// The name after the last `/` of a `$ref`.
fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

fn resolve_parameter<'a>(c: &'a Components, p: &'a ReferenceOr<Parameter>) -> &'a Parameter {
    match p {
        ReferenceOr::Item(p) => p,
        ReferenceOr::Reference { reference } => c
            .parameters
            .get(ref_name(reference))
            .and_then(ReferenceOr::as_item)
            .unwrap_or_else(|| panic!("dangling parameter reference {reference}")),
    }
}

fn resolve_response<'a>(c: &'a Components, r: &'a ReferenceOr<Response>) -> &'a Response {
    match r {
        ReferenceOr::Item(r) => r,
        ReferenceOr::Reference { reference } => c
            .responses
            .get(ref_name(reference))
            .and_then(ReferenceOr::as_item)
            .unwrap_or_else(|| panic!("dangling response reference {reference}")),
    }
}

fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn non_empty(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.trim().is_empty())
}

#[test]
fn parses_as_openapi_3_0() {
    let spec = spec();
    assert!(
        spec.openapi.starts_with("3.0."),
        "progenitor reads OpenAPI 3.0.x only; the document says {}",
        spec.openapi
    );
    assert!(!spec.info.title.is_empty());
    assert!(non_empty(&spec.info.description));
}

#[test]
fn has_exactly_the_expected_number_of_operations() {
    let spec = spec();
    let ops: Vec<_> = spec.operations().collect();
    assert_eq!(
        ops.len(),
        OPERATIONS,
        "operations: {:#?}",
        ops.iter()
            .map(|(path, method, _)| format!("{method} {path}"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn operation_ids_are_present_unique_and_snake_case() {
    let spec = spec();
    let mut seen = BTreeSet::new();
    for (path, method, op) in spec.operations() {
        let id = op
            .operation_id
            .as_deref()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(
            is_snake_case(id),
            "{method} {path}: `{id}` is not snake_case"
        );
        assert!(seen.insert(id), "operationId `{id}` is used twice");
    }
    assert_eq!(seen.len(), OPERATIONS);
}

#[test]
fn every_operation_has_a_summary_and_a_description() {
    let spec = spec();
    for (path, method, op) in spec.operations() {
        assert!(non_empty(&op.summary), "{method} {path} has no summary");
        assert!(
            non_empty(&op.description),
            "{method} {path} has no description"
        );
    }
}

#[test]
fn every_operation_has_exactly_one_json_success_response() {
    let spec = spec();
    let c = components(&spec);
    for (path, method, op) in spec.operations() {
        let successes: Vec<_> = op
            .responses
            .responses
            .iter()
            .filter(|(code, _)| match code {
                StatusCode::Code(n) => (200..300).contains(n),
                StatusCode::Range(n) => *n == 2,
            })
            .collect();
        assert_eq!(
            successes.len(),
            1,
            "{method} {path}: progenitor needs exactly one success response, found {}",
            successes.len()
        );
        let (code, response) = successes[0];
        let response = resolve_response(c, response);
        assert!(
            !response.description.trim().is_empty(),
            "{method} {path} {code}: the response has no description"
        );
        let media = response.content.get("application/json").unwrap_or_else(|| {
            panic!("{method} {path} {code}: the success response is not application/json")
        });
        assert!(
            media.schema.is_some(),
            "{method} {path} {code}: the success response has no schema"
        );
    }
}

#[test]
fn every_parameter_has_a_description() {
    let spec = spec();
    let c = components(&spec);
    let mut checked = 0;
    for (name, p) in &c.parameters {
        let p = p
            .as_item()
            .unwrap_or_else(|| panic!("components/parameters/{name} is itself a reference"));
        assert!(
            non_empty(&p.parameter_data_ref().description),
            "components/parameters/{name} has no description"
        );
        checked += 1;
    }
    for (path, item) in spec.paths.iter() {
        let item = item
            .as_item()
            .unwrap_or_else(|| panic!("{path} is a reference"));
        let shared = item
            .parameters
            .iter()
            .map(|p| (String::from("(path item)"), p));
        let per_op = item
            .iter()
            .flat_map(|(method, op)| op.parameters.iter().map(move |p| (method.to_string(), p)));
        for (method, p) in shared.chain(per_op) {
            let data = resolve_parameter(c, p).parameter_data_ref();
            assert!(
                non_empty(&data.description),
                "{method} {path}: parameter `{}` has no description",
                data.name
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} parameters were checked");
}

/// Walks a schema and reports every property without a description. A
/// property given as a bare `$ref` cannot carry its own description in
/// OpenAPI 3.0 (siblings of `$ref` are ignored), so the schema it points to
/// must have one instead.
fn undescribed_properties(c: &Components, at: &str, schema: &Schema, out: &mut Vec<String>) {
    let nested = |at: String, s: &ReferenceOr<Schema>, out: &mut Vec<String>| {
        if let ReferenceOr::Item(s) = s {
            undescribed_properties(c, &at, s, out);
        }
    };
    let property = |at: String, p: &ReferenceOr<Box<Schema>>, out: &mut Vec<String>| match p {
        ReferenceOr::Reference { reference } => {
            let target = c
                .schemas
                .get(ref_name(reference))
                .and_then(ReferenceOr::as_item);
            match target {
                Some(t) if non_empty(&t.schema_data.description) => {}
                Some(_) => out.push(format!("{at} (via {reference}, which has none)")),
                None => out.push(format!("{at}: dangling reference {reference}")),
            }
        }
        ReferenceOr::Item(p) => {
            if !non_empty(&p.schema_data.description) {
                out.push(at.clone());
            }
            undescribed_properties(c, &at, p, out);
        }
    };
    match &schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => {
            for (name, p) in &o.properties {
                property(format!("{at}.{name}"), p, out);
            }
        }
        SchemaKind::Type(Type::Array(a)) => {
            if let Some(ReferenceOr::Item(items)) = &a.items {
                undescribed_properties(c, &format!("{at}[]"), items, out);
            }
        }
        SchemaKind::OneOf { one_of: v }
        | SchemaKind::AllOf { all_of: v }
        | SchemaKind::AnyOf { any_of: v } => {
            for (i, s) in v.iter().enumerate() {
                nested(format!("{at}/{i}"), s, out);
            }
        }
        SchemaKind::Not { not } => nested(format!("{at}/not"), not, out),
        SchemaKind::Any(any) => {
            for (name, p) in &any.properties {
                property(format!("{at}.{name}"), p, out);
            }
            if let Some(ReferenceOr::Item(items)) = &any.items {
                undescribed_properties(c, &format!("{at}[]"), items, out);
            }
            for (i, s) in any
                .one_of
                .iter()
                .chain(&any.all_of)
                .chain(&any.any_of)
                .enumerate()
            {
                nested(format!("{at}/{i}"), s, out);
            }
        }
        SchemaKind::Type(_) => {}
    }
}

#[test]
fn every_schema_property_has_a_description() {
    let spec = spec();
    let c = components(&spec);
    let mut missing = Vec::new();
    for (name, s) in &c.schemas {
        let s = s
            .as_item()
            .unwrap_or_else(|| panic!("components/schemas/{name} is itself a reference"));
        assert!(
            non_empty(&s.schema_data.description),
            "components/schemas/{name} has no description"
        );
        undescribed_properties(c, name, s, &mut missing);
    }
    // Inline schemas of operations (parameters, bodies, responses).
    for (path, method, op) in spec.operations() {
        let at = format!("{method} {path}");
        let bodies = op
            .request_body
            .iter()
            .filter_map(ReferenceOr::as_item)
            .flat_map(|b| b.content.values());
        let responses = op
            .responses
            .responses
            .values()
            .filter_map(ReferenceOr::as_item)
            .flat_map(|r| r.content.values());
        for media in bodies.chain(responses) {
            if let Some(ReferenceOr::Item(s)) = &media.schema {
                undescribed_properties(c, &at, s, &mut missing);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "properties without a description:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_server_is_spaces_nexudus_com() {
    let spec = spec();
    let urls: Vec<_> = spec.servers.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(urls, ["https://spaces.nexudus.com"]);
}

#[test]
fn bearer_and_basic_auth_apply_to_every_operation_but_the_token_endpoint() {
    let spec = spec();
    let c = components(&spec);
    let scheme = |name: &str| match c.security_schemes.get(name) {
        Some(ReferenceOr::Item(SecurityScheme::HTTP { scheme, .. })) => scheme.to_lowercase(),
        other => panic!("security scheme {name} is missing or not http: {other:?}"),
    };
    assert_eq!(scheme("bearerAuth"), "bearer");
    assert_eq!(scheme("basicAuth"), "basic");

    // Requirements are alternatives: either scheme is enough.
    let names = |reqs: &[openapiv3::SecurityRequirement]| -> BTreeSet<String> {
        reqs.iter()
            .flat_map(|r| r.keys().cloned())
            .collect::<BTreeSet<_>>()
    };
    let both: BTreeSet<String> = ["basicAuth".into(), "bearerAuth".into()].into();
    let global = spec
        .security
        .as_deref()
        .expect("no document-level security");
    assert_eq!(names(global), both, "document-level security");
    assert!(
        global.iter().all(|r| r.len() == 1),
        "each requirement should name one scheme (alternatives, not both at once)"
    );

    let mut token_ops = 0;
    for (path, method, op) in spec.operations() {
        if (path, method) == ("/api/token", "post") {
            token_ops += 1;
            assert_eq!(
                op.security.as_deref(),
                Some(&[][..]),
                "POST /api/token must declare `security: []`"
            );
            continue;
        }
        match op.security.as_deref() {
            None => {} // inherits the document-level requirement
            Some(reqs) => assert_eq!(names(reqs), both, "{method} {path} overrides security"),
        }
    }
    assert_eq!(token_ops, 1, "POST /api/token is missing");
}
