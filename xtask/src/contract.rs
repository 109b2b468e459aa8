//! `cargo xtask contract`: the typed client against the spec, over HTTP.
//!
//! Prism (`@stoplight/prism-cli`, pinned in `tools/package.json`) serves
//! openapi.yaml as a mock on a free port of 127.0.0.1, in static mode (every
//! answer is the spec's example, or one Prism builds from the schema when an
//! operation has none) and with `--errors` (a request that breaks the spec is
//! answered with an error). `examples/contract.rs` then calls every operation
//! once through the client. The run passes when:
//!
//! - the example exits 0, prints `ok   <operationId>` for every operationId
//!   of openapi.yaml and `contract: N operations called, 0 failed`, N being
//!   their number; and
//! - Prism's log holds no violation and no line at level error or warning:
//!   it validates each request, and its own answer, against the spec.
//!
//! Prism is stopped however the run ends (see [`Prism`]).

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::workspace::{self, Workspace};
use crate::{Result, node, process};

/// How long Prism may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long Prism may take to exit after SIGTERM before it gets SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Prism's entry point inside `tools/node_modules` (the target of `.bin/prism`).
const PRISM_JS: &[&str] = &["@stoplight", "prism-cli", "dist", "index.js"];
/// Loaded into Prism's Node before Prism: exits when its standard input, a
/// pipe from this process, reaches end of file. That happens when xtask dies
/// in a way that runs no destructor (Ctrl-C, SIGKILL), so that Prism, in a
/// process group of its own and out of the terminal's reach, does not outlive
/// it.
const WATCHDOG: &str =
    "data:text/javascript,process.stdin.on('end',()=>process.exit(3));process.stdin.resume();";

pub fn run(ws: &Workspace) -> Result {
    let spec = std::fs::read_to_string(ws.spec())
        .map_err(|e| format!("cannot read {}: {e}", ws.spec().display()))?;
    let operations = operation_ids(&spec);
    if operations.is_empty() {
        return Err("openapi.yaml declares no operationId".into());
    }
    // Built first, so that Prism only waits for the calls.
    process::run(
        ws.cargo().args(["build", "--example", "contract"]),
        &ws.root,
    )?;
    let (mut prism, url, log) = serve(ws)?;
    let example = process::capture(
        ws.cargo()
            .args(["run", "--example", "contract", "--"])
            .arg(&url),
        &ws.root,
    );
    // Stopped before its log is read, so that the log is complete.
    prism.stop();
    let prism_log = read_log(&log)?;

    let mut failures = Vec::new();
    match example {
        Ok((line, output)) => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            if !output.status.success() {
                failures.push(format!("`{line}` failed ({})", output.status));
            }
            failures.extend(check_calls(&stdout, &operations));
        }
        Err(e) => failures.push(e),
    }
    let problems = prism_problems(&prism_log);
    let requests = prism_log
        .lines()
        .filter(|l| l.contains("Request received"))
        .count();
    if !problems.is_empty() {
        println!("\nPrism found requests or answers that break openapi.yaml:");
        for p in &problems {
            println!("  {p}");
        }
        failures.push(format!(
            "Prism reported {} violation, error or warning line(s), listed above",
            problems.len()
        ));
    }

    if failures.is_empty() {
        let _ = std::fs::remove_file(&log);
        println!(
            "contract: all {} operations called through the client against Prism serving openapi.yaml; \
             {requests} requests, no violation",
            operations.len()
        );
        Ok(())
    } else {
        failures.push(format!("Prism's full log: {}", ws.show(&log)));
        Err(failures.join("\n"))
    }
}

/// Prism serving openapi.yaml on a free port of 127.0.0.1, listening: the
/// server, its URL and its log file (under `target/contract/`).
pub fn serve(ws: &Workspace) -> Result<(Prism, String, PathBuf)> {
    node::ensure(ws)?;
    let prism_js = PRISM_JS
        .iter()
        .fold(ws.tools().join("node_modules"), |p, part| p.join(part));
    if !prism_js.is_file() {
        return Err(format!(
            "{} is missing: is @stoplight/prism-cli in tools/package.json?",
            ws.show(&prism_js)
        ));
    }
    let dir = ws.target.join("contract");
    workspace::create_dir(&dir)?;
    let log = dir.join(format!("prism-{}.log", std::process::id()));
    let port = free_port()?;
    let mut prism = Prism::start(ws, &prism_js, port, &log)?;
    prism.wait_until_listening(START_TIMEOUT)?;
    Ok((prism, format!("http://127.0.0.1:{port}"), log))
}

/// A port that was free a moment ago. Prism binds it itself, so another
/// program could take it in between; Prism then exits and the run says so.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("cannot read the free port: {e}"))?
        .port();
    drop(listener);
    Ok(port)
}

fn read_log(log: &Path) -> Result<String> {
    std::fs::read(log)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| format!("cannot read {}: {e}", log.display()))
}

/// A running Prism. Dropping it stops Prism: SIGTERM to its process group,
/// SIGKILL if it is still there after [`STOP_TIMEOUT`], then wait, so that a
/// failed step or a panic leaves no server behind.
pub struct Prism {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl Prism {
    fn start(ws: &Workspace, prism_js: &Path, port: u16, log: &Path) -> Result<Self> {
        let out = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open {} twice: {e}", log.display()))?;
        // node runs Prism's script itself rather than through `.bin/prism`, so
        // that on Windows the process stopped is Node, not a cmd.exe shim.
        let mut cmd = Command::new(process::exe("node", ".exe"));
        cmd.arg("--import")
            .arg(WATCHDOG)
            .arg(prism_js)
            .arg("mock")
            .args(["--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            // Answers come from the spec's examples: they must decode as they are.
            .arg("--dynamic=false")
            // A request that breaks the spec is answered with an error (422).
            .arg("--errors")
            .args(["--verboseLevel", "info"])
            .arg(ws.spec())
            .current_dir(&ws.root)
            // Plain text in the log, whatever the caller's terminal settings.
            .env("FORCE_COLOR", "0")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(out)
            .stderr(err);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let line = process::describe(&cmd, &ws.root);
        println!("$ {line} > {} 2>&1 &", ws.show(log));
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `{line}`: {e}"))?;
        Ok(Self {
            child: Some(child),
            port,
            log: log.to_path_buf(),
        })
    }

    /// Waits until Prism says it listens on the port and accepts a
    /// connection there; fails with its output if it exits or takes too long.
    fn wait_until_listening(&mut self, timeout: Duration) -> Result {
        let start = Instant::now();
        let banner = format!("Prism is listening on http://127.0.0.1:{}", self.port);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(status)) => status,
                Some(Err(e)) => return Err(format!("cannot watch Prism: {e}")),
                None => return Err("Prism was already stopped".into()),
            };
            if let Some(status) = exited {
                self.child = None;
                return Err(format!(
                    "Prism exited ({status}) before it listened on port {}; its output:\n{}",
                    self.port,
                    read_log(&self.log).unwrap_or_else(|e| e)
                ));
            }
            let said = read_log(&self.log).is_ok_and(|text| text.contains(&banner));
            if said && TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
                println!(
                    "Prism listens on 127.0.0.1:{} ({:.1}s)",
                    self.port,
                    start.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(format!(
                    "Prism did not listen on port {} within {}s; its output:\n{}",
                    self.port,
                    timeout.as_secs(),
                    read_log(&self.log).unwrap_or_else(|e| e)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops Prism and waits for it; does nothing the second time.
    fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        signal(&mut child, "TERM");
        let start = Instant::now();
        while start.elapsed() < STOP_TIMEOUT {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(_) => break,
            }
        }
        // Sent while the group's leader is still unreaped, so the group id
        // cannot belong to anyone else yet.
        signal(&mut child, "KILL");
        child.wait().ok()
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends `SIGNAL` to the child's whole process group (it leads one, see
/// [`Prism::start`]); std has no call for that, and xtask no dependencies.
#[cfg(unix)]
fn signal(child: &mut Child, name: &str) {
    let sent = Command::new("kill")
        .arg(format!("-{name}"))
        .arg("--")
        .arg(format!("-{}", child.id()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !sent {
        // No `kill` program, or the group is gone: at least the leader.
        let _ = child.kill();
    }
}

#[cfg(not(unix))]
fn signal(child: &mut Child, _name: &str) {
    let _ = child.kill();
}

/// The operationIds of the spec, in order: the values of its `operationId:`
/// lines (openapi.yaml is block-style YAML, one key a line).
fn operation_ids(spec: &str) -> Vec<String> {
    spec.lines()
        .filter_map(|l| l.trim_start().strip_prefix("operationId:"))
        .map(|v| v.trim().trim_matches(['\'', '"']).to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// What is wrong with the example's report: an operation without its
/// `ok   <operationId>` line, an `ok` line for an operation the spec does
/// not have, or a summary line other than `contract: N operations called,
/// 0 failed`.
fn check_calls(stdout: &str, operations: &[String]) -> Vec<String> {
    let passed: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok   "))
        .map(str::trim)
        .collect();
    let mut failures = Vec::new();
    let missing: Vec<&str> = operations
        .iter()
        .map(String::as_str)
        .filter(|op| !passed.contains(op))
        .collect();
    if missing.len() == operations.len() {
        failures.push(format!(
            "none of the {} operations was called successfully",
            operations.len()
        ));
    } else if !missing.is_empty() {
        failures.push(format!(
            "{} of {} operations were not called successfully: {}",
            missing.len(),
            operations.len(),
            missing.join(", ")
        ));
    }
    let unknown: Vec<&str> = passed
        .iter()
        .copied()
        .filter(|p| !operations.iter().any(|op| op == p))
        .collect();
    if !unknown.is_empty() {
        failures.push(format!(
            "the example reports operations openapi.yaml does not declare: {}",
            unknown.join(", ")
        ));
    }
    let summary = format!("contract: {} operations called, 0 failed", operations.len());
    if !stdout.lines().any(|l| l.trim() == summary) {
        failures.push(format!("the example did not print `{summary}`"));
    }
    failures
}

/// The lines of Prism's log that report a problem: its violations (request
/// or response against the spec, `Violation: ...`) and every line at level
/// error, warning or fatal (a request that failed validation, an error
/// answer, a negotiation fallback). Plain output looks like
/// `[3:19:13 AM] ›     [VALIDATOR] ✖  error     Request query parameter ...`.
fn prism_problems(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| line.contains("Violation:") || at_problem_level(line))
        .map(str::trim_end)
        .collect()
}

/// Whether a log line's level, the word after its one-character level icon,
/// is error, warning or fatal.
fn at_problem_level(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).any(|pair| {
        let mut icon = pair[0].chars();
        let one_symbol =
            matches!((icon.next(), icon.next()), (Some(c), None) if !c.is_alphanumeric());
        one_symbol && matches!(pair[1], "error" | "warning" | "fatal")
    })
}

#[cfg(test)]
mod tests {
    use super::{check_calls, operation_ids, prism_problems};

    #[test]
    fn reads_operation_ids() {
        let spec = "paths:\n  /a:\n    get:\n      operationId: list_a\n      summary: operationId: no\n    post:\n      operationId: 'create_a'\n";
        assert_eq!(operation_ids(spec), ["list_a", "create_a"]);
    }

    #[test]
    fn judges_the_example_report() {
        let ops = ["list_a".to_string(), "get_a".to_string()];
        let good = "ok   list_a\nok   get_a\ncontract: 2 operations called, 0 failed\n";
        assert!(check_calls(good, &ops).is_empty());
        let short = "ok   list_a\ncontract: 1 operations called, 0 failed\n";
        let failures = check_calls(short, &ops);
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].contains("get_a"));
        let extra = "ok   list_a\nok   get_a\nok   gone\ncontract: 2 operations called, 0 failed\n";
        assert_eq!(check_calls(extra, &ops).len(), 1);
    }

    #[test]
    fn finds_prism_violations() {
        let clean = "\
[3:18:59 AM] › [CLI] ℹ  info      GET        http://127.0.0.1:4599/api/billing/timepasses/?id=%5B37%2C422%5D
[3:18:59 AM] › [CLI] ▶  start     Prism is listening on http://127.0.0.1:4599
[3:19:06 AM] › [HTTP SERVER] post /api/token ℹ  info      Request received
[3:19:06 AM] ›     [VALIDATOR] ✔  success   The request passed the validation rules. Looking for the best response
[3:19:06 AM] ›     [NEGOTIATOR] ℹ  info      > Responding with \"200\"
";
        assert!(prism_problems(clean).is_empty());
        let bad = "\
[3:19:13 AM] ›     [VALIDATOR] ⚠  warning   Request did not pass the validation rules
[3:19:13 AM] ›     [VALIDATOR] ✖  error     Request query parameter page must be integer
[3:19:13 AM] › [HTTP SERVER] get /api/billing/timepasses ✖  error     Request terminated with error: https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY: Invalid request
[3:19:13 AM] ›     [VALIDATOR] ✖  error     Violation: request.body Request body must have required property 'password'
";
        assert_eq!(prism_problems(&format!("{clean}{bad}")).len(), 4);
        // The same in a terminal without Unicode symbols.
        let ascii = "[3:19:13 AM] >     [VALIDATOR] ×  error     Request query parameter page must be integer\n";
        assert_eq!(prism_problems(ascii).len(), 1);
    }
}
