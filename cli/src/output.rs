//! Records to stdout as a table, a JSON array, JSON lines or CSV, one record
//! at a time, so an export streams in constant memory (a table is drawn in
//! blocks, since its column widths need the rows first).

use std::io::Write;

use comfy_table::{presets, Attribute, Cell, ContentArrangement, Table, TableComponent};
use serde::Serialize;
use serde_json::Value;

use crate::args::Format;
use crate::failure::{code, Failure};

/// Rows of one drawn table; later rows go into the next block.
const TABLE_BLOCK: usize = 1_000;

/// Which columns table and csv output show.
#[derive(Debug, Clone)]
pub enum Columns {
    /// These, in this order.
    Fixed(Vec<String>),
    /// The keys of the first record, in its order.
    FromFirst,
    /// These, then one more, [`OTHER_FIELDS`]: a JSON object of the fields
    /// a record has beyond these (the server sends fields the spec does not
    /// list, not always the same ones), so a CSV loses nothing.
    WithOthers(Vec<String>),
}

/// The last column of [`Columns::WithOthers`].
pub const OTHER_FIELDS: &str = "OtherFields";

/// Writes records in one format.
pub struct Output<W: Write> {
    format: Format,
    columns: Columns,
    out: W,
    /// Table rows waiting to be drawn.
    rows: Vec<Vec<String>>,
    /// Bold table headers (a terminal, and `NO_COLOR` unset).
    styled: bool,
    /// Terminal width to fit tables to; `None` leaves them unbounded.
    width: Option<u16>,
    written: u64,
}

impl<W: Write> Output<W> {
    /// An output of `format` to `out`.
    pub fn new(format: Format, columns: Columns, out: W, styled: bool, width: Option<u16>) -> Self {
        Output {
            format,
            columns,
            out,
            rows: Vec::new(),
            styled,
            width,
            written: 0,
        }
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes one record.
    pub fn write<T: Serialize>(&mut self, record: &T) -> Result<(), Failure> {
        match self.format {
            // Overlay is drift's own format, refused for every other
            // command when the command line is read.
            Format::Jsonl | Format::Overlay => {
                serde_json::to_writer(&mut self.out, record).map_err(json_failure)?;
                self.out.write_all(b"\n").map_err(Failure::output)?;
            }
            Format::Json => {
                let lead: &[u8] = if self.written == 0 { b"[\n" } else { b",\n" };
                self.out.write_all(lead).map_err(Failure::output)?;
                serde_json::to_writer(&mut self.out, record).map_err(json_failure)?;
            }
            Format::Csv | Format::Table => {
                let value = serde_json::to_value(record).map_err(|e| {
                    Failure::new(code::OTHER, format!("cannot render a record: {e}"))
                })?;
                if let Columns::FromFirst = self.columns {
                    self.columns = Columns::Fixed(keys(&value));
                }
                let row = self.cells(&value);
                if self.format == Format::Csv {
                    if self.written == 0 {
                        let header = self.header();
                        self.csv_row(&header)?;
                    }
                    self.csv_row(&row)?;
                } else {
                    self.rows.push(row);
                    if self.rows.len() >= TABLE_BLOCK {
                        self.draw()?;
                    }
                }
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the output: closes the JSON array, draws the last table rows,
    /// flushes. A table or CSV of no records prints nothing.
    pub fn finish(mut self) -> Result<(), Failure> {
        match self.format {
            Format::Json if self.written == 0 => self.out.write_all(b"[]\n"),
            Format::Json => self.out.write_all(b"\n]\n"),
            _ => Ok(()),
        }
        .map_err(Failure::output)?;
        if !self.rows.is_empty() {
            self.draw()?;
        }
        self.out.flush().map_err(Failure::output)
    }

    fn header(&self) -> Vec<String> {
        match &self.columns {
            Columns::Fixed(columns) => columns.clone(),
            Columns::WithOthers(columns) => {
                let mut header = columns.clone();
                header.push(OTHER_FIELDS.to_owned());
                header
            }
            Columns::FromFirst => Vec::new(),
        }
    }

    fn cells(&self, value: &Value) -> Vec<String> {
        let (columns, others) = match &self.columns {
            Columns::Fixed(columns) => (columns.as_slice(), false),
            Columns::WithOthers(columns) => (columns.as_slice(), true),
            Columns::FromFirst => (&[][..], false),
        };
        let mut row: Vec<String> = columns
            .iter()
            .map(|column| cell(value.get(column.as_str()).unwrap_or(&Value::Null)))
            .collect();
        if others {
            let rest: serde_json::Map<String, Value> = value
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| !columns.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            row.push(if rest.is_empty() {
                String::new()
            } else {
                Value::Object(rest).to_string()
            });
        }
        row
    }

    /// One CSV record, quoted as RFC 4180 says (by the csv crate).
    fn csv_row(&mut self, row: &[String]) -> Result<(), Failure> {
        let mut writer = csv::WriterBuilder::new().from_writer(&mut self.out);
        writer.write_record(row).map_err(csv_failure)?;
        writer.flush().map_err(Failure::output)
    }

    /// Draws the waiting rows as one table.
    fn draw(&mut self) -> Result<(), Failure> {
        let mut table = Table::new();
        // Columns apart by spaces, one rule under the header, no boxes: easy
        // to read and to copy from.
        table.load_preset(presets::NOTHING);
        table.set_style(TableComponent::HeaderLines, '─');
        table.set_style(TableComponent::MiddleHeaderIntersections, '─');
        match self.width {
            Some(width) => {
                table
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_width(width);
            }
            None => {
                table.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        let styled = self.styled;
        table.set_header(self.header().into_iter().map(|h| {
            let cell = Cell::new(h);
            if styled {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        }));
        for row in self.rows.drain(..) {
            table.add_row(row);
        }
        writeln!(self.out, "{table}").map_err(Failure::output)
    }
}

/// The keys of a record, in its order; a value that is not an object is
/// one column named `Value`.
fn keys(value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) => map.keys().cloned().collect(),
        _ => vec!["Value".to_owned()],
    }
}

/// A value as a cell: text as is, null as empty, lists and objects as JSON.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn json_failure(e: serde_json::Error) -> Failure {
    match e.io_error_kind() {
        Some(kind) => Failure::output(std::io::Error::from(kind)),
        None => Failure::new(code::OTHER, format!("cannot render a record: {e}")),
    }
}

fn csv_failure(e: csv::Error) -> Failure {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Failure::output(io),
        other => Failure::new(code::OTHER, format!("cannot write CSV: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(format: Format, columns: Columns, records: &[Value]) -> String {
        let mut buf = Vec::new();
        let mut out = Output::new(format, columns, &mut buf, false, None);
        for r in records {
            out.write(r).map_err(|f| f.message).expect("written");
        }
        out.finish().map_err(|f| f.message).expect("finished");
        String::from_utf8(buf).unwrap_or_default()
    }

    #[test]
    fn json_is_one_array_and_jsonl_one_object_a_line() {
        let records = [json!({"Id": 1}), json!({"Id": 2})];
        let text = render(Format::Json, Columns::FromFirst, &records);
        let back: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, json!([{"Id": 1}, {"Id": 2}]));
        assert_eq!(render(Format::Json, Columns::FromFirst, &[]), "[]\n");
        let text = render(Format::Jsonl, Columns::FromFirst, &records);
        assert_eq!(text, "{\"Id\":1}\n{\"Id\":2}\n");
    }

    #[test]
    fn csv_quotes_and_puts_nested_values_as_json() {
        let columns = Columns::Fixed(vec!["Id".into(), "Notes".into(), "Businesses".into()]);
        let records = [json!({"Id": 1, "Notes": "a, \"b\"\nc", "Businesses": [1, 2]})];
        let text = render(Format::Csv, columns, &records);
        assert_eq!(
            text,
            "Id,Notes,Businesses\n1,\"a, \"\"b\"\"\nc\",\"[1,2]\"\n"
        );
    }

    #[test]
    fn table_shows_the_chosen_columns() {
        let columns = Columns::Fixed(vec!["Id".into(), "Name".into()]);
        let text = render(
            Format::Table,
            columns,
            &[json!({"Id": 7, "Name": "Day", "X": 1})],
        );
        assert!(
            text.contains("Id") && text.contains("Day") && !text.contains('X'),
            "{text}"
        );
    }
}
