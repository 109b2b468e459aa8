//! The command line, as clap derive types: the API options, the resources'
//! actions, and the other subcommands (`serve`, `sync`, `tap`, `drift`,
//! `completions`); resource names as sync and drift take them. The resource subcommands come from the registry
//! (`nexudus_timepasses::spec::RESOURCES`): one per resource, named as its
//! path names it, with its other spellings as aliases.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use nexudus_timepasses::spec::{Resource, RESOURCES};

use crate::failure::EXIT_CODES_HELP;
use crate::filters::FilterArgs;

const ABOUT: &str = "Command-line tool for the Nexudus time-pass API: TimePass, CoworkerTimePass and ProductTimePass";

const AFTER_HELP: &str = "\
Credentials, never from the command line; the first one set wins:
  NEXUDUS_TOKEN                      a bearer token
  NEXUDUS_EMAIL + NEXUDUS_PASSWORD   an account (or NEXUDUS_EMAIL with --password-stdin),
  NEXUDUS_TOTP                       with the two-factor code when the account needs one
  a profile                          what `nexudus login` stored: --profile or
                                     NEXUDUS_PROFILE names one, else the default
With --demo, a stand-in server with its own data and account runs inside the command.";

/// The whole command line: [`Cli`] with a subcommand per resource.
pub fn command() -> clap::Command {
    RESOURCES.iter().fold(Cli::command(), |cli, spec| {
        let singular = spec.name.trim_end_matches("es");
        let about = spec.description.split(": ").next().unwrap_or(spec.entity);
        cli.subcommand(
            // Global within the resource: the options may follow the action.
            ResourceArgs::augment_args(clap::Command::new(spec.name))
                .mut_args(|arg| arg.global(true))
                .about(about.to_owned())
                .visible_aliases([spec.alias, singular])
                .subcommand_required(true),
        )
    })
}

/// What the command line asks for, with the API options given before the
/// subcommand merged into those given after it.
pub struct Parsed {
    /// `-v`s: 1 traces requests, 2 everything.
    pub verbose: u8,
    /// The command.
    pub command: Invocation,
}

/// A command and its options.
pub enum Invocation {
    /// `nexudus <RESOURCE> <ACTION>`.
    Records(ApiArgs, Resource, Action),
    /// `nexudus sync`.
    Sync(crate::sync::Args),
    /// `nexudus tap`.
    Tap(crate::tap::Args),
    /// `nexudus drift`.
    Drift(crate::drift::Args),
    /// `nexudus serve`.
    Serve(crate::serve::Args),
    /// `nexudus login`.
    Login(crate::login::LoginArgs),
    /// `nexudus logout`.
    Logout(crate::login::ProfileArgs),
    /// `nexudus auth status`.
    AuthStatus(crate::login::StatusArgs),
    /// `nexudus completions SHELL`.
    Completions(clap_complete::Shell),
}

/// Parses the process's arguments (exiting with clap's usage error or help).
pub fn parse() -> Parsed {
    let matches = command().get_matches();
    let verbose = matches.get_count("verbose");
    let parsed = match matches.subcommand() {
        Some((name, sub)) => match Resource::parse(name) {
            Some(resource) => resource_command(&matches, sub, resource),
            None => Cli::from_arg_matches(&matches).and_then(|cli| other_command(&matches, cli)),
        },
        None => Cli::from_arg_matches(&matches).and_then(|cli| other_command(&matches, cli)),
    };
    match parsed {
        Ok(command) => Parsed { verbose, command },
        Err(e) => e.format(&mut command()).exit(),
    }
}

/// A resource's command from its matches and the top level's.
fn resource_command(
    top: &clap::ArgMatches,
    sub: &clap::ArgMatches,
    resource: Resource,
) -> Result<Invocation, clap::Error> {
    let before = ApiArgs::from_arg_matches(top)?;
    let ResourceArgs { api, action } = ResourceArgs::from_arg_matches(sub)?;
    let api = before.then(api);
    refuse_overlay(api.output, resource.spec().name)?;
    Ok(Invocation::Records(api, resource, action))
}

/// A usage error for `-o overlay` on a command other than drift.
fn refuse_overlay(output: Option<Format>, name: &str) -> Result<(), clap::Error> {
    if output != Some(Format::Overlay) {
        return Ok(());
    }
    Err(clap::Error::raw(
        clap::error::ErrorKind::InvalidValue,
        format!("`-o overlay` is the format of `nexudus drift` only; `{name}` does not write it"),
    ))
}

/// Any other command; the API options before it go to sync and drift, and
/// are refused before serve and completions, which take none.
fn other_command(top: &clap::ArgMatches, cli: Cli) -> Result<Invocation, clap::Error> {
    let before = cli.api;
    Ok(match cli.command {
        Command::Sync(mut args) => {
            args.api = before.then(args.api);
            refuse_overlay(args.api.output, "sync")?;
            Invocation::Sync(args)
        }
        Command::Tap(mut args) => {
            args.api = before.then(args.api);
            if args.api.output.is_some() || !args.api.columns.is_empty() {
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::ArgumentConflict,
                    "`tap` writes Singer messages; -o and --columns do not apply to it",
                ));
            }
            Invocation::Tap(args)
        }
        Command::Drift(mut args) => {
            args.api = before.then(args.api);
            Invocation::Drift(args)
        }
        Command::Serve(args) => {
            refuse_api_options(top, "serve")?;
            Invocation::Serve(args)
        }
        Command::Login(args) => {
            refuse_api_options(top, "login")?;
            Invocation::Login(args)
        }
        Command::Logout(args) => {
            refuse_api_options(top, "logout")?;
            Invocation::Logout(args)
        }
        Command::Auth(Auth::Status(args)) => {
            refuse_api_options(top, "auth")?;
            refuse_overlay(args.output, "auth status")?;
            Invocation::AuthStatus(args)
        }
        Command::Completions { shell } => {
            refuse_api_options(top, "completions")?;
            Invocation::Completions(shell)
        }
    })
}

/// A usage error when an API option was typed before a command that takes
/// none (an option from the environment, such as NEXUDUS_BASE_URL, is fine).
fn refuse_api_options(top: &clap::ArgMatches, name: &str) -> Result<(), clap::Error> {
    let options = ApiArgs::augment_args(clap::Command::new("api"));
    let typed = options.get_arguments().find(|arg| {
        top.value_source(arg.get_id().as_str()) == Some(clap::parser::ValueSource::CommandLine)
    });
    match typed {
        None => Ok(()),
        Some(arg) => Err(clap::Error::raw(
            clap::error::ErrorKind::ArgumentConflict,
            format!(
                "--{} is an option of the commands that talk to the API; `{name}` takes none",
                arg.get_long().unwrap_or(arg.get_id().as_str())
            ),
        )),
    }
}

/// `nexudus [GLOBAL] <RESOURCE> <ACTION> [ARGS]`.
#[derive(Debug, Parser)]
#[command(name = "nexudus", version, about = ABOUT, after_help = format!("{AFTER_HELP}\n\n{EXIT_CODES_HELP}"))]
pub struct Cli {
    /// Options of the commands that talk to the API, given before the subcommand.
    #[command(flatten)]
    pub api: ApiArgs,
    /// Trace requests on stderr (-v requests, -vv everything).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options of the commands that talk to the API (not `serve`, which takes
/// none of them): they may stand before the subcommand or after it, where
/// they win ([`ApiArgs::then`]).
#[derive(Clone, Debug, Args)]
pub struct ApiArgs {
    /// The API's base URL [default: the profile's, else the public API].
    #[arg(long, env = "NEXUDUS_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// The profile of `nexudus login` to use when the environment has no
    /// credentials [default: the default profile].
    #[arg(long, env = "NEXUDUS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Read the password from the first line of stdin (with NEXUDUS_EMAIL).
    #[arg(long)]
    pub password_stdin: bool,
    /// Output format [default: table on a terminal, jsonl when piped].
    #[arg(short, long, value_enum)]
    pub output: Option<Format>,
    /// Columns of table and csv output, comma-separated field names.
    #[arg(long, value_delimiter = ',', value_name = "A,B,C")]
    pub columns: Vec<String>,
    /// Records per request [default: 25 for one page, 2000 for --all and export].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
    /// Requests in flight at once when streaming pages [default: 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(CONCURRENCY))]
    pub concurrency: Option<u16>,
    /// Retries of a request that was throttled or met a passing failure
    /// (0: none) [default: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(RETRIES))]
    pub retries: Option<u32>,
    /// Client-side pacing of reads, per minute (0: none; the server's
    /// throttling still applies) [default: 120, none with --demo].
    #[arg(long, value_name = "N")]
    pub reads_per_minute: Option<u32>,
    /// No progress bar, no summary line; errors only.
    #[arg(short, long)]
    pub quiet: bool,
    /// Run against a stand-in server started inside this command (seeded
    /// data, a free port on 127.0.0.1, its own account): try anything with no account.
    #[arg(long, conflicts_with = "base_url")]
    pub demo: bool,
    /// CoworkerTimePass records the demo server seeds [default: 1000].
    #[arg(long, value_name = "N", requires = "demo")]
    pub demo_records: Option<usize>,
}

impl ApiArgs {
    /// These options, overridden by those given after the subcommand.
    pub fn then(self, after: ApiArgs) -> ApiArgs {
        ApiArgs {
            base_url: after.base_url.or(self.base_url),
            profile: after.profile.or(self.profile),
            password_stdin: self.password_stdin || after.password_stdin,
            output: after.output.or(self.output),
            columns: if after.columns.is_empty() {
                self.columns
            } else {
                after.columns
            },
            page_size: after.page_size.or(self.page_size),
            concurrency: after.concurrency.or(self.concurrency),
            retries: after.retries.or(self.retries),
            reads_per_minute: after.reads_per_minute.or(self.reads_per_minute),
            quiet: self.quiet || after.quiet,
            demo: self.demo || after.demo,
            demo_records: after.demo_records.or(self.demo_records),
        }
    }
}

/// The values `--concurrency` takes (and the tap config's `concurrency`).
pub const CONCURRENCY: std::ops::RangeInclusive<i64> = 1..=64;
/// The values `--retries` takes (and the tap config's `retries`).
pub const RETRIES: std::ops::RangeInclusive<i64> = 0..=20;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table fitted to the terminal.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row; lists and objects as JSON text.
    Csv,
    /// `drift` only: the spec change the findings call for, as an OpenAPI
    /// Overlay 1.0 document (YAML).
    Overlay,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a stand-in Nexudus server on 127.0.0.1 until SIGINT or SIGTERM.
    Serve(crate::serve::Args),
    /// Keep a SQLite or PostgreSQL database up to date with the API, incrementally.
    Sync(crate::sync::Args),
    /// A Singer tap: SCHEMA, RECORD and STATE messages on stdout, for Meltano
    /// and any Singer target.
    Tap(crate::tap::Args),
    /// Compare what the API sends with the spec; exit code 7 on drift.
    Drift(crate::drift::Args),
    /// Sign in once and keep the tokens in a profile for later commands.
    Login(crate::login::LoginArgs),
    /// Forget a profile's tokens (its settings stay).
    Logout(crate::login::ProfileArgs),
    /// Stored sign-ins.
    #[command(subcommand)]
    Auth(Auth),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `nexudus auth ...`.
#[derive(Debug, Subcommand)]
pub enum Auth {
    /// The profile: base URL, email, where its secrets are, when its access
    /// token expires (never a token).
    Status(crate::login::StatusArgs),
}

/// A resource's action.
#[derive(Debug, Args)]
pub struct ResourceArgs {
    /// The API options, given after the resource.
    #[command(flatten)]
    pub api: ApiArgs,
    /// What to do with the records.
    #[command(subcommand)]
    pub action: Action,
}

/// What can be done with a resource's records.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// One page of records, or every page with --all.
    List(ListArgs),
    /// Every record, streamed.
    Export(ExportArgs),
    /// Full records by Id (one request for all of them).
    Get {
        /// Record Ids.
        #[arg(required = true, value_name = "ID")]
        ids: Vec<i32>,
    },
    /// Create a record.
    Create(CreateArgs),
    /// Change fields of a record, keeping every other field as stored.
    Update(UpdateArgs),
    /// Delete records.
    Delete(DeleteArgs),
    /// The commands the API offers for these records, or for one record.
    Commands {
        /// Only commands for this record.
        #[arg(value_name = "ID")]
        id: Option<i32>,
    },
    /// Run a command on records.
    Run(RunArgs),
}

/// Options of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Filters and sorting.
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Every page, streamed, instead of one.
    #[arg(long, conflicts_with = "page")]
    pub all: bool,
    /// The page to show, from 1.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page: Option<u32>,
    /// Stop after this many records.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

/// Options of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Filters and sorting.
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Only records updated at or after this date (2025-01-31, 2025-01-31T10:00, RFC 3339; UTC unless given).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Full records (batch gets of up to 100 Ids) instead of listing records.
    #[arg(long)]
    pub full: bool,
}

/// Options of `create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A field's value, repeatable: `--set Notes=hello`; `Field:=JSON` takes
    /// JSON (`--set Businesses:=[1,2]`, `--set Price:=null`).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// The record as a JSON object, from a file or `-` for stdin; --set values apply on top.
    #[arg(long, value_name = "FILE|-")]
    pub json: Option<String>,
}

/// Options of `update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The record's Id.
    #[arg(value_name = "ID")]
    pub id: i32,
    /// A field's new value, repeatable (as for create).
    #[arg(long = "set", value_name = "FIELD=VALUE", required = true)]
    pub set: Vec<String>,
    /// Show the field-by-field change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Record Ids.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<i32>,
    /// Delete without asking (needed when stdin is not a terminal).
    #[arg(short, long)]
    pub yes: bool,
}

/// Options of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The command's key (see `commands`).
    #[arg(value_name = "KEY")]
    pub key: String,
    /// Records to run it on, repeatable.
    #[arg(long = "id", value_name = "ID", required = true)]
    pub ids: Vec<i32>,
    /// A parameter of the command, repeatable: `--param Name=Value`.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

/// A resource named on the command line (sync, drift): case, `-` and `_`
/// do not matter, and the singular is accepted.
pub fn parse_resource(text: &str) -> Result<Resource, String> {
    let fold = |t: &str| {
        let folded: String = t
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        folded.strip_suffix("es").unwrap_or(&folded).to_owned()
    };
    let wanted = fold(text);
    Resource::ALL
        .into_iter()
        .find(|r| fold(r.spec().name) == wanted)
        .ok_or_else(|| {
            let names: Vec<&str> = RESOURCES.iter().map(|r| r.name).collect();
            format!("unknown resource {text:?}: use {}", names.join(", "))
        })
}

/// The resources asked for, in the order given, each once; none: all.
pub fn chosen(resources: &[Resource]) -> Vec<Resource> {
    let asked = if resources.is_empty() {
        &Resource::ALL[..]
    } else {
        resources
    };
    let mut out = Vec::new();
    for r in asked {
        if !out.contains(r) {
            out.push(*r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_have_aliases() {
        for text in ["timepasses", "time-passes", "TimePass", "time_passes"] {
            assert_eq!(parse_resource(text), Ok(Resource::TimePasses));
        }
        assert_eq!(
            parse_resource("coworker-time-passes"),
            Ok(Resource::CoworkerTimePasses)
        );
        assert_eq!(
            parse_resource("ProductTimePasses"),
            Ok(Resource::ProductTimePasses)
        );
        assert!(parse_resource("passes").is_err());
        assert_eq!(chosen(&[]), Resource::ALL.to_vec());
    }
}
