//! `cargo xtask spec-change` (a step of `check`): proves that an added
//! optional field and filter need no hand edit anywhere. On a copy of the
//! workspace it adds a nullable string `Description` to the TimePass schemas
//! and a `TimePass_Description` filter to `list_time_passes`, builds the
//! copy's `nexudus`, and drives it against the copy's stand-in: create a
//! pass with a Description, read it back, filter on it (`--where`, and
//! `--columns` in CSV), and sync it into a SQLite database and a PostgreSQL
//! schema (a throwaway cluster) that the workspace's own `nexudus` (the
//! spec before the change) created, where it must land in a new
//! `Description` column.
//!
//! Stages, each named in a failure: copy, edit, build, serve, sync (the
//! database before the change), create, filter, sync.
//!
//! Build time: the copy builds into `target/spec-change/target`, never into
//! the workspace's target directory (that would replace
//! `target/debug/nexudus` and the library's artifacts, which share their
//! file names with the copy's). That directory is seeded from the
//! workspace's `target/debug` under cargo's lock (hard links for large
//! files, copies with their times for small ones) leaving out the
//! workspace's own packages, so only the library and the CLI compile.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::workspace::{self, Workspace};
use crate::{Result, process, stand_in};
use serde_json::Value as Json;

/// The sync tests' throwaway PostgreSQL cluster (std only), shared rather
/// than written twice.
#[path = "../../cli/tests/common/postgres.rs"]
#[allow(dead_code)]
mod cluster;

/// A database the step syncs into.
enum Database {
    Sqlite(PathBuf),
    /// The URL and schema in a running cluster.
    Postgres(cluster::Cluster, String),
}

impl Database {
    fn label(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "SQLite",
            Database::Postgres(..) => "PostgreSQL",
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Database::Sqlite(path) => vec!["--into".into(), format!("sqlite:{}", path.display())],
            Database::Postgres(cluster, schema) => vec![
                "--into".into(),
                cluster.url("postgres"),
                "--schema".into(),
                schema.clone(),
            ],
        }
    }
}

/// The property added to each of [`SCHEMAS`].
const FIELD: &str = "Description";
/// The schemas that gain it: the record, the listing record, the bodies.
const SCHEMAS: [&str; 4] = [
    "TimePass",
    "TimePassListItem",
    "TimePassCreate",
    "TimePassUpdate",
];
const PROPERTY: [&str; 4] = [
    "        Description:",
    "          type: string",
    "          nullable: true",
    "          description: Free text about the pass for staff; null when not set.",
];
/// The listing operation that gains the filter, and the filter.
const OPERATION: &str = "list_time_passes";
const FILTER: &str = "TimePass_Description";
const PARAMETER: [&str; 6] = [
    "      - name: TimePass_Description",
    "        in: query",
    "        description: Only passes with this description.",
    "        required: false",
    "        schema:",
    "          type: string",
];
/// The value the new pass gets, and is looked up by.
const VALUE: &str = "spec change";
/// The resource's command-line name, also its table in the database.
const RESOURCE: &str = "timepasses";

/// Bound of the copy's build (the library and the CLI, dependencies seeded).
const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Bound of each `nexudus` command against the stand-in.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound of the wait for cargo's lock on the workspace's target directory.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Files from this size on are hard-linked when seeding; smaller ones
/// (fingerprints, dep-info, build script output: what cargo rewrites in
/// place) are copied, so that nothing written in the copy reaches the
/// workspace's files.
const LINK_FROM: u64 = 64 * 1024;

/// This step's name, and its directory under `target/`.
const STEP: &str = "spec-change";

pub fn run(ws: &Workspace) -> Result {
    let start = Instant::now();
    let (dir, copy) = copy_of(ws, STEP);
    stage(STEP, "copy", || copy_workspace(ws, &dir, &copy.root))?;
    stage(STEP, "edit", || edit_spec(&copy.spec()))?;
    let build_start = Instant::now();
    let (before, after) = stage(STEP, "build", || build(ws, &copy))?;
    let build_time = build_start.elapsed();
    let server = stage(STEP, "serve", || stand_in::Server::start(ws, &after, &[]))?;
    let sqlite = dir.join("timepasses.sqlite");
    let _ = fs::remove_file(&sqlite);
    let databases = [
        Database::Sqlite(sqlite),
        Database::Postgres(cluster::Cluster::start("spec-change"), "spec_change".into()),
    ];
    let old = Nexudus::new("the workspace's", before, &server.url);
    let new = Nexudus::new("the copy's", after, &server.url);

    for db in &databases {
        stage(STEP, "sync", || sync_before(ws, &old, db))?;
    }
    let id = stage(STEP, "create", || create(ws, &new))?;
    stage(STEP, "filter", || filter(ws, &new, id))?;
    for db in &databases {
        stage(STEP, "sync", || sync_after(ws, &new, db, id))?;
    }
    drop(server);
    println!(
        "\nspec-change: `{FIELD}` added to {} and filter {FILTER} to {OPERATION} in a copy of the \
         workspace; with no hand edit its nexudus created, read, filtered (--where, --columns) \
         and synced it into a new column of older SQLite and PostgreSQL tables; build {:.0}s, all {:.0}s",
        SCHEMAS.join(", "),
        build_time.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs stage `name` of the xtask step `step`, announcing it, and names it
/// when it fails.
pub fn stage<T>(step: &str, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("\n--> {step}: {name}");
    f().map_err(|e| format!("stage `{name}` failed: {e}"))
}

/// The directory `target/<name>` a step works in, and the workspace copy in
/// it: sources in `ws/`, builds in `target/`.
pub fn copy_of(ws: &Workspace, name: &str) -> (PathBuf, Workspace) {
    let dir = ws.target.join(name);
    let copy = Workspace {
        root: dir.join("ws"),
        target: dir.join("target"),
    };
    (dir, copy)
}

/// Copies the files git knows (tracked, and untracked ones it does not
/// ignore, so that a module not yet committed builds) into `to`, after
/// removing everything a previous run left in `dir`.
pub fn copy_workspace(ws: &Workspace, dir: &Path, to: &Path) -> Result {
    workspace::remove_dir(dir)?;
    workspace::create_dir(to)?;
    let mut git = Command::new("git");
    git.args([
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ])
    .current_dir(&ws.root);
    let listing = process::read(&mut git, &ws.root)?;
    let mut copied = 0;
    for name in listing.split('\0').filter(|n| !n.is_empty()) {
        let from = ws.root.join(name);
        let dest = to.join(name);
        if dest.exists() {
            continue;
        }
        if let Some(parent) = dest.parent() {
            workspace::create_dir(parent)?;
        }
        match fs::copy(&from, &dest) {
            Ok(_) => copied += 1,
            // Deleted in the work tree but still in the index.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot copy {name}: {e}")),
        }
    }
    if !to.join("openapi.yaml").is_file() || !to.join("Cargo.toml").is_file() {
        return Err("git listed no openapi.yaml or Cargo.toml".into());
    }
    println!("copied {copied} files to {}", ws.show(to));
    Ok(())
}

fn edit_spec(spec: &Path) -> Result {
    let text =
        fs::read_to_string(spec).map_err(|e| format!("cannot read {}: {e}", spec.display()))?;
    let edited = add_field_and_filter(&text)?;
    fs::write(spec, edited).map_err(|e| format!("cannot write {}: {e}", spec.display()))?;
    println!(
        "added `{FIELD}` to {} and parameter {FILTER} to {OPERATION}",
        SCHEMAS.join(", ")
    );
    Ok(())
}

/// The spec with [`PROPERTY`] first in the properties of each of
/// [`SCHEMAS`] and [`PARAMETER`] last in [`OPERATION`]'s parameters; every
/// other line as it was. Fails, naming it, when an anchor is missing or the
/// spec has the field or the filter already.
fn add_field_and_filter(text: &str) -> Result<String> {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = text.split(eol).map(str::to_owned).collect();
    for schema in SCHEMAS {
        let at = properties_of(&lines, schema)?;
        lines.splice(at..at, PROPERTY.iter().map(|l| l.to_string()));
    }
    let at = parameters_end(&lines)?;
    lines.splice(at..at, PARAMETER.iter().map(|l| l.to_string()));
    Ok(lines.join(eol))
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A line that is neither blank nor a comment.
fn content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// The end of the block a key at `start` opens: the next content line
/// indented `key_indent` or less (or the end).
fn block_end(lines: &[String], start: usize, key_indent: usize) -> usize {
    (start + 1..lines.len())
        .find(|&i| content(&lines[i]) && indent(&lines[i]) <= key_indent)
        .unwrap_or(lines.len())
}

/// The first line index after `start` (before `end`) whose text without
/// trailing spaces is `wanted`.
fn find(lines: &[String], start: usize, end: usize, wanted: &str) -> Option<usize> {
    (start..end).find(|&i| lines[i].trim_end() == wanted)
}

/// Where a new first property of `components.schemas.<schema>` goes.
fn properties_of(lines: &[String], schema: &str) -> Result<usize> {
    let components = find(lines, 0, lines.len(), "components:")
        .ok_or("no top-level `components:` line in openapi.yaml")?;
    let components_end = block_end(lines, components, 0);
    let schemas = find(lines, components, components_end, "  schemas:")
        .ok_or("no `  schemas:` under `components:` in openapi.yaml")?;
    let schemas_end = block_end(lines, schemas, 2);
    let start = find(lines, schemas, schemas_end, &format!("    {schema}:"))
        .ok_or_else(|| format!("no schema `{schema}` (a line `    {schema}:`) in openapi.yaml"))?;
    let end = block_end(lines, start, 4);
    let properties = find(lines, start, end, "      properties:")
        .ok_or_else(|| format!("schema `{schema}` has no `      properties:` line"))?;
    let properties_end = block_end(lines, properties, 6);
    if (properties..properties_end).any(|i| lines[i].trim_end() == format!("        {FIELD}:")) {
        return Err(format!(
            "schema `{schema}` already has a property `{FIELD}`: the spec already holds the change this step makes"
        ));
    }
    Ok(properties + 1)
}

/// Where a new last parameter of [`OPERATION`] goes: after the last content
/// line of its `parameters:` list (items `      - ...`).
fn parameters_end(lines: &[String]) -> Result<usize> {
    let op = (0..lines.len())
        .find(|&i| lines[i].trim() == format!("operationId: {OPERATION}"))
        .ok_or_else(|| format!("no operation `{OPERATION}` in openapi.yaml"))?;
    let method = (0..op)
        .rev()
        .find(|&i| content(&lines[i]) && indent(&lines[i]) <= 4)
        .filter(|&i| indent(&lines[i]) == 4)
        .ok_or_else(|| format!("operation `{OPERATION}` is not under a method key"))?;
    let end = block_end(lines, method, 4);
    let parameters = find(lines, method, end, "      parameters:")
        .ok_or_else(|| format!("operation `{OPERATION}` has no `      parameters:` line"))?;
    let list_end = (parameters + 1..end)
        .find(|&i| {
            let l = &lines[i];
            content(l) && (indent(l) < 6 || (indent(l) == 6 && !l.trim_start().starts_with("- ")))
        })
        .unwrap_or(end);
    let items = &lines[parameters + 1..list_end];
    if !items
        .iter()
        .any(|l| indent(l) == 6 && l.trim_start().starts_with("- "))
    {
        return Err(format!(
            "the parameters of `{OPERATION}` are not a list of `      - ` items"
        ));
    }
    if items
        .iter()
        .any(|l| l.trim().trim_start_matches("- ") == format!("name: {FILTER}"))
    {
        return Err(format!(
            "operation `{OPERATION}` already has a parameter `{FILTER}`: the spec already holds the change this step makes"
        ));
    }
    let last = (parameters + 1..list_end)
        .rev()
        .find(|&i| content(&lines[i]))
        .unwrap_or(parameters);
    Ok(last + 1)
}

/// Builds the workspace's `nexudus` (the spec before the change; its
/// artifacts seed the copy's build) and the copy's; returns both binaries.
fn build(ws: &Workspace, copy: &Workspace) -> Result<(PathBuf, PathBuf)> {
    println!("the workspace's own nexudus (the spec before the change):");
    let before = stand_in::build(ws).map_err(|e| {
        format!("{e}\nthe workspace itself does not build, before any change to the spec")
    })?;
    let after = build_copy(ws, copy)?;
    Ok((before, after))
}

/// Builds the copy's `nexudus` into the copy's target directory, seeded
/// from the workspace's; its path.
pub fn build_copy(ws: &Workspace, copy: &Workspace) -> Result<PathBuf> {
    let own = own_crates(&copy.root)?;
    seed(
        ws,
        &ws.target.join("debug"),
        &copy.target.join("debug"),
        &own,
    )?;
    println!(
        "the copy's nexudus (the changed spec), in {} into {}:",
        ws.show(&copy.root),
        ws.show(&copy.target)
    );
    let mut cmd = ws.cargo();
    cmd.current_dir(&copy.root)
        .env("CARGO_TARGET_DIR", &copy.target)
        // Built once from scratch: incremental data would only cost time and disk.
        .env("CARGO_INCREMENTAL", "0")
        .args(["build", "--package", "nexudus-cli", "--bin", "nexudus"]);
    process::run_within(&mut cmd, &ws.root, BUILD_TIMEOUT).map_err(|e| {
        format!("{e}\nthe copy does not build with the changed spec (the workspace does)")
    })?;
    let after = copy
        .target
        .join("debug")
        .join(process::exe("nexudus", ".exe"));
    if !after.is_file() {
        return Err(format!("the build left no {}", ws.show(&after)));
    }
    Ok(after)
}

/// The names of the workspace's own packages and targets (every `name = `
/// of the root manifest and its members'), dashes and underscores both:
/// the artifacts the copy compiles itself.
fn own_crates(root: &Path) -> Result<Vec<String>> {
    let read = |dir: &Path| {
        let path = dir.join("Cargo.toml");
        fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let manifest = read(root)?;
    let members = manifest
        .split_once("members")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| quoted(list))
        .unwrap_or_default();
    let mut names = Vec::new();
    for dir in std::iter::once(String::new()).chain(members) {
        for line in read(&root.join(dir))?.lines() {
            let line = line.trim();
            if let Some(value) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|rest| rest.strip_prefix('='))
            {
                for name in quoted(value) {
                    names.push(name.replace('_', "-"));
                    names.push(name.replace('-', "_"));
                }
            }
        }
    }
    if names.is_empty() {
        return Err("no package names in the workspace's manifests".into());
    }
    Ok(names)
}

/// The double-quoted strings in `text`.
fn quoted(text: &str) -> Vec<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Whether a file or directory of `deps/`, `build/` or `.fingerprint/`
/// belongs to one of `own` (`<name>-<hash>...`, `lib<name>-<hash>...`).
fn is_own(entry: &str, own: &[String]) -> bool {
    let bare = entry.strip_prefix("lib").unwrap_or(entry);
    own.iter().any(|name| {
        [entry, bare].iter().any(|e| {
            e.strip_prefix(name.as_str())
                .is_some_and(|r| r.starts_with('-'))
        })
    })
}

/// Seeds `to` (the copy's `target/debug`) with the compiled dependencies in
/// `from` (the workspace's), under a shared lock on cargo's `.cargo-lock`
/// so that no build writes them meanwhile.
fn seed(ws: &Workspace, from: &Path, to: &Path, own: &[String]) -> Result {
    let start = Instant::now();
    let lock_path = from.join(".cargo-lock");
    let lock =
        File::open(&lock_path).map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    let mut waiting = false;
    loop {
        match lock.try_lock_shared() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if start.elapsed() < LOCK_TIMEOUT => {
                if !waiting {
                    println!("waiting for cargo's lock on {}", ws.show(from));
                    waiting = true;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(format!(
                    "cargo held the lock on {} for over {}s",
                    ws.show(from),
                    LOCK_TIMEOUT.as_secs()
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", lock_path.display()));
            }
        }
    }
    let mut count = Count::default();
    for sub in ["deps", "build", ".fingerprint"] {
        let dir = from.join(sub);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        workspace::create_dir(&to.join(sub))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
            let name = entry.file_name();
            if is_own(&name.to_string_lossy(), own) {
                count.skipped += 1;
                continue;
            }
            if !seed_entry(&entry.path(), &to.join(sub).join(&name), &mut count)? {
                println!(
                    "cannot hard-link into {}: the copy builds every dependency itself",
                    ws.show(to)
                );
                return Ok(());
            }
        }
    }
    drop(lock);
    println!(
        "seeded {} from {}: {} files linked, {} copied, {} entries of the workspace's own crates left out ({:.1}s)",
        ws.show(to),
        ws.show(from),
        count.linked,
        count.copied,
        count.skipped,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(Default)]
struct Count {
    linked: u64,
    copied: u64,
    skipped: u64,
}

/// Links or copies one file or tree; `false` when hard links do not work
/// here (another file system), to stop seeding rather than copy gigabytes.
fn seed_entry(from: &Path, to: &Path, count: &mut Count) -> Result<bool> {
    let meta =
        fs::symlink_metadata(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    if meta.is_dir() {
        workspace::create_dir(to)?;
        let entries =
            fs::read_dir(from).map_err(|e| format!("cannot list {}: {e}", from.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", from.display()))?;
            if !seed_entry(&entry.path(), &to.join(entry.file_name()), count)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if !meta.is_file() {
        // Symbolic links and the like: cargo makes them again if it needs them.
        return Ok(true);
    }
    if meta.len() >= LINK_FROM {
        if fs::hard_link(from, to).is_err() {
            return Ok(false);
        }
        count.linked += 1;
    } else {
        fs::copy(from, to).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
        // Cargo compares times: the copy must look exactly as old.
        if let Ok(modified) = meta.modified() {
            let _ = File::options()
                .write(true)
                .open(to)
                .and_then(|f| f.set_modified(modified));
        }
        count.copied += 1;
    }
    Ok(true)
}

/// A `nexudus` binary pointed at the stand-in with its default account,
/// whatever the caller's environment holds.
pub struct Nexudus {
    /// Whose binary it is, for the log: the workspace's or the copy's.
    whose: &'static str,
    binary: PathBuf,
    url: String,
}

impl Nexudus {
    pub fn new(whose: &'static str, binary: PathBuf, url: &str) -> Self {
        Self {
            whose,
            binary,
            url: url.to_owned(),
        }
    }

    /// Runs `nexudus ARGS`; its stdout when it exits 0.
    pub fn run(&self, ws: &Workspace, args: &[&str]) -> Result<String> {
        println!("({} nexudus)", self.whose);
        let mut cmd = Command::new(&self.binary);
        cmd.args(args)
            .current_dir(&ws.root)
            .env("NEXUDUS_BASE_URL", &self.url)
            .env("NEXUDUS_EMAIL", stand_in::EMAIL)
            .env("NEXUDUS_PASSWORD", stand_in::PASSWORD)
            .env("PGPASSWORD", cluster::PASSWORD)
            .env_remove("NEXUDUS_TOKEN")
            .env_remove("NEXUDUS_TOTP");
        let (line, output) = process::capture_within(&mut cmd, &ws.root, COMMAND_TIMEOUT)?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "`{line}` failed ({}): {}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim(),
                stdout.trim()
            ))
        }
    }

    fn sync(&self, ws: &Workspace, db: &Database) -> Result {
        let mut args = vec!["sync".to_owned()];
        args.extend(db.args());
        args.extend(["--reads-per-minute".into(), "0".into(), RESOURCE.into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(ws, &args).map(drop)
    }
}

/// The database as the spec before the change makes it: the workspace's
/// own `nexudus` syncs the stand-in's passes, before the new one exists.
fn sync_before(ws: &Workspace, old: &Nexudus, db: &Database) -> Result {
    old.sync(ws, db)?;
    let table = read_table(ws, db, 0)?;
    let columns = columns(&table)?;
    if columns.is_empty() {
        return Err(format!("the sync made no table `{RESOURCE}`"));
    }
    if columns.contains(&FIELD) {
        println!(
            "note: the {} database from before already has a `{FIELD}` column",
            db.label()
        );
    } else {
        println!(
            "the {} database from before has {} columns in `{RESOURCE}`, no `{FIELD}`",
            db.label(),
            columns.len()
        );
    }
    Ok(())
}

/// Creates the pass through the copy's CLI, setting the new field, and
/// reads it back; returns its Id.
fn create(ws: &Workspace, new: &Nexudus) -> Result<i64> {
    let field = format!("{FIELD}={VALUE}");
    let out = new.run(
        ws,
        &[
            RESOURCE,
            "create",
            "--set",
            "Name=Spec change pass",
            "--set",
            "BusinessId=1001",
            "--set",
            "Price=12.5",
            "--set",
            "CurrencyId=1",
            "--set",
            &field,
            "-o",
            "json",
        ],
    )?;
    let created = parse(&out, "create")?;
    let id = created
        .as_array()
        .and_then(|items| items.first())
        .and_then(|item| item.get("Id"))
        .and_then(Json::as_i64)
        .ok_or_else(|| format!("create printed no Id: {}", created))?;

    let out = new.run(ws, &[RESOURCE, "get", &id.to_string(), "-o", "json"])?;
    let record = one_record(&parse(&out, "get")?, id, "get")?;
    expect_value(&record, "get")?;
    println!("created TimePass {id}; get returns it with {FIELD} {VALUE:?}");
    Ok(id)
}

/// The filter through `--where`, as JSON and as CSV with `--columns`: the
/// new pass alone, with its Description.
fn filter(ws: &Workspace, new: &Nexudus, id: i64) -> Result {
    let filter = format!("{FILTER}={VALUE}");
    let out = new.run(ws, &[RESOURCE, "list", "--where", &filter, "-o", "json"])?;
    let record = one_record(&parse(&out, "list")?, id, "list --where")?;
    expect_value(&record, "list --where")?;

    let columns = format!("Id,{FIELD}");
    let out = new.run(
        ws,
        &[
            RESOURCE,
            "list",
            "--where",
            &filter,
            "-o",
            "csv",
            "--columns",
            &columns,
        ],
    )?;
    let wanted = format!("{columns}\n{id},{VALUE}\n");
    if out.replace("\r\n", "\n") != wanted {
        return Err(format!(
            "list --where {filter} -o csv --columns {columns} printed {out:?}, not {wanted:?}"
        ));
    }
    println!("--where {filter} lists TimePass {id} alone, with {FIELD} in JSON and in --columns");
    Ok(())
}

/// The copy's CLI syncs into the older database: the new column must be
/// there, holding the value.
fn sync_after(ws: &Workspace, new: &Nexudus, db: &Database, id: i64) -> Result {
    new.sync(ws, db)?;
    let table = read_table(ws, db, id)?;
    let columns = columns(&table)?;
    if !columns.contains(&FIELD) {
        return Err(format!(
            "after the sync, table `{RESOURCE}` has no `{FIELD}` column; its columns: {}",
            columns.join(", ")
        ));
    }
    if table.get("row") != Some(&Json::Bool(true)) {
        return Err(format!(
            "after the sync, table `{RESOURCE}` has no row {id}"
        ));
    }
    match table.get("value") {
        Some(Json::String(v)) if v == VALUE => {}
        other => {
            return Err(format!(
                "after the sync, row {id} of `{RESOURCE}` has {FIELD} {}, not {VALUE:?}",
                other.map_or("(missing)".into(), Json::to_string)
            ));
        }
    }
    println!(
        "the sync added column `{FIELD}` to `{RESOURCE}` in {}; row {id} holds {VALUE:?}",
        db.label()
    );
    Ok(())
}

fn parse(out: &str, command: &str) -> Result<Json> {
    serde_json::from_str(out).map_err(|e| format!("{command} -o json: {e}: {out:?}"))
}

/// The only record of a JSON array, which must have Id `id`.
fn one_record(value: &Json, id: i64, command: &str) -> Result<Json> {
    match value.as_array().map(Vec::as_slice) {
        Some([record]) if record.get("Id").and_then(Json::as_i64) == Some(id) => Ok(record.clone()),
        Some(records) => {
            let ids: Vec<String> = records
                .iter()
                .map(|r| r.get("Id").map_or("?".into(), Json::to_string))
                .collect();
            Err(format!(
                "{command} returned {} record(s) (Ids {}), not exactly TimePass {id}",
                records.len(),
                ids.join(", ")
            ))
        }
        None => Err(format!("{command} printed no JSON array: {}", value)),
    }
}

fn expect_value(record: &Json, command: &str) -> Result {
    match record.get(FIELD) {
        Some(Json::String(v)) if v == VALUE => Ok(()),
        other => Err(format!(
            "{command}: the record's {FIELD} is {}, not {VALUE:?}: {}",
            other.map_or("missing".into(), Json::to_string),
            record
        )),
    }
}

/// Reads table [`RESOURCE`] of the database: its columns, and row `id`'s
/// [`FIELD`] when the column exists.
fn read_table(ws: &Workspace, db: &Database, id: i64) -> Result<Json> {
    match db {
        Database::Sqlite(path) => read_sqlite(ws, path, id),
        Database::Postgres(cluster, schema) => read_postgres(ws, cluster, schema, id),
    }
}

/// With `psql`, as one JSON object.
fn read_postgres(
    ws: &Workspace,
    cluster: &cluster::Cluster,
    schema: &str,
    id: i64,
) -> Result<Json> {
    let sql = format!(
        "SELECT json_build_object(
           'columns', (SELECT json_agg(column_name ORDER BY column_name)
                         FROM information_schema.columns
                        WHERE table_schema = '{schema}' AND table_name = '{RESOURCE}'),
           'row', EXISTS (SELECT 1 FROM \"{schema}\".{RESOURCE} WHERE \"Id\" = {id}),
           'value', (SELECT to_jsonb(t) -> '{FIELD}' FROM \"{schema}\".{RESOURCE} t
                      WHERE \"Id\" = {id}))"
    );
    let mut cmd = Command::new("psql");
    cmd.args(["-h", "127.0.0.1", "-p", &cluster.port().to_string()])
        .args([
            "-U", "postgres", "-d", "postgres", "-X", "-A", "-t", "-c", &sql,
        ])
        .env("PGPASSWORD", cluster::PASSWORD)
        .current_dir(&ws.root);
    let out = process::read(&mut cmd, &ws.root)?;
    serde_json::from_str(out.trim()).map_err(|e| format!("psql's output: {e}: {out:?}"))
}

/// With Python's sqlite3 (the standard library of the Python the other
/// steps need).
fn read_sqlite(ws: &Workspace, db: &Path, id: i64) -> Result<Json> {
    const SCRIPT: &str = r#"
import json, sqlite3, sys
db, table, column, rid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
q = lambda n: '"' + n.replace('"', '""') + '"'
con = sqlite3.connect(db)
columns = [r[1] for r in con.execute("PRAGMA table_info(" + q(table) + ")")]
row = None
if column in columns:
    row = con.execute("SELECT " + q(column) + " FROM " + q(table) + " WHERE Id = ?", (rid,)).fetchone()
con.close()
print(json.dumps({"columns": columns, "row": row is not None, "value": row[0] if row else None}))
"#;
    let python = if cfg!(windows) { "python" } else { "python3" };
    let mut cmd = Command::new(python);
    cmd.args(["-c", SCRIPT])
        .arg(db)
        .args([RESOURCE, FIELD, &id.to_string()])
        .current_dir(&ws.root);
    let out = process::read(&mut cmd, &ws.root)?;
    serde_json::from_str(&out).map_err(|e| format!("the database reader's output: {e}: {out:?}"))
}

fn columns(table: &Json) -> Result<Vec<&str>> {
    table
        .get("columns")
        .and_then(Json::as_array)
        .map(|c| c.iter().filter_map(Json::as_str).collect())
        .ok_or_else(|| format!("the database reader printed no columns: {}", table))
}

#[cfg(test)]
mod tests {
    use super::{add_field_and_filter, is_own};

    const SPEC: &str = "\
paths:
  /api/billing/timepasses:
    get:
      operationId: list_time_passes
      parameters:
      - $ref: '#/components/parameters/page'
      - name: TimePass_Name
        in: query
        schema:
          type: string
      # a comment
      responses:
        '200':
          description: ok
    post:
      operationId: create_time_pass
      parameters:
      - name: Other
components:
  schemas:
    TimePass:
      type: object
      description: 'A long
        text'
      properties:
        Name:
          type: string
    TimePassListItem:
      properties:
        Name:
          type: string
    TimePassCreate:
      required:
      - Name
      properties:
        Name:
          type: string
    TimePassUpdate:
      properties:
        Name:
          type: string
";

    #[test]
    fn inserts_the_property_and_the_parameter_and_keeps_the_rest() {
        let edited = add_field_and_filter(SPEC).unwrap();
        let added: Vec<&str> = edited
            .lines()
            .filter(|l| !SPEC.lines().any(|o| o == *l))
            .collect();
        assert_eq!(
            added
                .iter()
                .filter(|l| **l == "        Description:")
                .count(),
            4
        );
        assert!(edited.contains(
            "          type: string\n      - name: TimePass_Description\n        in: query\n"
        ));
        assert!(edited.contains("          type: string\n      # a comment\n      responses:"));
        assert!(edited.contains(
            "    TimePassCreate:\n      required:\n      - Name\n      properties:\n        Description:\n"
        ));
        // Removing the added lines gives the original back.
        let mut kept = String::new();
        let mut skip = 0;
        for line in edited.lines() {
            if line == "        Description:" {
                skip = 4;
            } else if line == "      - name: TimePass_Description" {
                skip = 6;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            kept.push_str(line);
            kept.push('\n');
        }
        assert_eq!(kept, SPEC);
    }

    #[test]
    fn fails_naming_a_missing_anchor_or_a_change_already_made() {
        let no_schema = SPEC.replace("    TimePassUpdate:", "    Other:");
        let e = add_field_and_filter(&no_schema).unwrap_err();
        assert!(e.contains("no schema `TimePassUpdate`"), "{e}");
        let no_op = SPEC.replace("list_time_passes", "list_things");
        let e = add_field_and_filter(&no_op).unwrap_err();
        assert!(e.contains("no operation `list_time_passes`"), "{e}");
        let twice = add_field_and_filter(SPEC).unwrap();
        let e = add_field_and_filter(&twice).unwrap_err();
        assert!(e.contains("already has a property `Description`"), "{e}");
    }

    #[test]
    fn own_crates_are_left_out_of_the_seed() {
        let own = ["nexudus-timepasses", "nexudus_timepasses", "nexudus"].map(String::from);
        for name in [
            "libnexudus_timepasses-0123.rlib",
            "nexudus-timepasses-0123",
            "nexudus-0123.d",
            "nexudus-0123",
        ] {
            assert!(is_own(name, &own), "{name}");
        }
        for name in ["libserde-0123.rlib", "nexudusx-01", "libc-0123"] {
            assert!(!is_own(name, &own), "{name}");
        }
    }
}
