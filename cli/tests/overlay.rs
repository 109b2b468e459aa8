//! Tests of `nexudus drift -o overlay` and `--apply`: against a stand-in
//! whose data carries undocumented fields, behind a proxy that sends one
//! declared field with another type, the overlay is valid Overlay 1.0
//! (checked by oas-patch, a separate implementation of the standard, pinned
//! in tools/requirements.txt), and applying it with oas-patch and with
//! `--apply` gives the same schemas; `--apply` changes nothing but the
//! properties and refuses, with the file untouched, what it cannot place.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::stand_in::StandIn;
use serde_json::Value;
use serde_yaml::Value as Yaml;
use tokio::process::Command;

use common::{start, venv_tool, BIN};

/// The project's spec, as the copies in these tests start.
const SPEC: &str = include_str!("../../openapi.yaml");

/// `nexudus drift ARGS` against `base` with the stand-in's account.
async fn drift(args: &[&str], base: &str, server: &StandIn) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("drift")
        .args(["--reads-per-minute", "0", "--base-url", base])
        .args(args)
        .env_remove("NEXUDUS_TOKEN")
        .env("NEXUDUS_EMAIL", server.email())
        .env("NEXUDUS_PASSWORD", server.password())
        .kill_on_drop(true);
    run(cmd).await
}

async fn run(mut cmd: Command) -> Output {
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the command finishes in time")
        .expect("the command runs")
}

/// The pinned oas-patch of the xtask's Python tools.
fn oas_patch() -> PathBuf {
    venv_tool("xtask-venv", "oas-patch", "cargo xtask lint")
}

/// A proxy in front of `upstream` that sends every CoworkerTimePass's
/// `CoworkerId` (an integer in the spec) as text: a type the API changed.
async fn retyping_proxy(upstream: &str) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    let state = Arc::new((reqwest::Client::new(), upstream.to_owned()));
    let app = axum::Router::new().fallback(forward).with_state(state);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), task)
}

async fn forward(
    State(state): State<Arc<(reqwest::Client, String)>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = state
        .0
        .request(parts.method.clone(), format!("{}{path}", state.1));
    for (name, value) in parts.headers.iter().filter(|(n, _)| *n != "host") {
        outgoing = outgoing.header(name, value);
    }
    let Ok(answer) = outgoing.body(body).send().await else {
        return http::StatusCode::BAD_GATEWAY.into_response();
    };
    let (status, mut headers) = (answer.status(), answer.headers().clone());
    let bytes = answer.bytes().await.unwrap_or_default().to_vec();
    let bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut json) if path.contains("coworkertimepasses") => {
            retype(&mut json);
            headers.remove(http::header::CONTENT_LENGTH);
            serde_json::to_vec(&json).unwrap_or(bytes)
        }
        _ => bytes,
    };
    (status, headers, bytes).into_response()
}

/// `CoworkerId` as text in a record, a list of them or a page.
fn retype(json: &mut Value) {
    match json {
        Value::Array(records) => records.iter_mut().for_each(retype),
        Value::Object(map) => {
            if let Some(records) = map.get_mut("Records") {
                retype(records);
            }
            if let Some(id) = map.get("CoworkerId").and_then(Value::as_i64) {
                map.insert("CoworkerId".into(), Value::String(id.to_string()));
            }
        }
        _ => {}
    }
}

/// The `components.schemas` of a YAML file.
fn schemas(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path).expect("a result");
    let doc: Yaml = serde_yaml::from_str(&text).expect("YAML");
    doc["components"]["schemas"].clone()
}

/// The stand-in (records 3 and 10 of each resource carry undocumented
/// fields) behind the retyping proxy.
async fn drifted() -> (StandIn, String, tokio::task::JoinHandle<()>) {
    let server = start(
        StandIn::builder()
            .records(Resource::TimePasses, 12)
            .records(Resource::CoworkerTimePasses, 12)
            .records(Resource::ProductTimePasses, 12),
    )
    .await;
    let (proxy, task) = retyping_proxy(server.base_url()).await;
    (server, proxy, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlay_tool_and_apply_make_the_same_spec() {
    let (server, proxy, _task) = drifted().await;
    let out = drift(&["-o", "overlay"], &proxy, &server).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    for value in ["legacy", "vip", "quoted"] {
        assert!(!text.contains(value), "a value was copied: {value}\n{text}");
    }
    assert!(
        text.contains("#   TimePassCreate.UndocumentedFlag"),
        "{text}"
    );

    let overlay: Value = serde_yaml::from_str(&text).expect("a YAML overlay");
    let actions = overlay["actions"].as_array().expect("actions");
    let update = |schema: &str| {
        let target = format!("$.components.schemas.{schema}.properties");
        let action = actions.iter().find(|a| a["target"] == target.as_str());
        action.map(|a| a["update"].clone()).unwrap_or_default()
    };
    assert_eq!(
        update("CoworkerTimePass")["CoworkerId"],
        serde_json::json!({"type": "string"})
    );
    assert_eq!(
        update("CoworkerTimePassListItem")["CoworkerId"]["type"],
        "string"
    );
    for schema in [
        "TimePass",
        "TimePassListItem",
        "ProductTimePass",
        "CoworkerTimePass",
    ] {
        assert_eq!(
            update(schema)["UndocumentedFlag"]["type"],
            "boolean",
            "{schema}"
        );
        assert_eq!(update(schema)["Integration"]["type"], "object", "{schema}");
    }
    let removal = "$.components.schemas.CoworkerTimePass.properties.CoworkerId.format";
    assert!(actions
        .iter()
        .any(|a| a["target"] == removal && a["remove"] == true));

    let dir = tempfile::tempdir().expect("a directory");
    let overlay_file = dir.path().join("drift.yaml");
    std::fs::write(&overlay_file, &text).expect("written");
    let mut validate = Command::new(oas_patch());
    validate.arg("validate").arg(&overlay_file);
    let validated = run(validate).await;
    assert!(
        validated.status.success(),
        "{}",
        String::from_utf8_lossy(&validated.stdout)
    );

    // The same overlay through oas-patch and through --apply.
    let (by_tool, by_apply) = (dir.path().join("tool.yaml"), dir.path().join("apply.yaml"));
    std::fs::write(&by_apply, SPEC).expect("a copy");
    let mut tool = Command::new(oas_patch());
    tool.arg("overlay")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml"));
    tool.arg(&overlay_file).arg("-o").arg(&by_tool);
    let applied = run(tool).await;
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let mut reviewed = Command::new(BIN);
    reviewed
        .args(["drift", "--apply"])
        .arg(&by_apply)
        .arg("--overlay")
        .arg(&overlay_file);
    let out = run(reviewed).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(schemas(&by_apply), schemas(&by_tool));

    // Only insertions and the retyped property's lines; every other line
    // of the spec is kept, in order.
    let edited = std::fs::read_to_string(&by_apply).expect("the result");
    let diff = similar::TextDiff::from_lines(SPEC, &edited);
    let (mut gone, mut added) = (Vec::new(), Vec::new());
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Delete => gone.push(change.value()),
            similar::ChangeTag::Insert => added.push(change.value()),
            similar::ChangeTag::Equal => {}
        }
    }
    // CoworkerId's type and format, in the full record and the listing.
    let retyped = ["          type: integer\n", "          format: int32\n"];
    assert_eq!(gone, retyped.repeat(2));
    assert!(added.contains(&"          type: string\n"), "{added:?}");
    assert!(added.iter().all(|l| l.starts_with("        ")), "{added:?}");

    // --apply reading the server proposes the same change.
    let live = dir.path().join("live.yaml");
    std::fs::write(&live, SPEC).expect("a copy");
    let live_arg = live.to_string_lossy().into_owned();
    let out = drift(&["--apply", &live_arg], &proxy, &server).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&live).expect("the result"), edited);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_cannot_be_placed_leaves_the_file_as_it_was() {
    let (server, proxy, _task) = drifted().await;
    let dir = tempfile::tempdir().expect("a directory");
    let spec = dir.path().join("spec.yaml");
    // The record schemas are missing: nowhere to put their fields.
    let text = "openapi: 3.0.3  # a comment\ncomponents:\n  schemas:\n    Other: {}\n";
    std::fs::write(&spec, text).expect("written");
    let spec_arg = spec.to_string_lossy().into_owned();
    let out = drift(&["--apply", &spec_arg], &proxy, &server).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no `components.schemas.CoworkerTimePass`"),
        "{stderr}"
    );
    assert!(stderr.contains("the file is unchanged"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&spec).expect("the file"), text);
    let leftovers = std::fs::read_dir(dir.path()).expect("a listing").count();
    assert_eq!(leftovers, 1, "no temporary file is left");

    // A reviewed overlay that is not one is a usage error too.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "openapi: 3.0.3\n").expect("written");
    let mut cmd = Command::new(BIN);
    cmd.args(["drift", "--apply"])
        .arg(&spec)
        .arg("--overlay")
        .arg(&bad);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an OpenAPI Overlay"));
    assert_eq!(std::fs::read_to_string(&spec).expect("the file"), text);
}

#[tokio::test]
async fn overlay_is_drifts_format_only() {
    let mut cmd = Command::new(BIN);
    cmd.args(["--demo", "timepasses", "list", "-o", "overlay"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the format of `nexudus drift`"), "{stderr}");
}
