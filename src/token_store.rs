//! Tokens kept between runs: [`StoredToken`], the [`TokenStore`] trait a
//! client reads them from and writes every rotation to, and
//! [`FileTokenStore`], a JSON file only its owner can read, locked across
//! processes so that concurrent refreshes of one sign-in never race.

use std::{
    fmt,
    fs::{self, File, OpenOptions},
    io::Write as _,
    path::{Path, PathBuf},
    time::SystemTime,
};

use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A signed-in client's tokens: what a later run needs to go on without
/// the password. Secrets never show in `Debug`.
#[derive(Clone)]
pub struct StoredToken {
    access_token: SecretString,
    refresh_token: Option<SecretString>,
    client_id: String,
    expires_at: SystemTime,
    refresh_at: SystemTime,
}

impl StoredToken {
    /// A token that expires at `expires_at` and is refreshed from
    /// `refresh_at` on (a margin before expiry), with the refresh token and
    /// the `client_id` it was issued to (the API requires the same one on
    /// refresh).
    pub fn new(
        access_token: impl Into<String>,
        refresh_token: Option<String>,
        client_id: impl Into<String>,
        expires_at: SystemTime,
        refresh_at: SystemTime,
    ) -> Self {
        StoredToken {
            access_token: SecretString::from(access_token.into()),
            refresh_token: refresh_token.map(SecretString::from),
            client_id: client_id.into(),
            expires_at,
            refresh_at: refresh_at.min(expires_at),
        }
    }

    /// The bearer token.
    pub fn access_token(&self) -> &SecretString {
        &self.access_token
    }

    /// The refresh token; a used one stops working, so every rotation must
    /// be kept.
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.refresh_token.as_ref()
    }

    /// The `client_id` the token was issued to.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// When the server said the access token expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// From when the client refreshes it rather than send it.
    pub fn refresh_at(&self) -> SystemTime {
        self.refresh_at
    }

    /// Whether it may still be sent now.
    pub fn is_fresh(&self) -> bool {
        SystemTime::now() < self.refresh_at
    }

    /// The token as the JSON text [`FileTokenStore`] keeps (for a store of
    /// your own: a keyring entry, a database row). A secret: keep it so.
    pub fn to_json(&self) -> SecretString {
        let file = TokenFile {
            client_id: self.client_id.clone(),
            access_token: self.access_token.expose_secret().to_owned(),
            refresh_token: self
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            expires_at: self.expires_at.into(),
            refresh_at: self.refresh_at.into(),
        };
        // A struct of strings and dates always encodes.
        SecretString::from(serde_json::to_string_pretty(&file).unwrap_or_default())
    }

    /// A token from the text [`to_json`](Self::to_json) made. The error
    /// names the kind of fault, the line and the column, never a value
    /// (serde's own message may quote one, and it may be a token).
    pub fn from_json(text: &str) -> Result<StoredToken, String> {
        let file: TokenFile = serde_json::from_str(text).map_err(|e| {
            format!(
                "{} error at line {}, column {}",
                category(&e),
                e.line(),
                e.column()
            )
        })?;
        Ok(StoredToken::new(
            file.access_token,
            file.refresh_token,
            file.client_id,
            file.expires_at.into(),
            file.refresh_at.into(),
        ))
    }

    /// The same token, refreshed before it is sent again (after a 401).
    pub(crate) fn mark_stale(&mut self) {
        self.refresh_at = SystemTime::UNIX_EPOCH;
    }
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("client_id", &self.client_id)
            .field("expires_at", &rfc3339(self.expires_at))
            .finish()
    }
}

/// Holds a [`TokenStore`]'s lock until dropped.
pub struct StoreGuard(#[allow(dead_code)] Box<dyn Send>);

impl StoreGuard {
    /// A guard that releases the lock `held` stands for when dropped (an
    /// open locked file, a mutex guard that is `Send`, `()` for none).
    pub fn new(held: impl Send + 'static) -> Self {
        StoreGuard(Box::new(held))
    }
}

impl fmt::Debug for StoreGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreGuard")
    }
}

/// Where a client started with [`Credentials::stored`](crate::Credentials::stored)
/// finds its token and keeps every rotation.
///
/// The client calls these from a blocking thread, never from its async
/// tasks, so they may block. When its token is stale it takes the
/// [`lock`](TokenStore::lock), loads again (another process may have
/// refreshed meanwhile, and then it uses that token), and otherwise
/// refreshes and [`save`](TokenStore::save)s before releasing the lock.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The stored token; `None` when there is none.
    fn load(&self) -> Result<Option<StoredToken>, Error>;

    /// Replaces the stored token. The client calls it with the lock held.
    fn save(&self, token: &StoredToken) -> Result<(), Error>;

    /// Waits for exclusive use of the store, across processes where the
    /// store is shared by them.
    fn lock(&self) -> Result<StoreGuard, Error>;
}

/// A [`TokenStore`] in a JSON file. On Unix the file has mode 0600 and a
/// directory it creates has mode 0700. A save writes a temporary file and
/// renames it over the old one, so a process killed while saving leaves
/// the old token or the new one, never half of one. The lock is a file
/// beside it (`NAME.lock`) locked with the OS's file lock, which the OS
/// releases when a process dies.
///
/// ```no_run
/// use nexudus_timepasses::{Client, Credentials, FileTokenStore};
/// let store = FileTokenStore::new("/var/lib/my-service/nexudus-token.json");
/// let client = Client::builder()
///     .credentials(Credentials::stored(store))
///     .build()?;
/// # Ok::<_, nexudus_timepasses::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

/// The file's contents: text a person can read, dates in RFC 3339.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    client_id: String,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: DateTime<Utc>,
    refresh_at: DateTime<Utc>,
}

impl FileTokenStore {
    /// A store in the file at `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileTokenStore { path: path.into() }
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deletes the token file; whether there was one. Call it with the
    /// lock held.
    pub fn remove(&self) -> Result<bool, Error> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.failure("cannot delete", &e)),
        }
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    fn failure(&self, what: &str, e: &std::io::Error) -> Error {
        Error::TokenStore(format!("{what} {}: {e}", self.path.display()))
    }

    /// The directory of the file, created (mode 0700) when missing.
    fn directory(&self) -> Result<&Path, Error> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        if !dir.as_os_str().is_empty() && !dir.exists() {
            private_dir(dir).map_err(|e| self.failure("cannot create the directory of", &e))?;
        }
        Ok(dir)
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> Result<Option<StoredToken>, Error> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.failure("cannot read", &e)),
        };
        StoredToken::from_json(&text).map(Some).map_err(|fault| {
            Error::TokenStore(format!("{} is damaged ({fault})", self.path.display()))
        })
    }

    fn save(&self, token: &StoredToken) -> Result<(), Error> {
        let text = token.to_json();
        let dir = self.directory()?;
        let mut temporary = self.path.as_os_str().to_owned();
        temporary.push(format!(".{}.tmp", std::process::id()));
        let temporary = PathBuf::from(temporary);
        let written = write_private(&temporary, text.expose_secret().as_bytes()).and_then(|()| {
            fs::rename(&temporary, &self.path)?;
            sync_dir(dir)
        });
        written.map_err(|e| {
            let _ = fs::remove_file(&temporary);
            self.failure("cannot write", &e)
        })
    }

    fn lock(&self) -> Result<StoreGuard, Error> {
        self.directory()?;
        let path = self.lock_path();
        let file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                Error::TokenStore(format!("cannot open the lock {}: {e}", path.display()))
            })?;
        file.lock()
            .map_err(|e| Error::TokenStore(format!("cannot lock {}: {e}", path.display())))?;
        Ok(StoreGuard::new(file))
    }
}

/// What kind of fault a JSON error is, in words.
fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "content",
        serde_json::error::Category::Eof => "unexpected end",
    }
}

/// Options that create a file only its owner can read and write.
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Writes `text` to a new file of mode 0600 and flushes it to disk.
fn write_private(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let mut file: File = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.write_all(text)?;
    file.sync_all()
}

/// Creates `dir` and its missing parents, the last one with mode 0700.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes a rename in `dir` durable (a no-op where directories cannot be
/// opened).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })?
    .sync_all()?;
    Ok(())
}

/// A time as RFC 3339 in UTC, to the second.
fn rfc3339(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("nexudus-token-store-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn token(access: &str) -> StoredToken {
        let now = SystemTime::now();
        StoredToken::new(
            access,
            Some(format!("refresh-of-{access}")),
            "me@example.com",
            now + Duration::from_secs(60),
            now + Duration::from_secs(54),
        )
    }

    #[test]
    fn saves_and_loads_a_private_file() {
        let dir = temp_dir("roundtrip");
        let store = FileTokenStore::new(dir.join("tokens").join("p.json"));
        assert!(store.load().unwrap().is_none());
        let _guard = store.lock().unwrap();
        store.save(&token("first")).unwrap();
        store.save(&token("second")).unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(loaded.access_token().expose_secret(), "second");
        assert_eq!(
            loaded.refresh_token().unwrap().expose_secret(),
            "refresh-of-second"
        );
        assert_eq!(loaded.client_id(), "me@example.com");
        assert!(loaded.is_fresh());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.path()), 0o600);
            assert_eq!(mode(&dir.join("tokens")), 0o700);
        }
        let names: Vec<_> = fs::read_dir(dir.join("tokens"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
        assert!(!format!("{loaded:?}").contains("second"));
        assert!(store.remove().unwrap());
        assert!(!store.remove().unwrap());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_damaged_file_names_its_path_and_line_and_no_secret() {
        let dir = temp_dir("damaged");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.json");
        let text = "{\n  \"client_id\": \"me\",\n  \"access_token\": 12345678901\n}";
        fs::write(&path, text).unwrap();
        let e = FileTokenStore::new(&path).load().unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(e.contains("line 3"), "{e}");
        assert!(!e.contains("12345678901"), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_lock_excludes_another_holder_until_dropped() {
        let dir = temp_dir("lock");
        let store = FileTokenStore::new(dir.join("p.json"));
        let guard = store.lock().unwrap();
        let other = File::open(store.lock_path()).unwrap();
        assert!(other.try_lock().is_err(), "a second lock was granted");
        drop(guard);
        assert!(other.try_lock().is_ok(), "the lock outlived its guard");
        fs::remove_dir_all(dir).unwrap();
    }
}
