//! `nexudus serve`: starts the stand-in server, prints exactly one line
//! `listening on http://127.0.0.1:PORT` on stdout when it is ready, and stops
//! cleanly on SIGINT or SIGTERM.

use std::io::Write;
use std::time::Duration;

use nexudus_timepasses::spec::Resource;
use nexudus_timepasses::stand_in::{
    default_records, FailWith, StandIn, DEFAULT_EMAIL, DEFAULT_PASSWORD,
};

use crate::failure::{Done, Failure};

/// Options of `nexudus serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    records: Records,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// GET requests per second; above it, 409 with Retry-After.
    #[arg(long)]
    read_limit: Option<f64>,
    /// POST/PUT/DELETE requests per second; above it, 409 with Retry-After.
    #[arg(long)]
    write_limit: Option<f64>,
    /// Every Nth resource request answers with an HTML error page.
    #[arg(long)]
    fail_every: Option<u64>,
    /// The status of --fail-every's pages: 503 (a gateway's page) or 500
    /// (the API's "Ooops!" page).
    #[arg(long, value_name = "STATUS", value_enum, default_value = "503")]
    fail_with: FailStatus,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, default_value_t = 604_799)]
    token_ttl: u64,
    /// The account's email.
    #[arg(long, default_value = DEFAULT_EMAIL)]
    email: String,
    /// The account's password.
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    password: String,
    /// Require this two-factor code (totp) on sign-in.
    #[arg(long)]
    totp: Option<String>,
}

/// The statuses `--fail-with` takes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum FailStatus {
    #[value(name = "500")]
    ServerError,
    #[value(name = "503")]
    Unavailable,
}

/// One `--RESOURCE N` option per resource of the spec, named by its alias
/// (`--time-passes`, `--coworker-time-passes`, ...): how many records of it
/// to seed. Those not given keep the stand-in's default.
#[derive(Debug, Clone, Default)]
struct Records(Vec<(Resource, usize)>);

impl clap::FromArgMatches for Records {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let given = Resource::ALL.iter().filter_map(|&resource| {
            let n = matches.get_one::<usize>(resource.spec().alias)?;
            Some((resource, *n))
        });
        Ok(Records(given.collect()))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for Records {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Resource::ALL.iter().fold(cmd, |cmd, &resource| {
            let spec = resource.spec();
            cmd.arg(
                clap::Arg::new(spec.alias)
                    .long(spec.alias)
                    .value_name("N")
                    .value_parser(clap::value_parser!(usize))
                    .help(format!(
                        "{} records to seed [default: {}]",
                        spec.entity,
                        default_records(resource)
                    )),
            )
        })
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// `nexudus serve`: serves until SIGINT or SIGTERM.
pub async fn run(args: Args) -> Result<Done, Failure> {
    let mut builder = StandIn::builder().port(args.port).seed(args.seed);
    for &(resource, n) in &args.records.0 {
        builder = builder.records(resource, n);
    }
    let mut builder = builder
        .latency(Duration::from_millis(args.latency_ms))
        .token_ttl(Duration::from_secs(args.token_ttl))
        .email(args.email)
        .password(args.password);
    if let Some(rate) = args.read_limit {
        builder = builder.read_limit(rate);
    }
    if let Some(rate) = args.write_limit {
        builder = builder.write_limit(rate);
    }
    if let Some(n) = args.fail_every {
        builder = builder.fail_every(n);
    }
    builder = builder.fail_with(match args.fail_with {
        FailStatus::ServerError => FailWith::ServerError,
        FailStatus::Unavailable => FailWith::Unavailable,
    });
    if let Some(code) = args.totp {
        builder = builder.totp(code);
    }
    let server = builder
        .start()
        .await
        .map_err(|e| format!("cannot start the stand-in on port {}: {e}", args.port))?;
    announce(server.base_url())?;
    stopped().await?;
    server.shutdown().await;
    Ok(Done::Success)
}

/// The one line other tools wait for, flushed at once.
fn announce(base_url: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {base_url}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn stopped() -> Result<(), String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.map_err(|e| format!("cannot watch SIGINT: {e}")),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .map_err(|e| format!("cannot watch Ctrl-C: {e}"))
    }
}
