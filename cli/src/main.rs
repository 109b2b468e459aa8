//! `nexudus`: the project's command-line tool. Today one subcommand, `serve`
//! (the stand-in Nexudus server); each subcommand lives in its own module.

mod serve;

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
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("nexudus: {message}");
            ExitCode::FAILURE
        }
    }
}
