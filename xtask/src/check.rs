//! `cargo xtask check`: everything CI runs, in CI's order, stopping at the
//! first failure.

use std::process::Command;
use std::time::Instant;

use crate::workspace::Workspace;
use crate::{Result, contract, lint, process, reuse};

pub fn run(ws: &Workspace) -> Result {
    let start = Instant::now();
    step("lint", || lint::run(ws))?;
    step("reuse", || reuse::run(ws))?;
    step("contract", || contract::run(ws))?;
    step("test", || test(ws))?;
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

fn test(ws: &Workspace) -> Result {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["test", "--workspace"]).current_dir(&ws.root);
    process::run(&mut cmd, &ws.root)
}
