//! The paging engine: turns the API's `page`/`size` listings into one
//! `Stream` of records (the [`RecordStream`](crate::RecordStream) of the
//! handles).
//!
//! Page 1 is fetched alone to learn `TotalPages`; later pages are fetched ahead
//! of the consumer, at most `concurrency` at a time, and their records come out
//! in page order, each once. A page's records are kept only until they are
//! yielded, so memory stays at `concurrency` pages whatever the listing's size.
//!
//! Listings are not snapshots: records inserted or deleted while we page shift
//! others between pages. The engine therefore drops records the last few
//! pages already yielded (by [`Record::id`]; see [`DEDUP_PAGES`]), follows a
//! total that grows, and stops at the first empty page when it shrinks. Records shifted onto a page already read
//! are missed; offset paging cannot avoid that.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::task::{Context, Poll};

use futures::stream::{FuturesOrdered, Stream, StreamExt};

use crate::{
    error::{Error, Result},
    page::Page,
    record::Record,
};

/// The highest page number the engine ever requests, whatever the server
/// claims. At the default size of 25 that is 2.5 million records; it exists so
/// that a server reporting ever more pages cannot keep a listing going forever.
pub(crate) const MAX_PAGES: u32 = 100_000;

/// How many pages back a record is looked for before it counts as new. A
/// record comes again only when deletions in front of it shift it onto a
/// later page, by one page per `page size` deletions; eight pages cover far
/// more churn than a listing sees while it is read, and keep memory flat:
/// at most `DEDUP_PAGES x page size` keys, whatever the listing's length.
pub(crate) const DEDUP_PAGES: usize = 8;

/// Pages in a row with only records already yielded before the stream
/// gives up with [`Error::InconsistentListing`].
const MAX_STALE_PAGES: u32 = 3;

/// Stream of every record across all pages.
///
/// `fetch(n)` fetches page `n` (1-based); the caller fixes the page size. At
/// most `concurrency` pages are requested or held at once (0 counts as 1), so
/// at most `concurrency × page size` records are held that have been fetched
/// but not yet yielded, page 1 included. The keys of the last
/// [`DEDUP_PAGES`] pages are kept (one `i32` each) to drop records that
/// paging shifted onto a later page: memory does not grow with the listing.
///
/// The stream ends at the last page of the plan, at the first empty page, or
/// at [`MAX_PAGES`]. An error from `fetch` is yielded after the records of the
/// pages before it, and ends the stream: no further page is requested.
pub(crate) fn stream_records<'a, T, F, Fut>(
    operation: &'static str,
    fetch: F,
    concurrency: usize,
) -> impl Stream<Item = Result<T>> + Send + 'a
where
    F: FnMut(u32) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
    T: Record + Send + 'a,
{
    stream_with_cap(operation, fetch, concurrency, MAX_PAGES)
}

/// [`stream_records`] with the page cap as a parameter, so tests can reach it.
fn stream_with_cap<'a, T, F, Fut>(
    operation: &'static str,
    fetch: F,
    concurrency: usize,
    max_pages: u32,
) -> impl Stream<Item = Result<T>> + Send + 'a
where
    F: FnMut(u32) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
    T: Record + Send + 'a,
{
    let mut pager = Pager::new(operation, fetch, concurrency, max_pages);
    futures::stream::poll_fn(move |cx| pager.poll_next(cx))
}

/// The engine's state between polls.
struct Pager<T, F, Fut: Future> {
    /// The listing's operationId, for errors.
    operation: &'static str,
    fetch: F,
    /// Pages requested or held at once: in flight plus waiting in `ready`.
    concurrency: usize,
    max_pages: u32,
    /// Requests in page order; a finished one keeps its page until taken.
    in_flight: FuturesOrdered<Fut>,
    /// Page number of the next request to start.
    next_request: u32,
    /// Page number of the next page `in_flight` hands out.
    next_taken: u32,
    /// `TotalPages` of page 1, once it has arrived: the first plan.
    first_plan: Option<u32>,
    /// The largest `TotalPages` any page reported.
    most_pages: u32,
    /// The most records one page held: the page size in effect, which may be
    /// below the size asked for if the server caps it.
    page_size: usize,
    /// Keys of the last [`DEDUP_PAGES`] pages taken, one set per page.
    seen: VecDeque<HashSet<i32>>,
    /// Pages in a row that held records but none not yet seen.
    stale_pages: u32,
    /// New records of taken pages, one entry per page, in page order.
    ready: VecDeque<std::vec::IntoIter<T>>,
    /// An error to yield once `ready` is empty.
    error: Option<Error>,
    /// No page will be requested or taken any more.
    finished: bool,
}

impl<T, F, Fut> Pager<T, F, Fut>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
    T: Record,
{
    fn new(operation: &'static str, fetch: F, concurrency: usize, max_pages: u32) -> Self {
        Pager {
            operation,
            fetch,
            concurrency: concurrency.max(1),
            // Within MAX_PAGES, page numbers cannot overflow.
            max_pages: max_pages.clamp(1, MAX_PAGES),
            in_flight: FuturesOrdered::new(),
            next_request: 1,
            next_taken: 1,
            first_plan: None,
            most_pages: 0,
            page_size: 0,
            seen: VecDeque::new(),
            stale_pages: 0,
            ready: VecDeque::new(),
            error: None,
            finished: false,
        }
    }

    /// The stream's `poll_next`.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        loop {
            self.start_requests();
            // Take pages as they finish even while records are waiting:
            // requests only progress while they are polled.
            if let Poll::Ready(Some(result)) = self.in_flight.poll_next_unpin(cx) {
                let page = self.next_taken;
                self.next_taken += 1;
                self.take(page, result);
                continue;
            }
            if let Some(record) = self.pop_ready() {
                return Poll::Ready(Some(Ok(record)));
            }
            if let Some(error) = self.error.take() {
                return Poll::Ready(Some(Err(error)));
            }
            // `start_requests` fills any free slot, so an empty `in_flight`
            // here means no page is left to request.
            if self.in_flight.is_empty() {
                return Poll::Ready(None);
            }
            return Poll::Pending;
        }
    }

    /// Starts requests while a slot is free and the plan has pages left.
    fn start_requests(&mut self) {
        while !self.finished
            && self.in_flight.len() + self.ready.len() < self.concurrency
            && self.next_request <= self.last_page()
        {
            tracing::debug!(page = self.next_request, "requesting page");
            self.in_flight.push_back((self.fetch)(self.next_request));
            self.next_request += 1;
        }
    }

    /// The last page to request: the plan, within the cap.
    fn last_page(&self) -> u32 {
        self.planned_last().min(self.max_pages)
    }

    /// The last page of the listing as far as we know now, cap aside. Page 1
    /// comes alone because its `TotalPages` makes the plan. Once some page
    /// reports more pages than page 1 did, one page past the largest count is
    /// probed, for records that arrived after that count was taken.
    fn planned_last(&self) -> u32 {
        let Some(first_plan) = self.first_plan else {
            return 1;
        };
        let probe = u32::from(self.most_pages > first_plan);
        self.most_pages.max(1).saturating_add(probe)
    }

    /// Handles page `page`, the next in page order.
    fn take(&mut self, page: u32, result: Result<Page<T>>) {
        let found = match result {
            Ok(found) => found,
            Err(error) => {
                tracing::debug!(page, %error, "page failed");
                self.error = Some(error);
                self.finish();
                return;
            }
        };
        tracing::debug!(
            page,
            records = found.records.len(),
            total_pages = found.total_pages,
            total_items = found.total_items,
            "page received"
        );
        // Nothing on this page means nothing after it either: the listing
        // ended or shrank, or the server's `TotalPages` is not to be believed.
        if found.records.is_empty() {
            self.finish();
            return;
        }
        let first_plan = *self.first_plan.get_or_insert(found.total_pages);
        self.most_pages = self.most_pages.max(found.total_pages);
        let short = found.records.len() < self.page_size;
        self.page_size = self.page_size.max(found.records.len());

        let mut keys = HashSet::with_capacity(found.records.len());
        let fresh: Vec<T> = found
            .records
            .into_iter()
            .filter(|record| {
                let id = record.id();
                keys.insert(id) && !self.seen.iter().any(|page| page.contains(&id))
            })
            .collect();
        self.seen.push_back(keys);
        if self.seen.len() > DEDUP_PAGES {
            self.seen.pop_front();
        }
        let added = !fresh.is_empty();
        if added {
            self.stale_pages = 0;
            self.ready.push_back(fresh.into_iter());
        } else {
            self.stale_pages += 1;
        }
        // Inserts while paging shift a page's worth of records at most a few
        // times; pages that only ever repeat records are a server serving
        // the same page again, and walking on would never end.
        if self.stale_pages >= MAX_STALE_PAGES {
            self.error = Some(Error::InconsistentListing {
                operation: self.operation,
                reason: format!(
                    "{MAX_STALE_PAGES} pages in a row (up to page {page}) held only records \
                     already yielded"
                ),
            });
            self.finish();
            return;
        }
        // Past the first plan we only follow growth, and a page that is not
        // full or brings nothing new shows the growth has been read.
        if page > first_plan && (short || !added) {
            self.finish();
            return;
        }
        if page == self.max_pages && self.planned_last() > self.max_pages {
            tracing::warn!(
                max_pages = self.max_pages,
                total_pages = self.most_pages,
                "listing stopped at the page cap"
            );
        }
    }

    /// How many record keys are kept for de-duplication.
    #[cfg(test)]
    fn kept_keys(&self) -> usize {
        self.seen.iter().map(HashSet::len).sum()
    }

    /// Stops paging; requests still running are dropped, which cancels them.
    fn finish(&mut self) {
        self.finished = true;
        self.in_flight.clear();
    }

    /// The next waiting record. A page's slot is freed with its last record,
    /// so the next request can start at once.
    fn pop_ready(&mut self) -> Option<T> {
        let front = self.ready.front_mut()?;
        let record = front.next();
        if front.as_slice().is_empty() {
            self.ready.pop_front();
        }
        record
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use futures::StreamExt;

    use super::*;

    #[derive(Debug, PartialEq)]
    struct Rec(i32);

    impl Record for Rec {
        fn id(&self) -> i32 {
            self.0
        }
        fn updated_on(&self) -> chrono::DateTime<chrono::Utc> {
            chrono::DateTime::UNIX_EPOCH
        }
    }

    /// Changes the server's data right after page `n` was served.
    type Hook = Box<dyn Fn(u32, &mut Vec<i32>) + Send + Sync>;

    /// A fake listing endpoint over a list of Ids, counting what it is asked.
    struct Server {
        data: Mutex<Vec<i32>>,
        size: usize,
        after_page: Hook,
        /// `TotalPages` to claim, from the page asked and the true count.
        claim: fn(u32, u32) -> u32,
        /// The page served when a page is asked for.
        page_of: fn(u32) -> u32,
        fail_on: Option<u32>,
        delay: fn(u32) -> Duration,
        requested: Mutex<Vec<u32>>,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
        /// Records fetched but not yet yielded (the consumer subtracts).
        held: AtomicI64,
        max_held: AtomicI64,
    }

    impl Server {
        fn new(ids: std::ops::Range<i32>, size: usize) -> Self {
            Server {
                data: Mutex::new(ids.collect()),
                size,
                after_page: Box::new(|_, _| {}),
                claim: |_, total| total,
                page_of: |n| n,
                fail_on: None,
                delay: |_| Duration::ZERO,
                requested: Mutex::new(Vec::new()),
                in_flight: AtomicUsize::new(0),
                max_in_flight: AtomicUsize::new(0),
                held: AtomicI64::new(0),
                max_held: AtomicI64::new(0),
            }
        }

        /// The page as the data stands when it is requested.
        fn serve(&self, n: u32) -> Result<Page<Rec>> {
            self.requested.lock().unwrap().push(n);
            if self.fail_on == Some(n) {
                return Err(Error::invalid("list", format!("page {n} failed")));
            }
            let mut data = self.data.lock().unwrap();
            let start = ((self.page_of)(n) as usize - 1) * self.size;
            let records = data.iter().skip(start).take(self.size).map(|&id| Rec(id));
            let total = data.len();
            let total_pages = (self.claim)(n, total.div_ceil(self.size) as u32);
            let page = Page {
                records: records.collect(),
                page: n,
                page_size: self.size as u32,
                total_items: total as u32,
                total_pages,
                has_next_page: n < total_pages,
            };
            (self.after_page)(n, &mut data);
            Ok(page)
        }

        fn requested(&self) -> Vec<u32> {
            self.requested.lock().unwrap().clone()
        }
    }

    /// The engine over `server`, with its delays and counters.
    fn records(
        server: &Arc<Server>,
        concurrency: usize,
        max_pages: u32,
    ) -> impl Stream<Item = Result<Rec>> {
        let server = server.clone();
        let fetch = move |n| {
            let server = server.clone();
            async move {
                let in_flight = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                server.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
                let delay = (server.delay)(n);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let page = server.serve(n);
                if let Ok(page) = &page {
                    let len = page.records.len() as i64;
                    let held = server.held.fetch_add(len, Ordering::SeqCst) + len;
                    server.max_held.fetch_max(held, Ordering::SeqCst);
                }
                server.in_flight.fetch_sub(1, Ordering::SeqCst);
                page
            }
        };
        stream_with_cap("list", fetch, concurrency, max_pages)
    }

    /// Every Id the stream yields; panics on an error.
    async fn ids(server: &Arc<Server>, concurrency: usize) -> Vec<i32> {
        let stream = records(server, concurrency, MAX_PAGES);
        let all: Vec<_> = tokio::time::timeout(Duration::from_secs(10), stream.collect())
            .await
            .expect("the stream ends");
        all.into_iter().map(|r| r.unwrap().0).collect()
    }

    fn no_duplicates(ids: &[i32]) -> bool {
        ids.iter().collect::<HashSet<_>>().len() == ids.len()
    }

    #[tokio::test]
    async fn no_records_ends_after_page_one() {
        for claim in [|_, _| 0, |_, _| 1] {
            let mut server = Server::new(0..0, 10);
            server.claim = claim;
            let server = Arc::new(server);
            assert_eq!(ids(&server, 4).await, Vec::<i32>::new());
            assert_eq!(server.requested(), [1]);
        }
    }

    #[tokio::test]
    async fn one_page() {
        let server = Arc::new(Server::new(0..7, 10));
        assert_eq!(ids(&server, 4).await, (0..7).collect::<Vec<_>>());
        assert_eq!(server.requested(), [1]);
    }

    #[tokio::test]
    async fn several_pages_in_order_each_once() {
        let mut server = Server::new(0..23, 5);
        // Later pages answer first, so order comes from the engine.
        server.delay = |n| Duration::from_millis(30 - 5 * u64::from(n));
        let server = Arc::new(server);
        assert_eq!(ids(&server, 3).await, (0..23).collect::<Vec<_>>());
        let mut requested = server.requested();
        requested.sort();
        assert_eq!(requested, [1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn concurrency_is_used_and_never_exceeded() {
        for (asked, expected) in [(0, 1), (1, 1), (2, 2), (4, 4)] {
            let mut server = Server::new(0..120, 10);
            server.delay = |_| Duration::from_millis(5);
            let server = Arc::new(server);
            assert_eq!(ids(&server, asked).await, (0..120).collect::<Vec<_>>());
            let max = server.max_in_flight.load(Ordering::SeqCst);
            assert_eq!(max, expected, "concurrency {asked}");
        }
    }

    #[tokio::test]
    async fn memory_is_bounded_by_concurrency_pages() {
        const CONCURRENCY: usize = 3;
        const SIZE: usize = 10;
        let mut server = Server::new(0..100, SIZE);
        server.delay = |_| Duration::from_millis(1);
        let server = Arc::new(server);
        let mut stream = records(&server, CONCURRENCY, MAX_PAGES);
        let mut count = 0;
        while let Some(record) = stream.next().await {
            record.unwrap();
            server.held.fetch_sub(1, Ordering::SeqCst);
            count += 1;
            // A slow consumer: requests run ahead while it works.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(count, 100);
        let max = server.max_held.load(Ordering::SeqCst);
        assert!(max <= (CONCURRENCY * SIZE) as i64, "held {max}");
        // More than the page being read: later pages were fetched ahead.
        assert!(max > SIZE as i64, "held {max}");
    }

    #[tokio::test]
    async fn total_growing_midway_is_followed_without_duplicates() {
        for concurrency in [1, 3] {
            let mut server = Server::new(0..12, 5);
            // Seven records inserted in front once page 1 is served push
            // 0..12 two pages later: 3 pages become 4.
            server.after_page = Box::new(|n, data| {
                if n == 1 {
                    data.splice(0..0, 100..107);
                }
            });
            let server = Arc::new(server);
            let got = ids(&server, concurrency).await;
            assert!(no_duplicates(&got), "{got:?}");
            let originals: Vec<i32> = got.iter().copied().filter(|&id| id < 100).collect();
            assert_eq!(originals, (0..12).collect::<Vec<_>>());
            // Never past the largest TotalPages (4) plus one probe.
            assert!(server.requested().iter().all(|&n| n <= 5));
            if concurrency == 1 {
                // Page 4 is short: the growth has been read, no probe.
                assert_eq!(server.requested(), [1, 2, 3, 4]);
            }
        }
    }

    #[tokio::test]
    async fn past_the_plan_a_page_with_nothing_new_ends_the_stream() {
        // A server that serves its last page again for any later page and
        // claims one page more each time.
        let mut server = Server::new(0..15, 5);
        server.page_of = |n| n.min(3);
        server.claim = |n, _| n + 1;
        let server = Arc::new(server);
        assert_eq!(ids(&server, 1).await, (0..15).collect::<Vec<_>>());
        assert_eq!(server.requested(), [1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn after_growth_one_page_past_the_largest_total_is_probed() {
        let mut server = Server::new(0..10, 5);
        // Records appended after page 1 (seen as growth on page 2) and
        // after page 3, the last page any count announced.
        server.after_page = Box::new(|n, data| match n {
            1 => data.extend(100..105),
            3 => data.extend(200..205),
            _ => {}
        });
        let server = Arc::new(server);
        let got = ids(&server, 1).await;
        let expected: Vec<i32> = (0..10).chain(100..105).chain(200..205).collect();
        assert_eq!(got, expected);
        // Without the probe page 4 (past every count so far) would be missed;
        // it then announced 4 pages, so page 5 was probed too and was empty.
        assert_eq!(server.requested(), [1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn total_growing_forever_stops_at_the_cap() {
        let mut server = Server::new(0..10, 5);
        // Each page served adds a page of new records at the end.
        server.after_page = Box::new(|_, data| {
            let next = data.len() as i32;
            data.extend(next..next + 5);
        });
        // A pause lets the timeout below fire if paging never stopped.
        server.delay = |_| Duration::from_millis(1);
        let server = Arc::new(server);
        let all: Vec<_> =
            tokio::time::timeout(Duration::from_secs(10), records(&server, 2, 30).collect())
                .await
                .expect("the stream ends");
        let got: Vec<i32> = all.into_iter().map(|r| r.unwrap().0).collect();
        assert_eq!(got, (0..150).collect::<Vec<_>>());
        assert_eq!(server.requested().iter().max(), Some(&30));
    }

    #[tokio::test]
    async fn total_shrinking_midway_stops_at_the_first_empty_page() {
        let mut server = Server::new(0..23, 5);
        // Ten records deleted at the end once page 2 is served: 5 pages
        // become 3 and pages 4 and 5 come back empty.
        server.after_page = Box::new(|n, data| {
            if n == 2 {
                data.truncate(13);
            }
        });
        let server = Arc::new(server);
        assert_eq!(ids(&server, 1).await, (0..13).collect::<Vec<_>>());
        assert_eq!(server.requested(), [1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn deletions_in_front_yield_no_duplicates_and_no_error() {
        let mut server = Server::new(0..23, 5);
        server.after_page = Box::new(|n, data| {
            if n == 1 {
                data.drain(0..8);
            }
        });
        let server = Arc::new(server);
        let got = ids(&server, 2).await;
        assert!(no_duplicates(&got), "{got:?}");
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    }

    #[tokio::test]
    async fn absurd_total_pages_with_empty_pages_ends() {
        for (records, expected_requests) in [(0..0, 1), (0..3, 5)] {
            let mut server = Server::new(records.clone(), 10);
            server.claim = |_, _| u32::MAX;
            let server = Arc::new(server);
            assert_eq!(ids(&server, 4).await, records.collect::<Vec<_>>());
            // Page 1, then at most one round of `concurrency` requests.
            assert!(server.requested().len() <= expected_requests);
        }
    }

    #[tokio::test]
    async fn error_on_page_three_ends_the_stream() {
        for concurrency in [1, 3] {
            let mut server = Server::new(0..50, 5);
            server.fail_on = Some(3);
            let server = Arc::new(server);
            let mut stream = Box::pin(records(&server, concurrency, MAX_PAGES));
            let mut got = Vec::new();
            let error = loop {
                match stream.next().await.expect("an error before the end") {
                    Ok(record) => got.push(record.0),
                    Err(error) => break error,
                }
            };
            assert_eq!(got, (0..10).collect::<Vec<_>>());
            assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
            let requests = server.requested().len();
            assert!(stream.next().await.is_none());
            assert!(stream.next().await.is_none());
            assert_eq!(
                server.requested().len(),
                requests,
                "no request after the error"
            );
            if concurrency == 1 {
                assert_eq!(server.requested(), [1, 2, 3]);
            }
        }
    }

    #[test]
    fn memory_for_de_duplication_stays_flat_over_a_million_records() {
        const SIZE: usize = 50;
        const PAGES: u32 = 20_000;
        let fetch = |n: u32| {
            let start = (n as usize - 1) * SIZE;
            futures::future::ready(Ok(Page {
                records: (start..start + SIZE).map(|id| Rec(id as i32)).collect(),
                page: n,
                page_size: SIZE as u32,
                total_items: PAGES * SIZE as u32,
                total_pages: PAGES,
                has_next_page: n < PAGES,
            }))
        };
        let mut pager = Pager::new("list", fetch, 4, MAX_PAGES);
        let (mut yielded, mut most_kept) = (0usize, 0usize);
        futures::executor::block_on(async {
            while let Some(record) = futures::future::poll_fn(|cx| pager.poll_next(cx)).await {
                assert_eq!(record.unwrap().0 as usize, yielded, "in order, each once");
                yielded += 1;
                most_kept = most_kept.max(pager.kept_keys());
            }
        });
        assert_eq!(yielded, PAGES as usize * SIZE);
        assert!(
            most_kept <= DEDUP_PAGES * SIZE,
            "{most_kept} keys kept for {yielded} records"
        );
    }
}
