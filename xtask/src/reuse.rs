//! `cargo xtask reuse`: other languages can generate a working client from
//! openapi.yaml. Two proofs, each a committed program that uses the output:
//!
//! - TypeScript: openapi-typescript writes `target/reuse/ts/openapi.d.ts`;
//!   `tsc --noEmit` (strict, see `tools/reuse/tsconfig.json`) checks
//!   `tools/reuse/list-timepasses.ts` against it.
//! - Python: openapi-python-client writes a client package into
//!   `target/reuse/py/`; `tools/reuse/decode_example.py` decodes the spec's
//!   docs examples into its models and checks fields.

use std::path::Path;

use crate::workspace::{self, Workspace};
use crate::{Result, node, process, python};

/// The module name `list-timepasses.ts` imports the generated types from.
const TS_MODULE: &str = "nexudus-timepasses-openapi";
/// The package name of the generated Python client.
pub const PY_PACKAGE: &str = "nexudus_timepasses_client";

pub fn run(ws: &Workspace) -> Result {
    typescript(ws)?;
    python(ws)?;
    println!(
        "reuse: the TypeScript types typecheck and the Python client decodes the docs examples"
    );
    Ok(())
}

fn typescript(ws: &Workspace) -> Result {
    let tools = node::ensure(ws)?;
    let out = typescript_types(ws, &tools)?;
    let committed = ws.tools().join("reuse").join("tsconfig.json");
    let config = out.join("tsconfig.json");
    write_ts_config(&committed, &out, &config, "")?;

    let mut tsc = tools.command("tsc");
    tsc.arg("--project")
        .arg(&config)
        .arg("--noEmit")
        .current_dir(&ws.root);
    process::run(&mut tsc, &ws.root)
        .map_err(|e| format!("{e}\nthe TypeScript generated from openapi.yaml does not fit tools/reuse/list-timepasses.ts"))
}

/// Generates the TypeScript types into `target/reuse/ts/openapi.d.ts` and
/// returns that directory.
pub fn typescript_types(ws: &Workspace, tools: &node::NodeTools) -> Result<std::path::PathBuf> {
    let out = ws.target.join("reuse").join("ts");
    workspace::remove_dir(&out)?;
    workspace::create_dir(&out)?;
    let types = out.join("openapi.d.ts");

    let mut generate = tools.command("openapi-typescript");
    generate
        .arg(ws.spec())
        .arg("--output")
        .arg(&types)
        .current_dir(&ws.root);
    process::run(&mut generate, &ws.root)?;
    Ok(out)
}

/// Writes a tsconfig that extends `committed` and maps the types' module to
/// `types_dir` (the committed one maps it to target/reuse/ts for editors;
/// this one to wherever the target directory really is). `extra` holds more
/// `compilerOptions` entries, each followed by a comma and a newline.
pub fn write_ts_config(committed: &Path, types_dir: &Path, config: &Path, extra: &str) -> Result {
    let text = format!(
        "{{\n  \"extends\": {},\n  \"compilerOptions\": {{\n{extra}    \"paths\": {{ \"{TS_MODULE}\": [{}] }}\n  }}\n}}\n",
        json_string(committed),
        json_string(&types_dir.join("openapi")),
    );
    std::fs::write(config, text).map_err(|e| format!("cannot write {}: {e}", config.display()))
}

fn python(ws: &Workspace) -> Result {
    let tools = python::ensure(ws)?;
    let out = python_client(ws, &tools)?;
    let mut decode = tools.python();
    decode
        .arg(ws.tools().join("reuse").join("decode_example.py"))
        .arg("--spec")
        .arg(ws.spec())
        .arg("--client-dir")
        .arg(&out)
        .arg("--package")
        .arg(PY_PACKAGE)
        .current_dir(&ws.root);
    process::run(&mut decode, &ws.root).map_err(|e| {
        format!(
            "{e}\nthe Python client generated from openapi.yaml does not decode the docs examples"
        )
    })
}

/// Generates the Python client package into `target/reuse/py/` and returns
/// that directory (the one to put on `sys.path`).
pub fn python_client(ws: &Workspace, tools: &python::PythonTools) -> Result<std::path::PathBuf> {
    let out = ws.target.join("reuse").join("py");
    workspace::remove_dir(&out)?;
    workspace::create_dir(&out)?;

    // --meta none writes the bare package; --fail-on-warning turns a skipped
    // endpoint or model into a failure instead of a silently smaller client.
    let mut generate = tools.command("openapi-python-client");
    generate
        .arg("generate")
        .arg("--path")
        .arg(ws.spec())
        .arg("--output-path")
        .arg(out.join(PY_PACKAGE))
        .args(["--meta", "none", "--fail-on-warning"])
        .current_dir(&out);
    process::run(&mut generate, &ws.root)?;
    Ok(out)
}

/// `path` as a JSON string literal.
fn json_string(path: &Path) -> String {
    let mut s = String::from("\"");
    for c in path.to_string_lossy().chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if u32::from(c) < 0x20 => s.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::json_string;
    use std::path::Path;

    #[test]
    fn escapes_paths_for_json() {
        assert_eq!(json_string(Path::new(r#"C:\a "b""#)), r#""C:\\a \"b\"""#);
    }
}
