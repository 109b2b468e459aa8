//! The Singer catalog: what `--discover` prints (one stream per resource,
//! its schema, key, replication key and metadata), and what a `--catalog`
//! file selects: streams, fields and each stream's replication method.
//! A catalog with no selection metadata at all selects every stream.

use std::collections::BTreeSet;
use std::path::Path;

use nexudus_timepasses::spec::Resource;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::file;
use super::schema::{self, EXTRA, KEY, REPLICATION_KEY};
use crate::failure::Failure;

/// How a stream is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The changes since the state's checkpoint.
    Incremental,
    /// Every record, whatever the state says.
    FullTable,
}

/// A stream to emit, as a catalog chose it.
#[derive(Clone, Debug)]
pub struct Chosen {
    /// The resource.
    pub resource: Resource,
    /// The fields emitted, `extra` among them unless deselected (the key
    /// and replication key always are).
    pub fields: BTreeSet<&'static str>,
    /// How it is read.
    pub method: Method,
}

impl Chosen {
    /// Every field of `resource`, read incrementally.
    fn all(resource: Resource) -> Chosen {
        let fields = resource.spec().record_fields.iter().map(|f| f.name);
        Chosen {
            resource,
            fields: fields.chain([EXTRA]).collect(),
            method: Method::Incremental,
        }
    }
}

/// What `--discover` prints: every stream, selected, incremental.
pub fn discover(deletes: bool) -> Value {
    let streams: Vec<Value> = Resource::ALL
        .into_iter()
        .map(|r| entry(r, deletes))
        .collect();
    json!({ "streams": streams })
}

/// One stream's catalog entry.
fn entry(resource: Resource, deletes: bool) -> Value {
    let spec = resource.spec();
    let mut metadata = vec![json!({
        "breadcrumb": [],
        "metadata": {
            "selected": true,
            "inclusion": "available",
            "selected-by-default": true,
            "replication-method": "INCREMENTAL",
            "replication-key": REPLICATION_KEY,
            "valid-replication-keys": [REPLICATION_KEY],
            "table-key-properties": [KEY],
        }
    })];
    let schema = schema::of(spec, |_| true, deletes);
    let names = schema["properties"].as_object().map(Map::keys);
    for name in names.into_iter().flatten() {
        let automatic = [KEY, REPLICATION_KEY].contains(&name.as_str());
        let inclusion = if automatic { "automatic" } else { "available" };
        metadata.push(json!({
            "breadcrumb": ["properties", name],
            "metadata": {"inclusion": inclusion, "selected-by-default": true},
        }));
    }
    json!({
        "tap_stream_id": spec.name,
        "stream": spec.name,
        "schema": schema,
        "key_properties": [KEY],
        "replication_key": REPLICATION_KEY,
        "replication_method": "INCREMENTAL",
        "metadata": metadata,
    })
}

/// Every stream, every field, incremental: the run without a catalog.
pub fn everything() -> Vec<Chosen> {
    Resource::ALL.into_iter().map(Chosen::all).collect()
}

/// A catalog file as Singer documents it (what the tap reads of it).
#[derive(Deserialize)]
struct File {
    streams: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    tap_stream_id: Option<String>,
    stream: Option<String>,
    #[serde(default)]
    schema: Option<Value>,
    #[serde(default)]
    metadata: Vec<Metadata>,
    /// The older, top-level spelling of `replication-method`.
    replication_method: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    breadcrumb: Vec<String>,
    metadata: Map<String, Value>,
}

/// The streams the catalog file at `path` selects, in its order.
pub fn load(path: &Path) -> Result<Vec<Chosen>, Failure> {
    let catalog: File = file::read("catalog", path)?;
    choose(&catalog).map_err(|p| file::bad("catalog", path, p))
}

/// The streams `catalog` selects.
fn choose(catalog: &File) -> Result<Vec<Chosen>, String> {
    let mut explicit = Vec::new();
    for entry in &catalog.streams {
        explicit.push(selected(entry)?);
    }
    // No selection metadata anywhere: everything is selected.
    let none_said = explicit.iter().all(Option::is_none);
    let mut out: Vec<Chosen> = Vec::new();
    for (entry, said) in catalog.streams.iter().zip(explicit) {
        let resource = resource(entry)?;
        if out.iter().any(|c| c.resource == resource) {
            return Err(format!("stream {:?} is listed twice", resource.spec().name));
        }
        let chosen = chosen(entry, resource)?;
        if said.unwrap_or(none_said) {
            out.push(chosen);
        }
    }
    Ok(out)
}

/// The resource whose stream is `name`, exactly (a Singer stream id is
/// not an alias, and its case counts).
pub fn stream(name: &str) -> Option<Resource> {
    Resource::ALL.into_iter().find(|r| r.spec().name == name)
}

/// The resource an entry names.
fn resource(entry: &Entry) -> Result<Resource, String> {
    let name = entry
        .tap_stream_id
        .as_deref()
        .or(entry.stream.as_deref())
        .ok_or("a stream without tap_stream_id or stream")?;
    stream(name).ok_or_else(|| {
        let names: Vec<&str> = Resource::ALL.iter().map(|r| r.spec().name).collect();
        format!("stream {name:?} is not one of {}", names.join(", "))
    })
}

/// The stream-level metadata of an entry.
fn top(entry: &Entry) -> Option<&Map<String, Value>> {
    let top = entry.metadata.iter().find(|m| m.breadcrumb.is_empty());
    top.map(|m| &m.metadata)
}

/// `selected` of the stream's metadata, else of its schema (the older
/// place), if either says.
fn selected(entry: &Entry) -> Result<Option<bool>, String> {
    let said = top(entry)
        .and_then(|m| m.get("selected"))
        .or_else(|| entry.schema.as_ref().and_then(|s| s.get("selected")));
    match said {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!("selected is {other}, not true or false")),
    }
}

/// An entry's fields and replication method.
fn chosen(entry: &Entry, resource: Resource) -> Result<Chosen, String> {
    let name = resource.spec().name;
    let text = |key: &str| match top(entry).and_then(|m| m.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(format!("{name}: {key} is {other}, not a string")),
    };
    let method = text("replication-method")?.or(entry.replication_method.as_deref());
    let method = match method {
        None | Some("INCREMENTAL") => Method::Incremental,
        Some("FULL_TABLE") => Method::FullTable,
        Some(other) => {
            return Err(format!(
                "{name}: replication-method {other:?}: INCREMENTAL or FULL_TABLE"
            ))
        }
    };
    if let Some(key) = text("replication-key")?.filter(|k| *k != REPLICATION_KEY) {
        return Err(format!(
            "{name}: replication-key {key:?}: only {REPLICATION_KEY} is valid"
        ));
    }
    let mut chosen = Chosen::all(resource);
    for m in &entry.metadata {
        let [properties, field] = m.breadcrumb.as_slice() else {
            continue;
        };
        let off = match m.metadata.get("selected") {
            None | Some(Value::Null) | Some(Value::Bool(true)) => false,
            Some(Value::Bool(false)) => true,
            Some(other) => {
                return Err(format!(
                    "{name}.{field}: selected is {other}, not true or false"
                ))
            }
        };
        if properties == "properties" && off && ![KEY, REPLICATION_KEY].contains(&field.as_str()) {
            chosen.fields.remove(field.as_str());
        }
    }
    Ok(Chosen { method, ..chosen })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Chosen>, String> {
        choose(&serde_json::from_str(text).map_err(|e| e.to_string())?)
    }

    #[test]
    fn the_discovered_catalog_selects_everything() {
        let text = discover(false).to_string();
        let all = parse(&text).unwrap();
        assert_eq!(all.len(), 3);
        for c in &all {
            assert_eq!(c.fields.len(), c.resource.spec().record_fields.len() + 1);
            assert_eq!(c.method, Method::Incremental);
        }
    }

    #[test]
    fn selection_fields_and_methods_are_read() {
        let text = r#"{"streams":[
          {"tap_stream_id":"timepasses","metadata":[
             {"breadcrumb":[],"metadata":{"selected":true,"replication-method":"FULL_TABLE"}},
             {"breadcrumb":["properties","Name"],"metadata":{"selected":false}},
             {"breadcrumb":["properties","Id"],"metadata":{"selected":false}}]},
          {"tap_stream_id":"producttimepasses","metadata":[]},
          {"stream":"coworkertimepasses","schema":{"selected":false}}]}"#;
        let chosen = parse(text).unwrap();
        assert_eq!(chosen.len(), 1, "only the stream selected");
        let c = &chosen[0];
        assert_eq!(c.resource, Resource::TimePasses);
        assert_eq!(c.method, Method::FullTable);
        assert!(!c.fields.contains("Name"));
        assert!(c.fields.contains("Id"), "automatic fields stay");
        // Without any selection metadata, every stream listed.
        let bare = r#"{"streams":[{"stream":"timepasses"},{"stream":"producttimepasses"}]}"#;
        assert_eq!(parse(bare).unwrap().len(), 2);
    }

    #[test]
    fn bad_catalogs_are_refused() {
        for text in [
            r#"{"streams":[{"stream":"passes"}]}"#,
            r#"{"streams":[{"stream":"timepasses"},{"tap_stream_id":"timepasses"}]}"#,
            r#"{"streams":[{"stream":"timepasses","replication_method":"LOG_BASED"}]}"#,
            r#"{"streams":[{"stream":"timepasses","metadata":[{"breadcrumb":[],"metadata":{"selected":"yes"}}]}]}"#,
            r#"{"streams":[{"stream":"timepasses","metadata":[{"breadcrumb":[],"metadata":{"replication-key":"Id"}}]}]}"#,
            r#"{"streams":[{}]}"#,
            r#"{"streams":[{"stream":"timepasses","metadata":[{"breadcrumb":[],"metadata":{"replication-method":5}}]}]}"#,
            r#"{"streams":[{"stream":"timepasses","metadata":[{"breadcrumb":["properties","Name"],"metadata":{"selected":"false"}}]}]}"#,
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
