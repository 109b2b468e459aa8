//! The spec change a drift check calls for: [`Proposal`], its changes per
//! schema and property, what only a person can decide, and the same as an
//! OpenAPI Overlay 1.0 document ([`Proposal::overlay`]).
//!
//! The rules: a field a schema does not declare is added to that schema
//! (the full record and the listing record each where it was seen; a
//! listing field the spec says listings omit gets the full record's
//! property); a declared field seen with another type gets the inferred
//! type, and one seen null becomes nullable. Nothing goes into create or
//! update bodies: whether the API accepts a field on write is for a person
//! to find out, so such fields are only named. Values are never copied,
//! only their shapes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use crate::spec;

use super::{
    fits, full_record_of, nullable, properties, resolve, spec_schemas, types, DriftCheck, Problem,
    Seen,
};

/// What a [`Change`] does to its property.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// The schema gains the property, with this schema.
    Add(Map<String, Value>),
    /// The existing property gets these keys set, and loses these.
    Update {
        /// Keys set (`type`, `format`, `nullable`, ...).
        set: Map<String, Value>,
        /// Keys removed (a `format` the new type does not have, ...).
        remove: Vec<String>,
    },
}

/// One change of one property of one schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The schema (`TimePass`, `TimePassListItem`, ...).
    pub schema: String,
    /// The property's JSON name.
    pub field: String,
    /// What happens to it.
    pub kind: ChangeKind,
}

/// The spec change the observations call for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Proposal {
    /// Changes to make, by schema and field.
    pub changes: Vec<Change>,
    /// Findings no change covers, one line each, for a person.
    pub left: Vec<String>,
    /// Fields added to a full record whose create or update body may take
    /// them too (`TimePassCreate.Colour`): only a person can tell.
    pub write_candidates: Vec<String>,
    /// The day the values were seen.
    pub date: NaiveDate,
}

impl DriftCheck {
    /// The spec change these observations call for, dated `date` (each
    /// added property's description names it and its sample count).
    pub fn proposal(&self, date: NaiveDate) -> Proposal {
        let mut proposal = Proposal {
            date,
            ..Proposal::default()
        };
        let mut covered = BTreeSet::new();
        for (schema, field) in self.fields.keys() {
            let Some(declared) = spec_schemas().get(schema) else {
                continue;
            };
            // A full record and its listing record show the same field:
            // types are inferred from both, since the full records read
            // are a sample of the listed ones.
            let seen = self.seen_in_both(schema, field);
            // An undeclared field is always added or left to a person.
            let covers = match properties(declared).get(field) {
                None => {
                    proposal.add(schema, field, &seen);
                    true
                }
                Some(spec) => proposal.update(schema, field, spec, &seen),
            };
            if covers {
                covered.insert((schema.clone(), field.clone()));
            }
        }
        for finding in self.findings() {
            if covered.contains(&(finding.schema.clone(), finding.field.clone())) {
                continue;
            }
            let why = match &finding.problem {
                Problem::NeverSeen => "declared but never seen; kept (the sample may hold none)",
                Problem::OutsideEnum { .. } => "a value outside the enum; extend it by hand",
                _ => "nested or unplaced; describe it by hand",
            };
            proposal.leave(&finding.schema, &finding.field, why);
        }
        proposal
    }

    /// What `field` was seen with in `schema` and in its partner (the
    /// listing record of a full record, or the full record of a listing).
    fn seen_in_both(&self, schema: &str, field: &str) -> Seen {
        let partner = match (spec::of_listing(schema), spec::of_record(schema)) {
            (Some(r), _) => Some(r.record_schema()),
            (None, Some(r)) => Some(r.list_schema()),
            (None, None) => None,
        };
        let mut seen = Seen::default();
        for name in std::iter::once(schema).chain(partner) {
            if let Some(other) = self.fields.get(&(name.to_owned(), field.to_owned())) {
                seen.merge(other);
            }
        }
        seen
    }
}

/// What the values seen call for in a declared property.
enum Adjust {
    /// Nothing: they fit.
    Nothing,
    /// Keys to set and keys to remove.
    Change(Map<String, Value>, Vec<String>),
    /// Only a person can say, for this reason.
    Leave(String),
}

/// Keys a property loses when its type changes: they describe the old one.
const OF_THE_OLD_TYPE: [&str; 15] = [
    "format",
    "items",
    "properties",
    "additionalProperties",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "default",
];

/// The change of the property `spec` its values `seen` call for: a new
/// type when they do not fit, a wider format (`int64`, or no `date-time`)
/// when they overflow it, `nullable` when nulls came.
fn adjust(spec: &Value, seen: &Seen) -> Adjust {
    let declared = resolve(spec);
    let retype = !seen.types.iter().all(|found| fits(declared, found));
    let null = seen.nulls > 0 && !nullable(declared);
    let format = declared.get("format").and_then(Value::as_str);
    let wide = format == Some("int32") && seen.beyond_int32();
    let not_instants = format == Some("date-time") && seen.date_times < seen.strings;
    if !retype && !null && !wide && !not_instants {
        return Adjust::Nothing;
    }
    // A $ref or a union cannot take keys beside it (OpenAPI 3.0 ignores
    // them): such a property is for a person.
    if spec.get("$ref").is_some() || types(spec).len() > 1 {
        return Adjust::Leave("a $ref or a union; change it by hand".into());
    }
    let (mut set, mut remove) = (Map::new(), Vec::new());
    if retype {
        let Some(inferred) = seen.schema() else {
            return Adjust::Leave(several(seen));
        };
        let gone = OF_THE_OLD_TYPE.iter().filter(|k| spec.get(**k).is_some());
        remove.extend(
            gone.filter(|k| !inferred.contains_key(**k))
                .map(|k| k.to_string()),
        );
        set = inferred;
        set.remove("nullable");
    } else if wide {
        set.insert("format".into(), "int64".into());
    } else if not_instants {
        remove.push("format".into());
    }
    if null {
        set.insert("nullable".into(), true.into());
    }
    Adjust::Change(set, remove)
}

/// Whether a name can be a key of the spec as it is: a plain identifier
/// that no YAML reader takes for anything but a string (not `yes`, `on`,
/// `null`, `<<`, `1_000`, ...). Other names are left to a person.
fn plain_key(name: &str) -> bool {
    const WORDS: [&str; 9] = ["y", "yes", "n", "no", "true", "false", "on", "off", "null"];
    identifier(name) && !WORDS.contains(&name.to_ascii_lowercase().as_str())
}

/// Whether `name` is an ASCII identifier: a letter or `_`, then letters,
/// digits and `_`.
fn identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Proposal {
    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// `field`, undeclared in `schema`, added with the inferred schema (or,
    /// in a listing record, the full record's property, adjusted to what
    /// the listing sent).
    fn add(&mut self, schema: &str, field: &str, seen: &Seen) {
        if !plain_key(field) {
            let why = "a name YAML tools may read as something else; add it by hand";
            return self.leave(schema, &field.escape_debug().to_string(), why);
        }
        let full = full_record_of(schema).and_then(|full| properties(full).get(field).cloned());
        let property = match (full, seen.schema()) {
            (Some(full), _) => {
                let mut property = full.as_object().cloned().unwrap_or_default();
                match adjust(&full, seen) {
                    Adjust::Nothing => {}
                    Adjust::Change(set, remove) => {
                        remove.iter().for_each(|key| drop(property.remove(key)));
                        property.extend(set);
                    }
                    Adjust::Leave(why) => return self.leave(schema, field, &why),
                }
                property
            }
            (None, Some(mut inferred)) => {
                let note = format!(
                    "Inferred by `nexudus drift` from {} samples on {}; not in the API's documentation.",
                    seen.values, self.date
                );
                inferred.insert("description".into(), note.into());
                inferred
            }
            (None, None) => return self.leave(schema, field, &several(seen)),
        };
        let bodies = spec::of_record(schema).map_or(&[][..], |r| &r.schemas[2..]);
        for body in bodies {
            self.write_candidates.push(format!("{body}.{field}"));
        }
        self.push(schema, field, ChangeKind::Add(property));
    }

    /// `field`, declared in `schema` as `spec`, changed as its values call
    /// for (see [`adjust`]); whether they called for anything.
    fn update(&mut self, schema: &str, field: &str, spec: &Value, seen: &Seen) -> bool {
        match adjust(spec, seen) {
            Adjust::Nothing => return false,
            Adjust::Change(set, remove) => {
                self.push(schema, field, ChangeKind::Update { set, remove })
            }
            Adjust::Leave(why) => self.leave(schema, field, &why),
        }
        true
    }

    fn push(&mut self, schema: &str, field: &str, kind: ChangeKind) {
        self.changes.push(Change {
            schema: schema.into(),
            field: field.into(),
            kind,
        });
    }

    fn leave(&mut self, schema: &str, field: &str, why: &str) {
        self.left.push(format!("{schema}.{field}: {why}"));
    }

    /// The changes as an OpenAPI Overlay 1.0 document: per schema, the
    /// removals of keys a retyped property no longer has, then one update
    /// of its `properties` with every added or changed property.
    pub fn overlay(&self, title: &str) -> Value {
        let mut by_schema: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
        for change in &self.changes {
            by_schema.entry(&change.schema).or_default().push(change);
        }
        let mut actions = Vec::new();
        for (schema, changes) in by_schema {
            let properties = format!("$.components.schemas{}.properties", member(schema));
            let mut update = Map::new();
            let (mut added, mut changed) = (Vec::new(), Vec::new());
            for change in changes {
                let field = change.field.as_str();
                match &change.kind {
                    ChangeKind::Add(property) => {
                        added.push(field);
                        update.insert(field.into(), Value::Object(property.clone()));
                    }
                    ChangeKind::Update { set, remove } => {
                        changed.push(field);
                        update.insert(field.into(), Value::Object(set.clone()));
                        for key in remove {
                            actions.push(json!({
                                "target": format!("{properties}{}{}", member(field), member(key)),
                                "description": format!("{schema}.{field}: no {key} for its new type"),
                                "remove": true,
                            }));
                        }
                    }
                }
            }
            actions.push(json!({
                "target": properties,
                "description": summary(schema, &added, &changed),
                "update": update,
            }));
        }
        json!({
            "overlay": "1.0.0",
            "info": { "title": title, "version": format!("drift-{}", self.date) },
            "actions": actions,
        })
    }
}

/// "TimePass: adds A, B; changes C".
fn summary(schema: &str, added: &[&str], changed: &[&str]) -> String {
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("adds {}", added.join(", ")));
    }
    if !changed.is_empty() {
        parts.push(format!("changes {}", changed.join(", ")));
    }
    format!("{schema}: {}", parts.join("; "))
}

/// Why a field with values of several types is left to a person.
fn several(seen: &Seen) -> String {
    let types: Vec<&str> = seen.types.iter().copied().collect();
    format!("seen as {}; describe it by hand", types.join(" and "))
}

/// A JSONPath member selector: `.Name`, or `['odd name']` for a name that
/// is not a plain identifier.
fn member(name: &str) -> String {
    if identifier(name) {
        format!(".{name}")
    } else {
        format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(observed: &[(&str, Value)]) -> Proposal {
        let mut check = DriftCheck::new();
        for (schema, value) in observed {
            check.observe(schema, value);
        }
        check.proposal(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default())
    }

    fn change<'a>(p: &'a Proposal, schema: &str, field: &str) -> Option<&'a ChangeKind> {
        let found = p
            .changes
            .iter()
            .find(|c| c.schema == schema && c.field == field);
        found.map(|c| &c.kind)
    }

    #[test]
    fn fields_are_added_where_they_were_seen() {
        let p = proposal(&[
            (
                "TimePass",
                json!({"Id": 1, "Colour": "secret-teal", "Rank": 3}),
            ),
            ("TimePassListItem", json!({"Id": 1, "Colour": null})),
        ]);
        let Some(ChangeKind::Add(colour)) = change(&p, "TimePass", "Colour") else {
            panic!("{p:?}")
        };
        assert_eq!(colour["type"], "string");
        // Inferred from the full records and the listings together: the
        // listing's null makes the full record's property nullable too.
        assert_eq!(colour.get("nullable"), Some(&json!(true)));
        let note = colour["description"].as_str().unwrap_or_default();
        assert!(note.contains("2 samples on 2026-12-07"), "{note}");
        let Some(ChangeKind::Add(listed)) = change(&p, "TimePassListItem", "Colour") else {
            panic!("{p:?}")
        };
        assert_eq!(listed.get("nullable"), Some(&json!(true)));
        assert!(change(&p, "TimePass", "Rank").is_some());
        assert!(change(&p, "TimePassListItem", "Rank").is_none(), "{p:?}");
        assert!(p
            .write_candidates
            .contains(&"TimePassCreate.Colour".to_owned()));
        assert!(p
            .write_candidates
            .contains(&"TimePassUpdate.Rank".to_owned()));
        let overlay = p.overlay("t").to_string();
        assert!(!overlay.contains("secret-teal"), "values are never copied");
    }

    #[test]
    fn retyped_and_null_fields_update_the_property() {
        let p = proposal(&[
            ("CoworkerTimePass", json!({"Id": 1, "CoworkerId": "12"})),
            ("ProductTimePass", json!({"Id": 1, "TimePassId": null})),
        ]);
        let retyped = change(&p, "CoworkerTimePass", "CoworkerId");
        let set = json!({"type": "string"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let remove = vec!["format".to_owned()];
        assert_eq!(retyped, Some(&ChangeKind::Update { set, remove }));
        let null = change(&p, "ProductTimePass", "TimePassId");
        let set = json!({"nullable": true})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let remove = Vec::new();
        assert_eq!(null, Some(&ChangeKind::Update { set, remove }));
        // Declared fields that fit need nothing.
        assert!(change(&p, "CoworkerTimePass", "Id").is_none());
    }

    #[test]
    fn a_listing_field_the_spec_omits_gets_the_full_records_property() {
        let p = proposal(&[("TimePassListItem", json!({"Id": 1, "OnlyForMembers": true}))]);
        let Some(ChangeKind::Add(property)) = change(&p, "TimePassListItem", "OnlyForMembers")
        else {
            panic!("{p:?}")
        };
        let full = properties(&spec_schemas()["TimePass"])["OnlyForMembers"].clone();
        assert_eq!(Value::Object(property.clone()), full);
    }

    #[test]
    fn the_overlay_has_one_update_per_schema_after_its_removals() {
        let p = proposal(&[
            (
                "CoworkerTimePass",
                json!({"Id": 1, "CoworkerId": "12", "New": 1}),
            ),
            (
                "ProductTimePass",
                json!({"Id": 1, "Wide": 3_000_000_000_i64}),
            ),
        ]);
        let overlay = p.overlay("Drift");
        assert_eq!(overlay["overlay"], "1.0.0");
        assert_eq!(overlay["info"]["version"], "drift-2026-12-07");
        let targets: Vec<&str> = overlay["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["target"].as_str())
            .collect();
        assert_eq!(
            targets,
            [
                "$.components.schemas.CoworkerTimePass.properties.CoworkerId.format",
                "$.components.schemas.CoworkerTimePass.properties",
                "$.components.schemas.ProductTimePass.properties",
            ]
        );
        let update = &overlay["actions"][1]["update"];
        assert_eq!(update["CoworkerId"], json!({"type": "string"}));
        assert_eq!(update["New"]["format"], "int32");
        assert_eq!(overlay["actions"][2]["update"]["Wide"]["format"], "int64");
    }

    #[test]
    fn names_a_yaml_reader_could_misread_are_left_to_a_person() {
        let odd = [
            "odd name",
            "yes",
            "On",
            "<<",
            "1_000",
            "a\nb",
            "Businesses[]",
        ];
        let mut record = json!({"Id": 1});
        for name in odd {
            record[name] = json!(true);
        }
        let p = proposal(&[("ProductTimePass", record)]);
        assert!(p.changes.is_empty(), "{p:?}");
        let misread = p.left.iter().filter(|l| l.contains(": a name YAML tools"));
        assert_eq!(misread.count(), odd.len(), "{:?}", p.left);
        assert!(p
            .left
            .iter()
            .any(|l| l.starts_with("ProductTimePass.a\\nb: a name")));
    }

    #[test]
    fn overflowing_formats_are_widened() {
        let p = proposal(&[
            (
                "CoworkerTimePass",
                json!({"Id": 1, "CoworkerId": 3_000_000_000_i64}),
            ),
            (
                "CoworkerTimePass",
                json!({"Id": 2, "CreatedOn": "yesterday"}),
            ),
        ]);
        let set = |pairs: Value| pairs.as_object().cloned().unwrap_or_default();
        let wide = ChangeKind::Update {
            set: set(json!({"format": "int64"})),
            remove: vec![],
        };
        assert_eq!(change(&p, "CoworkerTimePass", "CoworkerId"), Some(&wide));
        let text = ChangeKind::Update {
            set: Map::new(),
            remove: vec!["format".into()],
        };
        assert_eq!(change(&p, "CoworkerTimePass", "CreatedOn"), Some(&text));
    }

    #[test]
    fn what_no_change_covers_is_left_to_a_person() {
        let p = proposal(&[
            (
                "ProductTimePass",
                json!({"Id": 1, "Mixed": 1, "ExpirationType": "x"}),
            ),
            ("ProductTimePass", json!({"Id": 2, "Mixed": "one"})),
        ]);
        let left = p.left.join("\n");
        assert!(
            left.contains("ProductTimePass.Mixed: seen as integer and string"),
            "{left}"
        );
        assert!(
            left.contains("ProductTimePass.ExpirationType: a $ref"),
            "{left}"
        );
        assert!(
            left.contains("ProductTimePass.ProductName: declared but never seen"),
            "{left}"
        );
        assert!(change(&p, "ProductTimePass", "Mixed").is_none());
    }
}
