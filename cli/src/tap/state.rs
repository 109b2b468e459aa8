//! The tap's state, as Singer passes it around: `{"bookmarks": {STREAM:
//! BOOKMARK}}`, a bookmark being the library's `Checkpoint`
//! (`updated_since`) and, when deletes are emitted, the Ids the target
//! holds, as inclusive ranges (`ids: [[1000, 1039], ...]`), which is what
//! the Id scan compares with the server.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::NaiveDateTime;
use nexudus_timepasses::Checkpoint;
use serde::{Deserialize, Serialize};

use super::{catalog, file};
use crate::failure::Failure;

/// The checkpoints' format (the API's range filters': minutes, UTC).
const MINUTE: &str = "%Y-%m-%dT%H:%M";

/// The most Ids a state's ranges may stand for: a bound on what a damaged
/// or hostile file can make the tap allocate and scan (each 100 Ids are a
/// request of the deletes scan).
const MAX_IDS: u64 = 5_000_000;

/// A state value: a bookmark per stream. Other keys (`currently_syncing`)
/// are read and dropped.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct State {
    /// Per stream name.
    #[serde(default)]
    pub bookmarks: BTreeMap<String, Bookmark>,
}

/// Where a stream resumes.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Bookmark {
    /// The library's checkpoint.
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// The Ids emitted and not deleted, as inclusive ranges; only when
    /// deletes are emitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<[i32; 2]>>,
}

impl State {
    /// The state file at `path`, checked; streams it names that are not
    /// resources are dropped, each with a warning in the list returned.
    pub fn load(path: &Path) -> Result<(State, Vec<String>), Failure> {
        // Bookmarks are read as JSON first, so that one of a stream that
        // is not this tap's is dropped whatever its shape.
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            bookmarks: BTreeMap<String, serde_json::Value>,
        }
        let mut raw: Raw = file::read("state", path)?;
        let mut warnings = Vec::new();
        raw.bookmarks.retain(|name, _| {
            let known = catalog::stream(name).is_some();
            if !known {
                warnings.push(format!(
                    "state file {}: stream {name:?} is not one of this tap's; ignored",
                    path.display()
                ));
            }
            known
        });
        let mut state = State::default();
        for (name, value) in raw.bookmarks {
            let bad = |p: String| file::bad("state", path, format!("bookmarks.{name}: {p}"));
            let bookmark: Bookmark = serde_json::from_value(value)
                .map_err(|e| bad(file::without_values(&e.to_string())))?;
            bookmark.check().map_err(bad)?;
            state.bookmarks.insert(name, bookmark);
        }
        Ok((state, warnings))
    }
}

impl Bookmark {
    /// A readable checkpoint, and ranges that are ranges.
    fn check(&self) -> Result<(), String> {
        if let Some(text) = &self.checkpoint.updated_since {
            NaiveDateTime::parse_from_str(text, MINUTE)
                .map_err(|e| format!("updated_since {text:?} is not YYYY-MM-DDTHH:MM ({e})"))?;
        }
        let mut count = 0u64;
        for [from, to] in self.ids.iter().flatten() {
            if from > to {
                return Err(format!(
                    "ids: the range [{from}, {to}] ends before it starts"
                ));
            }
            count += u64::from(from.abs_diff(*to)) + 1;
        }
        if count > MAX_IDS {
            return Err(format!("ids: more than {MAX_IDS} Ids"));
        }
        Ok(())
    }

    /// The Ids the ranges hold (none when there are none).
    pub fn id_set(&self) -> BTreeSet<i32> {
        let ranges = self.ids.iter().flatten();
        ranges.flat_map(|[from, to]| *from..=*to).collect()
    }
}

/// `ids` as sorted inclusive ranges of consecutive Ids.
pub fn ranges(ids: &BTreeSet<i32>) -> Vec<[i32; 2]> {
    let mut out: Vec<[i32; 2]> = Vec::new();
    for &id in ids {
        match out.last_mut() {
            Some(last) if last[1].checked_add(1) == Some(id) => last[1] = id,
            _ => out.push([id, id]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_ranges() {
        let ids: BTreeSet<i32> = [1, 2, 3, 7, 9, 10, i32::MAX].into_iter().collect();
        let r = ranges(&ids);
        assert_eq!(r, vec![[1, 3], [7, 7], [9, 10], [i32::MAX, i32::MAX]]);
        let bookmark = Bookmark {
            checkpoint: Checkpoint::default(),
            ids: Some(r),
        };
        assert_eq!(bookmark.id_set(), ids);
        assert!(bookmark.check().is_ok());
    }

    fn load(text: &str) -> Result<(State, Vec<String>), Failure> {
        let dir = std::env::temp_dir().join(format!("nexudus-tap-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!(
            "{:x}.json",
            text.len() * 31 + text.bytes().map(usize::from).sum::<usize>()
        ));
        std::fs::write(&path, text).unwrap();
        let loaded = State::load(&path);
        let _ = std::fs::remove_file(&path);
        loaded
    }

    #[test]
    fn a_bookmark_of_another_stream_is_dropped_whatever_its_shape() {
        let text = r#"{"bookmarks":{"users":"2020-01-01","timepasses":{"updated_since":"2025-01-02T03:04"}}}"#;
        let (state, warnings) = load(text).unwrap();
        assert_eq!(state.bookmarks.len(), 1);
        assert!(
            warnings[0].contains("\"users\" is not one of this tap's"),
            "{warnings:?}"
        );
        let bad = load(r#"{"bookmarks":{"timepasses":{"updated_since":12345678}}}"#);
        let message = format!("{:?}", bad.err());
        assert!(message.contains("bookmarks.timepasses"), "{message}");
        assert!(
            !message.contains("12345678"),
            "no value is repeated: {message}"
        );
    }

    #[test]
    fn bad_bookmarks_are_refused() {
        let bad = |text: &str| serde_json::from_str::<Bookmark>(text).unwrap().check();
        assert!(bad(r#"{"updated_since":"2025-01-02T03:04"}"#).is_ok());
        assert!(bad(r#"{"updated_since":"yesterday"}"#).is_err());
        assert!(bad(r#"{"ids":[[5,4]]}"#).is_err());
        assert!(bad(r#"{"ids":[[-2147483648,2147483647]]}"#).is_err());
        let text = r#"{"bookmarks":{"timepasses":{"updated_since":"2025-01-02T03:04"}},"currently_syncing":null}"#;
        let state: State = serde_json::from_str(text).unwrap();
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            r#"{"bookmarks":{"timepasses":{"updated_since":"2025-01-02T03:04"}}}"#
        );
    }
}
