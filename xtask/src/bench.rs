//! `cargo xtask bench`: builds and runs the benchmark (`examples/bench.rs`)
//! in release mode. It starts the stand-in with latency and limits, measures
//! the client side by side in one run, prints one Markdown table and writes
//! it with a chart to `target/bench/`.

use crate::workspace::Workspace;
use crate::{Result, process};

pub fn run(ws: &Workspace) -> Result {
    let mut cmd = ws.cargo();
    cmd.args([
        "run",
        "--release",
        "--features",
        "stand-in",
        "--example",
        "bench",
    ]);
    process::run(&mut cmd, &ws.root)
}
