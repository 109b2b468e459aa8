//! `nexudus drift [RESOURCE...]`: reads listing pages and a sample of full
//! records and compares every object with the embedded spec (the library's
//! `DriftCheck`); prints the findings as a table or JSON. Exit code 0 when
//! the spec describes everything seen, 7 when it does not, so a scheduled
//! job can warn the spec's maintainers.

use std::io::Write;

use nexudus_timepasses::drift::{DriftCheck, Finding, Problem, Resource};
use nexudus_timepasses::Client;

use crate::failure::Failure;
use crate::sync::{chosen, parse_resource};

/// The exit code when the spec does not describe everything seen.
pub const DRIFT: u8 = 7;

/// Options of `nexudus drift`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The API options, given after the command.
    #[command(flatten)]
    pub global: crate::args::Global,
    /// Resources to check: timepasses, coworkertimepasses, producttimepasses
    /// (also spelled time-passes, ...); none: all three.
    #[arg(value_name = "RESOURCE", value_parser = parse_resource)]
    resources: Vec<Resource>,
    /// Listing pages to read per resource.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pages: u32,
    /// Full records to read per resource (batch gets of up to 100 Ids).
    #[arg(long, default_value_t = 50)]
    sample: u64,
}

/// Checks the chosen resources with `client` and prints the findings.
/// Returns the exit code: 0 when the spec describes everything seen, 7 when not.
pub async fn run(client: &Client, args: &Args, json: bool) -> Result<u8, Failure> {
    let mut check = DriftCheck::new();
    let size = client.page_size().get();
    let sample = usize::try_from(args.sample).unwrap_or(usize::MAX);
    for resource in chosen(&args.resources) {
        let read = check.read(client, resource, args.pages, size, sample).await;
        read.map_err(|e| {
            let failure = Failure::from(e);
            let message = format!("{}: {}", crate::sync::name(resource), failure.message);
            Failure { message, ..failure }
        })?;
    }
    let findings = check.findings();
    let text = match json {
        true => serde_json::to_string_pretty(&findings)
            .map_err(|e| format!("cannot encode the findings: {e}"))?,
        false => table(&findings),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    if findings.is_empty() {
        eprintln!("drift: the spec describes everything seen");
        Ok(0)
    } else {
        eprintln!("drift: {} findings", findings.len());
        Ok(DRIFT)
    }
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
        Problem::OutsideEnum { value } => ("outside enum", value.clone()),
        Problem::OmittedFieldPresent => ("omitted in listings", "but present".to_owned()),
        // Problem is non-exhaustive: a kind added later still prints.
        other => ("other", format!("{other:?}")),
    };
    (name, detail.replace(['\n', '\r'], " "))
}
