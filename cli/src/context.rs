//! The context of every command that talks to the API: its options
//! ([`ApiArgs`]), the output settings they give, and [`Context::connect`],
//! the one place a client is built from them (with the `--demo` stand-in
//! when asked for), so that no command can leave an option out.

use std::io::{BufWriter, IsTerminal, Stdout};

use nexudus_timepasses::stand_in::StandIn;
use nexudus_timepasses::{Client, ClientBuilder, Credentials, Pacing, RetryPolicy};

use crate::args::{ApiArgs, Format};
use crate::failure::Failure;
use crate::output::{Columns, Output};
use crate::{credentials, demo};

/// CoworkerTimePass records the demo server seeds by default.
const DEMO_RECORDS: usize = 1_000;

/// Records written to stdout.
pub type Out = Output<BufWriter<Stdout>>;

/// What a command that talks to the API was given, besides its own
/// arguments.
pub struct Context {
    api: ApiArgs,
    /// stdout is a terminal.
    terminal: bool,
    /// Bold table headers.
    styled: bool,
    /// Width to fit tables to.
    width: Option<u16>,
    /// Credentials given another way than the environment or a profile
    /// (the tap's config file): they win over both.
    given: Option<Credentials>,
}

/// A client, and the demo stand-in it talks to when `--demo` started one
/// (the stand-in stops when this is dropped).
pub struct Connection {
    /// The client the options describe.
    pub client: Client,
    _demo: Option<StandIn>,
}

impl Context {
    /// The context of `api`; `color` is false when `NO_COLOR` is set.
    pub fn new(api: ApiArgs, color: bool) -> Self {
        let terminal = std::io::stdout().is_terminal();
        Context {
            api,
            terminal,
            styled: color && terminal,
            width: terminal.then(terminal_width).flatten(),
            given: None,
        }
    }

    /// The same context, connecting with `credentials` instead of the
    /// environment's or a profile's.
    pub fn with_credentials(mut self, credentials: Option<Credentials>) -> Self {
        self.given = credentials;
        self
    }

    /// `-o`, else a table on a terminal and JSON lines when piped.
    pub fn format(&self) -> Format {
        let default = if self.terminal {
            Format::Table
        } else {
            Format::Jsonl
        };
        self.format_or(default)
    }

    /// `-o`, else `default`.
    pub fn format_or(&self, default: Format) -> Format {
        self.api.output.unwrap_or(default)
    }

    /// `--columns` as given.
    pub fn columns(&self) -> &[String] {
        &self.api.columns
    }

    /// `--quiet`.
    pub fn quiet(&self) -> bool {
        self.api.quiet
    }

    /// A summary line on stderr, unless `--quiet`.
    pub fn say(&self, line: impl AsRef<str>) {
        if !self.api.quiet {
            eprintln!("{}", line.as_ref());
        }
    }

    /// An output to stdout in `format`, with these columns.
    pub fn output(&self, format: Format, columns: Columns) -> Out {
        let stdout = BufWriter::new(std::io::stdout());
        Output::new(format, columns, stdout, self.styled, self.width)
    }

    /// The client the options describe, and the demo stand-in when
    /// `--demo` asks for one.
    pub async fn connect(&self) -> Result<Connection, Failure> {
        let api = &self.api;
        let (demo, credentials, base_url) = if api.demo {
            let records = api.demo_records.unwrap_or(DEMO_RECORDS);
            let (server, credentials) = demo::start(records).await?;
            let url = server.base_url().to_owned();
            (Some(server), credentials, Some(url))
        } else if let Some(given) = &self.given {
            (None, given.clone(), api.base_url.clone())
        } else {
            let resolved = credentials::resolve(
                api.password_stdin,
                api.profile.as_deref(),
                api.base_url.as_deref(),
            )?;
            let url = resolved.base_url.or_else(|| api.base_url.clone());
            (None, resolved.credentials, url)
        };
        let client = self.builder(base_url, credentials).build()?;
        tracing::debug!(
            target: "nexudus",
            "client of {}: concurrency {}, page size {} ({} when streaming)",
            client.base_url(),
            client.concurrency(),
            client.page_size(),
            client.stream_page_size(),
        );
        Ok(Connection {
            client,
            _demo: demo,
        })
    }

    /// A client builder with every API option that was given; the
    /// library's defaults for the rest.
    fn builder(&self, base_url: Option<String>, credentials: Credentials) -> ClientBuilder {
        let api = &self.api;
        let mut builder = Client::builder()
            .credentials(credentials)
            .user_agent(concat!("nexudus-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(url) = base_url {
            builder = builder.base_url(url);
        }
        if let Some(n) = api.concurrency {
            builder = builder.concurrency(usize::from(n));
        }
        // Unset, the library's sizes apply: a screen's worth for one page,
        // large pages for streams (the API limits requests, not records).
        if let Some(size) = api.page_size {
            builder = builder.page_size(size).stream_page_size(size);
        }
        if let Some(retries) = api.retries {
            builder = builder.retry(RetryPolicy::default().max_attempts(retries.saturating_add(1)));
        }
        // The demo's stand-in is local and has no limits unless told: no
        // need to spread requests out as the real API's limits ask.
        match (api.reads_per_minute, api.demo) {
            (Some(reads), _) => builder.pacing(Pacing::default().reads_per_minute(reads)),
            (None, true) => builder.pacing(Pacing::unlimited()),
            (None, false) => builder,
        }
    }
}

/// COLUMNS first (set by shells and by users who want another width), then
/// the terminal's size; a size of almost nothing (a pseudo-terminal that
/// was never sized) leaves tables unbounded rather than one letter wide.
fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .or_else(|| comfy_table::Table::new().width())
        .filter(|w| *w >= 20)
}
