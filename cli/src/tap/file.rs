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
        // serde names the value it refused: in a config file that may be
        // a password, so values are left out.
        let problem = without_values(&e.into_inner().to_string());
        match at.as_str() {
            "." | "" => bad(what, path, problem),
            _ => bad(what, path, format!("{at}: {problem}")),
        }
    })?;
    json.end()
        .map_err(|e| bad(what, path, format!("{e} (after the JSON value)")))?;
    Ok(value)
}

/// serde's message without the value it refused: the first quoted part of
/// an `invalid ...` message, in backticks (`invalid type: integer
/// \`12345678\``) or, for text, in escaped double quotes (`invalid type:
/// string "hunter2"`). A password, maybe; what follows stays.
pub fn without_values(message: &str) -> String {
    let Some(start) = message
        .starts_with("invalid ")
        .then(|| message.find(['`', '"']))
        .flatten()
    else {
        return message.to_owned();
    };
    let quote = message.as_bytes()[start];
    let mut escaped = false;
    let end = message[start + 1..].bytes().position(|b| {
        let closes = b == quote && !escaped;
        escaped = b == b'\\' && !escaped;
        closes
    });
    match end {
        Some(end) => format!("{}…{}", &message[..start], &message[start + end + 2..]),
        None => message.to_owned(),
    }
}

/// The usage error of a bad `what` file at `path`.
pub fn bad(what: &str, path: &Path, problem: impl std::fmt::Display) -> Failure {
    Failure::usage(format!("{what} file {}: {problem}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_value_is_not_repeated() {
        let dir = std::env::temp_dir().join(format!("nexudus-tap-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(&path, r#"{"password": 12345678}"#).unwrap();
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Config {
            password: String,
        }
        let message = format!("{:?}", read::<Config>("config", &path).unwrap_err());
        let _ = std::fs::remove_dir_all(&dir);
        assert!(message.contains("password: invalid type"), "{message}");
        assert!(!message.contains("12345678"), "{message}");
    }

    #[test]
    fn a_refused_text_is_not_repeated_either() {
        let message = r#"invalid type: string "hun\"ter2", expected u32"#;
        assert_eq!(
            without_values(message),
            "invalid type: string …, expected u32"
        );
        let integer = "invalid type: integer `12345678`, expected a string";
        assert_eq!(
            without_values(integer),
            "invalid type: integer …, expected a string"
        );
        assert_eq!(
            without_values("missing field `token`"),
            "missing field `token`"
        );
    }
}
