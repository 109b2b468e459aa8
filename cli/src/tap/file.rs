//! Reading the tap's JSON files (config, state, catalog): every problem is
//! a usage error (exit 2) that names the file and what is wrong with it,
//! raised before any request.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::failure::Failure;

/// The JSON file at `path`, the tap's `what` file (`config`, `state`,
/// `catalog`), decoded as `T`; the error names the file, the place in it
/// and the problem.
pub fn read<T: DeserializeOwned>(what: &str, path: &Path) -> Result<T, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(what, path, format!("cannot read it: {e}")))?;
    let mut json = serde_json::Deserializer::from_str(&text);
    let value = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let at = e.path().to_string();
        let problem = e.into_inner();
        match at.as_str() {
            "." | "" => bad(what, path, problem.to_string()),
            _ => bad(what, path, format!("{at}: {problem}")),
        }
    })?;
    json.end()
        .map_err(|e| bad(what, path, format!("{e} (after the JSON value)")))?;
    Ok(value)
}

/// The usage error of a bad `what` file at `path`.
pub fn bad(what: &str, path: &Path, problem: impl std::fmt::Display) -> Failure {
    Failure::usage(format!("{what} file {}: {problem}", path.display()))
}
