//! Incremental reads: every record changed since a [`Checkpoint`], as
//! [`Changes`], a stream of batches each with the checkpoint to resume from.
//!
//! The API offers offset paging and `UpdatedOn` range filters at minute
//! precision, and a naive loop over them loses records: while it pages in
//! `UpdatedOn` order, a record updated meanwhile moves to the end and shifts
//! the others back, so one slides onto a page already read. This walk avoids
//! that by reading a *closed* window first:
//!
//! 1. A one-record probe reads the server's clock (the `Date` header; the
//!    client's clock when there is none). The window ends at the minute
//!    before it: no write can enter such a window, since every write stamps
//!    `UpdatedOn` with the server's now. Records can only leave it (updated
//!    to now, or deleted), and each leave lowers `TotalItems`.
//! 2. The window is read in `UpdatedOn` order, page after page. A page whose
//!    `TotalItems` differs from the first page's means a record left and
//!    others may have shifted: the walk restarts from page 1 of a narrowed
//!    window that starts at the minute of the last record delivered. A
//!    record that slid back had an `UpdatedOn` at or after that one, so the
//!    narrowed window holds it; nothing before that minute can have moved.
//! 3. The open tail (records changed in the last minute or during the walk)
//!    is read last, the same way; the checkpoint never moves past the closed
//!    window's end, so whatever the tail missed is read again next time.
//!
//! The guarantee: every record whose `UpdatedOn` is at or after the
//! checkpoint's minute and that still exists when the walk ends is
//! delivered at least once with that `UpdatedOn`, batches in ascending
//! `UpdatedOn` order within each pass (a restart or the tail may deliver a
//! record again, with the same or a later `UpdatedOn`: de-duplicate by `Id`,
//! keeping the latest `UpdatedOn`). Each batch's checkpoint is safe to store
//! with the records of that batch and all before it: a run that stops there
//! and resumes from it misses nothing. Deleted records are not changes; see
//! the handles' `gone`, which scans every Id.

use std::{collections::HashMap, future::Future, pin::Pin};

use chrono::{DateTime, Duration, DurationRound, NaiveDateTime, Utc};
use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::wire::FILTER_FORMAT;
use crate::{
    error::{Error, Result},
    page::Page,
    record::Record,
    types::FilterDateTime,
};

/// Restarts of one pass before the walk gives up (each is a record that
/// left the window while it was read; a past minute cannot keep losing
/// records for long).
const MAX_RESTARTS: u32 = 1000;

/// Restarts of the open tail; past them its changes wait for the next read.
const MAX_TAIL_RESTARTS: u32 = 3;

/// Where an incremental read starts: the minute of `UpdatedOn` from which
/// records are read (inclusive), or the beginning for a first, full read.
/// Serialise it (serde) and store it with the data it covers.
///
/// ```
/// use nexudus_timepasses::Checkpoint;
/// let first = Checkpoint::default(); // everything
/// let text = serde_json::to_string(&first).unwrap();
/// assert_eq!(serde_json::from_str::<Checkpoint>(&text).unwrap(), first);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// `YYYY-MM-DDTHH:MM` (UTC, the range filters' format); `None` reads
    /// every record.
    pub updated_since: Option<String>,
}

impl Checkpoint {
    /// A checkpoint at `minute` (seconds are dropped).
    pub fn at(minute: NaiveDateTime) -> Self {
        Checkpoint {
            updated_since: Some(minute.format(FILTER_FORMAT).to_string()),
        }
    }

    /// The minute, when set; an unreadable value is an error.
    fn minute(&self) -> Result<Option<NaiveDateTime>> {
        let Some(text) = &self.updated_since else {
            return Ok(None);
        };
        NaiveDateTime::parse_from_str(text, FILTER_FORMAT)
            .map(Some)
            .map_err(|e| {
                Error::invalid(
                    "changes",
                    format!("checkpoint {text:?} is not YYYY-MM-DDTHH:MM: {e}"),
                )
            })
    }
}

/// Some records changed since the checkpoint, and where to resume after them.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ChangeBatch<T> {
    /// Listing records, in ascending `UpdatedOn` order within the batch.
    pub records: Vec<T>,
    /// Resume here once these records (and all batches before) are stored.
    pub checkpoint: Checkpoint,
}

/// The batches of an incremental read; see [the module](crate::Changes)'s
/// guarantee. `Send + Unpin + 'static`.
pub struct Changes<T> {
    inner: Pin<Box<dyn Stream<Item = Result<ChangeBatch<T>>> + Send>>,
}

impl<T> Stream for Changes<T> {
    type Item = Result<ChangeBatch<T>>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T> std::fmt::Debug for Changes<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes").finish_non_exhaustive()
    }
}

/// One listing request of the walk: `UpdatedOn` between `from` and `to`
/// (minutes, inclusive, either open), in ascending `UpdatedOn` order.
pub(crate) struct Window {
    pub(crate) from: Option<FilterDateTime>,
    pub(crate) to: Option<FilterDateTime>,
    pub(crate) page: u32,
    pub(crate) size: u32,
}

/// A page of the walk and the server's clock when it answered.
pub(crate) type Dated<T> = (Page<T>, Option<DateTime<Utc>>);

/// The walk's stream over `fetch`, from `since`, with pages of `size`.
pub(crate) fn changes<T, F, Fut>(since: &Checkpoint, size: u32, fetch: F) -> Changes<T>
where
    T: Record + Send + 'static,
    F: FnMut(Window) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Dated<T>>> + Send + 'static,
{
    let walk = since.minute().map(|from| Walk {
        fetch,
        size: size.max(1),
        from,
        to: None,
        phase: Phase::Probe,
        page: 1,
        total: None,
        restarts: 0,
        delivered: HashMap::new(),
    });
    let stream = futures::stream::unfold(Some(walk), |state| async move {
        match state? {
            Err(e) => Some((Err(e), None)),
            Ok(mut walk) => match walk.next().await {
                Ok(Some(batch)) => Some((Ok(batch), Some(Ok(walk)))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            },
        }
    });
    Changes {
        inner: Box::pin(stream),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Reading the server's clock.
    Probe,
    /// Reading the closed window `[from, to]`.
    Closed,
    /// Reading the open tail after `to`.
    Tail,
    Done,
}

struct Walk<F> {
    fetch: F,
    size: u32,
    /// The window's first minute (inclusive); `None`: from the beginning.
    from: Option<NaiveDateTime>,
    /// The closed window's last minute, once the probe has read the clock.
    to: Option<NaiveDateTime>,
    phase: Phase,
    page: u32,
    /// `TotalItems` of the current pass's first page.
    total: Option<u32>,
    restarts: u32,
    /// `UpdatedOn` of the records delivered at or after the current
    /// page's first minute: only those can be read again.
    delivered: HashMap<i32, DateTime<Utc>>,
}

impl<F> Walk<F> {
    /// The next batch, or `None` when the walk is over.
    async fn next<T, Fut>(&mut self) -> Result<Option<ChangeBatch<T>>>
    where
        T: Record,
        F: FnMut(Window) -> Fut,
        Fut: Future<Output = Result<Dated<T>>>,
    {
        loop {
            match self.phase {
                Phase::Done => return Ok(None),
                Phase::Probe => self.probe().await?,
                Phase::Closed | Phase::Tail => {
                    if let Some(batch) = self.read_page().await? {
                        return Ok(Some(batch));
                    }
                }
            }
        }
    }

    /// Reads the server's clock and fixes the closed window's end.
    async fn probe<T, Fut>(&mut self) -> Result<()>
    where
        F: FnMut(Window) -> Fut,
        Fut: Future<Output = Result<Dated<T>>>,
    {
        let window = Window {
            from: None,
            to: None,
            page: 1,
            size: 1,
        };
        let (_, date) = (self.fetch)(window).await?;
        let now = date.unwrap_or_else(Utc::now);
        let minute = now
            .duration_trunc(Duration::minutes(1))
            .unwrap_or(now)
            .naive_utc();
        self.to = Some(minute - Duration::minutes(1));
        self.phase = Phase::Closed;
        Ok(())
    }

    /// Reads one page of the current pass. `None` when the page only
    /// showed the pass must restart.
    async fn read_page<T, Fut>(&mut self) -> Result<Option<ChangeBatch<T>>>
    where
        T: Record,
        F: FnMut(Window) -> Fut,
        Fut: Future<Output = Result<Dated<T>>>,
    {
        let window = self.window()?;
        let (page, _) = (self.fetch)(window).await?;
        let total = *self.total.get_or_insert(page.total_items);
        if page.total_items != total {
            // The tail is open: writes keep entering it, and whatever it
            // misses is read again next time. Restart it a few times only.
            if self.phase == Phase::Closed || self.restarts < MAX_TAIL_RESTARTS {
                self.restart()?;
                return Ok(None);
            }
            self.total = Some(page.total_items);
        }
        let last_minute = page.records.last().map(|r| minute_of(r.updated_on()));
        let end = page.records.is_empty() || self.page >= page.total_pages;
        let records = self.fresh(page.records);
        if let Some(minute) = last_minute {
            // Only records of this minute or later can be read again.
            self.delivered.retain(|_, at| minute_of(*at) >= minute);
        }
        let checkpoint = self.checkpoint_after(last_minute);
        if end {
            self.end_pass();
        } else {
            self.page += 1;
        }
        Ok(Some(ChangeBatch {
            records,
            checkpoint,
        }))
    }

    /// The request for the current page of the current pass.
    fn window(&self) -> Result<Window> {
        let filter = |m: NaiveDateTime| FilterDateTime::try_from(m);
        let (from, to) = match self.phase {
            Phase::Closed => (self.from, self.to),
            _ => (self.tail_start(), None),
        };
        Ok(Window {
            from: from.map(filter).transpose()?,
            to: to.map(filter).transpose()?,
            page: self.page,
            size: self.size,
        })
    }

    /// The tail's first minute: after the closed window, or where a
    /// restart narrowed it to.
    fn tail_start(&self) -> Option<NaiveDateTime> {
        let after_closed = self.to.map(|to| to + Duration::minutes(1));
        match (self.from, after_closed) {
            (Some(from), Some(after)) => Some(from.max(after)),
            (from, after) => after.or(from),
        }
    }

    /// Records not delivered before with the same `UpdatedOn`.
    fn fresh<T: Record>(&mut self, records: Vec<T>) -> Vec<T> {
        records
            .into_iter()
            .filter(|r| self.delivered.insert(r.id(), r.updated_on()) != Some(r.updated_on()))
            .collect()
    }

    /// Where to resume after this page: the minute of its last record in
    /// the closed window; never past the closed window's end.
    fn checkpoint_after(&self, last_minute: Option<NaiveDateTime>) -> Checkpoint {
        let at = match (self.phase, last_minute) {
            (Phase::Closed, Some(minute)) => Some(minute),
            (Phase::Closed, None) => self.from,
            _ => self.to,
        };
        match at.or(self.from) {
            Some(minute) => Checkpoint::at(minute),
            None => Checkpoint::default(),
        }
    }

    /// Starts the pass again from page 1 of a window narrowed to the last
    /// delivered record's minute.
    fn restart(&mut self) -> Result<()> {
        self.restarts += 1;
        if self.restarts > MAX_RESTARTS {
            return Err(Error::InconsistentListing {
                operation: "changes",
                reason: format!("the listing kept changing through {MAX_RESTARTS} restarts"),
            });
        }
        let narrowed = self.delivered.values().map(|at| minute_of(*at)).max();
        if let Some(minute) = narrowed {
            self.from = Some(self.from.map_or(minute, |from| from.max(minute)));
        }
        self.page = 1;
        self.total = None;
        tracing::debug!(
            restarts = self.restarts,
            "listing changed while read: restarting the pass"
        );
        Ok(())
    }

    /// Moves from the closed window to the tail, or ends the walk.
    fn end_pass(&mut self) {
        self.page = 1;
        self.total = None;
        self.restarts = 0;
        self.phase = match self.phase {
            Phase::Closed => {
                self.from = self.from.max(self.to);
                Phase::Tail
            }
            _ => Phase::Done,
        };
    }
}

/// The minute a timestamp falls in (the range filters' precision).
fn minute_of(at: DateTime<Utc>) -> NaiveDateTime {
    at.duration_trunc(Duration::minutes(1))
        .unwrap_or(at)
        .naive_utc()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures::StreamExt;

    use super::*;

    #[derive(Clone, Debug)]
    struct Rec(i32, DateTime<Utc>);

    impl Record for Rec {
        fn id(&self) -> i32 {
            self.0
        }
        fn updated_on(&self) -> DateTime<Utc> {
            self.1
        }
    }

    /// A listing with the API's semantics: `UpdatedOn` order, minute
    /// filters inclusive, `TotalItems`; `write` runs after each page served.
    struct Server {
        records: Vec<Rec>,
        now: DateTime<Utc>,
        served: u32,
        write: fn(&mut Server),
    }

    impl Server {
        fn page(&mut self, w: &Window) -> Dated<Rec> {
            let minute = |f: &Option<FilterDateTime>| {
                f.as_ref()
                    .map(|f| NaiveDateTime::parse_from_str(f.as_str(), FILTER_FORMAT).unwrap())
            };
            let (from, to) = (minute(&w.from), minute(&w.to));
            let mut hits: Vec<Rec> = self
                .records
                .iter()
                .filter(|r| from.is_none_or(|f| minute_of(r.1) >= f))
                .filter(|r| to.is_none_or(|t| minute_of(r.1) <= t))
                .cloned()
                .collect();
            hits.sort_by_key(|r| (r.1, r.0));
            let total = hits.len() as u32;
            let start = ((w.page - 1) * w.size) as usize;
            let records: Vec<Rec> = hits.into_iter().skip(start).take(w.size as usize).collect();
            let page = Page {
                records,
                page: w.page,
                page_size: w.size,
                total_items: total,
                total_pages: total.div_ceil(w.size),
                has_next_page: w.page < total.div_ceil(w.size),
            };
            self.served += 1;
            (self.write)(self);
            (page, Some(self.now))
        }

        /// Updates the record at `index` of the current order to now.
        fn touch(&mut self, index: usize) {
            self.records.sort_by_key(|r| (r.1, r.0));
            if let Some(r) = self.records.get_mut(index) {
                r.1 = self.now;
            }
        }
    }

    fn base() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// 300 records over 10 minutes, 120 of them in the first minute
    /// (more than a page), several sharing a second.
    fn server(write: fn(&mut Server)) -> Arc<Mutex<Server>> {
        let records = (0..300)
            .map(|id| {
                let secs = if id < 120 { id / 4 } else { 60 + id * 2 };
                Rec(id, base() + Duration::seconds(i64::from(secs)))
            })
            .collect();
        Arc::new(Mutex::new(Server {
            records,
            now: base() + Duration::minutes(30),
            served: 0,
            write,
        }))
    }

    /// Every batch of a walk from `since` over `server`, pages of 50.
    async fn walk(server: &Arc<Mutex<Server>>, since: &Checkpoint) -> Vec<ChangeBatch<Rec>> {
        let s = server.clone();
        let stream = changes(since, 50, move |w| {
            let answer = s.lock().unwrap().page(&w);
            futures::future::ready(Ok(answer))
        });
        let all: Vec<_> = stream.collect().await;
        all.into_iter().map(|b| b.unwrap()).collect()
    }

    /// Latest `UpdatedOn` delivered per Id.
    fn latest(batches: &[ChangeBatch<Rec>]) -> HashMap<i32, DateTime<Utc>> {
        let mut out = HashMap::new();
        for r in batches.iter().flat_map(|b| &b.records) {
            let at = out.entry(r.0).or_insert(r.1);
            *at = (*at).max(r.1);
        }
        out
    }

    fn state(server: &Arc<Mutex<Server>>) -> HashMap<i32, DateTime<Utc>> {
        server
            .lock()
            .unwrap()
            .records
            .iter()
            .map(|r| (r.0, r.1))
            .collect()
    }

    #[tokio::test]
    async fn a_quiet_listing_is_read_whole_once() {
        let server = server(|_| {});
        let batches = walk(&server, &Checkpoint::default()).await;
        let delivered: usize = batches.iter().map(|b| b.records.len()).sum();
        assert_eq!(delivered, 300);
        assert_eq!(latest(&batches), state(&server));
        let last = batches.last().unwrap();
        assert_eq!(
            last.checkpoint,
            Checkpoint::at((base() + Duration::minutes(29)).naive_utc())
        );
    }

    #[tokio::test]
    async fn updates_that_shift_records_back_lose_nothing() {
        // After each of the first pages, the first record of the order
        // moves to now: everything behind it shifts back by one.
        let server = server(|s| {
            if (2..8).contains(&s.served) {
                s.touch(0);
            }
        });
        let batches = walk(&server, &Checkpoint::default()).await;
        assert_eq!(latest(&batches), state(&server));
    }

    #[tokio::test]
    async fn deletes_while_reading_lose_no_other_record() {
        let server = server(|s| {
            if (2..6).contains(&s.served) {
                s.records.sort_by_key(|r| (r.1, r.0));
                s.records.remove(3);
            }
        });
        let batches = walk(&server, &Checkpoint::default()).await;
        let got = latest(&batches);
        for (id, at) in state(&server) {
            assert_eq!(got.get(&id), Some(&at), "record {id}");
        }
    }

    #[tokio::test]
    async fn a_checkpoint_resumes_without_loss_and_keeps_its_minute() {
        let server = server(|_| {});
        let batches = walk(&server, &Checkpoint::default()).await;
        // Resume from a checkpoint taken mid-way: every record from its
        // minute on comes again, the ones sharing that minute included.
        let mid = &batches[2].checkpoint;
        let minute = mid.minute().unwrap().unwrap();
        let again = latest(&walk(&server, mid).await);
        for (id, at) in state(&server) {
            if minute_of(at) >= minute {
                assert_eq!(again.get(&id), Some(&at), "record {id}");
            }
        }
    }

    #[tokio::test]
    async fn a_bad_checkpoint_is_an_error() {
        let server = server(|_| {});
        let s = server.clone();
        let bad = Checkpoint {
            updated_since: Some("yesterday".into()),
        };
        let mut stream = changes(&bad, 50, move |w| {
            futures::future::ready(Ok(s.lock().unwrap().page(&w)))
        });
        assert!(matches!(
            stream.next().await,
            Some(Err(Error::InvalidRequest { .. }))
        ));
        assert!(stream.next().await.is_none());
    }
}
