//! `cargo xtask generate`: puts the code build.rs generates from openapi.yaml
//! (already formatted by prettyplease there) where a reviewer can read it,
//! `target/generated/generated.rs`. The crate's own snapshot tests pin the
//! generated surface; this is for reading, never for editing.

use std::path::PathBuf;
use std::process::Stdio;

use crate::workspace::{self, Workspace};
use crate::{Result, process};

const PACKAGE: &str = "nexudus-timepasses";

pub fn run(ws: &Workspace) -> Result {
    let out_dir = run_build_script(ws)?;
    let generated = out_dir.join("generated.rs");
    let dest_dir = ws.target.join("generated");
    workspace::create_dir(&dest_dir)?;
    let dest = dest_dir.join("generated.rs");
    std::fs::copy(&generated, &dest).map_err(|e| {
        format!(
            "cannot copy {} to {}: {e}",
            generated.display(),
            dest.display()
        )
    })?;
    println!("generated code (from {}):", generated.display());
    println!("{}", dest.display());
    Ok(())
}

/// Runs the crate's build script through `cargo check` and returns its
/// OUT_DIR, read from cargo's JSON messages. The build script's message is
/// read even when the handwritten code then fails to compile, so that the
/// generated code can be looked at exactly when it does not fit.
fn run_build_script(ws: &Workspace) -> Result<PathBuf> {
    let mut cmd = ws.cargo();
    cmd.args(["check", "--package", PACKAGE, "--lib"])
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit());
    let line = process::describe(&cmd, &ws.root);
    println!("$ {line}");
    let output = cmd
        .output()
        .map_err(|e| format!("cannot run `{line}`: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let out_dir = stdout
        .lines()
        .filter(|l| l.contains(r#""reason":"build-script-executed""#))
        .filter(|l| is_package(l))
        .find_map(|l| json_field(l, "out_dir"));
    match out_dir {
        Some(dir) => {
            if !output.status.success() {
                eprintln!("note: the build script ran but the crate does not compile (see above)");
            }
            Ok(PathBuf::from(dir))
        }
        None => Err(format!(
            "`{line}` did not run {PACKAGE}'s build script ({}); see the errors above",
            output.status
        )),
    }
}

/// Whether a cargo message is about this package. Package ids look like
/// `path+file:///work/main#nexudus-timepasses@0.1.0` (or, before cargo 1.77,
/// `nexudus-timepasses 0.1.0 (path+file:///...)`).
fn is_package(message: &str) -> bool {
    json_field(message, "package_id").is_some_and(|id| {
        id.contains(&format!("#{PACKAGE}@")) || id.starts_with(&format!("{PACKAGE} "))
    })
}

/// The string value of `"key":"..."` in one line of cargo's compact JSON.
fn json_field(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut value = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{is_package, json_field};

    #[test]
    fn reads_cargo_messages() {
        let line = r#"{"reason":"build-script-executed","package_id":"path+file:///w#nexudus-timepasses@0.1.0","out_dir":"C:\\t\\out","env":[]}"#;
        assert!(is_package(line));
        assert_eq!(json_field(line, "out_dir").as_deref(), Some(r"C:\t\out"));
        assert!(!is_package(
            r#"{"package_id":"registry+https://x#serde@1.0.0"}"#
        ));
    }
}
