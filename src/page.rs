//! [`Page`], one page of a listing, and [`RecordStream`], every record of a
//! listing across its pages (fed by the engine in `paging.rs`).

use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

use futures::Stream;

use crate::error::Result;

/// One page of a listing, as [`list`](crate::TimePasses::list) returns it.
///
/// ```
/// # fn show(page: nexudus_timepasses::Page<nexudus_timepasses::types::TimePassListItem>) {
/// println!("page {} of {}, {} records in all", page.page, page.total_pages, page.total_items);
/// for pass in page {
///     println!("{}", pass.name);
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The page's records (`Records`).
    pub records: Vec<T>,
    /// This page's number, from 1 (`CurrentPage`).
    pub page: u32,
    /// Records per page asked for (`CurrentPageSize`).
    pub page_size: u32,
    /// Records in the whole listing when this page was served (`TotalItems`).
    pub total_items: u32,
    /// Pages in the whole listing when this page was served (`TotalPages`).
    pub total_pages: u32,
    /// Whether a page follows this one (`HasNextPage`).
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// A page from the generated page type's fields; negative numbers (which
    /// no server should send) count as 0.
    pub(crate) fn new(
        records: Vec<T>,
        [page, page_size, total_items, total_pages]: [i32; 4],
        has_next_page: bool,
    ) -> Self {
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        Page {
            records,
            page: count(page),
            page_size: count(page_size),
            total_items: count(total_items),
            total_pages: count(total_pages),
            has_next_page,
        }
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.records.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Page<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.records.iter()
    }
}

/// Every record of a listing, across its pages, in listing order, each once.
/// `Send + Unpin + 'static`: it owns a clone of the client, so it can move
/// into a spawned task or live in a struct. Built by the handles' `stream`.
pub struct RecordStream<T> {
    inner: Pin<Box<dyn Stream<Item = Result<T>> + Send>>,
}

impl<T> RecordStream<T> {
    pub(crate) fn new(inner: impl Stream<Item = Result<T>> + Send + 'static) -> Self {
        RecordStream {
            inner: Box::pin(inner),
        }
    }
}

impl<T> Stream for RecordStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T> fmt::Debug for RecordStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordStream").finish_non_exhaustive()
    }
}
