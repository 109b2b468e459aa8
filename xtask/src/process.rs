//! Running other programs: echo the command line, run it, turn a failure into
//! one message naming the command.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use crate::Result;

/// How a command line is shown: the program's file name and its arguments,
/// with `root/` stripped from paths so that lines stay short.
pub fn describe(cmd: &Command, root: &Path) -> String {
    let prefix = format!("{}{}", root.display(), std::path::MAIN_SEPARATOR);
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned();
    let mut line = program;
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy().replace(&prefix, ""));
    }
    line
}

/// Runs `cmd` with the terminal as its output; fails unless it exits 0.
pub fn run(cmd: &mut Command, root: &Path) -> Result {
    let line = describe(cmd, root);
    println!("$ {line}");
    let start = Instant::now();
    let status = cmd.status().map_err(|e| spawn_error(&line, &e))?;
    if status.success() {
        println!("  ({:.1}s)", start.elapsed().as_secs_f64());
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// Runs `cmd` with its output captured, then prints the output, so that the
/// caller can also inspect it. The exit status is the caller's to judge.
pub fn capture(cmd: &mut Command, root: &Path) -> Result<(String, Output)> {
    let line = describe(cmd, root);
    println!("$ {line}");
    let start = Instant::now();
    let output = cmd.output().map_err(|e| spawn_error(&line, &e))?;
    // Best effort: a closed terminal is no reason to fail the task.
    let _ = std::io::stdout().write_all(&output.stdout);
    let _ = std::io::stderr().write_all(&output.stderr);
    println!("  ({:.1}s)", start.elapsed().as_secs_f64());
    Ok((line, output))
}

/// Runs `cmd` quietly and returns its standard output; fails unless it exits 0.
pub fn read(cmd: &mut Command, root: &Path) -> Result<String> {
    let line = describe(cmd, root);
    let output = cmd.output().map_err(|e| spawn_error(&line, &e))?;
    if !output.status.success() {
        return Err(format!(
            "`{line}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn spawn_error(line: &str, e: &std::io::Error) -> String {
    let program = line.split(' ').next().unwrap_or(line);
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("cannot run `{line}`: `{program}` is not installed or not on PATH")
    } else {
        format!("cannot run `{line}`: {e}")
    }
}

/// The name a program has on this platform (`npm.cmd` on Windows).
pub fn exe(name: &str, windows_suffix: &str) -> String {
    if cfg!(windows) {
        format!("{name}{windows_suffix}")
    } else {
        name.to_string()
    }
}
