//! The client and its builder: base URL, credentials, timeouts, user agent,
//! retry and pacing policy, paging settings, and an optional caller-built
//! `reqwest::Client`.

use std::{fmt, num::NonZeroU32, sync::Arc, time::Duration};

use crate::{
    auth::{Auth, Credentials},
    error::{Error, Result},
    generated::Client as Raw,
    pacing::Pacing,
    retry::RetryPolicy,
    transport::Hooks,
};

/// Where the Nexudus API lives.
pub const DEFAULT_BASE_URL: &str = "https://spaces.nexudus.com";

/// Time allowed for each attempt of a request, unless set otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer body read by default: 32 MiB, far above any page the
/// API sends (a 1,000-record page is about 2 MiB), far below harm.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;

/// Records per page when a one-page listing does not set `size` (the API's
/// own default: a screen's worth).
pub const DEFAULT_PAGE_SIZE: u32 = 25;

/// Records per page when a stream does not set `size`. The API limits
/// requests, not records (the strictest documented read limit is 120 a
/// minute), so a stream's time is its page count: 10,000 records take 400
/// pages of 25 (over 3 minutes at 2 a second) but 5 pages of 2,000. A page of
/// 2,000 listing records is about 2-3 MB of JSON, well within the body cap;
/// no maximum `size` is documented, and a server that caps it is followed
/// (the stream goes on with the pages as the server serves them).
pub const DEFAULT_STREAM_PAGE_SIZE: u32 = 2000;

/// A Nexudus client. An `Arc` inside: cheap to clone; clones share one
/// connection pool, one token and one pacing budget, and can be used from
/// many tasks at once. The resource handles it gives out own a clone, so they
/// and their streams can move into spawned tasks.
///
/// ```no_run
/// # async fn run() -> nexudus_timepasses::Result<()> {
/// use nexudus_timepasses::{Client, Credentials};
/// let client = Client::builder()
///     .credentials(Credentials::password("ops@example.com", "secret"))
///     .build()?;
/// let pass = client.time_passes().get(87654321).await?;
/// println!("{} costs {}", pass.name, pass.price);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client(Arc<Shared>);

/// What the clones of a [`Client`] share.
struct Shared {
    raw: Raw,
    page_size: NonZeroU32,
    stream_page_size: NonZeroU32,
    concurrency: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.0.raw.baseurl)
            .field("hooks", &self.0.raw.inner)
            .field("page_size", &self.0.page_size)
            .field("stream_page_size", &self.0.stream_page_size)
            .field("concurrency", &self.0.concurrency)
            .finish()
    }
}

impl Client {
    /// Starts a builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.0.raw.baseurl
    }

    /// The generated client, for calls this layer does not wrap. Its requests
    /// go through the same hooks: auth, retries, pacing and tracing.
    pub fn raw(&self) -> &Raw {
        &self.0.raw
    }

    /// Records per page of one-page listings that set no `size`.
    pub fn page_size(&self) -> NonZeroU32 {
        self.0.page_size
    }

    /// Records per page of streams whose filter sets no `size`.
    pub fn stream_page_size(&self) -> NonZeroU32 {
        self.0.stream_page_size
    }

    /// Pages a stream fetches at once.
    pub fn concurrency(&self) -> usize {
        self.0.concurrency
    }

    /// Signs in now with the client's password grant (a new token, whatever
    /// it held) and returns the token, for a [`TokenStore`](crate::TokenStore)
    /// to keep: a later client started with
    /// [`Credentials::stored`] goes on from it without the password. Fails
    /// with [`Error::Config`] for other credentials.
    pub async fn sign_in(&self) -> Result<crate::StoredToken> {
        let raw = &self.0.raw;
        progenitor_client::ClientInfo::inner(raw)
            .auth()
            .sign_in(raw)
            .await
    }
}

/// Builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use nexudus_timepasses::{Client, Credentials, Pacing, RetryPolicy};
/// let client = Client::builder()
///     .base_url("https://spaces.nexudus.com/") // a trailing slash is fine
///     .credentials(Credentials::bearer("token"))
///     .connect_timeout(Duration::from_secs(5))
///     .timeout(Duration::from_secs(30))
///     .retry(RetryPolicy::default().max_attempts(5))
///     .pacing(Pacing::default().writes_per_minute(30))
///     .page_size(100)
///     .concurrency(4)
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url(), "https://spaces.nexudus.com");
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    connect_timeout: Duration,
    timeout: Option<Duration>,
    user_agent: Option<String>,
    retry: RetryPolicy,
    pacing: Pacing,
    page_size: Option<u32>,
    stream_page_size: Option<u32>,
    concurrency: usize,
    max_body_bytes: u64,
    http: Option<reqwest::Client>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: DEFAULT_BASE_URL.into(),
            credentials: None,
            connect_timeout: Duration::from_secs(10),
            timeout: None,
            user_agent: None,
            retry: RetryPolicy::default(),
            pacing: Pacing::default(),
            page_size: None,
            stream_page_size: None,
            concurrency: 4,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            http: None,
        }
    }
}

impl ClientBuilder {
    /// The API's base URL (scheme, host, optional port and path stem).
    /// Default: <https://spaces.nexudus.com>. A trailing slash is removed.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// How to authenticate. Without credentials requests are sent anonymously.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Time allowed to open a connection (default 10 s). Ignored with
    /// [`http_client`](Self::http_client), whose settings are the caller's.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for each attempt of a request, answer included.
    /// Default: 30 s (the official SDK's) on the client's own HTTP client;
    /// with [`http_client`](Self::http_client), that client's own timeout,
    /// unless this is set.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// A `User-Agent` header for every request (`"my-app/1.2"`, say).
    /// Default: none. Nexudus asks for none, and a header is work on every
    /// request for both ends (about 0.4 µs of a 28 µs one-record call
    /// against the stand-in). Ignored with [`http_client`](Self::http_client).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    /// When to retry; see [`RetryPolicy`].
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Client-side request pacing; see [`Pacing`].
    pub fn pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// Records per page for one-page listings (`list`) that do not set
    /// `size` (default [`DEFAULT_PAGE_SIZE`]). Streams keep their own size:
    /// see [`stream_page_size`](Self::stream_page_size).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Records per page for streams and change readers that do not set
    /// `size` (default [`DEFAULT_STREAM_PAGE_SIZE`]).
    pub fn stream_page_size(mut self, size: u32) -> Self {
        self.stream_page_size = Some(size);
        self
    }

    /// Pages a stream fetches at once (default 4). A stream holds at most
    /// this many pages in memory.
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.concurrency = pages;
        self
    }

    /// The largest answer body the client reads (default
    /// [`DEFAULT_MAX_BODY_BYTES`]); a larger one fails with
    /// [`Error::BodyTooLarge`] instead of being read whole.
    pub fn max_body_bytes(mut self, bytes: u64) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Uses the caller's `reqwest::Client` (its pool, proxy, TLS, user agent
    /// and timeouts; [`timeout`](Self::timeout) still applies when set).
    ///
    /// Its redirect policy is the caller's too. The client's own follows a
    /// redirect only within the base URL's origin and never from the token
    /// endpoint, so credentials and bodies never go elsewhere; give yours
    /// the same rule, or `reqwest::redirect::Policy::none()`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client> {
        let base_url = normalise_base_url(&self.base_url)?;
        let size = |n: u32| {
            NonZeroU32::new(n).ok_or_else(|| Error::Config("page size must be at least 1".into()))
        };
        let page_size = size(self.page_size.unwrap_or(DEFAULT_PAGE_SIZE))?;
        let stream_page_size = size(self.stream_page_size.unwrap_or(DEFAULT_STREAM_PAGE_SIZE))?;
        // The attempt timeout is set on each attempt by the hooks; a
        // caller's HTTP client keeps its own timeout unless one was set here.
        let (http, attempt_timeout) = match self.http {
            Some(http) => (http, self.timeout),
            None => {
                let mut http = reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    .redirect(reqwest::redirect::Policy::custom(same_origin_only));
                if let Some(agent) = self.user_agent {
                    http = http.user_agent(agent);
                }
                let http = http
                    .build()
                    .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
                (http, Some(self.timeout.unwrap_or(DEFAULT_TIMEOUT)))
            }
        };
        let hooks = Hooks::new(
            Auth::new(self.credentials)?,
            self.retry,
            &self.pacing,
            attempt_timeout,
            self.max_body_bytes,
        );
        Ok(Client(Arc::new(Shared {
            raw: Raw::new_with_client(&base_url, http, hooks),
            page_size,
            stream_page_size,
            concurrency: self.concurrency.max(1),
        })))
    }
}

/// The redirect rule: never from the token endpoint (it would re-post the
/// password), and otherwise only to the origin the request went to, at
/// most 5 times, so credentials and bodies never reach another server.
fn same_origin_only(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let Some(first) = attempt.previous().first() else {
        return attempt.stop();
    };
    let from_token = first.path().ends_with("/api/token");
    let same_origin = first.origin() == attempt.url().origin();
    if from_token || !same_origin || attempt.previous().len() > 5 {
        attempt.stop()
    } else {
        attempt.follow()
    }
}

/// Accepts an http(s) URL and drops trailing slashes (paths are added
/// after it, and would otherwise start `//api/...`).
fn normalise_base_url(text: &str) -> Result<String> {
    let url = url::Url::parse(text.trim())
        .map_err(|e| Error::Config(format!("base URL {text:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::Config(format!(
            "base URL {text:?} must be http(s) with a host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "the base URL must not carry credentials; use Client::builder().credentials(..)".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL {text:?} must not have a query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_normalised_and_checked() {
        assert_eq!(
            normalise_base_url("https://x.test/").unwrap(),
            "https://x.test"
        );
        assert_eq!(
            normalise_base_url("http://127.0.0.1:8080/stem/").unwrap(),
            "http://127.0.0.1:8080/stem"
        );
        for bad in [
            "",
            "spaces.nexudus.com",
            "ftp://x.test",
            "https://x.test/?a=1",
            "https://user:pw@x.test",
        ] {
            assert!(
                matches!(normalise_base_url(bad), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = Client::builder()
            .credentials(Credentials::basic("a@b.c", "pw-SECRET"))
            .build()
            .unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("a@b.c") && !shown.contains("pw-SECRET"),
            "{shown}"
        );
    }
}
