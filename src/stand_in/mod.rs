//! A stand-in Nexudus: an embedded, stateful server of TimePass,
//! CoworkerTimePass and ProductTimePass plus the token endpoint, faithful to
//! the documented API and its quirks, for tests, demos, benchmarks and other
//! languages' clients. Behind the `stand-in` feature.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use nexudus_timepasses::stand_in::StandIn;
//! use nexudus_timepasses::spec::Resource;
//! use nexudus_timepasses::{Client, Credentials};
//!
//! let server = StandIn::builder()
//!     .records(Resource::CoworkerTimePasses, 500)
//!     .start()
//!     .await?;
//! let client = Client::builder()
//!     .base_url(server.base_url())
//!     .credentials(Credentials::password(server.email(), server.password()))
//!     .build()
//!     .expect("a client");
//! # drop(client);
//! // Dropping `server` stops it.
//! # Ok(())
//! # }
//! ```
//!
//! # What it does
//!
//! - `POST /api/token` takes form-encoded bodies only (anything else answers
//!   `unsupported_grant_type`): the password grant (with `totp` when a code is
//!   configured, `two_factor_auth_check` without it) and the refresh grant,
//!   which rotates the refresh token (a used one answers `invalid_grant`).
//!   `client_id` comes from the header, else the form, else the email; one
//!   refresh token per client_id. Access tokens expire after the token TTL.
//! - Every resource call needs `Authorization: Bearer <token>` or
//!   `Basic base64(email:password)`; without, 401 with an empty body.
//! - Per resource: list (`page`, `size`, `orderBy`, `dir` 1/-1, every exact
//!   filter `Entity_Prop` and range filter `from_`/`to_` of openapi.yaml;
//!   date ranges at minute precision, inclusive), get one (404 with an empty
//!   body when missing), batch get on the trailing-slash path (`?id=[1,2]`,
//!   missing Ids left out), create and update (400 envelope with `Errors[]`
//!   for missing required fields, wrong types, malformed JSON, references
//!   that are 0 or point at no TimePass, values below the spec's `minimum`,
//!   dates that are not dates, `CreateMultiple` outside 0..=500; a body over
//!   2 MB is refused with 413 in the same envelope), delete, commands and
//!   run command. Messages name the field in the API's words
//!   (`PropertyName: message`; errors about the body as a whole are filed
//!   under `Body`).
//! - Deletes the API refuses answer the 500 envelope and keep the record,
//!   as people who run real tenants report: a TimePass that passes still
//!   use or that a pricing plan (`Tariffs`) lists, and a CoworkerTimePass
//!   with check-ins (checked in, used, or with uses spent). The seeded data
//!   has all three. A delete of a record already gone answers 404.
//! - PUT replaces the whole record: a writable field left out is cleared.
//!   Read-only fields (`CreatedOn`, `UsedDate`, `Invoiced`...) keep the
//!   server's values. Writes stamp `UpdatedOn` with the real clock to the
//!   second (`2025-01-15T10:30:00Z`, as the docs show); listings sorted by
//!   a field break ties by Id.
//! - Every field of a record is written, nulls included; listings leave
//!   out exactly the fields the docs say they leave out.
//! - Throttling answers 409 with the documented reason phrase "You must
//!   wait before accessing this url again.". Injected failures
//!   ([`StandInBuilder::fail_every`]) answer a gateway's 503 page or, with
//!   [`FailWith::ServerError`], the API's own 500 "Ooops!" page.
//! - Listing records leave out the fields the API leaves out; the page
//!   envelope carries every key the docs show (and `PageNumber`, `PageSize`).
//!
//! # Choices where the docs are silent
//!
//! Tests that rest on one of these rest on a guess about the real API:
//!
//! | Question | The stand-in's choice | Why |
//! |---|---|---|
//! | Text filters: exact or "contains"? | exact, case-sensitive | the docs call `Entity_Prop` filters exact; no example shows a partial match |
//! | Case of filter names | the `Entity_` prefix as the spec spells it; the property part in any case | examples use the spec's spelling; ASP.NET binds properties case-insensitively |
//! | Case of paths | as the spec spells them | no example shows another |
//! | Trailing slash | `/api/billing/<resource>/` is batch get (`?id=[..]`), not the listing | the docs give batch get that path |
//! | Key order in records | the spec's property order | JSON order carries no meaning; the examples' order is kept where the spec follows it |
//! | A filter value that does not read as its field's type | matches no record | an empty page is what a typed comparison that fails gives |
//! | `page` or `size` below 1 or not a number | 1 and 25 | the documented defaults |
//! | Largest `size` | none | the docs give no maximum |
//! | `dir` other than `-1` | ascending | the examples bear out 1/-1; one doc page says 0/1 |
//! | Format of dates the docs type `DateTime?` (`ExpireDate`...) | RFC 3339, a date and time without zone (read as UTC), or a date | what ASP.NET reads; written back as RFC 3339 |
//! | Status of a body over 2 MB | 413 with the 400 envelope's shape | the docs give no limit; the envelope is how the API refuses bodies |
//! | Property of errors about the whole body | `Body` | the docs show `PropertyName: message` and no body-level example |
//! | Which passes have check-ins | checked in, used, or `RemainingUses` below `TotalUses` | check-ins are not an API resource here; these fields are what they change |
//!
//! # Defaults
//!
//! Seed 1; 40 TimePasses, 1,000 CoworkerTimePasses, 40 ProductTimePasses;
//! no latency, no limits, no injected failures; tokens last 604,799 s (the
//! docs' example); the account is [`DEFAULT_EMAIL`] / [`DEFAULT_PASSWORD`]
//! without two-factor authentication; a free port on 127.0.0.1.
//!
//! The commands it offers are its own (the docs list none): TimePass
//! `ArchiveTimePass` and `UnarchiveTimePass`, CoworkerTimePass `MarkAsUsed`
//! and `MarkAsUnused`, none for ProductTimePass.

mod auth;
mod body;
mod catalog;
mod envelope;
mod limits;
mod routes;
mod row;
mod rules;
mod seed;
mod store;
mod write;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use auth::{Account, Tokens};
pub use limits::FailWith;
use limits::{Counters, Limit, Limits};
use routes::AppState;

use crate::spec::Resource;

/// How many records of `resource` a stand-in seeds unless told otherwise:
/// 1,000 CoworkerTimePasses (the resource that grows), 40 of the others.
pub fn default_records(resource: Resource) -> usize {
    match resource {
        Resource::CoworkerTimePasses => 1_000,
        _ => 40,
    }
}

/// The account the stand-in accepts unless told otherwise.
pub const DEFAULT_EMAIL: &str = "admin@example.com";
/// The password of [`DEFAULT_EMAIL`].
pub const DEFAULT_PASSWORD: &str = "stand-in-password";

/// Sets up a [`StandIn`]; see the [module docs](self) for the defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct StandInBuilder {
    seed: u64,
    records: seed::Counts,
    latency: Duration,
    read_limit: Option<f64>,
    write_limit: Option<f64>,
    fail_every: Option<u64>,
    fail_with: FailWith,
    token_ttl: Duration,
    email: String,
    password: String,
    totp: Option<String>,
    port: u16,
}

impl Default for StandInBuilder {
    fn default() -> Self {
        StandInBuilder {
            seed: 1,
            records: Resource::ALL
                .iter()
                .map(|&r| (r, default_records(r)))
                .collect(),
            latency: Duration::ZERO,
            read_limit: None,
            write_limit: None,
            fail_every: None,
            fail_with: FailWith::default(),
            token_ttl: Duration::from_secs(604_799),
            email: DEFAULT_EMAIL.into(),
            password: DEFAULT_PASSWORD.into(),
            totp: None,
            port: 0,
        }
    }
}

impl StandInBuilder {
    /// Seed of the generated data: the same seed and counts give the same records.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How many records of `resource` to seed (default
    /// [`default_records`]). There is at least one TimePass whenever other
    /// records are seeded, since they point at one.
    pub fn records(mut self, resource: Resource, n: usize) -> Self {
        self.records.insert(resource, n);
        self
    }

    /// A delay before every answer.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// GET requests per second on the resources; above it, 409 with
    /// `Retry-After` and an empty body. Zero or less: no limit.
    pub fn read_limit(mut self, per_second: f64) -> Self {
        self.read_limit = Some(per_second);
        self
    }

    /// POST, PUT and DELETE requests per second on the resources, as
    /// [`read_limit`](Self::read_limit) does for GET.
    pub fn write_limit(mut self, per_second: f64) -> Self {
        self.write_limit = Some(per_second);
        self
    }

    /// Every `n`th resource request answers with an HTML error page (503
    /// unless [`fail_with`](Self::fail_with) says otherwise). Zero: never.
    pub fn fail_every(mut self, n: u64) -> Self {
        self.fail_every = (n > 0).then_some(n);
        self
    }

    /// What [`fail_every`](Self::fail_every)'s failures answer: a gateway's
    /// 503 (the default) or the API's own 500 "Ooops!" page.
    pub fn fail_with(mut self, failure: FailWith) -> Self {
        self.fail_with = failure;
        self
    }

    /// How long an access token lasts.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// The account's email.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = email.into();
        self
    }

    /// The account's password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = password.into();
        self
    }

    /// Requires this two-factor code (`totp`) on the password grant.
    pub fn totp(mut self, code: impl Into<String>) -> Self {
        self.totp = Some(code.into());
        self
    }

    /// Port on 127.0.0.1; 0 (the default) picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Seeds the data, binds the port and starts serving on the current
    /// Tokio runtime. Fails only when the port cannot be bound.
    pub async fn start(self) -> std::io::Result<StandIn> {
        let db = seed::database(self.seed, &self.records, &self.email);
        let state = Arc::new(AppState {
            account: Account {
                email: self.email,
                password: self.password,
                totp: self.totp,
                token_ttl: self.token_ttl,
            },
            db: RwLock::new(db),
            tokens: Mutex::new(Tokens::default()),
            limits: Limits {
                latency: self.latency,
                read: self.read_limit.and_then(Limit::per_second),
                write: self.write_limit.and_then(Limit::per_second),
                fail_every: self.fail_every,
                fail_with: self.fail_with,
            },
            counters: Counters::default(),
        });
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)))
                .await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = routes::router(state.clone());
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            // An accept error ends serving; nothing is left to report it to.
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        Ok(StandIn {
            base_url: format!("http://{addr}"),
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running stand-in server. Dropping it stops the server.
#[derive(Debug)]
pub struct StandIn {
    base_url: String,
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Request counters of a [`StandIn`], as [`StandIn::stats`] reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// GET requests (all paths).
    pub gets: u64,
    /// POST requests, the token endpoint included.
    pub posts: u64,
    /// PUT requests.
    pub puts: u64,
    /// DELETE requests.
    pub deletes: u64,
    /// Requests with any other method.
    pub other_methods: u64,
    /// Requests answered 409 by the read or write limit.
    pub throttled: u64,
    /// Requests answered with an error page by `fail_every`.
    pub injected_failures: u64,
    /// Tokens issued by the token endpoint (password or refresh grant).
    pub token_exchanges: u64,
    /// Resource requests answered 401.
    pub unauthorized: u64,
}

impl Stats {
    /// Every request received.
    pub fn requests(&self) -> u64 {
        self.gets + self.posts + self.puts + self.deletes + self.other_methods
    }
}

impl StandIn {
    /// A builder with the defaults of the [module docs](self).
    pub fn builder() -> StandInBuilder {
        StandInBuilder::default()
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The email it accepts.
    pub fn email(&self) -> &str {
        &self.state.account.email
    }

    /// The password it accepts.
    pub fn password(&self) -> &str {
        &self.state.account.password
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        let c = &self.state.counters;
        let read = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
        Stats {
            gets: read(&c.get),
            posts: read(&c.post),
            puts: read(&c.put),
            deletes: read(&c.delete),
            other_methods: read(&c.other),
            throttled: read(&c.throttled),
            injected_failures: read(&c.injected_failures),
            token_exchanges: read(&c.token_exchanges),
            unauthorized: read(&c.unauthorized),
        }
    }

    /// Stops serving and waits until open connections are done.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
