//! `cargo xtask reference`: cross-checks openapi.yaml against the shared
//! Nexudus reference (`../shared/nexudus-api/REFERENCE.md`), which is not
//! part of the repository. The check (`tests/reference.rs`, behind the
//! crate's `reference-check` feature) runs when the file is there; when it
//! is not, this step says so and passes, so a clone of the repository alone
//! still passes `cargo xtask check`.

use crate::workspace::Workspace;
use crate::{Result, process};

pub fn run(ws: &Workspace) -> Result {
    let reference = ws.root.join("../shared/nexudus-api/REFERENCE.md");
    if !reference.is_file() {
        println!(
            "reference: SKIPPED: {} is not there (it sits beside the repository in CI); \
             the spec was not cross-checked against it",
            reference.display()
        );
        return Ok(());
    }
    let mut cmd = ws.cargo();
    cmd.args([
        "test",
        "--features",
        "reference-check",
        "--test",
        "reference",
    ]);
    process::run(&mut cmd, &ws.root)
}
