//! `cargo xtask bench`: builds and runs the benchmark (`examples/bench.rs`)
//! in release mode. It starts the stand-in with latency and limits, measures
//! the client side by side in one run, prints one Markdown table and writes
//! it with a chart to `target/bench/`.

use std::process::Command;

use crate::workspace::Workspace;
use crate::{Result, process};

pub fn run(ws: &Workspace) -> Result {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "run",
        "--release",
        "--features",
        "stand-in",
        "--example",
        "bench",
    ])
    .current_dir(&ws.root);
    process::run(&mut cmd, &ws.root)
}
