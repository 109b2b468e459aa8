//! `cargo xtask schemathesis` (a step of `check`): Schemathesis (PyPI,
//! pinned in `tools/requirements.txt`) generates requests from openapi.yaml
//! and sends them to the stand-in (`nexudus serve`), with its default checks,
//! for at most `MAX_TIME` seconds on one worker and a fixed seed.
//!
//! One worker, not two: with two, Hypothesis parses lambda sources from
//! both threads at once, and CPython 3.11's `ast.parse` is not safe for that
//! (a CI run failed with "SystemError: AST constructor recursion depth
//! mismatch"). One worker in the same time budget sent 9,308 cases against
//! 9,719 and saw every baseline finding.
//!
//! Then, for `MAX_TIME_PRISM` seconds, schema-valid updates (PUT, check
//! `positive_data_acceptance`) go to Prism serving openapi.yaml, a server
//! that refuses exactly what the spec forbids: one it refuses means the
//! update bodies contradict themselves (a field the spec lets be null that
//! a validator cannot read as nullable, say). Against the stand-in these
//! findings stay in the baseline, because it also refuses Ids that name no
//! record.
//!
//! `tools/schemathesis.toml` holds its settings (a phase skipped where the
//! tool itself fails, with the reason). Findings that stay, each with its reason in the README's "Stand-in
//! server" section, are recorded in `tools/schemathesis-baseline.json`; any
//! other finding fails the step. To accept a new one after deciding it
//! stays, run with `XTASK_SCHEMATHESIS_UPDATE=1` and commit the file.

use crate::python::PythonTools;
use crate::workspace::Workspace;
use crate::{Result, contract, process, python, stand_in};

/// Time budget of one run, in seconds.
const MAX_TIME: &str = "150";
/// Time budget of the updates sent to Prism, in seconds.
const MAX_TIME_PRISM: &str = "30";

pub fn run(ws: &Workspace) -> Result {
    let tools = python::ensure(ws)?;
    let binary = stand_in::build(ws)?;
    let server = stand_in::Server::start(ws, &binary, &["--coworker-time-passes", "300"])?;
    let baseline = ws.tools().join("schemathesis-baseline.json");
    let auth = format!("{}:{}", stand_in::EMAIL, stand_in::PASSWORD);

    let mut st = tools.command("schemathesis");
    st.arg("--config-file")
        .arg(ws.tools().join("schemathesis.toml"))
        .arg("run")
        .arg(ws.spec())
        .args(["--url", &server.url, "--auth", &auth])
        .args(["--max-time", MAX_TIME, "--workers", "1", "--seed", "1"])
        .arg("--no-color")
        .arg("--baseline")
        .arg(&baseline)
        // No example database: each run starts from the seed alone.
        .args(["--generation-database", "none"])
        .current_dir(&ws.root);
    if std::env::var_os("XTASK_SCHEMATHESIS_UPDATE").is_some() {
        st.arg("--baseline-update");
    }
    let result = process::run(&mut st, &ws.root);
    drop(server);
    result.map_err(|e| {
        format!(
            "{e}\nSchemathesis found what tools/schemathesis-baseline.json does not list: \
             fix the stand-in or the spec, or record why it stays"
        )
    })?;
    valid_updates_against_prism(ws, &tools)
}

/// Schema-valid PUTs to Prism serving openapi.yaml must all be accepted.
fn valid_updates_against_prism(ws: &Workspace, tools: &PythonTools) -> Result {
    let (prism, url, log) = contract::serve(ws)?;
    let mut st = tools.command("schemathesis");
    st.arg("--config-file")
        .arg(ws.tools().join("schemathesis.toml"))
        .arg("run")
        .arg(ws.spec())
        .args(["--url", &url, "--auth", "contract:contract"])
        .args([
            "--include-method",
            "PUT",
            "--checks",
            "positive_data_acceptance",
        ])
        .args([
            "--max-time",
            MAX_TIME_PRISM,
            "--workers",
            "1",
            "--seed",
            "1",
        ])
        .args(["--no-color", "--generation-database", "none"])
        .current_dir(&ws.root);
    let result = process::run(&mut st, &ws.root);
    drop(prism);
    let _ = std::fs::remove_file(log);
    result.map_err(|e| {
        format!(
            "{e}\nPrism, serving openapi.yaml, refused a schema-valid update: the update \
             bodies allow what the spec elsewhere forbids"
        )
    })
}
