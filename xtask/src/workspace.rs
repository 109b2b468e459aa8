//! Where things are: the workspace root, the spec, the tools and the target
//! directory that every generated file and installed tool lives under.

use std::path::{Path, PathBuf};

use crate::Result;

pub struct Workspace {
    /// The workspace root (the directory holding `openapi.yaml`).
    pub root: PathBuf,
    /// Cargo's target directory: `$CARGO_TARGET_DIR` or `<root>/target`.
    pub target: PathBuf,
}

impl Workspace {
    pub fn locate() -> Result<Self> {
        // xtask/ sits directly under the root; the path is fixed at compile time.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("xtask/ has no parent directory")?
            .to_path_buf();
        if !root.join("openapi.yaml").is_file() {
            return Err(format!("no openapi.yaml in {}", root.display()));
        }
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => root.join(dir),
            _ => root.join("target"),
        };
        Ok(Self { root, target })
    }

    pub fn spec(&self) -> PathBuf {
        self.root.join("openapi.yaml")
    }

    pub fn tools(&self) -> PathBuf {
        self.root.join("tools")
    }

    /// A `cargo` command (the one running xtask) run in the root.
    pub fn cargo(&self) -> std::process::Command {
        let mut cmd =
            std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(&self.root);
        cmd
    }

    /// `path` relative to the root when it is inside it, for shorter messages.
    pub fn show<'a>(&self, path: &'a Path) -> std::path::Display<'a> {
        path.strip_prefix(&self.root).unwrap_or(path).display()
    }
}

/// Creates `dir` and its parents.
pub fn create_dir(dir: &Path) -> Result {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Removes `dir` and everything in it, if it exists.
pub fn remove_dir(dir: &Path) -> Result {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", dir.display())),
    }
}
