//! `cargo xtask drift-loop` (a step of `check`): the loop from a live API to
//! a regenerated client, closed on a copy of the workspace. The workspace's
//! `nexudus drift --apply` writes what the stand-in sends and the spec does
//! not describe (its seeded records carry undocumented fields) into the
//! copy's openapi.yaml; the change must only add lines, and the result must
//! pass `lint`. The copy's client is then regenerated and built, its
//! generated-code snapshots show the new fields, and its own `nexudus
//! drift` against the same stand-in finds nothing.
//!
//! Stages, each named in a failure: copy, build, serve, apply, diff, lint,
//! rebuild, drift, snapshots.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::spec_change::{Nexudus, build_copy, copy_of, copy_workspace, stage};
use crate::workspace::Workspace;
use crate::{Result, lint, process, stand_in};

/// Fields the stand-in's seeded records carry that the spec does not list,
/// as the generated Rust code names them.
const NEW_FIELDS: [&str; 2] = ["undocumented_flag", "integration"];
/// The record schemas they are seen in: full and listing records of the
/// three resources.
const SCHEMAS: usize = 6;
/// Bound of the copy's snapshot tests (the library's tests build, seeded).
const TEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// This step's name, and its directory under `target/`.
const STEP: &str = "drift-loop";

pub fn run(ws: &Workspace) -> Result {
    let start = Instant::now();
    let (dir, copy) = copy_of(ws, STEP);
    stage(STEP, "copy", || copy_workspace(ws, &dir, &copy.root))?;
    let before = stage(STEP, "build", || stand_in::build(ws))?;
    let server = stage(STEP, "serve", || stand_in::Server::start(ws, &before, &[]))?;
    let old = Nexudus::new("the workspace's", before, &server.url);
    let spec = copy.spec();
    let spec_arg = spec.to_string_lossy().into_owned();
    stage(STEP, "apply", || {
        let args = ["drift", "--reads-per-minute", "0", "--apply", &spec_arg];
        old.run(ws, &args).map(drop)
    })?;
    let added = stage(STEP, "diff", || only_additions(&ws.spec(), &spec))?;
    stage(STEP, "lint", || lint::spec(ws, &spec))?;
    let after = stage(STEP, "rebuild", || build_copy(ws, &copy))?;
    let new = Nexudus::new("the copy's", after, &server.url);
    // drift exits 0 only when it finds nothing; its findings are in the error.
    stage(STEP, "drift", || {
        new.run(ws, &["drift", "--reads-per-minute", "0", "-o", "json"])
            .map(drop)
            .map_err(|e| format!("the regenerated client still finds drift: {e}"))
    })?;
    stage(STEP, "snapshots", || snapshots(ws, &copy))?;
    drop(server);
    println!(
        "\ndrift-loop: `drift --apply` added {added} lines to a copy's openapi.yaml and changed no \
         other; it passes lint, the copy's snapshots show the new fields, and its drift finds \
         none; {:.0}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The number of lines `edited` adds to `original`, when it only adds
/// (every line of `original` is there, in order) and each added line is
/// inside a schema's properties (indented by eight spaces or more).
fn only_additions(original: &Path, edited: &Path) -> Result<usize> {
    let read = |p: &Path| fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let (before, after) = (read(original)?, read(edited)?);
    let mut old = before.lines().peekable();
    let mut added = 0;
    for line in after.lines() {
        if old.peek() == Some(&line) {
            old.next();
        } else if line.starts_with("        ") {
            added += 1;
        } else {
            return Err(format!(
                "a line outside a schema's properties changed: {line:?}"
            ));
        }
    }
    if let Some(line) = old.next() {
        return Err(format!("a line of the spec is gone or moved: {line:?}"));
    }
    if added == 0 {
        return Err(
            "drift --apply changed nothing: the stand-in's undocumented fields were not added"
                .into(),
        );
    }
    println!("openapi.yaml: {added} lines added, none changed or removed");
    Ok(added)
}

/// Runs the copy's generated-code snapshot tests, accepting their new
/// output, and checks that the public surface lists the new fields in each
/// record schema.
fn snapshots(ws: &Workspace, copy: &Workspace) -> Result {
    let mut cmd = ws.cargo();
    cmd.current_dir(&copy.root)
        .env("CARGO_TARGET_DIR", &copy.target)
        .env("CARGO_INCREMENTAL", "0")
        .env("INSTA_UPDATE", "always")
        .env("INSTA_FORCE_PASS", "1")
        .env_remove("CI")
        // The features of the workspace's test build, so that the seeded
        // dependencies are fresh and only the library and the test compile.
        .args([
            "test",
            "--workspace",
            "--features",
            "nexudus-timepasses/stand-in",
        ])
        .args(["--test", "surface"]);
    process::run_within(&mut cmd, &ws.root, TEST_TIMEOUT)?;
    let file = copy
        .root
        .join("tests/snapshots/surface__public_surface.snap");
    let surface = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    for field in NEW_FIELDS {
        let seen = surface
            .lines()
            .filter(|l| l.trim_start().starts_with(&format!("{field}:")))
            .count();
        if seen < SCHEMAS {
            return Err(format!(
                "the regenerated public surface lists `{field}` in {seen} types, not {SCHEMAS}"
            ));
        }
    }
    println!(
        "the regenerated public surface lists {} in the {SCHEMAS} record types",
        NEW_FIELDS.join(" and ")
    );
    Ok(())
}
