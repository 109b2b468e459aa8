//! `nexudus`: the project's command-line tool. `nexudus [API OPTIONS]
//! <RESOURCE> <ACTION> [ARGS]` lists, exports, gets, creates, updates and
//! deletes time passes through the typed client; `sync`, `tap`, `drift`, `serve`,
//! `login`, `logout`, `auth status` and `--demo` are the other commands. This file only parses the command
//! line and hands it to the module of its command group; the client is
//! built in `context`, and every outcome becomes an exit code in `failure`.

mod args;
mod context;
mod credentials;
mod demo;
mod drift;
mod failure;
mod fields;
mod filters;
mod keeper;
mod login;
mod output;
mod profiles;
mod progress;
mod reader;
mod records;
mod serve;
mod sync;
mod tap;

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::args::Invocation;
use crate::context::Context;
use crate::failure::{code, Done, Failure};

fn main() -> ExitCode {
    let parsed = args::parse();
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    progress::init(parsed.verbose, color && std::io::stderr().is_terminal());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let failure = Failure::new(code::OTHER, format!("cannot start: {e}"));
            return failure::exit(Err(failure), color);
        }
    };
    let outcome = runtime.block_on(run(parsed.command, color));
    // Stop the demo server's and the client's tasks without waiting on them.
    runtime.shutdown_background();
    failure::exit(outcome, color)
}

/// Runs the command of its group.
async fn run(command: Invocation, color: bool) -> Result<Done, Failure> {
    match command {
        Invocation::Records(api, resource, action) => {
            records::run(&Context::new(api, color), resource, action).await
        }
        Invocation::Sync(args) => sync::run(&Context::new(args.api.clone(), color), &args).await,
        Invocation::Tap(args) => tap::run(&args, color).await,
        Invocation::Drift(args) => drift::run(&Context::new(args.api.clone(), color), &args).await,
        Invocation::Serve(args) => serve::run(args).await,
        Invocation::Login(args) => login::login(&args).await,
        Invocation::Logout(args) => login::logout(&args),
        Invocation::AuthStatus(args) => login::status(&args),
        Invocation::Completions(shell) => {
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut args::command(), "nexudus", &mut out);
            Ok(Done::Success)
        }
    }
}
