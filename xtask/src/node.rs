//! The Node tools (Redocly CLI, Spectral, openapi-typescript, TypeScript, Prism),
//! pinned by `tools/package-lock.json` and installed into `tools/node_modules`
//! with `npm ci` when that directory is missing or was made from other inputs.

use std::path::PathBuf;
use std::process::Command;

use crate::workspace::Workspace;
use crate::{Result, process, stamp};

pub struct NodeTools {
    bin: PathBuf,
}

const STAMP: &str = ".xtask-stamp";

/// Installs the tools if needed and returns a handle to run them.
pub fn ensure(ws: &Workspace) -> Result<NodeTools> {
    let tools = ws.tools();
    let node_version = process::read(
        Command::new(process::exe("node", ".exe")).arg("--version"),
        &ws.root,
    )
    .map_err(|e| format!("{e}\n(the spec tools need Node 20.19 or later with npm)"))?;
    let wanted = stamp::of(&[
        &stamp::input(&tools.join("package.json"))?,
        &stamp::input(&tools.join("package-lock.json"))?,
        node_version.trim().as_bytes(),
    ]);
    let modules = tools.join("node_modules");
    let stamp_file = modules.join(STAMP);
    if !stamp::matches(&stamp_file, &wanted) {
        println!(
            "Installing the pinned Node tools into {}",
            ws.show(&modules)
        );
        // ci installs exactly the lock file, removing any node_modules first.
        // No package needs its install script (the only one is a telemetry ping).
        let mut npm = Command::new(process::exe("npm", ".cmd"));
        npm.arg("ci")
            .arg("--prefix")
            .arg(&tools)
            .args(["--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&ws.root);
        process::run(&mut npm, &ws.root)?;
        stamp::write(&stamp_file, &wanted)?;
    }
    Ok(NodeTools {
        bin: modules.join(".bin"),
    })
}

impl NodeTools {
    /// A command for the installed executable `name` (the command's name, not
    /// the package's: `redocly`, `spectral`, `openapi-typescript`, `tsc`).
    pub fn command(&self, name: &str) -> Command {
        Command::new(self.bin.join(process::exe(name, ".cmd")))
    }
}
