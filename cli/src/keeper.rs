//! Where a profile's tokens are kept: the OS keyring when one is usable
//! (Secret Service on Linux, the Keychain on macOS, the Credential Manager
//! on Windows), else `tokens/NAME.json` in the config directory (mode 0600,
//! directory 0700). Either way the lock is the file lock of
//! `tokens/NAME.json.lock`, so concurrent commands refresh a profile once.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use nexudus_timepasses::{Error, FileTokenStore, StoreGuard, StoredToken, TokenStore};
use secrecy::ExposeSecret;

use crate::failure::{code, Failure};
use crate::profiles::{private_dir, Keeper, Profile, Profiles};

/// The keyring entries' service name.
const SERVICE: &str = "nexudus-timepasses";

/// A profile's token store.
#[derive(Debug, Clone)]
pub enum Store {
    /// In the OS keyring.
    Keyring(Arc<KeyringStore>),
    /// In a file.
    File(FileTokenStore),
}

impl Store {
    /// The store of `profile` (the tokens directory is created, mode 0700).
    pub fn of(profiles: &Profiles, profile: &Profile) -> Result<Store, Failure> {
        Store::with(profiles, &profile.name, profile.keeper)
    }

    /// The store `keeper` names for profile `name`.
    pub fn with(profiles: &Profiles, name: &str, keeper: Keeper) -> Result<Store, Failure> {
        let dir = profiles.dir().join("tokens");
        private_dir(profiles.dir())
            .and_then(|()| private_dir(&dir))
            .map_err(|e| {
                Failure::new(code::AUTH, format!("cannot create {}: {e}", dir.display()))
            })?;
        let file = FileTokenStore::new(dir.join(format!("{name}.json")));
        Ok(match keeper {
            Keeper::File => Store::File(file),
            Keeper::Keyring => {
                let user = format!("{name} ({})", profiles.dir().display());
                let entry = platform_store()
                    .and_then(|store| Entry::new_in_store(&store, SERVICE, &user))
                    .map_err(|e| {
                        Failure::new(code::AUTH, format!("the OS keyring is not usable: {e}"))
                            .hint(format!("run `nexudus login --profile {name} --no-keyring`"))
                    })?;
                Store::Keyring(Arc::new(KeyringStore { entry, file }))
            }
        })
    }

    /// The store as the library takes it.
    pub fn token_store(&self) -> Arc<dyn TokenStore> {
        match self {
            Store::Keyring(k) => k.clone(),
            Store::File(f) => Arc::new(f.clone()),
        }
    }

    /// Where the tokens are, in words.
    pub fn describe(&self) -> String {
        match self {
            Store::Keyring(_) => "the OS keyring".to_owned(),
            Store::File(f) => format!("{} (mode 0600)", f.path().display()),
        }
    }

    /// The stored token; a damaged or unreadable store is an exit 4 that
    /// names it, and it is left as it was.
    pub fn load(&self) -> Result<Option<StoredToken>, Failure> {
        self.token_store().load().map_err(Failure::from)
    }

    /// Replaces the stored token, under the lock.
    pub fn save(&self, token: &StoredToken) -> Result<(), Failure> {
        let store = self.token_store();
        let _guard = store.lock().map_err(Failure::from)?;
        store.save(token).map_err(Failure::from)
    }

    /// Forgets the token, under the lock; whether there was one.
    pub fn forget(&self) -> Result<bool, Failure> {
        let store = self.token_store();
        let _guard = store.lock().map_err(Failure::from)?;
        match self {
            Store::File(f) => f.remove(),
            Store::Keyring(k) => k.remove(),
        }
        .map_err(Failure::from)
    }
}

/// Whether the OS keyring can be used now (a store can be opened and read).
pub fn keyring_usable() -> bool {
    let probe = platform_store()
        .and_then(|store| Entry::new_in_store(&store, SERVICE, "probe"))
        .and_then(|entry| entry.get_password());
    match probe {
        Ok(_) | Err(keyring_core::Error::NoEntry) => true,
        Err(e) => {
            tracing::debug!(target: "nexudus", "the OS keyring is not usable: {e}");
            false
        }
    }
}

/// The platform's keyring.
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    #[cfg(target_os = "linux")]
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    #[cfg(target_os = "macos")]
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    #[cfg(windows)]
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    let store: Arc<CredentialStore> = return Err(keyring_core::Error::NoDefaultStore);
    Ok(store)
}

/// A token in a keyring entry, as the JSON text a token file holds; locked
/// with the lock of the file it stands in for.
#[derive(Debug)]
pub struct KeyringStore {
    entry: Entry,
    file: FileTokenStore,
}

impl KeyringStore {
    fn failure(&self, what: &str, e: &keyring_core::Error) -> Error {
        Error::TokenStore(format!("cannot {what} the OS keyring's entry: {e}"))
    }

    fn remove(&self) -> Result<bool, Error> {
        match self.entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.failure("delete", &e)),
        }
    }
}

impl TokenStore for KeyringStore {
    fn load(&self) -> Result<Option<StoredToken>, Error> {
        match self.entry.get_password() {
            Ok(text) => StoredToken::from_json(&text).map(Some).map_err(|fault| {
                Error::TokenStore(format!("the OS keyring's entry is damaged ({fault})"))
            }),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.failure("read", &e)),
        }
    }

    fn save(&self, token: &StoredToken) -> Result<(), Error> {
        self.entry
            .set_password(token.to_json().expose_secret())
            .map_err(|e| self.failure("write", &e))
    }

    fn lock(&self) -> Result<StoreGuard, Error> {
        self.file.lock()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    /// A keyring store over keyring-core's in-memory mock.
    fn mock() -> KeyringStore {
        let store: Arc<CredentialStore> = keyring_core::mock::Store::new().unwrap();
        KeyringStore {
            entry: Entry::new_in_store(&store, SERVICE, "test").unwrap(),
            file: FileTokenStore::new(std::env::temp_dir().join("nexudus-keyring-test.json")),
        }
    }

    #[test]
    fn a_keyring_entry_holds_the_token_as_a_file_would() {
        let store = mock();
        assert!(store.load().unwrap().is_none());
        let now = SystemTime::now();
        let token = StoredToken::new(
            "access-SECRET",
            Some("refresh-SECRET".into()),
            "a@b.c",
            now + Duration::from_secs(60),
            now + Duration::from_secs(54),
        );
        store.save(&token).unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(loaded.access_token().expose_secret(), "access-SECRET");
        assert_eq!(loaded.client_id(), "a@b.c");
        assert!(store.remove().unwrap());
        assert!(!store.remove().unwrap());

        store
            .entry
            .set_password("{\"access_token\": 7654321}")
            .unwrap();
        let e = store.load().unwrap_err().to_string();
        assert!(e.contains("damaged") && !e.contains("7654321"), "{e}");
    }
}
