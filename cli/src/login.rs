//! `nexudus login`, `nexudus logout` and `nexudus auth status`: sign in
//! once with the password grant and keep what later commands need (base
//! URL, email, tokens; never the password) in a profile; forget a
//! profile's tokens; say what a profile holds without showing a secret.

use std::io::{BufRead, IsTerminal, Write};
use std::time::SystemTime;

use clap::Args as ClapArgs;
use nexudus_timepasses::{Client, Credentials, Error, StoredToken, DEFAULT_BASE_URL};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::args::Format;
use crate::credentials::{password, var, with_totp};
use crate::failure::{code, Done, Failure};
use crate::keeper::{keyring_usable, Store};
use crate::profiles::{check_name, config_dir, Keeper, Profile, Profiles};

/// The profile a command works on when none is named.
const DEFAULT_PROFILE: &str = "default";

/// Options of `nexudus login`.
#[derive(Debug, Clone, ClapArgs)]
pub struct LoginArgs {
    /// The profile to sign in [default: the default profile, else "default"].
    #[arg(long, env = "NEXUDUS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// The API's base URL [default: the profile's, else the public API].
    #[arg(long, env = "NEXUDUS_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Keep the tokens in a file (mode 0600) even when the OS keyring is usable.
    #[arg(long, env = "NEXUDUS_NO_KEYRING", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_keyring: bool,
    /// Make this the default profile.
    #[arg(long)]
    pub default: bool,
}

/// Options of `nexudus logout`.
#[derive(Debug, Clone, ClapArgs)]
pub struct ProfileArgs {
    /// The profile [default: the default profile].
    #[arg(long, env = "NEXUDUS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
}

/// Options of `nexudus auth status`.
#[derive(Debug, Clone, ClapArgs)]
pub struct StatusArgs {
    /// The profile and where it is.
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Output format: table (lines for a person) or json.
    #[arg(short, long, value_enum)]
    pub output: Option<Format>,
}

/// `nexudus login`.
pub async fn login(args: &LoginArgs) -> Result<Done, Failure> {
    let mut profiles = Profiles::load(&config_dir()?)?;
    let name = args
        .profile
        .clone()
        .or_else(|| profiles.default_name().map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
    check_name(&name)?;
    let before = profiles.find(&name).cloned();
    let base_url = args
        .base_url
        .clone()
        .or_else(|| before.as_ref().map(|p| p.base_url.clone()))
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let email = email(before.as_ref())?;
    let password = password(args.password_stdin)?
        .map(Ok)
        .unwrap_or_else(|| prompt_secret("Password: "))?;
    let token = sign_in(&base_url, &email, &password).await?;

    let keeper = if !args.no_keyring && keyring_usable() {
        Keeper::Keyring
    } else {
        Keeper::File
    };
    let store = Store::with(&profiles, &name, keeper)?;
    store.save(&token)?;
    if let Some(old) = before.filter(|p| p.keeper != keeper) {
        // The tokens moved: the old place should not keep a stale copy, but
        // an old place that cannot be reached (a keyring over SSH) must not
        // stop the new sign-in from being recorded.
        if let Err(e) = Store::of(&profiles, &old).and_then(|s| s.forget()) {
            eprintln!("note: the old tokens could not be forgotten: {}", e.message);
        }
    }
    let profile = Profile {
        name: name.clone(),
        base_url,
        email,
        keeper,
    };
    profiles.set(profile.clone(), args.default);
    profiles.save()?;
    let default = if profiles.default_name() == Some(name.as_str()) {
        " (the default)"
    } else {
        ""
    };
    eprintln!(
        "logged in to {} as {}: profile {name}{default}; tokens kept in {}",
        profile.base_url,
        profile.email,
        store.describe()
    );
    Ok(Done::Success)
}

/// `nexudus logout`.
pub fn logout(args: &ProfileArgs) -> Result<Done, Failure> {
    let profiles = Profiles::load(&config_dir()?)?;
    let profile = profiles.chosen(args.profile.as_deref())?;
    let store = Store::of(&profiles, profile)?;
    let had = store.forget()?;
    if had {
        eprintln!(
            "logged out of profile {}: its tokens are forgotten (its settings stay in {})",
            profile.name,
            profiles.path().display()
        );
    } else {
        eprintln!("profile {} was not logged in", profile.name);
    }
    Ok(Done::Success)
}

/// `nexudus auth status`: the profile, never a token.
pub fn status(args: &StatusArgs) -> Result<Done, Failure> {
    let profiles = Profiles::load(&config_dir()?)?;
    let profile = profiles.chosen(args.profile.profile.as_deref())?;
    let store = Store::of(&profiles, profile)?;
    let token = store.load()?;
    let overridden = ["NEXUDUS_TOKEN", "NEXUDUS_EMAIL"]
        .into_iter()
        .find(|name| var(name).is_some());
    let expires = token.as_ref().map(|t| rfc3339(t.expires_at()));
    let report = json!({
        "profile": profile.name,
        "default": profiles.default_name() == Some(profile.name.as_str()),
        "base_url": profile.base_url,
        "email": profile.email,
        "secrets": match profile.keeper {
            Keeper::Keyring => "keyring",
            Keeper::File => "file",
        },
        "token_file": match &store {
            Store::File(f) => Some(f.path().display().to_string()),
            Store::Keyring(_) => None,
        },
        "logged_in": token.is_some(),
        "access_token_expires_at": expires,
        "access_token_expired": token.as_ref().map(|t| t.expires_at() <= SystemTime::now()),
        "refresh_token": token.as_ref().map(|t| t.refresh_token().is_some()),
        "overridden_by": overridden,
    });
    let mut out = std::io::stdout().lock();
    let written = if args.output == Some(Format::Json) || args.output == Some(Format::Jsonl) {
        writeln!(out, "{report}")
    } else {
        write_status(&mut out, profile, &store, token.as_ref(), overridden)
    };
    written.map_err(Failure::output)?;
    Ok(Done::Success)
}

fn write_status(
    out: &mut impl Write,
    profile: &Profile,
    store: &Store,
    token: Option<&StoredToken>,
    overridden: Option<&str>,
) -> std::io::Result<()> {
    writeln!(out, "profile:   {}", profile.name)?;
    writeln!(out, "base URL:  {}", profile.base_url)?;
    writeln!(out, "email:     {}", profile.email)?;
    writeln!(out, "secrets:   {}", store.describe())?;
    match token {
        None => writeln!(
            out,
            "status:    logged out (run `nexudus login --profile {}`)",
            profile.name
        )?,
        Some(t) => {
            let state = if t.expires_at() <= SystemTime::now() {
                "expired; the next command refreshes it"
            } else {
                "valid"
            };
            let at = rfc3339(t.expires_at());
            writeln!(
                out,
                "status:    logged in; access token expires {at} ({state})"
            )?;
        }
    }
    if let Some(name) = overridden {
        writeln!(
            out,
            "note:      {name} is set: commands use it, not this profile"
        )?;
    }
    Ok(())
}

/// A time as RFC 3339 in UTC, to the second.
fn rfc3339(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// NEXUDUS_EMAIL, else asked on a terminal (the profile's as default),
/// else the profile's.
fn email(before: Option<&Profile>) -> Result<String, Failure> {
    if let Some(email) = var("NEXUDUS_EMAIL") {
        return Ok(email.trim().to_owned());
    }
    let known = before.map(|p| p.email.clone());
    if !std::io::stdin().is_terminal() {
        return known.ok_or_else(|| Failure::new(code::AUTH, "no email").hint("set NEXUDUS_EMAIL"));
    }
    let question = match &known {
        Some(email) => format!("Email [{email}]: "),
        None => "Email: ".to_owned(),
    };
    let typed = prompt(&question)?;
    match (typed.trim(), known) {
        ("", Some(known)) => Ok(known),
        ("", None) => Err(Failure::new(code::AUTH, "no email given")),
        (typed, _) => Ok(typed.to_owned()),
    }
}

/// Signs in, asking for the two-factor code on a terminal when the server
/// asks for one and NEXUDUS_TOTP gave none.
async fn sign_in(
    base_url: &str,
    email: &str,
    password: &SecretString,
) -> Result<StoredToken, Failure> {
    let mut code = var("NEXUDUS_TOTP");
    loop {
        let credentials = with_totp(
            Credentials::password(email, password.expose_secret()),
            code.clone(),
        );
        let client = Client::builder()
            .base_url(base_url)
            .credentials(credentials)
            .user_agent(concat!("nexudus-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        match client.sign_in().await {
            Ok(token) => return Ok(token),
            Err(e) if code.is_none() && asks_for_code(&e) => {
                if !std::io::stdin().is_terminal() {
                    return Err(
                        Failure::new(code::AUTH, "the account needs a two-factor code")
                            .hint("set NEXUDUS_TOTP to the current code"),
                    );
                }
                code = Some(
                    prompt_secret("Two-factor code: ")?
                        .expose_secret()
                        .to_owned(),
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn asks_for_code(e: &Error) -> bool {
    matches!(e, Error::Unauthorized { code: Some(c), .. } if c == "two_factor_auth_check")
}

/// A line typed on the terminal (stderr shows the question).
fn prompt(question: &str) -> Result<String, Failure> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("cannot read the answer: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A secret typed on the terminal without echo; off a terminal, a clear
/// failure instead of a hang.
fn prompt_secret(question: &str) -> Result<SecretString, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new(code::AUTH, "no password")
            .hint("pipe it in with --password-stdin (or set NEXUDUS_PASSWORD)"));
    }
    let typed = rpassword::prompt_password(question)
        .map_err(|e| Failure::usage(format!("cannot read from the terminal: {e}")))?;
    if typed.is_empty() {
        return Err(Failure::new(code::AUTH, "nothing was typed"));
    }
    Ok(SecretString::from(typed))
}
