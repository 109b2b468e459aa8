//! Running other programs: echo the command line, run it, turn a failure into
//! one message naming the command.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

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

/// [`run`], stopped (SIGKILL) and failed when it takes longer than `limit`.
pub fn run_within(cmd: &mut Command, root: &Path, limit: Duration) -> Result {
    let line = describe(cmd, root);
    println!("$ {line}");
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| spawn_error(&line, &e))?;
    let status = wait_within(&mut child, &line, limit)?;
    if status.success() {
        println!("  ({:.1}s)", start.elapsed().as_secs_f64());
        Ok(())
    } else {
        Err(format!("`{line}` failed ({status})"))
    }
}

/// [`capture`], stopped (SIGKILL) and failed when it takes longer than
/// `limit`. Standard input is closed.
pub fn capture_within(cmd: &mut Command, root: &Path, limit: Duration) -> Result<(String, Output)> {
    let line = describe(cmd, root);
    println!("$ {line}");
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(&line, &e))?;
    // Read on threads, so that a full pipe cannot stall the child.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_within(&mut child, &line, limit);
    let output = Output {
        status: status?,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    let _ = std::io::stdout().write_all(&output.stdout);
    let _ = std::io::stderr().write_all(&output.stderr);
    println!("  ({:.1}s)", start.elapsed().as_secs_f64());
    Ok((line, output))
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Waits for `child` at most `limit`; past it, kills it and fails.
fn wait_within(child: &mut Child, line: &str, limit: Duration) -> Result<ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{line}` did not finish within {}s and was stopped",
                    limit.as_secs()
                ));
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("cannot wait for `{line}`: {e}"));
            }
        }
    }
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
