//! Counts the HTTP requests the client sends, for the summaries: the client
//! opens one `nexudus.request` tracing span per attempt (retries included),
//! so a dispatcher scoped to the command's future counts those spans and
//! hands everything on to whatever subscriber was in place before.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tracing::instrument::WithSubscriber;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};

/// The span the client opens around every attempt (src/transport.rs).
const REQUEST_SPAN: &str = "nexudus.request";

/// A shared count of requests sent.
#[derive(Clone, Debug, Default)]
pub struct Requests(Arc<AtomicU64>);

impl Requests {
    /// Requests counted so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Runs `future` with every request it sends counted. The library
    /// spawns no tasks, so every request is sent while `future` is polled.
    pub fn count<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        let previous = tracing::dispatcher::get_default(Dispatch::clone);
        let counting = Counting {
            inner: previous,
            requests: self.0.clone(),
        };
        future.with_subscriber(counting)
    }
}

struct Counting {
    inner: Dispatch,
    requests: Arc<AtomicU64>,
}

fn is_request(metadata: &Metadata<'_>) -> bool {
    metadata.is_span() && metadata.name() == REQUEST_SPAN
}

impl Subscriber for Counting {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if is_request(metadata) {
            Interest::always()
        } else {
            self.inner.register_callsite(metadata)
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        is_request(metadata) || self.inner.enabled(metadata)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        if is_request(span.metadata()) {
            self.requests.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.new_span(span)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        self.inner.record(span, values)
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.inner.record_follows_from(span, follows)
    }

    fn event(&self, event: &Event<'_>) {
        self.inner.event(event)
    }

    fn enter(&self, span: &Id) {
        self.inner.enter(span)
    }

    fn exit(&self, span: &Id) {
        self.inner.exit(span)
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.inner.clone_span(id)
    }

    fn try_close(&self, id: Id) -> bool {
        self.inner.try_close(id)
    }
}
