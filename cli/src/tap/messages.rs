//! The Singer messages the tap writes on stdout, one JSON object a line:
//! SCHEMA before a stream's records, RECORD, and STATE, flushed at once so
//! that a target that commits it holds every record before it.

use std::io::Write;

use serde_json::{json, Value};

use super::catalog::Method;
use super::schema::{KEY, REPLICATION_KEY};
use super::state::State;
use crate::failure::Failure;

/// A writer of Singer messages.
pub struct Messages<W: Write> {
    out: W,
}

impl<W: Write> Messages<W> {
    /// Messages written to `out`.
    pub fn new(out: W) -> Self {
        Messages { out }
    }

    /// A stream's SCHEMA message.
    pub fn schema(&mut self, stream: &str, schema: &Value, method: Method) -> Result<(), Failure> {
        let mut message = json!({
            "type": "SCHEMA",
            "stream": stream,
            "schema": schema,
            "key_properties": [KEY],
        });
        if method == Method::Incremental {
            message["bookmark_properties"] = json!([REPLICATION_KEY]);
        }
        self.line(&message)
    }

    /// A RECORD message, read at `extracted` (RFC 3339).
    pub fn record(&mut self, stream: &str, record: Value, extracted: &str) -> Result<(), Failure> {
        let message = json!({
            "type": "RECORD",
            "stream": stream,
            "record": record,
            "time_extracted": extracted,
        });
        self.line(&message)
    }

    /// A STATE message, flushed with everything before it.
    pub fn state(&mut self, state: &State) -> Result<(), Failure> {
        self.line(&json!({"type": "STATE", "value": state}))?;
        self.out.flush().map_err(Failure::output)
    }

    fn line(&mut self, message: &Value) -> Result<(), Failure> {
        serde_json::to_writer(&mut self.out, message)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(Failure::output)
    }

    /// Writes what is buffered.
    pub fn flush(&mut self) -> Result<(), Failure> {
        self.out.flush().map_err(Failure::output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_a_line() {
        let mut m = Messages::new(Vec::new());
        m.schema(
            "timepasses",
            &json!({"type": "object"}),
            Method::Incremental,
        )
        .unwrap();
        m.record("timepasses", json!({"Id": 1}), "2025-01-01T00:00:00Z")
            .unwrap();
        m.state(&State::default()).unwrap();
        let text = String::from_utf8(m.out).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["bookmark_properties"], json!(["UpdatedOn"]));
        assert_eq!(lines[1]["record"]["Id"], 1);
        assert_eq!(
            lines[2],
            json!({"type": "STATE", "value": {"bookmarks": {}}})
        );
    }
}
