//! `nexudus`: the project's command-line tool. `nexudus [GLOBAL] <RESOURCE>
//! <ACTION> [ARGS]` lists, exports, gets, creates, updates and deletes time
//! passes through the typed client; `serve` runs the stand-in server;
//! `--demo` runs any command against a stand-in started inside it. This file
//! parses the command line, builds the client and maps failures to the
//! documented exit codes.

mod actions;
mod args;
mod credentials;
mod demo;
mod drift;
mod failure;
mod fields;
mod filters;
mod output;
mod progress;
mod serve;
mod sync;

use std::io::IsTerminal;
use std::process::ExitCode;

use nexudus_timepasses::{Client, Pacing, RetryPolicy};

use crate::actions::Context;
use crate::args::{Action, Cli, Command, Format, Global, Parsed};
use crate::failure::{code, Failure};
use nexudus_timepasses::spec::{Resource, ResourceVisitor};
use nexudus_timepasses::ResourceHandle;

/// CoworkerTimePass records the demo server seeds by default.
const DEMO_RECORDS: usize = 1_000;

/// Pages in flight at once when streaming.
const CONCURRENCY: u16 = 4;

fn main() -> ExitCode {
    let cli = args::parse();
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let verbose = match &cli {
        Parsed::Resource(_, verbose, ..) | Parsed::Other(Cli { verbose, .. }) => *verbose,
    };
    progress::init(verbose, color && std::io::stderr().is_terminal());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return report(
                Failure::new(code::OTHER, format!("cannot start: {e}")),
                color,
            )
        }
    };
    let outcome = runtime.block_on(run(cli, color));
    // Stop the demo server's and the client's tasks without waiting on them.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(failure, color),
    }
}

/// Prints a failure's lines on stderr and gives its exit code.
fn report(failure: Failure, color: bool) -> ExitCode {
    if !failure.message.is_empty() {
        let styled = color && std::io::stderr().is_terminal();
        let label = if styled {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        };
        eprintln!("{label}: {}", failure.message);
        if let Some(hint) = &failure.hint {
            eprintln!("  {hint}");
        }
    }
    ExitCode::from(failure.code)
}

async fn run(cli: Parsed, color: bool) -> Result<(), Failure> {
    let (global, command) = match cli {
        Parsed::Resource(global, _, resource, action) => {
            return run_action(global, resource, action, color).await;
        }
        Parsed::Other(Cli {
            global, command, ..
        }) => (global, command),
    };
    match command {
        Command::Serve(args) => serve::run(args)
            .await
            .map_err(|message| Failure::new(code::OTHER, message)),
        Command::Completions { shell } => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut args::command(), "nexudus", &mut out);
            Ok(())
        }
        Command::Sync(args) => {
            let global = global.then(args.global.clone());
            let concurrency = global.concurrency.unwrap_or(CONCURRENCY);
            let (_demo, client) = connect(&global, concurrency).await?;
            exit_code(sync::command(&client, &args).await)
        }
        Command::Drift(args) => {
            let global = global.then(args.global.clone());
            let concurrency = global.concurrency.unwrap_or(CONCURRENCY);
            let (_demo, client) = connect(&global, concurrency).await?;
            // A table unless JSON is asked for (the findings are one list).
            let json = matches!(global.output, Some(Format::Json | Format::Jsonl));
            exit_code(drift::run(&client, &args, json).await)
        }
    }
}

/// Runs a resource's action.
async fn run_action(
    global: Global,
    resource: Resource,
    action: Action,
    color: bool,
) -> Result<(), Failure> {
    let streaming = match &action {
        Action::List(list) => list.all,
        Action::Export(_) => true,
        _ => false,
    };
    let concurrency = global.concurrency.unwrap_or(CONCURRENCY);

    // Kept alive until the command is done; dropping it stops the server.
    let (_demo, client) = connect(&global, concurrency).await?;

    let page_size = if streaming {
        client.stream_page_size()
    } else {
        client.page_size()
    };
    let ctx = context(&global, color, page_size.get(), concurrency);
    let outcome = resource.visit(Dispatch {
        ctx: &ctx,
        client: &client,
        action,
    });
    match outcome.await {
        // The reader of stdout went away: done, quietly.
        Err(f) if f.code == code::OK => Ok(()),
        other => other,
    }
}

/// Runs an action with the handle type of the resource it names.
struct Dispatch<'a> {
    ctx: &'a Context,
    client: &'a Client,
    action: Action,
}

impl<'a> ResourceVisitor for Dispatch<'a> {
    type Output = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Failure>> + 'a>>;

    fn visit<H: ResourceHandle>(self) -> Self::Output {
        Box::pin(actions::run(self.ctx, H::of(self.client), self.action))
    }
}
/// The output settings: table on a terminal, JSON lines when piped.
fn context(global: &Global, color: bool, page_size: u32, concurrency: u16) -> Context {
    let terminal = std::io::stdout().is_terminal();
    let format = global.output.unwrap_or(if terminal {
        Format::Table
    } else {
        Format::Jsonl
    });
    // COLUMNS first (set by shells and by users who want another width),
    // then the terminal's size; a size of almost nothing (a pseudo-terminal
    // that was never sized) leaves tables unbounded rather than one letter wide.
    let width = if terminal {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .or_else(|| comfy_table::Table::new().width())
            .filter(|w| *w >= 20)
    } else {
        None
    };
    Context {
        format,
        columns: global.columns.clone(),
        quiet: global.quiet,
        styled: color && terminal,
        width,
        concurrency: usize::from(concurrency),
        page_size,
    }
}

/// The client the global options describe, and the demo stand-in when
/// `--demo` started one (it stops when dropped: keep it while the client is
/// used).
async fn connect(
    global: &Global,
    concurrency: u16,
) -> Result<(Option<nexudus_timepasses::stand_in::StandIn>, Client), Failure> {
    let (demo, base_url, credentials) = if global.demo {
        let (server, credentials) =
            demo::start(global.demo_records.unwrap_or(DEMO_RECORDS)).await?;
        let url = server.base_url().to_owned();
        (Some(server), Some(url), credentials)
    } else {
        (
            None,
            global.base_url.clone(),
            credentials::from_env(global.password_stdin)?,
        )
    };
    let mut builder = Client::builder()
        .credentials(credentials)
        .concurrency(usize::from(concurrency))
        .user_agent(concat!("nexudus-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    // Unset, the library's defaults apply: a screen's worth for one page,
    // large pages for streams (the API limits requests, not records). Set,
    // `--page-size` is the size of every page the command reads.
    if let Some(size) = global.page_size {
        builder = builder.page_size(size).stream_page_size(size);
    }
    if let Some(retries) = global.retries {
        builder = builder.retry(RetryPolicy::default().max_attempts(retries.saturating_add(1)));
    }
    if global.demo {
        // The stand-in is local and has no limits unless told: no need to
        // spread requests out as the real API's limits ask.
        builder = builder.pacing(Pacing::unlimited());
    }
    if let Some(reads) = global.reads_per_minute {
        builder = builder.pacing(Pacing::default().reads_per_minute(reads));
    }
    Ok((demo, builder.build()?))
}

/// A subcommand's own exit code (0 is success) as the command's outcome.
fn exit_code(outcome: Result<u8, Failure>) -> Result<(), Failure> {
    match outcome? {
        0 => Ok(()),
        code => Err(Failure::new(code, String::new())),
    }
}
