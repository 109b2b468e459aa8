//! The tap's state, as Singer passes it around: `{"bookmarks": {STREAM:
//! BOOKMARK}}`, a bookmark being the library's `Checkpoint`
//! (`updated_since`) and, when deletes are emitted, the Ids the target
//! holds, as inclusive ranges (`ids: [[1000, 1039], ...]`), which is what
//! the Id scan compares with the server.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::NaiveDateTime;
use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::Checkpoint;
use serde::{Deserialize, Serialize};

use super::file;
use crate::failure::Failure;

/// The checkpoints' format (the API's range filters': minutes, UTC).
const MINUTE: &str = "%Y-%m-%dT%H:%M";

/// The most Ids a state's ranges may stand for: a bound on what a damaged
/// or hostile file can make the tap allocate.
const MAX_IDS: u64 = 50_000_000;

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
        let mut state: State = file::read("state", path)?;
        let mut warnings = Vec::new();
        state.bookmarks.retain(|name, _| {
            let known = Resource::ALL.iter().any(|r| r.spec().name == name);
            if !known {
                warnings.push(format!(
                    "state file {}: stream {name:?} is not one of this tap's; ignored",
                    path.display()
                ));
            }
            known
        });
        for (name, bookmark) in &state.bookmarks {
            bookmark
                .check()
                .map_err(|p| file::bad("state", path, format!("bookmarks.{name}: {p}")))?;
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
