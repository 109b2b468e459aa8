//! A `nexudus serve` process for the steps that test against the stand-in:
//! built with cargo, started on a free port of 127.0.0.1, ready once it has
//! printed `listening on http://127.0.0.1:PORT`, and stopped (SIGTERM, then
//! SIGKILL) when dropped, so that a failed step leaves no server behind.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::workspace::Workspace;
use crate::{Result, process};

/// How long the server may take to print its line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The account `nexudus serve` accepts by default.
pub const EMAIL: &str = "admin@example.com";
/// Its password (the stand-in's documented default).
pub const PASSWORD: &str = "stand-in-password";

/// Builds the `nexudus` binary (debug profile) and returns its path.
pub fn build(ws: &Workspace) -> Result<std::path::PathBuf> {
    let mut cmd = ws.cargo();
    cmd.args(["build", "--package", "nexudus-cli", "--bin", "nexudus"]);
    process::run(&mut cmd, &ws.root)?;
    Ok(ws
        .target
        .join("debug")
        .join(process::exe("nexudus", ".exe")))
}

/// A running `nexudus serve`.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// Starts `binary serve --port 0 ARGS` and waits for its line.
    pub fn start(ws: &Workspace, binary: &std::path::Path, args: &[&str]) -> Result<Server> {
        let mut cmd = Command::new(binary);
        cmd.args(["serve", "--port", "0"])
            .args(args)
            .current_dir(&ws.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let line = process::describe(&cmd, &ws.root);
        println!("$ {line} &");
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `{line}`: {e}"))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err("the stand-in's stdout is not piped".into());
        };
        let mut server = Server {
            child: Some(child),
            url: String::new(),
        };
        server.url = wait_for_line(stdout)?;
        println!("stand-in listens on {}", server.url);
        Ok(server)
    }
}

/// Reads the first line on a thread, so that a silent server times out.
fn wait_for_line(stdout: std::process::ChildStdout) -> Result<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = send.send(line);
    });
    let line = receive
        .recv_timeout(START_TIMEOUT)
        .map_err(|_| format!("the stand-in printed nothing within {START_TIMEOUT:?}"))?;
    line.trim()
        .strip_prefix("listening on ")
        .map(str::to_owned)
        .ok_or_else(|| format!("the stand-in's first line is not `listening on URL`: {line:?}"))
}

impl Drop for Server {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        #[cfg(unix)]
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let start = Instant::now();
        while start.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
