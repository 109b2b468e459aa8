//! `nexudus serve`: starts the stand-in server, prints exactly one line
//! `listening on http://127.0.0.1:PORT` on stdout when it is ready, and stops
//! cleanly on SIGINT or SIGTERM.

use std::io::Write;
use std::time::Duration;

use nexudus_timepasses::stand_in::{StandIn, DEFAULT_EMAIL, DEFAULT_PASSWORD};

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
    /// TimePass records to seed.
    #[arg(long, default_value_t = 40)]
    time_passes: usize,
    /// CoworkerTimePass records to seed.
    #[arg(long, default_value_t = 1_000)]
    coworker_time_passes: usize,
    /// ProductTimePass records to seed.
    #[arg(long, default_value_t = 40)]
    product_time_passes: usize,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// GET requests per second; above it, 409 with Retry-After.
    #[arg(long)]
    read_limit: Option<f64>,
    /// POST/PUT/DELETE requests per second; above it, 409 with Retry-After.
    #[arg(long)]
    write_limit: Option<f64>,
    /// Every Nth resource request answers 503 with an HTML body.
    #[arg(long)]
    fail_every: Option<u64>,
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

/// `nexudus serve`: serves until SIGINT or SIGTERM.
pub async fn run(args: Args) -> Result<Done, Failure> {
    let mut builder = StandIn::builder()
        .port(args.port)
        .seed(args.seed)
        .time_passes(args.time_passes)
        .coworker_time_passes(args.coworker_time_passes)
        .product_time_passes(args.product_time_passes)
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
