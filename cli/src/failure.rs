//! How a command fails: an exit code from the documented set and one or two
//! lines for stderr (what failed, then what to do). Library errors map here
//! by their variant, so scripts can tell a missing record from a refused
//! sign-in without reading the text.

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
}

/// The text `--help` shows for the exit codes.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  any other failure
  2  usage error (unknown option, field or filter; bad value)
  3  a record asked for was not found
  4  authentication: no credentials, or the server refused them
  5  the server refused the data (validation)
  6  throttled or unavailable after the retries";

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What failed (one line).
    pub message: String,
    /// What to do about it (one line), when there is something to say.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure with this code and message.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: one_line(&message.into()),
            hint: None,
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(code::USAGE, message)
    }

    /// Adds the line saying what to do.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(one_line(&hint.into()));
        self
    }

    /// The end of a command whose reader went away (`| head`): exit 0, no
    /// message.
    pub fn closed_pipe() -> Self {
        Failure::new(code::OK, "")
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
        // Display, never Debug: the library's messages carry the operation,
        // the status and a bounded excerpt of the server's text, no secrets.
        let message = match &e {
            // A gateway's HTML error page says nothing the status does not.
            Error::Api {
                operation,
                status,
                message,
            } if looks_like_html(message) => {
                format!("{operation}: server answered {status} (an HTML error page)")
            }
            _ => e.to_string(),
        };
        match &e {
            Error::NotFound { .. } => Failure::new(code::NOT_FOUND, message),
            Error::Unauthorized { operation, .. } if *operation == "request_token" => {
                Failure::new(code::AUTH, format!("sign-in refused: {message}")).hint(
                    "check NEXUDUS_EMAIL and the password (and NEXUDUS_TOTP when the account \
                     has two-factor sign-in)",
                )
            }
            Error::Unauthorized { .. } => Failure::new(code::AUTH, message).hint(
                "check NEXUDUS_TOKEN, or NEXUDUS_EMAIL with NEXUDUS_PASSWORD (and NEXUDUS_TOTP \
                 when the account has two-factor sign-in)",
            ),
            Error::Validation { errors, .. } => {
                let fields: Vec<String> = errors
                    .iter()
                    .map(|f| {
                        if f.property.is_empty() {
                            f.message.clone()
                        } else {
                            format!("{}: {}", f.property, f.message)
                        }
                    })
                    .collect();
                // The library's message may already name the fields.
                let named = fields.iter().all(|f| message.contains(f.as_str()));
                let failure = Failure::new(code::VALIDATION, message);
                if fields.is_empty() || named {
                    failure.hint("nothing was written")
                } else {
                    failure.hint(format!("refused fields: {}", fields.join("; ")))
                }
            }
            Error::Config(_) | Error::InvalidRequest { .. } => Failure::usage(message),
            Error::Transport { .. } | Error::Timeout { .. } => {
                Failure::new(code::UNAVAILABLE, message).hint(
                    "no answer from the server: check --base-url and the network, then try again",
                )
            }
            e if e.is_retryable() => Failure::new(code::UNAVAILABLE, message)
                .hint("the server is busy or unavailable: try again later, or lower --concurrency"),
            _ => Failure::new(code::OTHER, message),
        }
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

    fn reqwest_status(n: u16) -> http::StatusCode {
        http::StatusCode::from_u16(n).unwrap_or(http::StatusCode::CONFLICT)
    }
}
