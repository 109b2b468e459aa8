//! `nexudus drift --apply FILE`: applies an OpenAPI Overlay's actions to an
//! OpenAPI document by editing its text, so that everything the actions do
//! not touch stays byte for byte (comments, order, quoting, line width).
//!
//! It edits block-style YAML, as openapi.yaml is written: a target is a
//! plain path of mapping keys (`$.components.schemas.TimePass.properties`,
//! `['odd name']` for other names); an update merges into the mapping there
//! (a key it has is merged or replaced, a new key is appended at the
//! mapping's indentation); a remove deletes the entry. Before anything is
//! written, the edited text is parsed and compared with the document the
//! overlay describes (the original, parsed, with the actions applied as
//! values); any difference, a target that is missing, or a shape it cannot
//! edit (a flow-style mapping, a list merge) is refused with the reason,
//! and the caller keeps the file as it was.

use serde_json::{Map, Value};
use serde_yaml::Value as Yaml;

/// One action: where, and what.
#[derive(Debug)]
enum Action {
    Update(Vec<String>, Map<String, Value>),
    Remove(Vec<String>),
}

/// `text` with the actions of `overlay` (an Overlay document as JSON)
/// applied, or why they cannot be applied in place.
pub fn apply(text: &str, overlay: &Value) -> Result<String, String> {
    let actions = actions(overlay)?;
    let original: Yaml = serde_yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    let mut expected = original;
    let mut doc = Doc::new(text);
    for action in &actions {
        match action {
            Action::Update(path, update) => {
                merge_value(&mut expected, path, update)?;
                doc.merge(path, update)?;
            }
            Action::Remove(path) => {
                remove_value(&mut expected, path)?;
                doc.remove(path)?;
            }
        }
    }
    let edited = doc.text();
    let parsed: Yaml = serde_yaml::from_str(&edited).map_err(|e| {
        format!("the edit would not be valid YAML ({e}); apply the overlay by hand")
    })?;
    if parsed != expected {
        return Err(
            "the edited text would not hold what the overlay describes (a shape \
                    --apply cannot edit in place); apply the overlay by hand"
                .into(),
        );
    }
    Ok(edited)
}

/// The overlay's actions, each checked.
fn actions(overlay: &Value) -> Result<Vec<Action>, String> {
    let version = overlay.get("overlay").and_then(Value::as_str);
    if !version.is_some_and(|v| v.starts_with("1.")) {
        return Err("not an OpenAPI Overlay 1.x document (no `overlay: 1.0.0`)".into());
    }
    let list = overlay.get("actions").and_then(Value::as_array);
    let list = list
        .filter(|l| !l.is_empty())
        .ok_or("the overlay has no actions")?;
    let mut out = Vec::new();
    for (n, action) in list.iter().enumerate() {
        let which = |e: String| format!("action {}: {e}", n + 1);
        let target = action.get("target").and_then(Value::as_str);
        let path =
            target_path(target.ok_or("no target".to_owned()).map_err(which)?).map_err(which)?;
        let remove = action.get("remove").and_then(Value::as_bool) == Some(true);
        out.push(match (remove, action.get("update")) {
            (true, _) => Action::Remove(path),
            (false, Some(Value::Object(update))) => Action::Update(path, update.clone()),
            (false, _) => {
                return Err(which(
                    "only updates of mappings and removes are applied in place".into(),
                ))
            }
        });
    }
    Ok(out)
}

/// The keys of a plain JSONPath: `$`, then `.name` or `['name']` steps.
fn target_path(target: &str) -> Result<Vec<String>, String> {
    let unsupported =
        || format!("target `{target}`: only plain paths of keys are applied in place");
    let mut rest = target.strip_prefix('$').ok_or_else(unsupported)?;
    let mut keys = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("['").or_else(|| rest.strip_prefix("[\"")) {
            let quote = rest.as_bytes()[1] as char;
            let (key, tail) = quoted(after, quote).ok_or_else(unsupported)?;
            rest = tail.strip_prefix(']').ok_or_else(unsupported)?;
            keys.push(key);
        } else if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            let plain = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
            if !plain {
                return Err(unsupported());
            }
            keys.push(key.to_owned());
            rest = &after[end..];
        } else {
            return Err(unsupported());
        }
    }
    Ok(keys)
}

/// A quoted name up to its closing `quote` (backslash escapes), and what
/// follows it.
fn quoted(text: &str, quote: char) -> Option<(String, &str)> {
    let mut key = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => key.push(chars.next()?.1),
            c if c == quote => return Some((key, &text[i + 1..])),
            c => key.push(c),
        }
    }
    None
}

/// Applies an update to the parsed document, as Overlay 1.0 says: objects
/// merge, lists concatenate, anything else is replaced.
fn merge_value(doc: &mut Yaml, path: &[String], update: &Map<String, Value>) -> Result<(), String> {
    let node = node_mut(doc, path)?;
    merge_into(node, to_yaml(&Value::Object(update.clone())));
    Ok(())
}

fn merge_into(node: &mut Yaml, patch: Yaml) {
    match (node, patch) {
        (Yaml::Mapping(node), Yaml::Mapping(patch)) => {
            for (key, value) in patch {
                match node.get_mut(&key) {
                    Some(existing) => merge_into(existing, value),
                    None => {
                        node.insert(key, value);
                    }
                }
            }
        }
        (Yaml::Sequence(node), Yaml::Sequence(items)) => node.extend(items),
        (node, patch) => *node = patch,
    }
}

fn remove_value(doc: &mut Yaml, path: &[String]) -> Result<(), String> {
    let (last, parent) = path
        .split_last()
        .ok_or("cannot remove the whole document")?;
    let parent = node_mut(doc, parent)?;
    let removed = parent
        .as_mapping_mut()
        .and_then(|m| m.remove(last.as_str()));
    removed.map(drop).ok_or_else(|| missing(path))
}

fn node_mut<'a>(doc: &'a mut Yaml, path: &[String]) -> Result<&'a mut Yaml, String> {
    let mut node = doc;
    for (n, key) in path.iter().enumerate() {
        let next = node.as_mapping_mut().and_then(|m| m.get_mut(key.as_str()));
        node = next.ok_or_else(|| missing(&path[..=n]))?;
    }
    Ok(node)
}

fn missing(path: &[String]) -> String {
    format!("the file has no `{}`", path.join("."))
}

/// The document's lines, edited in place.
struct Doc {
    lines: Vec<String>,
    eol: &'static str,
    final_eol: bool,
}

/// A mapping entry in the text: its key's line and indent, whether its
/// value stands on that line, and the line after its last content line.
#[derive(Clone, Copy, Debug)]
struct Entry {
    line: usize,
    indent: usize,
    inline: bool,
    end: usize,
}

impl Doc {
    fn new(text: &str) -> Self {
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let final_eol = text.ends_with(eol);
        let body = text.strip_suffix(eol).unwrap_or(text);
        let lines = body.split(eol).map(str::to_owned).collect();
        Doc {
            lines,
            eol,
            final_eol,
        }
    }

    fn text(&self) -> String {
        let mut text = self.lines.join(self.eol);
        if self.final_eol {
            text.push_str(self.eol);
        }
        text
    }

    /// The entry at `path`, found key by key through block mappings.
    fn locate(&self, path: &[String]) -> Result<Entry, String> {
        let mut range = (0, self.lines.len());
        let mut found = None;
        for (n, key) in path.iter().enumerate() {
            let indent = self
                .children_indent(range)
                .ok_or_else(|| missing(&path[..=n]))?;
            let entry = self
                .find(range, indent, key)
                .ok_or_else(|| missing(&path[..=n]))?;
            if entry.inline && n + 1 < path.len() {
                return Err(inline(&path[..=n]));
            }
            range = (entry.line + 1, entry.end);
            found = Some(entry);
        }
        found.ok_or_else(|| "a target must name a key".into())
    }

    /// The indent of the first content line in `range`: its entries'.
    fn children_indent(&self, (start, end): (usize, usize)) -> Option<usize> {
        let line = self.lines[start..end].iter().find(|l| content(l))?;
        Some(indent(line))
    }

    /// The entry with key `key` at `indent` in `range`.
    fn find(&self, (start, end): (usize, usize), indent: usize, key: &str) -> Option<Entry> {
        (start..end).find_map(|i| {
            let (at, name, rest) = key_of(&self.lines[i])?;
            (at == indent && name == key).then(|| Entry {
                line: i,
                indent,
                inline: !rest.is_empty(),
                end: self.entry_end(i, indent),
            })
        })
    }

    /// The line after the last content line of the entry whose key is on
    /// line `at` (its value's lines are deeper, or list items at its
    /// indent).
    fn entry_end(&self, at: usize, indent: usize) -> usize {
        let mut end = at + 1;
        for (i, line) in self.lines.iter().enumerate().skip(at + 1) {
            if !content(line) {
                continue;
            }
            let deeper = self::indent(line) > indent;
            let item = self::indent(line) == indent && line.trim_start().starts_with('-');
            if !deeper && !item {
                break;
            }
            end = i + 1;
        }
        end
    }

    /// Merges `update` into the block mapping at `path`.
    fn merge(&mut self, path: &[String], update: &Map<String, Value>) -> Result<(), String> {
        for (key, value) in update {
            let entry = self.locate(path)?;
            if entry.inline {
                return Err(inline(path));
            }
            let body = (entry.line + 1, entry.end);
            let indent = self.children_indent(body).unwrap_or(entry.indent + 2);
            let mut child_path = path.to_vec();
            child_path.push(key.clone());
            match (self.find(body, indent, key), value) {
                (Some(child), Value::Object(inner)) if !child.inline => {
                    self.merge(&child_path, inner)?;
                }
                (Some(child), Value::Array(_)) if !child.inline => {
                    return Err(format!(
                        "`{}` is a list; merging lists is left to a person",
                        child_path.join(".")
                    ));
                }
                (Some(child), _) => {
                    let lines = render(key, value, indent)?;
                    self.lines.splice(child.line..child.end, lines);
                }
                (None, _) => {
                    let lines = render(key, value, indent)?;
                    self.lines.splice(entry.end..entry.end, lines);
                }
            }
        }
        Ok(())
    }

    /// Deletes the entry at `path`.
    fn remove(&mut self, path: &[String]) -> Result<(), String> {
        let entry = self.locate(path)?;
        self.lines.drain(entry.line..entry.end);
        Ok(())
    }
}

fn inline(path: &[String]) -> String {
    format!(
        "`{}` is written inline (flow style); apply the overlay to it by hand",
        path.join(".")
    )
}

/// `key: value` as block YAML at `indent`.
fn render(key: &str, value: &Value, indent: usize) -> Result<Vec<String>, String> {
    let mut entry = serde_yaml::Mapping::new();
    entry.insert(Yaml::String(key.to_owned()), to_yaml(value));
    let text = serde_yaml::to_string(&entry).map_err(|e| e.to_string())?;
    let pad = " ".repeat(indent);
    Ok(text.lines().map(|l| format!("{pad}{l}")).collect())
}

/// The keys of an Overlay and of a property schema, in the order people
/// write them (openapi.yaml's: `type` and `format` first, `description`
/// after them); other keys keep their order after these.
const KEY_ORDER: [&str; 14] = [
    "overlay",
    "info",
    "title",
    "version",
    "actions",
    "target",
    "remove",
    "type",
    "format",
    "items",
    "nullable",
    "additionalProperties",
    "description",
    "update",
];

/// `value` as YAML, mapping keys in [`KEY_ORDER`].
pub fn to_yaml(value: &Value) -> Yaml {
    let rank = |key: &str| {
        KEY_ORDER
            .iter()
            .position(|k| *k == key)
            .unwrap_or(KEY_ORDER.len())
    };
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(key, _)| rank(key));
            let entries = entries.into_iter();
            Yaml::Mapping(
                entries
                    .map(|(k, v)| (Yaml::String(k.clone()), to_yaml(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Yaml::Sequence(items.iter().map(to_yaml).collect()),
        Value::String(text) => Yaml::String(text.clone()),
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Null => Yaml::Null,
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Yaml::Number(i.into()),
            (_, Some(u), _) => Yaml::Number(u.into()),
            (_, _, f) => Yaml::Number(f.unwrap_or(f64::NAN).into()),
        },
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A line that holds YAML, not only a comment or spaces.
fn content(line: &str) -> bool {
    let text = line.trim();
    !text.is_empty() && !text.starts_with('#')
}

/// A block mapping entry's indent, key (unquoted) and the value on its
/// line (empty when the value is below, comments left out).
fn key_of(line: &str) -> Option<(usize, String, &str)> {
    let text = line.trim_start_matches(' ');
    let at = line.len() - text.len();
    let (key, rest) = match text.chars().next()? {
        quote @ ('\'' | '"') => {
            let (key, rest) = if quote == '\'' {
                single_quoted(&text[1..])?
            } else {
                quoted(&text[1..], '"')?
            };
            (key, rest.trim_start_matches(' ').strip_prefix(':')?)
        }
        '#' | '-' | '{' | '[' | '?' => return None,
        _ => {
            let colon = text
                .match_indices(':')
                .find(|(i, _)| matches!(text[i + 1..].chars().next(), None | Some(' ')))?;
            (text[..colon.0].trim_end().to_owned(), &text[colon.0 + 1..])
        }
    };
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let rest = rest.trim();
    let value = if rest.starts_with('#') { "" } else { rest };
    Some((at, key, value))
}

/// A single-quoted YAML scalar (`''` is a quote) and what follows it.
fn single_quoted(text: &str) -> Option<(String, &str)> {
    let mut key = String::new();
    let mut rest = text;
    loop {
        let end = rest.find('\'')?;
        key.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest.strip_prefix('\'') {
            Some(after) => {
                key.push('\'');
                rest = after;
            }
            None => return Some((key, rest)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A spec in block style with comments, a quoted key, a quoted value and
    /// a folded string next to the schema that changes.
    const SPEC: &str = "\
openapi: 3.0.3
components:
  schemas:
    # Passes, as the docs describe them.
    Pass:
      type: object
      properties:
        'Id':   # quoted key, two spaces before the comment
          type: \"integer\"
          format: int32
        Name:
          type: string
          description: 'A name: with a colon,
            folded over two lines.'
        # Kept: a comment after the last property.
      additionalProperties: {}
    Other:
      type: object
      properties:
        Id: {type: integer}
";

    fn overlay(actions: Value) -> Value {
        json!({"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": actions})
    }

    #[test]
    fn an_added_and_a_changed_property_keep_every_other_byte() {
        let edited = apply(
            SPEC,
            &overlay(json!([
                {"target": "$.components.schemas.Pass.properties.Id.format", "remove": true},
                {"target": "$.components.schemas.Pass.properties", "update": {
                    "Id": {"type": "string", "nullable": true},
                    "Colour": {"type": "string", "description": "Inferred: 2 samples."},
                }},
            ])),
        );
        // The retyped property's two lines change, the new one comes
        // after the last property; every other byte is the same.
        let retyped = SPEC.replace(
            "          type: \"integer\"\n          format: int32\n",
            "          type: string\n          nullable: true\n",
        );
        let expected = retyped.replace(
            "        # Kept:",
            "        Colour:\n          type: string\n          description: 'Inferred: 2 samples.'\n        # Kept:",
        );
        assert_ne!(expected, SPEC);
        assert_eq!(edited, Ok(expected));
    }

    #[test]
    fn crlf_and_a_missing_final_newline_stay() {
        let spec = SPEC.replace('\n', "\r\n");
        let spec = spec.trim_end();
        let update = json!([{"target": "$.components.schemas.Pass.properties",
                             "update": {"Rank": {"type": "integer"}}}]);
        let edited = apply(spec, &overlay(update)).expect("applied");
        assert!(edited.contains("        Rank:\r\n          type: integer\r\n        # Kept"));
        assert!(edited.ends_with("Id: {type: integer}"));
        assert_eq!(
            edited.replace("        Rank:\r\n          type: integer\r\n", ""),
            spec
        );
    }

    #[test]
    fn what_cannot_be_placed_is_refused_with_the_reason() {
        let refused = |actions: Value| apply(SPEC, &overlay(actions)).expect_err("refused");
        let missing = refused(json!([{"target": "$.components.schemas.Gone.properties",
                                      "update": {"A": {"type": "string"}}}]));
        assert!(
            missing.contains("no `components.schemas.Gone`"),
            "{missing}"
        );
        let flow = refused(
            json!([{"target": "$.components.schemas.Other.properties.Id",
                                   "update": {"format": "int32"}}]),
        );
        assert!(flow.contains("inline"), "{flow}");
        let wildcard = refused(json!([{"target": "$.components.schemas.*.properties",
                                       "update": {"A": {}}}]));
        assert!(wildcard.contains("plain paths"), "{wildcard}");
        let copy = refused(json!([{"target": "$.components", "copy": "$.info"}]));
        assert!(copy.contains("only updates"), "{copy}");
        let gone = refused(
            json!([{"target": "$.components.schemas.Pass.properties.Id.pattern",
                                   "remove": true}]),
        );
        assert!(
            gone.contains("no `components.schemas.Pass.properties.Id.pattern`"),
            "{gone}"
        );
        assert!(refused(json!([])).contains("no actions"));
        let not_overlay = apply(SPEC, &json!({"openapi": "3.0.3"})).expect_err("refused");
        assert!(
            not_overlay.contains("not an OpenAPI Overlay"),
            "{not_overlay}"
        );
    }

    #[test]
    fn targets_read_dotted_and_bracketed_names() {
        let path = target_path("$.components.schemas['odd \\' name'][\"x\"].properties");
        let keys = ["components", "schemas", "odd ' name", "x", "properties"];
        assert_eq!(path, Ok(keys.map(String::from).to_vec()));
    }

    #[test]
    fn the_projects_spec_takes_an_addition_to_every_record_schema() {
        let spec = include_str!("../../../openapi.yaml");
        let schemas = [
            "TimePass",
            "TimePassListItem",
            "CoworkerTimePass",
            "ProductTimePassPage",
        ];
        let actions: Vec<Value> = schemas
            .iter()
            .map(|s| {
                json!({"target": format!("$.components.schemas.{s}.properties"),
                            "update": {"Drifted": {"type": "boolean", "nullable": true}}})
            })
            .collect();
        let edited = apply(spec, &overlay(Value::Array(actions))).expect("applied");
        let added = "        Drifted:\n          type: boolean\n          nullable: true\n";
        assert_eq!(edited.matches(added).count(), schemas.len());
        assert_eq!(
            edited.replace(added, ""),
            spec,
            "only the added lines differ"
        );
    }
}
