//! Where `sync` and `drift` get their [`Client`]: `--base-url` with
//! credentials from the environment, or `--demo`, an embedded stand-in.
//! Stop-gap options of these two subcommands until the CLI's global options
//! (on the `cli` branch) feed the same `Client` in.

use nexudus_timepasses::stand_in::StandIn;
use nexudus_timepasses::{Client, Credentials, Pacing, RetryPolicy, DEFAULT_BASE_URL};

/// How to reach the API.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// The API's base URL. Credentials come from NEXUDUS_TOKEN (a bearer
    /// token) or NEXUDUS_EMAIL and NEXUDUS_PASSWORD.
    #[arg(long, default_value = DEFAULT_BASE_URL)]
    pub base_url: String,
    /// Run against an embedded stand-in server with seeded data instead
    /// (--base-url is then ignored).
    #[arg(long)]
    pub demo: bool,
    /// Records per listing page (the client's default when unset).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
    /// Client-side pacing of reads, per minute (the client's default, 120,
    /// when unset; 0: no pacing, the server's throttling still applies).
    #[arg(long)]
    pub reads_per_minute: Option<u32>,
    /// Retries of a failed or throttled request (the client's default, 3,
    /// when unset; 0 turns retries off).
    #[arg(long)]
    pub retries: Option<u32>,
}

/// A client, and the stand-in it talks to when `--demo` started one (it
/// stops when dropped, so keep it as long as the client is used).
pub struct Connection {
    pub client: Client,
    pub stand_in: Option<StandIn>,
}

impl ConnectArgs {
    /// Starts the stand-in when asked, then builds the client.
    pub async fn connect(&self) -> Result<Connection, String> {
        let (base_url, credentials, stand_in) = if self.demo {
            let server = StandIn::builder()
                .start()
                .await
                .map_err(|e| format!("cannot start the demo stand-in: {e}"))?;
            let credentials = Credentials::password(server.email(), server.password());
            (server.base_url().to_owned(), credentials, Some(server))
        } else {
            (self.base_url.clone(), from_env()?, None)
        };
        let mut builder = Client::builder()
            .base_url(base_url)
            .credentials(credentials);
        if let Some(size) = self.page_size {
            builder = builder.page_size(size).stream_page_size(size);
        }
        if let Some(reads) = self.reads_per_minute {
            builder = builder.pacing(Pacing::default().reads_per_minute(reads));
        }
        if let Some(retries) = self.retries {
            let policy = if retries == 0 {
                RetryPolicy::none()
            } else {
                RetryPolicy::default().max_attempts(retries.saturating_add(1))
            };
            builder = builder.retry(policy);
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the client: {e}"))?;
        Ok(Connection { client, stand_in })
    }
}

/// Credentials from NEXUDUS_TOKEN, else NEXUDUS_EMAIL and NEXUDUS_PASSWORD.
fn from_env() -> Result<Credentials, String> {
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    if let Some(token) = var("NEXUDUS_TOKEN") {
        return Ok(Credentials::bearer(token));
    }
    match (var("NEXUDUS_EMAIL"), var("NEXUDUS_PASSWORD")) {
        (Some(email), Some(password)) => Ok(Credentials::password(email, password)),
        _ => Err(
            "no credentials: set NEXUDUS_TOKEN, or NEXUDUS_EMAIL and NEXUDUS_PASSWORD \
                  (or use --demo)"
                .into(),
        ),
    }
}
