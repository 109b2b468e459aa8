//! `nexudus drift [RESOURCE...]`: reads listing pages and a sample of full
//! records and compares every object with the embedded spec (the library's
//! `DriftCheck`); prints the findings as a table (the default), JSON, JSON
//! lines or CSV, or the spec change they call for as an OpenAPI Overlay
//! (`-o overlay`, in `overlay`), which `--apply FILE` writes into the spec
//! in place (in `apply`). Exit code 0 when the spec describes everything
//! seen, 7 when it does not, so a scheduled job can warn the spec's
//! maintainers.

mod apply;
mod overlay;

use std::io::Write;
use std::path::{Path, PathBuf};

use nexudus_timepasses::drift::{DriftCheck, Finding, Problem, Proposal, Resource};
use nexudus_timepasses::Client;
use serde::Serialize;
use serde_json::Value;

use crate::args::{chosen, parse_resource, ApiArgs, Format};
use crate::context::Context;
use crate::failure::{code, Done, Failure};
use crate::output::Columns;

/// Options of `nexudus drift`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The API options, given after the command.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Resources to check: timepasses, coworkertimepasses, producttimepasses
    /// (also spelled time-passes, ...); none: all three.
    #[arg(value_name = "RESOURCE", value_parser = parse_resource)]
    resources: Vec<Resource>,
    /// Listing pages to read per resource (more when the sample needs
    /// their Ids).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pages: u32,
    /// Full records to read per resource (batch gets of up to 100 Ids).
    #[arg(long, default_value_t = 50)]
    sample: u64,
    /// Write the change the findings call for into this OpenAPI file, in
    /// place: only the added or changed properties' lines change.
    #[arg(long, value_name = "FILE")]
    apply: Option<PathBuf>,
    /// With --apply: apply this reviewed overlay (from `-o overlay`)
    /// instead of reading the API.
    #[arg(long, value_name = "FILE", requires = "apply")]
    overlay: Option<PathBuf>,
}

/// `nexudus drift`: checks the chosen resources and prints the findings;
/// [`Done::Drift`] when there are any.
pub async fn run(ctx: &Context, args: &Args) -> Result<Done, Failure> {
    if let (Some(spec), Some(reviewed)) = (&args.apply, &args.overlay) {
        let overlay = read_overlay(reviewed)?;
        apply_to(ctx, spec, &overlay)?;
        return Ok(Done::Success);
    }
    // Kept until the reads are done: dropping it stops a demo server.
    let connection = ctx.connect().await?;
    let check = check(&connection.client, args).await?;
    let findings = check.findings();
    // Worked out only for `-o overlay` and `--apply`, once.
    let proposal = std::cell::OnceCell::new();
    let proposal = || proposal.get_or_init(|| check.proposal(chrono::Utc::now().date_naive()));
    // A table unless asked otherwise, piped or not: the findings are for
    // people first; `-o json` for tools.
    let written = match ctx.format_or(Format::Table) {
        Format::Table => print_table(&findings),
        Format::Overlay => overlay::render(proposal())
            .map_err(|e| Failure::new(code::OTHER, format!("cannot write the overlay: {e}")))
            .and_then(|text| print(&text)),
        format => write(ctx, format, &findings),
    };
    // A reader that went away (`| head`) does not hide the drift: the exit
    // code still says whether there was any.
    match written {
        Err(failure) if !failure.is_closed_pipe() => return Err(failure),
        _ => {}
    }
    if let Some(spec) = &args.apply {
        return apply_proposal(ctx, spec, proposal());
    }
    if findings.is_empty() {
        ctx.say("drift: the spec describes everything seen");
        Ok(Done::Success)
    } else {
        ctx.say(format!("drift: {} findings", findings.len()));
        Ok(Done::Drift)
    }
}

/// Writes `proposal` into the spec at `path`; [`Done::Drift`] when some
/// findings are left to a person (they are still drift).
fn apply_proposal(ctx: &Context, path: &Path, proposal: &Proposal) -> Result<Done, Failure> {
    if !proposal.is_empty() {
        apply_to(ctx, path, &proposal.overlay(overlay::TITLE))?;
    }
    for left in &proposal.left {
        // Names come from the server: control characters stay escaped.
        ctx.say(format!("drift: left to a person: {}", left.escape_debug()));
    }
    Ok(if proposal.left.is_empty() {
        Done::Success
    } else {
        Done::Drift
    })
}

/// Reads every chosen resource into one check.
async fn check(client: &Client, args: &Args) -> Result<DriftCheck, Failure> {
    let mut check = DriftCheck::new();
    let size = client.page_size().get();
    let sample = usize::try_from(args.sample).unwrap_or(usize::MAX);
    for resource in chosen(&args.resources) {
        let read = check.read(client, resource, args.pages, size, sample).await;
        read.map_err(|e| Failure::from(e).within(resource.spec().name))?;
    }
    Ok(check)
}

/// The findings as [`table`] shows them, on stdout.
fn print_table(findings: &[Finding]) -> Result<(), Failure> {
    print(&format!("{}\n", table(findings)))
}

/// `text` on stdout.
fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Failure::output)
}

/// The text of a file the command was given.
fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))
}

/// A reviewed overlay file, as JSON.
fn read_overlay(path: &Path) -> Result<Value, Failure> {
    serde_yaml::from_str(&read(path)?)
        .map_err(|e| Failure::usage(format!("{} is not a YAML overlay: {e}", path.display())))
}

/// Applies `overlay` to the spec file at `path` in place; the file is left
/// as it was when the change cannot be placed.
fn apply_to(ctx: &Context, path: &Path, overlay: &Value) -> Result<(), Failure> {
    let shown = path.display();
    let edited = apply::apply(&read(path)?, overlay)
        .map_err(|e| Failure::usage(format!("{shown}: {e}; the file is unchanged")))?;
    let unwritten = |e| Failure::new(code::OTHER, format!("cannot write {shown}: {e}"));
    replace(path, &edited).map_err(unwritten)?;
    let actions = overlay["actions"].as_array().map_or(0, Vec::len);
    ctx.say(format!(
        "drift: {actions} overlay actions applied to {shown}; review the change (`git diff`), \
         accept the new snapshots (`INSTA_UPDATE=always cargo test --test surface`), then run \
         `cargo xtask check`"
    ));
    Ok(())
}

/// Writes `text` to `path` through a file beside it renamed over it, so a
/// failure never leaves half a spec; the file keeps its permissions, and a
/// symbolic link stays one (its target is written).
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let path = std::fs::canonicalize(path)?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".nexudus-drift-{}.tmp", std::process::id()));
    let temporary = path.with_file_name(name);
    let written = std::fs::write(&temporary, text)
        .and_then(|()| {
            std::fs::set_permissions(&temporary, std::fs::metadata(&path)?.permissions())
        })
        .and_then(|()| std::fs::rename(&temporary, &path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// One finding as a CSV row: the problem as the table names it, and a
/// one-line detail.
#[derive(Serialize)]
struct Row<'a> {
    schema: &'a str,
    field: &'a str,
    problem: &'static str,
    detail: String,
    count: u64,
}

/// The findings in `format` (not a table): JSON and JSON lines as the
/// library serialises them, CSV as [`Row`]s.
fn write(ctx: &Context, format: Format, findings: &[Finding]) -> Result<(), Failure> {
    let columns = match ctx.columns() {
        [] => ["schema", "field", "problem", "detail", "count"]
            .map(String::from)
            .to_vec(),
        asked => asked.to_vec(),
    };
    let columns = Columns::Fixed(columns);
    let mut out = ctx.output(format, columns);
    for f in findings {
        if format == Format::Csv {
            let (problem, detail) = describe(&f.problem);
            let (schema, field, count) = (f.schema.as_str(), f.field.as_str(), f.count);
            out.write(&Row {
                schema,
                field,
                problem,
                detail,
                count,
            })?;
        } else {
            out.write(f)?;
        }
    }
    out.finish()
}

/// The findings as aligned columns: schema, field, problem, detail, count.
fn table(findings: &[Finding]) -> String {
    let mut rows = vec![[
        "SCHEMA".to_owned(),
        "FIELD".to_owned(),
        "PROBLEM".to_owned(),
        "DETAIL".to_owned(),
        "SEEN".to_owned(),
    ]];
    for f in findings {
        let (problem, detail) = describe(&f.problem);
        rows.push([
            f.schema.clone(),
            f.field.clone(),
            problem.to_owned(),
            detail,
            f.count.to_string(),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect();
    lines.join("\n")
}

/// A problem's short name and its detail, one line each (cells never
/// break the table: newlines in a detail become spaces).
fn describe(problem: &Problem) -> (&'static str, String) {
    let (name, detail) = match problem {
        Problem::Undeclared { json_type, example } => {
            ("undeclared", format!("{json_type}, e.g. {example}"))
        }
        Problem::NeverSeen => ("never seen", String::new()),
        Problem::WrongType { expected, found } => {
            ("wrong type", format!("{found}, spec says {expected}"))
        }
        Problem::UnexpectedNull => ("unexpected null", String::new()),
        Problem::WrongFormat { expected, found } => {
            ("wrong format", format!("{found}, spec says {expected}"))
        }
        Problem::OutsideEnum { value } => ("outside enum", value.clone()),
        Problem::OmittedFieldPresent => ("omitted in listings", "but present".to_owned()),
        // Problem is non-exhaustive: a kind added later still prints.
        other => ("other", format!("{other:?}")),
    };
    (name, detail.replace(['\n', '\r'], " "))
}
