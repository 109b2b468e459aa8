//! The stand-in's records: one table per resource, kept sorted by Id, and the
//! listing engine (exact and range filters, sorting, paging) over them.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use uuid::Uuid;

/// A field value as filters and sorting see it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    Null,
    Int(i64),
    Num(f64),
    Bool(bool),
    Text(&'a str),
    Time(DateTime<Utc>),
    Uuid(Uuid),
}

impl<'a> Val<'a> {
    pub(crate) fn int(v: Option<i32>) -> Self {
        v.map_or(Val::Null, |v| Val::Int(v.into()))
    }
    pub(crate) fn num(v: Option<f64>) -> Self {
        v.map_or(Val::Null, Val::Num)
    }
    pub(crate) fn text(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Val::Null, Val::Text)
    }
    pub(crate) fn uuid(v: Option<Uuid>) -> Self {
        v.map_or(Val::Null, Val::Uuid)
    }
}

/// What every stored record offers the listing engine.
pub(crate) trait Row {
    /// The record's Id.
    fn id(&self) -> i32;
    /// The value of the property with this exact name, or `None` when the
    /// record has no such (filterable, sortable) property.
    fn field(&self, property: &str) -> Option<Val<'_>>;
}

/// Records of one resource, sorted by Id (new Ids only grow, so an insert is
/// a push and a lookup a binary search).
pub(crate) struct Table<R> {
    rows: Vec<R>,
    next_id: i32,
}

impl<R: Row> Table<R> {
    /// An empty table whose first Id is `first_id`.
    pub(crate) fn new(first_id: i32) -> Self {
        Table {
            rows: Vec::new(),
            next_id: first_id,
        }
    }

    pub(crate) fn rows(&self) -> &[R] {
        &self.rows
    }

    pub(crate) fn rows_mut(&mut self) -> &mut [R] {
        &mut self.rows
    }

    /// Reserves the next Id.
    pub(crate) fn allocate_id(&mut self) -> i32 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    /// Adds a record whose Id came from [`allocate_id`](Self::allocate_id).
    pub(crate) fn insert(&mut self, row: R) {
        let at = self.rows.partition_point(|r| r.id() < row.id());
        self.rows.insert(at, row);
    }

    fn position(&self, id: i32) -> Option<usize> {
        self.rows.binary_search_by_key(&id, Row::id).ok()
    }

    pub(crate) fn get(&self, id: i32) -> Option<&R> {
        self.position(id).map(|i| &self.rows[i])
    }

    pub(crate) fn get_mut(&mut self, id: i32) -> Option<&mut R> {
        self.position(id).map(|i| &mut self.rows[i])
    }

    pub(crate) fn remove(&mut self, id: i32) -> Option<R> {
        self.position(id).map(|i| self.rows.remove(i))
    }
}

/// Default page size, as the docs give it.
pub(crate) const DEFAULT_SIZE: u64 = 25;

/// A listing request, read leniently from the query string: values that
/// cannot be read fall back to the defaults, as the server's model binding does.
#[derive(Debug)]
pub(crate) struct ListQuery {
    pub(crate) page: u64,
    pub(crate) size: u64,
    /// The property sorted by (canonical name), or `None` for Id.
    pub(crate) order_by: Option<&'static str>,
    /// `orderBy` as the caller wrote it, echoed in `CurrentOrderField`.
    pub(crate) order_label: Option<String>,
    pub(crate) descending: bool,
    pub(crate) filters: Vec<Filter>,
}

/// One exact (`Entity_Prop`) or range (`from_`/`to_`) filter.
#[derive(Debug)]
pub(crate) struct Filter {
    property: &'static str,
    op: Op,
    wanted: Wanted,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    AtLeast,
    AtMost,
}

/// The filter value read once in every form a field might need.
#[derive(Debug)]
struct Wanted {
    raw: String,
    int: Option<i64>,
    num: Option<f64>,
    bool: Option<bool>,
    minute: Option<NaiveDateTime>,
    uuid: Option<Uuid>,
}

impl Wanted {
    fn new(raw: &str) -> Self {
        let trimmed = raw.trim();
        Wanted {
            raw: raw.to_owned(),
            int: trimmed.parse().ok(),
            num: trimmed.parse::<f64>().ok().filter(|n| n.is_finite()),
            bool: match trimmed.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            minute: parse_minute(trimmed),
            uuid: trimmed.parse().ok(),
        }
    }
}

/// Reads a date-time at minute precision: the filters' `YYYY-MM-DDTHH:mm`,
/// or a longer ISO 8601 value cut to the minute.
pub(crate) fn parse_minute(text: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M") {
        return Some(t);
    }
    let full = DateTime::parse_from_rfc3339(text)
        .map(|t| t.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()?;
    to_minute(full)
}

fn to_minute(t: NaiveDateTime) -> Option<NaiveDateTime> {
    t.with_second(0).and_then(|t| t.with_nanosecond(0))
}

impl ListQuery {
    /// Reads `page`, `size`, `orderBy`, `dir` and the filters of `entity`
    /// (for example `TimePass_Name`, `from_TimePass_Price`). `resolve` maps a
    /// property spelling to its canonical name; unknown parameters are ignored.
    pub(crate) fn parse<'q>(
        entity: &str,
        pairs: impl Iterator<Item = (Cow<'q, str>, Cow<'q, str>)>,
        resolve: impl Fn(&str) -> Option<&'static str>,
    ) -> Self {
        let mut q = ListQuery {
            page: 1,
            size: DEFAULT_SIZE,
            order_by: None,
            order_label: None,
            descending: false,
            filters: Vec::new(),
        };
        for (key, value) in pairs {
            q.read(entity, &key, &value, &resolve);
        }
        q
    }

    fn read(
        &mut self,
        entity: &str,
        key: &str,
        value: &str,
        resolve: &impl Fn(&str) -> Option<&'static str>,
    ) {
        match key {
            "page" => self.page = positive(value).unwrap_or(1),
            "size" => self.size = positive(value).unwrap_or(DEFAULT_SIZE),
            "orderBy" | "orderby" => {
                self.order_by = resolve(value);
                self.order_label = Some(value.to_owned());
            }
            // 1 ascending, -1 descending (the values the examples bear out);
            // anything else, including the other docs' 0, sorts ascending.
            "dir" => self.descending = value.trim() == "-1",
            _ => self.read_filter(entity, key, value, resolve),
        }
    }

    fn read_filter(
        &mut self,
        entity: &str,
        key: &str,
        value: &str,
        resolve: &impl Fn(&str) -> Option<&'static str>,
    ) {
        let (op, rest) = if let Some(rest) = key.strip_prefix("from_") {
            (Op::AtLeast, rest)
        } else if let Some(rest) = key.strip_prefix("to_") {
            (Op::AtMost, rest)
        } else {
            (Op::Eq, key)
        };
        let Some(suffix) = rest.strip_prefix(entity).and_then(|r| r.strip_prefix('_')) else {
            return;
        };
        if let Some(property) = filter_property(suffix, resolve) {
            self.filters.push(Filter {
                property,
                op,
                wanted: Wanted::new(value),
            });
        }
    }

    /// Whether the listing is in stored order (by Id, ascending or not) with
    /// no filter: the fast path that needs no scan.
    fn is_plain(&self) -> bool {
        self.filters.is_empty() && self.order_by.is_none_or(|p| p == "Id")
    }

    /// Index of the first record of the page, saturating.
    pub(crate) fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.size)
    }
}

/// A positive integer, clamped to what the API's 32-bit parameters hold.
fn positive(value: &str) -> Option<u64> {
    let n: i64 = value.trim().parse().ok()?;
    (n >= 1).then(|| n.min(i64::from(i32::MAX)) as u64)
}

/// Maps a filter suffix to a property: `Name` is the property `Name`,
/// `Business` the foreign key `BusinessId`, `Business_Name` the related
/// property `BusinessName`, `TimePass_Currency_Code` `TimePassCurrencyCode`.
fn filter_property(
    suffix: &str,
    resolve: &impl Fn(&str) -> Option<&'static str>,
) -> Option<&'static str> {
    let joined = suffix.replace('_', "");
    resolve(&joined).or_else(|| resolve(&format!("{joined}Id")))
}

impl Filter {
    fn accepts<R: Row>(&self, row: &R) -> bool {
        match row.field(self.property) {
            Some(val) => self.matches(val),
            None => false,
        }
    }

    fn matches(&self, val: Val<'_>) -> bool {
        let w = &self.wanted;
        let ord = match val {
            Val::Null => return false,
            Val::Bool(b) => return self.op == Op::Eq && w.bool == Some(b),
            Val::Uuid(u) => return self.op == Op::Eq && w.uuid == Some(u),
            Val::Int(i) => match (w.int, w.num) {
                (Some(want), _) => i.cmp(&want),
                (None, Some(want)) => (i as f64).total_cmp(&want),
                _ => return false,
            },
            Val::Num(n) => match w.num {
                Some(want) => n.total_cmp(&want),
                None => return false,
            },
            Val::Time(t) => match (to_minute(t.naive_utc()), w.minute) {
                (Some(have), Some(want)) => have.cmp(&want),
                _ => return false,
            },
            Val::Text(s) => match self.op {
                Op::Eq => return s == w.raw,
                // Range filters on text dates compare at minute precision.
                _ => match (parse_minute(s), w.minute) {
                    (Some(have), Some(want)) => have.cmp(&want),
                    _ => return false,
                },
            },
        };
        match self.op {
            Op::Eq => ord == Ordering::Equal,
            Op::AtLeast => ord != Ordering::Less,
            Op::AtMost => ord != Ordering::Greater,
        }
    }
}

/// Orders two values of one property: nulls first, then by value.
fn compare(a: Val<'_>, b: Val<'_>) -> Ordering {
    match (a, b) {
        (Val::Null, Val::Null) => Ordering::Equal,
        (Val::Null, _) => Ordering::Less,
        (_, Val::Null) => Ordering::Greater,
        (Val::Int(x), Val::Int(y)) => x.cmp(&y),
        (Val::Num(x), Val::Num(y)) => x.total_cmp(&y),
        (Val::Int(x), Val::Num(y)) => (x as f64).total_cmp(&y),
        (Val::Num(x), Val::Int(y)) => x.total_cmp(&(y as f64)),
        (Val::Bool(x), Val::Bool(y)) => x.cmp(&y),
        (Val::Text(x), Val::Text(y)) => x.cmp(y),
        (Val::Time(x), Val::Time(y)) => x.cmp(&y),
        (Val::Uuid(x), Val::Uuid(y)) => x.cmp(&y),
        _ => Ordering::Equal,
    }
}

/// One page of a listing: the records on it and the number of matches.
pub(crate) struct Found<'a, R> {
    pub(crate) rows: Vec<&'a R>,
    pub(crate) total: usize,
}

/// Runs a listing. Without filters and in Id order it slices the table
/// directly; otherwise it collects references to the matches, sorts them
/// (ties by Id, so paging is stable) and slices that.
pub(crate) fn list<'a, R: Row>(table: &'a Table<R>, q: &ListQuery) -> Found<'a, R> {
    let rows = table.rows();
    if q.is_plain() {
        let total = rows.len();
        let (start, end) = window(q, total);
        let page = if q.descending {
            rows[total - end..total - start].iter().rev().collect()
        } else {
            rows[start..end].iter().collect()
        };
        return Found { rows: page, total };
    }
    let mut matches: Vec<&R> = rows
        .iter()
        .filter(|r| q.filters.iter().all(|f| f.accepts(*r)))
        .collect();
    if let Some(property) = q.order_by.filter(|p| *p != "Id") {
        matches.sort_by(|a, b| {
            let by_value = match (a.field(property), b.field(property)) {
                (Some(x), Some(y)) => compare(x, y),
                _ => Ordering::Equal,
            };
            by_value.then_with(|| a.id().cmp(&b.id()))
        });
    }
    if q.descending {
        matches.reverse();
    }
    let total = matches.len();
    let (start, end) = window(q, total);
    matches.truncate(end);
    matches.drain(..start);
    Found {
        rows: matches,
        total,
    }
}

/// The `[start, end)` range of the page within `total` matches.
fn window(q: &ListQuery, total: usize) -> (usize, usize) {
    let total64 = total as u64;
    let start = q.offset().min(total64);
    let end = start.saturating_add(q.size).min(total64);
    (start as usize, end as usize)
}

/// The keys of the page envelope other than `Records`.
#[derive(Debug, Clone)]
pub(crate) struct PageMeta {
    pub(crate) current_page: i32,
    pub(crate) current_page_size: i32,
    pub(crate) current_order_field: Option<String>,
    pub(crate) current_sort_direction: i32,
    pub(crate) first_item: i32,
    pub(crate) last_item: i32,
    pub(crate) total_items: i32,
    pub(crate) total_pages: i32,
    pub(crate) has_next_page: bool,
    pub(crate) has_previous_page: bool,
}

impl PageMeta {
    /// Describes page `q.page` of `total` matches holding `count` records.
    pub(crate) fn new(q: &ListQuery, total: usize, count: usize) -> Self {
        let total64 = total as u64;
        let pages = total64.div_ceil(q.size);
        let first = if count == 0 { 0 } else { q.offset() + 1 };
        let last = if count == 0 {
            0
        } else {
            q.offset() + count as u64
        };
        PageMeta {
            current_page: clamp(q.page),
            current_page_size: clamp(q.size),
            current_order_field: Some(q.order_label.clone().unwrap_or_else(|| "Id".into())),
            current_sort_direction: if q.descending { -1 } else { 1 },
            first_item: clamp(first),
            last_item: clamp(last),
            total_items: clamp(total64),
            total_pages: clamp(pages),
            has_next_page: q.page < pages,
            has_previous_page: q.page > 1,
        }
    }
}

fn clamp(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R(i32, i64);
    impl Row for R {
        fn id(&self) -> i32 {
            self.0
        }
        fn field(&self, p: &str) -> Option<Val<'_>> {
            match p {
                "Id" => Some(Val::Int(self.0.into())),
                "Size" => Some(Val::Int(self.1)),
                _ => None,
            }
        }
    }

    fn table(n: i32) -> Table<R> {
        let mut t = Table::new(1);
        for _ in 0..n {
            let id = t.allocate_id();
            t.insert(R(id, i64::from(id % 3)));
        }
        t
    }

    fn query(s: &str) -> ListQuery {
        let resolve = |p: &str| match p {
            "Size" => Some("Size"),
            "Id" => Some("Id"),
            _ => None,
        };
        ListQuery::parse("X", url::form_urlencoded::parse(s.as_bytes()), resolve)
    }

    fn ids(t: &Table<R>, s: &str) -> Vec<i32> {
        list(t, &query(s)).rows.iter().map(|r| r.0).collect()
    }

    #[test]
    fn pages_in_id_order_both_ways() {
        let t = table(10);
        assert_eq!(ids(&t, "page=2&size=3"), [4, 5, 6]);
        assert_eq!(ids(&t, "page=2&size=3&dir=-1"), [7, 6, 5]);
        assert_eq!(ids(&t, "page=4&size=3&dir=-1"), [1]);
        assert!(ids(&t, "page=5&size=3").is_empty());
    }

    #[test]
    fn filters_sort_and_ranges() {
        let t = table(10);
        assert_eq!(ids(&t, "X_Size=0"), [3, 6, 9]);
        assert_eq!(ids(&t, "from_X_Size=2&to_X_Size=2"), [2, 5, 8]);
        assert_eq!(ids(&t, "orderBy=Size&size=4"), [3, 6, 9, 1]);
        assert_eq!(ids(&t, "orderBy=Size&dir=-1&size=2"), [8, 5]);
        assert!(ids(&t, "X_Size=abc").is_empty());
    }

    #[test]
    fn odd_paging_values_fall_back() {
        let q = query("page=-4&size=0");
        assert_eq!((q.page, q.size), (1, DEFAULT_SIZE));
        let q = query("page=99999999999&size=99999999999");
        let t = table(3);
        let found = list(&t, &q);
        assert!(found.rows.is_empty());
        let meta = PageMeta::new(&q, found.total, 0);
        assert_eq!(meta.total_pages, 1);
        assert!(!meta.has_next_page);
    }

    #[test]
    fn minute_precision_is_inclusive() {
        let t = parse_minute("2025-01-15T10:30:59Z").unwrap();
        assert_eq!(t, parse_minute("2025-01-15T10:30").unwrap());
        assert!(parse_minute("2025-13-01T00:00").is_none());
    }
}
