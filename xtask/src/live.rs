//! Part of `cargo xtask contract`: the other languages' clients against the
//! stand-in. `nexudus serve --coworker-time-passes 2000 --read-limit 20
//! --fail-every 10` runs on a free port; the TypeScript program
//! `tools/reuse/list-all.ts` (typed by openapi-typescript's output, Node's
//! fetch) and the Python program `tools/reuse/list_all.py` (the client
//! openapi-python-client generates) each list every CoworkerTimePass page by
//! page, retrying 409 and 503, and must see all 2000 records, each once.

use crate::workspace::{self, Workspace};
use crate::{Result, node, process, python, reuse, stand_in};

const RECORDS: &str = "2000";

pub fn run(ws: &Workspace) -> Result {
    let binary = stand_in::build(ws)?;
    let server = stand_in::Server::start(
        ws,
        &binary,
        &[
            "--coworker-time-passes",
            RECORDS,
            "--read-limit",
            "20",
            "--fail-every",
            "10",
        ],
    )?;
    typescript(ws, &server.url)?;
    python(ws, &server.url)?;
    println!(
        "contract: the TypeScript and Python programs listed all {RECORDS} records from the stand-in"
    );
    Ok(())
}

fn typescript(ws: &Workspace, url: &str) -> Result {
    let tools = node::ensure(ws)?;
    let types = reuse::typescript_types(ws, &tools)?;
    let out = ws.target.join("reuse").join("ts-live");
    workspace::remove_dir(&out)?;
    workspace::create_dir(&out)?;
    let config = out.join("tsconfig.json");
    let program = ws.tools().join("reuse").join("list-all.ts");
    // Emits JavaScript (the committed config only typechecks), with the DOM
    // library for fetch's types; the file list is this one program.
    let extra = format!(
        "    \"noEmit\": false,\n    \"outDir\": {},\n    \"lib\": [\"ES2022\", \"DOM\"],\n",
        json_path(&out)
    );
    reuse::write_ts_config(
        &ws.tools().join("reuse").join("tsconfig.json"),
        &types,
        &config,
        &extra,
    )?;
    let text = std::fs::read_to_string(&config)
        .map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let text = text.trim_end().trim_end_matches('}').to_owned()
        + &format!(",\n  \"files\": [{}]\n}}\n", json_path(&program));
    std::fs::write(&config, text).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let package = out.join("package.json");
    std::fs::write(&package, "{ \"type\": \"module\" }\n")
        .map_err(|e| format!("cannot write {}: {e}", package.display()))?;
    let mut tsc = tools.command("tsc");
    tsc.arg("--project").arg(&config).current_dir(&ws.root);
    process::run(&mut tsc, &ws.root)?;

    let mut node = std::process::Command::new(process::exe("node", ".exe"));
    node.arg(out.join("list-all.js"))
        .args([url, stand_in::EMAIL, stand_in::PASSWORD, RECORDS])
        .current_dir(&ws.root);
    process::run(&mut node, &ws.root)
        .map_err(|e| format!("{e}\nthe TypeScript program did not list every record"))
}

fn python(ws: &Workspace, url: &str) -> Result {
    let tools = python::ensure(ws)?;
    let client = reuse::python_client(ws, &tools)?;
    let mut list = tools.python();
    list.arg(ws.tools().join("reuse").join("list_all.py"))
        .args(["--base-url", url, "--package", reuse::PY_PACKAGE])
        .arg("--client-dir")
        .arg(&client)
        .args(["--email", stand_in::EMAIL, "--password", stand_in::PASSWORD])
        .args(["--expect", RECORDS])
        .current_dir(&ws.root);
    process::run(&mut list, &ws.root)
        .map_err(|e| format!("{e}\nthe Python program did not list every record"))
}

/// A path as a JSON string literal.
fn json_path(path: &std::path::Path) -> String {
    let mut s = String::from("\"");
    for c in path.to_string_lossy().chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}
