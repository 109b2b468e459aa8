//! How a command ends: every command returns `Result<Done, Failure>`, and
//! [`exit`] turns that into the documented exit code and the lines on
//! stderr, in this one place. Library errors become failures by their
//! variant, so scripts can tell a missing record from a refused sign-in
//! without reading the text.

use std::io::IsTerminal;
use std::process::ExitCode;

use nexudus_timepasses::Error;

/// Exit codes, as `--help` and the README document them.
pub mod code {
    /// Success.
    pub const OK: u8 = 0;
    /// Anything not listed below.
    pub const OTHER: u8 = 1;
    /// A usage error: an unknown option, field or filter, a bad value.
    pub const USAGE: u8 = 2;
    /// A record asked for does not exist.
    pub const NOT_FOUND: u8 = 3;
    /// No credentials, or the server refused them.
    pub const AUTH: u8 = 4;
    /// The server refused the data (validation).
    pub const VALIDATION: u8 = 5;
    /// Throttled or unavailable after the retries.
    pub const UNAVAILABLE: u8 = 6;
    /// `drift`: the spec does not describe everything the API sent.
    pub const DRIFT: u8 = 7;
    /// Interrupted (Ctrl-C), as shells report a SIGINT.
    pub const INTERRUPTED: u8 = 130;
}

/// The text `--help` shows for the exit codes.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
    0  success (also when the reader of stdout went away, as with `| head`)
    1  any other failure
    2  usage error (unknown option, field or filter; bad value; a spec
       `drift --apply` cannot edit in place, left as it was)
    3  a record asked for was not found
    4  authentication: no credentials, the server refused them, or a profile
       is logged out or its token or config file is damaged
    5  the server refused the data (validation)
    6  throttled or unavailable after the retries
    7  drift: the spec does not describe everything the API sent
  130  sync interrupted (Ctrl-C); committed batches are kept";

/// How a command that ran to its end ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// It did what was asked.
    Success,
    /// `drift` ran and found what the spec does not describe.
    Drift,
}

/// The exit code of a command's outcome, after printing a failure's lines
/// on stderr (nothing for a closed pipe, which ends with 0).
pub fn exit(outcome: Result<Done, Failure>, color: bool) -> ExitCode {
    let code = match outcome {
        Ok(Done::Success) => code::OK,
        Ok(Done::Drift) => code::DRIFT,
        Err(failure) => report(failure, color),
    };
    ExitCode::from(code)
}

/// Prints a failure's lines on stderr; its exit code.
fn report(failure: Failure, color: bool) -> u8 {
    if !failure.message.is_empty() {
        let label = if color && std::io::stderr().is_terminal() {
            "\x1b[1;31merror\x1b[0m"
        } else {
            "error"
        };
        eprintln!("{label}: {}", failure.message);
        if let Some(hint) = &failure.hint {
            eprintln!("  {hint}");
        }
    }
    failure.code
}

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What failed (one line).
    pub message: String,
    /// What to do about it (one line), when there is something to say.
    pub hint: Option<String>,
    /// The server or the network failed, not the request: the same command
    /// may succeed later (sync says it resumes; a usage error never will).
    pub transient: bool,
}

impl Failure {
    /// A failure with this code and message.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: one_line(&message.into()),
            hint: None,
            transient: false,
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(code::USAGE, message)
    }

    /// A Ctrl-C that stopped the command (exit 130).
    pub fn interrupted() -> Self {
        Failure::new(code::INTERRUPTED, "interrupted")
    }

    /// Adds the line saying what to do.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(one_line(&hint.into()));
        self
    }

    /// The same failure, its message led by what it happened to
    /// (`coworkertimepasses: ...`).
    pub fn within(self, what: impl std::fmt::Display) -> Self {
        let message = format!("{what}: {}", self.message);
        Failure { message, ..self }
    }

    /// The end of a command whose reader went away (`| head`): exit 0, no
    /// message.
    pub fn closed_pipe() -> Self {
        Failure::new(code::OK, "")
    }

    /// Whether this is [`Failure::closed_pipe`].
    pub fn is_closed_pipe(&self) -> bool {
        self.code == code::OK
    }

    /// A write to stdout failed: quietly done when the reader went away,
    /// otherwise a failure of its own.
    pub fn output(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::closed_pipe()
        } else {
            Failure::new(code::OTHER, format!("cannot write the output: {e}"))
        }
    }
}

/// A failure of the CLI's own (a database, a file): exit 1.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(code::OTHER, message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let message = message_of(&e);
        let transient = transient(&e);
        let failure = match &e {
            Error::NotFound { .. } => Failure::new(code::NOT_FOUND, message),
            // The library names the token request `request_token`: a
            // refused password, not a refused token.
            Error::Unauthorized { operation, .. } if *operation == "request_token" => {
                Failure::new(code::AUTH, format!("sign-in refused: {message}")).hint(
                    "check NEXUDUS_EMAIL and the password (and NEXUDUS_TOTP when the account \
                     has two-factor sign-in); with a profile, run `nexudus login` again",
                )
            }
            Error::TokenStore(_) => Failure::new(code::AUTH, message).hint(
                "run `nexudus login` again (with --profile NAME for another profile); \
                 a damaged file is left as it was",
            ),
            Error::Unauthorized { .. } => Failure::new(code::AUTH, message).hint(
                "check NEXUDUS_TOKEN, or NEXUDUS_EMAIL with NEXUDUS_PASSWORD (and NEXUDUS_TOTP \
                 when the account has two-factor sign-in)",
            ),
            Error::Validation { errors, .. } => validation(message, errors),
            Error::Config(_) | Error::InvalidRequest { .. } => Failure::usage(message),
            Error::Transport { .. } | Error::Timeout { .. } => {
                Failure::new(code::UNAVAILABLE, message).hint(
                    "no answer from the server: check --base-url and the network, then try again",
                )
            }
            e if e.is_retryable() => Failure::new(code::UNAVAILABLE, message)
                .hint("the server is busy or unavailable: try again later, or lower --concurrency"),
            _ => Failure::new(code::OTHER, message),
        };
        Failure {
            transient,
            ..failure
        }
    }
}

/// An error's line: Display, never Debug (the library's messages carry the
/// operation, the status and a bounded excerpt of the server's text, no
/// secrets); a gateway's HTML error page says nothing the status does not.
fn message_of(e: &Error) -> String {
    match e {
        Error::Api {
            operation,
            status,
            message,
            ..
        } if looks_like_html(message) => {
            format!("{operation}: server answered {status} (an HTML error page)")
        }
        _ => e.to_string(),
    }
}

/// Whether the server or the network failed (throttling, timeouts, lost
/// connections, 502-504, a 500 error page), so that the same request may
/// succeed later; the library decides ([`Error::is_retryable`]).
fn transient(e: &Error) -> bool {
    e.is_retryable()
}

/// A refused write (exit 5), with the refused fields unless the message
/// already names them.
fn validation(message: String, errors: &[nexudus_timepasses::FieldError]) -> Failure {
    let fields: Vec<String> = errors
        .iter()
        .map(|f| match f.property.is_empty() {
            true => f.message.clone(),
            false => format!("{}: {}", f.property, f.message),
        })
        .collect();
    let named = fields.iter().all(|f| message.contains(f.as_str()));
    let failure = Failure::new(code::VALIDATION, message);
    if fields.is_empty() || named {
        failure.hint("nothing was written")
    } else {
        failure.hint(format!("refused fields: {}", fields.join("; ")))
    }
}

/// Whether a server's text is an HTML page rather than a message.
fn looks_like_html(text: &str) -> bool {
    let start = text
        .trim_start()
        .get(..15)
        .unwrap_or("")
        .to_ascii_lowercase();
    start.starts_with("<!doctype") || start.starts_with("<html")
}

/// Text on one line, control characters and all (server text can hold
/// newlines or escape sequences that would break a terminal).
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_stays_on_one_line() {
        let f = Failure::new(1, "a\nb\u{1b}[31mc\r\n");
        assert_eq!(f.message, "a b [31mc");
    }

    #[test]
    fn variants_map_to_the_documented_codes() {
        let not_found = Error::NotFound { operation: "get" };
        assert_eq!(Failure::from(not_found).code, code::NOT_FOUND);
        assert_eq!(Failure::from(Error::Config("x".into())).code, code::USAGE);
        let throttled = Error::Throttled {
            operation: "list",
            status: reqwest_status(409),
            retry_after: None,
        };
        assert_eq!(Failure::from(throttled).code, code::UNAVAILABLE);
    }

    #[test]
    fn a_refused_sign_in_is_auth_and_not_worth_a_rerun() {
        let refused = Error::Unauthorized {
            operation: "request_token",
            status: reqwest_status(400),
            code: Some("invalid_grant".into()),
            message: "wrong password".into(),
        };
        let failure = Failure::from(refused);
        assert_eq!(failure.code, code::AUTH);
        assert!(
            failure.message.starts_with("sign-in refused: "),
            "{failure:?}"
        );
        assert!(!failure.transient);
    }

    #[test]
    fn server_failures_are_transient_and_refused_data_is_not() {
        let api = |status, transient| Error::Api {
            operation: "list",
            status: reqwest_status(status),
            message: "boom".into(),
            transient,
        };
        assert!(Failure::from(api(500, true)).transient, "a 500 error page");
        assert!(Failure::from(api(503, true)).transient);
        // A 500 envelope is the API's answer: running again does not mend it.
        assert!(!Failure::from(api(500, false)).transient);
        let refused = Error::Validation {
            operation: "create",
            status: reqwest_status(400),
            message: "no".into(),
            errors: Vec::new(),
        };
        assert!(!Failure::from(refused).transient);
        assert!(!Failure::from(Error::Config("x".into())).transient);
    }

    fn reqwest_status(n: u16) -> http::StatusCode {
        http::StatusCode::from_u16(n).unwrap_or(http::StatusCode::CONFLICT)
    }
}
