//! `nexudus`: the project's command-line tool: `serve` (the stand-in Nexudus
//! server), `sync` (into SQLite) and `drift` (the spec against the API);
//! each subcommand lives in its own module.

mod drift;
mod serve;
mod sync;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command-line tool for the Nexudus time-pass API.
#[derive(Debug, Parser)]
#[command(name = "nexudus", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a stand-in Nexudus server on 127.0.0.1 until SIGINT or SIGTERM.
    Serve(serve::Args),
    /// Keep a SQLite database up to date with the API, incrementally.
    Sync(sync::Args),
    /// Compare what the API sends with the spec; exit code 7 on drift.
    Drift(drift::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Sync(args) => sync::command(args).await,
        Command::Drift(args) => drift::command(args).await,
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("nexudus: {message}");
            ExitCode::FAILURE
        }
    }
}
