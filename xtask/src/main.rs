//! `cargo xtask`: the workspace's task runner (the alias lives in `.cargo/config.toml`).
//!
//! Plain Rust over `std::process::Command`. The spec tools it drives install
//! themselves on first use, pinned: Node tools from `tools/package-lock.json`
//! into `tools/node_modules`, Python tools from `tools/requirements.txt` into
//! `target/xtask-venv`, the Singer target the tap's tests use from
//! `tools/singer-requirements.txt` into `target/singer-venv`.

mod bench;
mod check;
mod contract;
mod drift_loop;
mod generate;
mod lint;
mod live;
mod node;
mod process;
mod python;
mod reference;
mod reuse;
mod schemathesis;
mod spec_change;
mod stamp;
mod stand_in;
mod workspace;

use std::process::ExitCode;

use workspace::Workspace;

/// Every failure is one message for the user; the command that failed has
/// already printed its own output.
pub type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  generate   write the code build.rs generates from openapi.yaml to
             target/generated/generated.rs, where a reviewer can read it
  lint       lint openapi.yaml with Redocly CLI, Spectral and
             openapi-spec-validator; any error or warning fails
  reuse      generate TypeScript types and a Python client from openapi.yaml
             and prove them usable (tsc on tools/reuse/list-timepasses.ts,
             python tools/reuse/decode_example.py)
  contract   serve openapi.yaml with Prism (a validating mock: static
             examples, --errors) and call all its operations once through
             the client (examples/contract.rs); a failed call or any
             violation Prism logs fails
  reference  cross-check openapi.yaml against ../shared/nexudus-api/
             REFERENCE.md (tests/reference.rs); skipped, saying so, when
             that file is not beside the repository
  live       run `nexudus serve --coworker-time-passes 2000 --read-limit 20
             --fail-every 10` and list every CoworkerTimePass from it with
             the TypeScript (tools/reuse/list-all.ts) and Python
             (tools/reuse/list_all.py) clients generated from openapi.yaml
  schemathesis
             property-based tests generated from openapi.yaml against the
             stand-in, default checks, known findings in
             tools/schemathesis-baseline.json
  spec-change
             prove that an added optional field and filter need no hand
             edit: on a copy of the workspace (target/spec-change/ws), add
             `Description` to the TimePass schemas and a TimePass_Description
             filter, build the copy's nexudus, and create, filter and sync
             a pass with it against the copy's stand-in
  drift-loop close the loop from API to client on a copy of the workspace
             (target/drift-loop/ws): `nexudus drift --apply` writes the
             stand-in's undocumented fields into openapi.yaml (only added
             lines, lint clean), the copy regenerates and builds, its
             snapshots show the fields, and its drift finds none
  singer     install the Singer target the tap's tests pipe into
             (tools/singer-requirements.txt) into target/singer-venv
  bench      run the benchmark (examples/bench.rs, release) against the
             stand-in: exports at the defaults and tuned, sequential, a
             hand-written reqwest loop, pacing against server limits,
             per-call overhead, peak RSS; one table, written with a chart
             to target/bench/
  check      what CI runs, in order: lint, reuse, contract, reference, live, cargo fmt
             --check, clippy -D warnings, rustdoc -D warnings,
             singer, cargo test --workspace --features nexudus-timepasses/stand-in,
             spec-change, drift-loop, schemathesis
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    if let Some(extra) = args.get(1) {
        eprintln!("xtask {command}: unexpected argument `{extra}`\n\n{USAGE}");
        return ExitCode::from(2);
    }
    let result = Workspace::locate().and_then(|ws| match command.as_str() {
        "generate" => generate::run(&ws),
        "lint" => lint::run(&ws),
        "reuse" => reuse::run(&ws),
        "contract" => contract::run(&ws),
        "reference" => reference::run(&ws),
        "live" => live::run(&ws),
        "schemathesis" => schemathesis::run(&ws),
        "spec-change" => spec_change::run(&ws),
        "drift-loop" => drift_loop::run(&ws),
        "singer" => python::ensure_singer(&ws),
        "bench" => bench::run(&ws),
        "check" => check::run(&ws),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("\nxtask {command} failed: {msg}");
            ExitCode::FAILURE
        }
    }
}
