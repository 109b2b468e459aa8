//! The Python tools (openapi-spec-validator, openapi-python-client and what
//! the reuse check imports), pinned by `tools/requirements.txt` and installed
//! into a virtual environment at `target/xtask-venv`, made anew when it is
//! missing or was made from other inputs; and, the same way, the Singer
//! target the tap's tests pipe into (`tools/singer-requirements.txt`, into
//! `target/singer-venv`: its old pins clash with the tools' set).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use crate::workspace::{self, Workspace};
use crate::{Result, process, stamp};

pub struct PythonTools {
    bin: PathBuf,
}

const STAMP: &str = ".xtask-stamp";

/// Installs the tools if needed and returns a handle to run them.
pub fn ensure(ws: &Workspace) -> Result<PythonTools> {
    ensure_venv(ws, "requirements.txt", "xtask-venv")
}

/// Installs the Singer target `cli/tests/tap.rs` runs (target-jsonl) into
/// `target/singer-venv`, if needed.
pub fn ensure_singer(ws: &Workspace) -> Result {
    ensure_venv(ws, "singer-requirements.txt", "singer-venv").map(drop)
}

/// Installs `tools/<requirements>` into `target/<venv>` when it is missing
/// or was made from other inputs; a handle to run what it holds.
fn ensure_venv(ws: &Workspace, requirements: &str, venv: &str) -> Result<PythonTools> {
    let system_python = if cfg!(windows) { "python" } else { "python3" };
    let version = process::read(
        Command::new(system_python).args(["-c", "import sys; print(sys.version)"]),
        &ws.root,
    )
    .map_err(|e| format!("{e}\n(the spec tools need Python 3.11 or later)"))?;
    let requirements = ws.tools().join(requirements);
    let wanted = stamp::of(&[&stamp::input(&requirements)?, version.trim().as_bytes()]);

    let venv = ws.target.join(venv);
    let tools = PythonTools {
        bin: venv.join(if cfg!(windows) { "Scripts" } else { "bin" }),
    };
    let stamp_file = venv.join(STAMP);
    if !stamp::matches(&stamp_file, &wanted) {
        println!(
            "Installing the pinned Python packages into {}",
            ws.show(&venv)
        );
        workspace::remove_dir(&venv)?;
        let mut make = Command::new(system_python);
        make.args(["-m", "venv"]).arg(&venv);
        process::run(&mut make, &ws.root)?;
        // Every package is pinned in the file, transitive ones included, so
        // --no-deps installs exactly that set; pip check proves it complete.
        let mut install = tools.python();
        install
            .args(["-m", "pip", "install", "--quiet", "--no-input"])
            .args(["--disable-pip-version-check", "--no-deps", "-r"])
            .arg(&requirements);
        process::run(&mut install, &ws.root)?;
        let mut check = tools.python();
        check.args(["-m", "pip", "check", "--disable-pip-version-check"]);
        process::run(&mut check, &ws.root)?;
        stamp::write(&stamp_file, &wanted)?;
    }
    Ok(tools)
}

impl PythonTools {
    /// The environment's interpreter.
    pub fn python(&self) -> Command {
        self.command("python")
    }

    /// A command for the console script `name` installed in the environment,
    /// with the environment's scripts first on PATH (openapi-python-client
    /// runs ruff from PATH).
    pub fn command(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(process::exe(name, ".exe")));
        let mut path = OsString::from(self.bin.as_os_str());
        if let Some(old) = std::env::var_os("PATH") {
            path.push(if cfg!(windows) { ";" } else { ":" });
            path.push(old);
        }
        cmd.env("PATH", path).env("PYTHONDONTWRITEBYTECODE", "1");
        cmd
    }
}
