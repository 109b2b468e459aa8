//! The stand-in's JSON answers with the fields the docs show as `null` in
//! every record (`CustomFields`, `LocalizationDetails`) written as `null`
//! where a record leaves them out. The spec types them as nullable objects,
//! which the generated types skip when unset.
//!
//! It is done while the body is written, by a `serde_json` formatter that
//! sees each object's keys, so an answer costs one serialization: no
//! `serde_json::Value` of the whole page is built and dropped.

use std::io::{self, Write};

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::ser::{CompactFormatter, Formatter};

/// The fields written as `null` when a record leaves them out.
const DOCUMENTED_NULLS: [&str; 2] = ["CustomFields", "LocalizationDetails"];

/// `body` as a JSON answer, with [`DOCUMENTED_NULLS`] filled in every
/// record: the body itself, each item of a top-level list, or each item of
/// a page's `Records`.
pub(crate) fn json_with_documented_nulls<T: serde::Serialize>(body: &T) -> Response {
    let mut bytes = Vec::with_capacity(4096);
    let mut ser = serde_json::Serializer::with_formatter(&mut bytes, NullFiller::default());
    match body.serialize(&mut ser) {
        Ok(()) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// One open object or array.
#[derive(Default)]
struct Frame {
    is_array: bool,
    /// An array whose items are records (top level, or a page's `Records`).
    holds_records: bool,
    /// An object that is a record, unless it turns out to be a page.
    record: bool,
    keys: usize,
    /// Which of [`DOCUMENTED_NULLS`] were written.
    seen: [bool; 2],
    saw_records: bool,
    /// The key being written, or the last one.
    key: String,
}

/// A compact formatter that tracks keys per object and fills the missing
/// documented nulls as each record closes.
#[derive(Default)]
struct NullFiller {
    stack: Vec<Frame>,
    in_key: bool,
}

impl NullFiller {
    /// Whether the value about to open sits under a page's `Records` key.
    fn under_records_key(&self) -> bool {
        self.stack.len() == 1 && self.stack[0].key == "Records" && !self.stack[0].is_array
    }
}

impl Formatter for NullFiller {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        let holds_records = self.stack.is_empty() || self.under_records_key();
        self.stack.push(Frame {
            is_array: true,
            holds_records,
            ..Frame::default()
        });
        CompactFormatter.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.stack.pop();
        CompactFormatter.end_array(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        let record = match self.stack.last() {
            None => true,
            Some(parent) => parent.is_array && parent.holds_records,
        };
        self.stack.push(Frame {
            record,
            ..Frame::default()
        });
        CompactFormatter.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        if let Some(frame) = self.stack.pop() {
            let page = self.stack.is_empty() && frame.saw_records;
            if frame.record && !page {
                let mut keys = frame.keys;
                for (name, seen) in DOCUMENTED_NULLS.iter().zip(frame.seen) {
                    if !seen {
                        let comma = if keys > 0 { "," } else { "" };
                        write!(writer, "{comma}\"{name}\":null")?;
                        keys += 1;
                    }
                }
            }
        }
        CompactFormatter.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.in_key = true;
        if let Some(frame) = self.stack.last_mut() {
            frame.keys += 1;
            frame.key.clear();
        }
        CompactFormatter.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.in_key = false;
        if let Some(frame) = self.stack.last_mut() {
            for (i, name) in DOCUMENTED_NULLS.iter().enumerate() {
                frame.seen[i] |= frame.key == *name;
            }
            frame.saw_records |= frame.key == "Records";
        }
        CompactFormatter.end_object_key(writer)
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if self.in_key {
            if let Some(frame) = self.stack.last_mut() {
                frame.key.push_str(fragment);
            }
        }
        CompactFormatter.write_string_fragment(writer, fragment)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn written(value: &Value) -> Value {
        let mut bytes = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut bytes, NullFiller::default());
        serde::Serialize::serialize(value, &mut ser).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn a_record_gets_the_nulls_it_leaves_out_and_keeps_the_ones_it_has() {
        let out = written(&json!({"Id": 1, "CustomFields": {"a": 1}}));
        assert_eq!(
            out,
            json!({"Id": 1, "CustomFields": {"a": 1}, "LocalizationDetails": null})
        );
        assert_eq!(
            written(&json!({})),
            json!({"CustomFields": null, "LocalizationDetails": null})
        );
    }

    #[test]
    fn lists_and_page_records_are_filled_and_nothing_else_is() {
        let list = written(&json!([{"Id": 1, "Integration": {"Level": 2}}]));
        assert_eq!(
            list,
            json!([{"Id": 1, "Integration": {"Level": 2}, "CustomFields": null, "LocalizationDetails": null}])
        );
        let page = written(
            &json!({"Records": [{"Id": 1}, {"Id": 2, "Tags": [{"x": 1}]}], "TotalItems": 2}),
        );
        assert_eq!(
            page,
            json!({
                "Records": [
                    {"Id": 1, "CustomFields": null, "LocalizationDetails": null},
                    {"Id": 2, "Tags": [{"x": 1}], "CustomFields": null, "LocalizationDetails": null}
                ],
                "TotalItems": 2
            })
        );
    }
}
