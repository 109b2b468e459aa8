//! `nexudus drift [RESOURCE...]`: reads listing pages and a sample of full
//! records and compares every object with the embedded spec (the library's
//! `DriftCheck`); prints the findings as a table (the default), JSON, JSON
//! lines or CSV. Exit code 0 when the spec describes everything seen, 7
//! when it does not, so a scheduled job can warn the spec's maintainers.

use std::io::Write;

use nexudus_timepasses::drift::{DriftCheck, Finding, Problem, Resource};
use nexudus_timepasses::Client;
use serde::Serialize;

use crate::args::{chosen, parse_resource, ApiArgs, Format};
use crate::context::Context;
use crate::failure::{Done, Failure};
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
}

/// `nexudus drift`: checks the chosen resources and prints the findings;
/// [`Done::Drift`] when there are any.
pub async fn run(ctx: &Context, args: &Args) -> Result<Done, Failure> {
    // Kept until the reads are done: dropping it stops a demo server.
    let connection = ctx.connect().await?;
    let findings = check(&connection.client, args).await?;
    // A table unless asked otherwise, piped or not: the findings are for
    // people first; `-o json` for tools.
    let written = match ctx.format_or(Format::Table) {
        Format::Table => print_table(&findings),
        format => write(ctx, format, &findings),
    };
    // A reader that went away (`| head`) does not hide the drift: the exit
    // code still says whether there was any.
    match written {
        Err(failure) if !failure.is_closed_pipe() => return Err(failure),
        _ => {}
    }
    if findings.is_empty() {
        ctx.say("drift: the spec describes everything seen");
        Ok(Done::Success)
    } else {
        ctx.say(format!("drift: {} findings", findings.len()));
        Ok(Done::Drift)
    }
}

/// Reads every chosen resource into one check; its findings.
async fn check(client: &Client, args: &Args) -> Result<Vec<Finding>, Failure> {
    let mut check = DriftCheck::new();
    let size = client.page_size().get();
    let sample = usize::try_from(args.sample).unwrap_or(usize::MAX);
    for resource in chosen(&args.resources) {
        let read = check.read(client, resource, args.pages, size, sample).await;
        read.map_err(|e| Failure::from(e).within(resource.spec().name))?;
    }
    Ok(check.findings())
}

/// The findings as [`table`] shows them, on stdout.
fn print_table(findings: &[Finding]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", table(findings))
        .and_then(|()| out.flush())
        .map_err(Failure::output)
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
        Problem::OutsideEnum { value } => ("outside enum", value.clone()),
        Problem::OmittedFieldPresent => ("omitted in listings", "but present".to_owned()),
        // Problem is non-exhaustive: a kind added later still prints.
        other => ("other", format!("{other:?}")),
    };
    (name, detail.replace(['\n', '\r'], " "))
}
