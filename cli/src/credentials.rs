//! Credentials from the environment (`NEXUDUS_TOKEN`, or `NEXUDUS_EMAIL`
//! with `NEXUDUS_PASSWORD` or `--password-stdin`, and `NEXUDUS_TOTP`). A
//! password never comes from argv, where `ps` and shell history see it.

use std::io::BufRead;

use nexudus_timepasses::Credentials;

use crate::failure::{code, Failure};

/// The credentials the environment gives.
pub fn from_env(password_stdin: bool) -> Result<Credentials, Failure> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(token) = var("NEXUDUS_TOKEN") {
        if password_stdin {
            return Err(Failure::usage(
                "--password-stdin goes with NEXUDUS_EMAIL, but NEXUDUS_TOKEN is set",
            ));
        }
        return Ok(Credentials::bearer(token.trim()));
    }
    let Some(email) = var("NEXUDUS_EMAIL") else {
        return Err(Failure::new(code::AUTH, "no credentials").hint(
            "set NEXUDUS_TOKEN, or NEXUDUS_EMAIL with NEXUDUS_PASSWORD (or --password-stdin); \
             or try --demo",
        ));
    };
    let password = if password_stdin {
        read_password()?
    } else {
        var("NEXUDUS_PASSWORD").ok_or_else(|| {
            Failure::new(code::AUTH, "NEXUDUS_EMAIL is set but no password")
                .hint("set NEXUDUS_PASSWORD, or pipe it in with --password-stdin")
        })?
    };
    let credentials = Credentials::password(email.trim(), password);
    Ok(match var("NEXUDUS_TOTP") {
        Some(code) => {
            let code = code.trim().to_owned();
            credentials.with_totp(move || code.clone())
        }
        None => credentials,
    })
}

/// The first line of stdin, without its line end.
fn read_password() -> Result<String, Failure> {
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
    Ok(password)
}
