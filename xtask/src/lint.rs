//! `cargo xtask lint`: openapi.yaml must pass Redocly CLI (`redocly.yaml`),
//! Spectral (`.spectral.yaml`) and openapi-spec-validator with no error and no
//! warning. All three run, so that one run shows every finding.

use std::path::Path;
use std::process::Command;

use crate::workspace::Workspace;
use crate::{Result, node, python};

pub fn run(ws: &Workspace) -> Result {
    spec(ws, &ws.spec())
}

/// Lints the OpenAPI file `spec` with the workspace's tools and rules.
pub fn spec(ws: &Workspace, spec: &Path) -> Result {
    let node = node::ensure(ws)?;
    let python = python::ensure(ws)?;

    let mut failures = Vec::new();

    // Redocly exits 0 when there are only warnings, so its output is read too.
    // recommended-strict (redocly.yaml) already raises warnings to errors.
    let mut redocly = node.command("redocly");
    let config = ws.root.join("redocly.yaml");
    redocly.args(["lint", "--format=stylish", "--config"]);
    failures.extend(redocly_clean(ws, redocly.arg(config).arg(spec)).err());

    // --fail-severity=warn: a warning fails as an error does.
    let mut spectral = node.command("spectral");
    let ruleset = ws.root.join(".spectral.yaml");
    spectral.args(["lint", "--fail-severity=warn", "--ruleset"]);
    failures.extend(step(ws, spectral.arg(ruleset).arg(spec)).err());

    let mut validator = python.command("openapi-spec-validator");
    validator.args(["--schema", "3.0", "--validation-errors", "all"]);
    failures.extend(step(ws, validator.arg(spec)).err());

    if failures.is_empty() {
        println!(
            "lint: {} passes Redocly, Spectral and openapi-spec-validator, no warnings",
            ws.show(spec)
        );
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

fn step(ws: &Workspace, cmd: &mut Command) -> Result {
    cmd.current_dir(&ws.root);
    let (line, output) = crate::process::capture(cmd, &ws.root)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` reported problems ({})", output.status))
    }
}

fn redocly_clean(ws: &Workspace, cmd: &mut Command) -> Result {
    cmd.current_dir(&ws.root);
    let (line, output) = crate::process::capture(cmd, &ws.root)?;
    if !output.status.success() {
        return Err(format!("`{line}` reported problems ({})", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if has_warnings(&stdout, &stderr) {
        return Err(format!("`{line}` reported warnings"));
    }
    Ok(())
}

/// Whether Redocly's stylish output lists a warning (`  12:3  warning  rule  message`)
/// or its summary counts any (`You have 3 warnings.`). Redocly's own notices,
/// such as its Node deprecation banner, are neither.
fn has_warnings(stdout: &str, stderr: &str) -> bool {
    let listed = stdout
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("warning"));
    let counted = stderr
        .lines()
        .chain(stdout.lines())
        .any(|l| l.trim_start().starts_with("You have ") && l.contains("warning"));
    listed || counted
}

#[cfg(test)]
mod tests {
    use super::has_warnings;

    #[test]
    fn reads_redocly_warnings() {
        let listed =
            "openapi.yaml:\n  446:3   warning  no-path-trailing-slash  `/a/` should not...\n";
        assert!(has_warnings(listed, ""));
        assert!(has_warnings(
            "",
            "Woohoo! Your API description is valid.\nYou have 3 warnings.\n"
        ));
        let banner = "  ║  Deprecation warning: Node.js 20 support is ending  ║\n";
        assert!(!has_warnings("", banner));
        assert!(!has_warnings(
            "",
            "Woohoo! Your API description is valid. 🎉\n"
        ));
    }
}
