//! The credentials a command uses, strongest first: `NEXUDUS_TOKEN`;
//! `NEXUDUS_EMAIL` with `NEXUDUS_PASSWORD` or `--password-stdin` (and
//! `NEXUDUS_TOTP`); else the profile `--profile` or `NEXUDUS_PROFILE` names,
//! or the default one, that `nexudus login` stored. A password never comes
//! from argv, where `ps` and shell history see it.

use std::io::BufRead;

use nexudus_timepasses::Credentials;
use secrecy::{ExposeSecret, SecretString};

use crate::failure::{code, Failure};
use crate::keeper::Store;
use crate::profiles::{config_dir, Profiles};

/// Credentials, and the base URL a profile signs in to.
pub struct Resolved {
    /// What the client sends.
    pub credentials: Credentials,
    /// The profile's base URL, when the credentials are a profile's.
    pub base_url: Option<String>,
}

/// A non-empty environment variable.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The credentials of the environment, else of the chosen profile.
/// `base_url` is the one given (option or environment): a profile's tokens
/// are never sent to another.
pub fn resolve(
    password_stdin: bool,
    profile: Option<&str>,
    base_url: Option<&str>,
) -> Result<Resolved, Failure> {
    if let Some(credentials) = from_env(password_stdin)? {
        return Ok(Resolved {
            credentials,
            base_url: None,
        });
    }
    let profiles = Profiles::load(&config_dir()?)?;
    let chosen = profiles.chosen(profile)?;
    if let Some(given) = base_url {
        if trimmed(given) != trimmed(&chosen.base_url) {
            return Err(Failure::usage(format!(
                "profile {:?} signs in to {}, not {given}",
                chosen.name, chosen.base_url
            ))
            .hint(
                "leave out --base-url (and NEXUDUS_BASE_URL), or log in to it as another profile",
            ));
        }
    }
    let store = Store::of(&profiles, chosen)?;
    // Checked before any request: a logged-out or damaged profile fails
    // here, with what to do.
    if store.load()?.is_none() {
        return Err(Failure::new(
            code::AUTH,
            format!("profile {:?} is logged out", chosen.name),
        )
        .hint(format!("run `nexudus login --profile {}`", chosen.name)));
    }
    Ok(Resolved {
        credentials: Credentials::Stored(store.token_store()),
        base_url: Some(chosen.base_url.clone()),
    })
}

fn trimmed(url: &str) -> &str {
    url.trim().trim_end_matches('/')
}

/// The credentials the environment gives, if any.
fn from_env(password_stdin: bool) -> Result<Option<Credentials>, Failure> {
    if let Some(token) = var("NEXUDUS_TOKEN") {
        if password_stdin {
            return Err(Failure::usage(
                "--password-stdin goes with NEXUDUS_EMAIL, but NEXUDUS_TOKEN is set",
            ));
        }
        return Ok(Some(Credentials::bearer(token.trim())));
    }
    let Some(email) = var("NEXUDUS_EMAIL") else {
        if password_stdin {
            return Err(Failure::usage("--password-stdin goes with NEXUDUS_EMAIL"));
        }
        return Ok(None);
    };
    let password = match password(password_stdin)? {
        Some(password) => password,
        None => {
            return Err(
                Failure::new(code::AUTH, "NEXUDUS_EMAIL is set but no password")
                    .hint("set NEXUDUS_PASSWORD, or pipe it in with --password-stdin"),
            )
        }
    };
    let credentials = Credentials::password(email.trim(), password.expose_secret());
    Ok(Some(with_totp(credentials, var("NEXUDUS_TOTP"))))
}

/// The password from stdin (`--password-stdin`), else `NEXUDUS_PASSWORD`.
pub fn password(password_stdin: bool) -> Result<Option<SecretString>, Failure> {
    if password_stdin {
        return read_password().map(Some);
    }
    Ok(var("NEXUDUS_PASSWORD").map(SecretString::from))
}

/// `credentials` with a fixed two-factor code, when there is one.
pub fn with_totp(credentials: Credentials, code: Option<String>) -> Credentials {
    match code {
        Some(code) => {
            let code = code.trim().to_owned();
            credentials.with_totp(move || code.clone())
        }
        None => credentials,
    }
}

/// The first line of stdin, without its line end.
fn read_password() -> Result<SecretString, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(Failure::new(
            code::AUTH,
            "--password-stdin read an empty password",
        ));
    }
    Ok(SecretString::from(password))
}
