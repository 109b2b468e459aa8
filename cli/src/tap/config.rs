//! The tap's `--config` file: the API's base URL, the credentials or a
//! profile name, and the settings `nexudus sync` takes as options (page
//! size, concurrency, retries, pacing, deletes). Every key is optional; an
//! unknown key is an error, so a typo does not pass unnoticed.

use std::ops::RangeInclusive;
use std::path::Path;

use nexudus_timepasses::Credentials;
use serde::Deserialize;

use super::file;
use crate::args::{ApiArgs, CONCURRENCY, RETRIES};
use crate::credentials::with_totp;
use crate::failure::Failure;

/// What a config file holds. Credentials here win over the environment's
/// and a profile's; a profile (`nexudus login`) or NEXUDUS_TOKEN keeps them
/// out of the file, which is better.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The API's base URL.
    base_url: Option<String>,
    /// The profile of `nexudus login` to use.
    profile: Option<String>,
    /// A bearer token.
    token: Option<String>,
    /// An account's email, with `password`.
    email: Option<String>,
    /// The account's password.
    password: Option<String>,
    /// A two-factor code, with `email`.
    totp: Option<String>,
    /// Records per request.
    page_size: Option<u32>,
    /// Requests in flight at once.
    concurrency: Option<u16>,
    /// Retries of a throttled or failed request.
    retries: Option<u32>,
    /// Client-side pacing of reads, per minute (0: none).
    reads_per_minute: Option<u32>,
    /// After the changes, scan every Id and emit the deleted ones with
    /// `_sdc_deleted_at` set.
    #[serde(default)]
    pub detect_deletes: bool,
}

impl Config {
    /// The config file at `path`, checked.
    pub fn load(path: &Path) -> Result<Config, Failure> {
        let config: Config = file::read("config", path)?;
        config.check().map_err(|p| file::bad("config", path, p))?;
        Ok(config)
    }

    /// The same rules as the command-line options.
    fn check(&self) -> Result<(), String> {
        if self.page_size == Some(0) {
            return Err("page_size: at least 1".into());
        }
        let within = |key: &str, value: Option<i64>, range: RangeInclusive<i64>| match value {
            Some(n) if !range.contains(&n) => {
                Err(format!("{key}: {} to {}", range.start(), range.end()))
            }
            _ => Ok(()),
        };
        within("concurrency", self.concurrency.map(i64::from), CONCURRENCY)?;
        within("retries", self.retries.map(i64::from), RETRIES)?;
        match (&self.token, &self.email, &self.password) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                Err("token, or email with password: not both".into())
            }
            (_, Some(_), None) => Err("email without password".into()),
            (_, None, Some(_)) => Err("password without email".into()),
            _ if self.totp.is_some() && self.email.is_none() => {
                Err("totp goes with email and password".into())
            }
            _ => Ok(()),
        }
    }

    /// The API options, with this file's settings in place of theirs.
    pub fn apply(&self, api: ApiArgs) -> Result<ApiArgs, Failure> {
        if api.demo && (self.base_url.is_some() || self.credentials().is_some()) {
            return Err(Failure::usage(
                "--demo runs its own server: leave base_url and credentials out of the config",
            ));
        }
        Ok(ApiArgs {
            base_url: self.base_url.clone().or(api.base_url),
            profile: self.profile.clone().or(api.profile),
            page_size: self.page_size.or(api.page_size),
            concurrency: self.concurrency.or(api.concurrency),
            retries: self.retries.or(api.retries),
            reads_per_minute: self.reads_per_minute.or(api.reads_per_minute),
            ..api
        })
    }

    /// The credentials the file gives, if any.
    pub fn credentials(&self) -> Option<Credentials> {
        if let Some(token) = &self.token {
            return Some(Credentials::bearer(token.trim()));
        }
        let (email, password) = (self.email.as_ref()?, self.password.as_ref()?);
        let credentials = Credentials::password(email.trim(), password.as_str());
        Some(with_totp(credentials, self.totp.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        let config: Config = serde_json::from_str(text).map_err(|e| e.to_string())?;
        config.check().map(|()| config)
    }

    #[test]
    fn keys_are_checked() {
        assert!(parse("{}").is_ok());
        let full = parse(r#"{"base_url":"http://x","email":"a@b","password":"p","page_size":5}"#);
        assert!(full.unwrap().credentials().is_some());
        assert!(parse(r#"{"base_url":"http://x"}"#)
            .unwrap()
            .credentials()
            .is_none());
        assert!(parse(r#"{"pasword":"p"}"#)
            .err()
            .is_some_and(|e| e.contains("unknown field")));
        assert!(parse(r#"{"email":"a@b"}"#).is_err());
        assert!(parse(r#"{"token":"t","email":"a@b","password":"p"}"#).is_err());
        assert!(parse(r#"{"page_size":0}"#).is_err());
        assert!(parse(r#"{"concurrency":65}"#).is_err());
        assert!(parse(r#"{"detect_deletes":"yes"}"#).is_err());
    }
}
