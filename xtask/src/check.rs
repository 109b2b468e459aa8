//! `cargo xtask check`: everything CI runs, in CI's order, stopping at the
//! first failure.

use std::time::Instant;

use crate::workspace::Workspace;
use crate::{
    Result, contract, drift_loop, lint, live, process, python, reference, reuse, schemathesis,
    spec_change,
};

pub fn run(ws: &Workspace) -> Result {
    let start = Instant::now();
    step("lint", || lint::run(ws))?;
    step("reuse", || reuse::run(ws))?;
    step("contract", || contract::run(ws))?;
    step("reference", || reference::run(ws))?;
    step("live", || live::run(ws))?;
    step("format", || {
        cargo(ws, &["fmt", "--all", "--", "--check"], &[])
    })?;
    step("clippy", || {
        cargo(
            ws,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--features",
                "nexudus-timepasses/stand-in",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    })?;
    // Warnings are errors: the spec's descriptions become rustdoc, so a stray
    // `[x]` or `<x>` in them shows up here, as does an undocumented item.
    step("docs", || {
        cargo(
            ws,
            &[
                "doc",
                "--no-deps",
                "-p",
                "nexudus-timepasses",
                "--features",
                "stand-in",
            ],
            &[("RUSTDOCFLAGS", "-D warnings")],
        )
    })?;
    // The tap's tests pipe into the pinned Singer target (cli/tests/tap.rs).
    step("singer", || python::ensure_singer(ws))?;
    // The stand-in's tests need the `stand-in` feature. Not --all-features:
    // `reference-check` needs the shared reference, which the `reference`
    // step above runs when it is there.
    step("test", || {
        cargo(
            ws,
            &[
                "test",
                "--workspace",
                "--features",
                "nexudus-timepasses/stand-in",
            ],
            &[],
        )
    })?;
    // After `live` and the tests, which leave in target/debug the compiled
    // dependencies its copy's build is seeded from; before Schemathesis,
    // because it is deterministic and over in about half a minute where
    // Schemathesis always spends its whole time budget.
    step("spec-change", || spec_change::run(ws))?;
    step("drift-loop", || drift_loop::run(ws))?;
    step("schemathesis", || schemathesis::run(ws))?;
    println!(
        "\ncheck: all steps passed in {:.0}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn step(name: &str, f: impl FnOnce() -> Result) -> Result {
    println!("\n==> {name}");
    let start = Instant::now();
    f().map_err(|e| format!("step `{name}` failed: {e}"))?;
    println!("==> {name}: ok ({:.0}s)", start.elapsed().as_secs_f64());
    Ok(())
}

/// Runs one cargo command in the workspace root.
fn cargo(ws: &Workspace, args: &[&str], env: &[(&str, &str)]) -> Result {
    let mut cmd = ws.cargo();
    cmd.args(args).envs(env.iter().copied());
    process::run(&mut cmd, &ws.root)
}
