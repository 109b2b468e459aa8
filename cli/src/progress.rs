//! What long work shows on stderr: a progress bar (only when stderr is a
//! terminal), the `-v` trace (requests, and the client's settings), and
//! the one-line summary, whose retry and throttling counts come from the
//! library's own request spans through a small tracing layer (the library
//! has one request path, so its spans count every attempt).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Answers and retries seen by the request spans of this process.
static ATTEMPTS: AtomicU64 = AtomicU64::new(0);
static RETRIES: AtomicU64 = AtomicU64::new(0);
static THROTTLED: AtomicU64 = AtomicU64::new(0);

/// Installs the tracing subscriber: the counting layer always, the `-v`
/// trace on stderr when asked for.
pub fn init(verbose: u8, color: bool) {
    let counting =
        Counting.with_filter(Targets::new().with_target("nexudus_timepasses", Level::DEBUG));
    let trace = (verbose > 0).then(|| {
        let targets = match verbose {
            // The library's requests, and the client the command built.
            1 => Targets::new()
                .with_target("nexudus_timepasses", Level::DEBUG)
                .with_target("nexudus", Level::DEBUG),
            _ => Targets::new().with_default(Level::TRACE),
        };
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(color)
            .with_target(false)
            .with_filter(targets)
    });
    // A second init (tests calling twice) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(counting)
        .with(trace)
        .try_init();
}

/// Counts request spans' answers (`status`) and `retrying` events.
struct Counting;

impl<S: Subscriber> Layer<S> for Counting {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        if attrs.metadata().name() == "nexudus.request" {
            ATTEMPTS.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_record(&self, _span: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut status = StatusField(None);
        values.record(&mut status);
        if matches!(status.0, Some(409 | 429)) {
            THROTTLED.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut message = MessageField(false);
        event.record(&mut message);
        if message.0 {
            RETRIES.fetch_add(1, Ordering::Relaxed);
        }
    }
}

struct StatusField(Option<u64>);

impl Visit for StatusField {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "status" {
            self.0 = Some(value);
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "status" {
            self.0 = u64::try_from(value).ok();
        }
    }
    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

/// Whether an event is the transport's `retrying`.
struct MessageField(bool);

impl Visit for MessageField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" && value == "retrying" {
            self.0 = true;
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && format!("{value:?}") == "retrying" {
            self.0 = true;
        }
    }
}

/// The progress of one long command, and its summary.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    quiet: bool,
}

impl Progress {
    /// A progress bar on stderr when stderr is a terminal and not `quiet`;
    /// hidden otherwise. `total` may come later ([`Progress::set_total`]).
    pub fn new(quiet: bool) -> Self {
        let shown = !quiet && std::io::stderr().is_terminal();
        let bar = if shown {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        // Plain characters and no colours: fine with NO_COLOR and any font.
        let style = ProgressStyle::with_template(
            "{wide_bar} {human_pos}/{human_len} records, {rate}, {elapsed}",
        )
        .map(|s| {
            s.progress_chars("#>-").with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", state.per_sec());
                },
            )
        });
        if let Ok(style) = style {
            bar.set_style(style);
        }
        Progress {
            bar,
            started: Instant::now(),
            quiet,
        }
    }

    /// The number of records expected.
    pub fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    /// One more record done.
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    /// Whether the bar is drawn (then the total is worth a request).
    pub fn shown(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// Clears the bar and prints the summary line, unless `quiet`.
    pub fn finish(&self, what: &str) {
        self.bar.finish_and_clear();
        if !self.quiet {
            eprintln!(
                "{what} in {}; {}",
                seconds(self.started.elapsed()),
                counts()
            );
        }
    }

    /// Clears the bar without a summary (a failure prints its own lines).
    pub fn abandon(&self) {
        self.bar.finish_and_clear();
    }
}

/// Retries and throttled answers so far, for summaries.
pub fn counts() -> String {
    let retries = RETRIES.load(Ordering::Relaxed);
    let throttled = THROTTLED.load(Ordering::Relaxed);
    let requests = ATTEMPTS.load(Ordering::Relaxed);
    format!(
        "{requests} {}, {retries} {}, {throttled} throttled",
        plural(requests, "request", "requests"),
        plural(retries, "retry", "retries"),
    )
}

/// Requests sent so far (every attempt, retries included), for summaries
/// that count their own part.
pub fn requests() -> u64 {
    ATTEMPTS.load(Ordering::Relaxed)
}

/// `n` records, with the right noun.
pub fn records(n: u64, name: &str) -> String {
    format!("{n} {name} {}", plural(n, "record", "records"))
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
