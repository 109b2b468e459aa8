//! The stand-in's records: one table per resource, kept sorted by Id, and the
//! listing engine (exact and range filters, sorting, paging) over them.
//! Filters and sort keys are resolved to columns of the resource's layout;
//! the values compared are the cells the spec's tables typed.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime, Timelike};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::row::{layouts, Cell, Fields, Layout, Row};
use crate::spec::Bound;

/// Every record the stand-in holds: a table per resource, in
/// `Resource::ALL` order.
pub(crate) struct Db {
    pub(crate) tables: Vec<Table>,
}

impl Db {
    /// Empty tables, the first Ids far apart so an Id says which resource
    /// it belongs to: 1,000, then 100,000,000 times the resource's position.
    pub(crate) fn new() -> Self {
        let first = |at: usize| match i32::try_from(at) {
            Ok(0) => 1_000,
            Ok(n) => n.saturating_mul(100_000_000),
            Err(_) => i32::MAX,
        };
        Db {
            tables: layouts()
                .iter()
                .map(|l| Table::new(l, first(l.table)))
                .collect(),
        }
    }

    pub(crate) fn table(&self, layout: &Layout) -> &Table {
        &self.tables[layout.table]
    }

    pub(crate) fn table_mut(&mut self, layout: &Layout) -> &mut Table {
        &mut self.tables[layout.table]
    }
}

/// Records of one resource, sorted by Id (new Ids only grow, so an insert is
/// a push and a lookup a binary search), stored by column: one vector of
/// cells per field, so a filter or a sort reads one contiguous column.
pub(crate) struct Table {
    pub(crate) layout: &'static Layout,
    ids: Vec<i32>,
    columns: Vec<Vec<Cell>>,
    extras: Vec<Map<String, Value>>,
    next_id: i32,
}

/// One stored record, read in place.
#[derive(Clone, Copy)]
pub(crate) struct RowRef<'a> {
    table: &'a Table,
    at: usize,
}

impl Fields for RowRef<'_> {
    fn id(&self) -> i32 {
        self.table.ids[self.at]
    }
    fn cell(&self, column: usize) -> &Cell {
        &self.table.columns[column][self.at]
    }
    fn extra(&self) -> &Map<String, Value> {
        &self.table.extras[self.at]
    }
}

impl Table {
    /// An empty table whose first Id is `first_id`.
    pub(crate) fn new(layout: &'static Layout, first_id: i32) -> Self {
        Table {
            layout,
            ids: Vec::new(),
            columns: layout
                .spec
                .record_fields
                .iter()
                .map(|_| Vec::new())
                .collect(),
            extras: Vec::new(),
            next_id: first_id,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The cells of one field, in Id order.
    pub(crate) fn column(&self, column: usize) -> &[Cell] {
        &self.columns[column]
    }

    /// The record at position `at` (in Id order).
    pub(crate) fn at(&self, at: usize) -> RowRef<'_> {
        RowRef { table: self, at }
    }

    /// Every record, in Id order.
    #[cfg(test)]
    pub(crate) fn rows(&self) -> impl Iterator<Item = RowRef<'_>> {
        (0..self.len()).map(|at| self.at(at))
    }

    /// Reserves the next Id.
    pub(crate) fn allocate_id(&mut self) -> i32 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    fn position(&self, id: i32) -> Result<usize, usize> {
        self.ids.binary_search(&id)
    }

    pub(crate) fn get(&self, id: i32) -> Option<RowRef<'_>> {
        self.position(id).ok().map(|at| self.at(at))
    }

    /// A copy of the record `id`, to change and [`put`](Self::put) back.
    pub(crate) fn row(&self, id: i32) -> Option<Row> {
        let at = self.position(id).ok()?;
        Some(Row {
            id,
            cells: self.columns.iter().map(|c| c[at].clone()).collect(),
            extra: self.extras[at].clone(),
        })
    }

    /// Stores `row`: replaces the record with its Id, or adds it (an Id
    /// from [`allocate_id`](Self::allocate_id)).
    pub(crate) fn put(&mut self, row: Row) {
        match self.position(row.id) {
            Ok(at) => {
                for (column, cell) in self.columns.iter_mut().zip(row.cells) {
                    column[at] = cell;
                }
                self.extras[at] = row.extra;
            }
            Err(at) => {
                self.ids.insert(at, row.id);
                for (column, cell) in self.columns.iter_mut().zip(row.cells) {
                    column.insert(at, cell);
                }
                self.extras.insert(at, row.extra);
            }
        }
    }

    /// Removes the record `id`; whether there was one.
    pub(crate) fn remove(&mut self, id: i32) -> bool {
        let Ok(at) = self.position(id) else {
            return false;
        };
        self.ids.remove(at);
        for column in &mut self.columns {
            column.remove(at);
        }
        self.extras.remove(at);
        true
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
    /// The column sorted by, or `None` for Id.
    order_by: Option<usize>,
    /// `orderBy` as the caller wrote it, echoed in `CurrentOrderField`.
    order_label: Option<String>,
    descending: bool,
    filters: Vec<Filter>,
}

/// One exact (`Entity_Prop`) or range (`from_`/`to_`) filter on a column.
#[derive(Debug)]
struct Filter {
    column: usize,
    bound: Bound,
    wanted: Wanted,
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
    /// Reads `page`, `size`, `orderBy`, `dir` and the filters of the
    /// resource of `layout`; unknown parameters are ignored.
    pub(crate) fn parse<'q>(
        layout: &Layout,
        pairs: impl Iterator<Item = (Cow<'q, str>, Cow<'q, str>)>,
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
            q.read(layout, &key, &value);
        }
        q
    }

    fn read(&mut self, layout: &Layout, key: &str, value: &str) {
        match key {
            "page" => self.page = positive(value).unwrap_or(1),
            "size" => self.size = positive(value).unwrap_or(DEFAULT_SIZE),
            "orderBy" | "orderby" => {
                self.order_by = layout.resolve(value);
                self.order_label = Some(value.to_owned());
            }
            // 1 ascending, -1 descending (the values the examples bear out);
            // anything else, including the other docs' 0, sorts ascending.
            "dir" => self.descending = value.trim() == "-1",
            // The legacy docs' plain filter.
            "Id" => self.filters.push(Filter {
                column: layout.id,
                bound: Bound::Exact,
                wanted: Wanted::new(value),
            }),
            _ => {
                if let Some((column, bound)) = filter(layout, key) {
                    self.filters.push(Filter {
                        column,
                        bound,
                        wanted: Wanted::new(value),
                    });
                }
            }
        }
    }

    /// Whether the listing is in stored order (by Id, ascending or not) with
    /// no filter: the fast path that needs no scan.
    fn is_plain(&self, layout: &Layout) -> bool {
        self.filters.is_empty() && self.order_by.is_none_or(|c| c == layout.id)
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

/// The column and bound of the filter parameter `key`: one of the spec's
/// `FILTERS` by its `field` and `bound`, else any `Entity_Prop`,
/// `from_Entity_Prop` or `to_Entity_Prop` of a record field (the server
/// filters on every property). The field maps to a column as the API's
/// names do: `Name` is `Name`, `Business` the foreign key `BusinessId`,
/// `Business_Name` the copied `BusinessName`.
fn filter(layout: &Layout, key: &str) -> Option<(usize, Bound)> {
    let (field, bound) = match layout.spec.filters.iter().find(|f| f.name == key) {
        Some(f) => (f.field, f.bound),
        None => {
            let (bound, rest) = if let Some(rest) = key.strip_prefix("from_") {
                (Bound::From, rest)
            } else if let Some(rest) = key.strip_prefix("to_") {
                (Bound::To, rest)
            } else {
                (Bound::Exact, key)
            };
            let field = rest
                .strip_prefix(layout.spec.entity)
                .and_then(|r| r.strip_prefix('_'))?;
            (field, bound)
        }
    };
    let joined = field.replace('_', "");
    let column = layout
        .resolve(&joined)
        .or_else(|| layout.resolve(&format!("{joined}Id")))?;
    Some((column, bound))
}

impl Filter {
    fn accepts(&self, cell: &Cell) -> bool {
        let w = &self.wanted;
        let ord = match cell {
            Cell::Null | Cell::Json(_) => return false,
            Cell::Bool(b) => return self.bound == Bound::Exact && w.bool == Some(*b),
            Cell::Uuid(u) => return self.bound == Bound::Exact && w.uuid == Some(*u),
            Cell::Int(i) => match (w.int, w.num) {
                (Some(want), _) => i.cmp(&want),
                (None, Some(want)) => (*i as f64).total_cmp(&want),
                _ => return false,
            },
            Cell::Num(n) => match w.num {
                Some(want) => n.total_cmp(&want),
                None => return false,
            },
            Cell::Time(t) => match (to_minute(t.naive_utc()), w.minute) {
                (Some(have), Some(want)) => have.cmp(&want),
                _ => return false,
            },
            Cell::Text(s) => match self.bound {
                Bound::Exact => return **s == *w.raw,
                // Range filters on text dates compare at minute precision.
                _ => match (parse_minute(s), w.minute) {
                    (Some(have), Some(want)) => have.cmp(&want),
                    _ => return false,
                },
            },
        };
        match self.bound {
            Bound::Exact => ord == Ordering::Equal,
            Bound::From => ord != Ordering::Less,
            Bound::To => ord != Ordering::Greater,
        }
    }
}

/// Orders two values of one field: nulls first, then by value (lists and
/// objects all rank alike). Cells of
/// different kinds in one column (a value kept as sent because it did not
/// read as the field's type) order by kind, so that the order stays total,
/// as sorting needs.
fn compare(a: &Cell, b: &Cell) -> Ordering {
    match (a, b) {
        (Cell::Int(x), Cell::Int(y)) => x.cmp(y),
        (Cell::Num(x), Cell::Num(y)) => x.total_cmp(y),
        (Cell::Int(x), Cell::Num(y)) => (*x as f64).total_cmp(y),
        (Cell::Num(x), Cell::Int(y)) => x.total_cmp(&(*y as f64)),
        (Cell::Bool(x), Cell::Bool(y)) => x.cmp(y),
        (Cell::Text(x), Cell::Text(y)) => x.cmp(y),
        (Cell::Time(x), Cell::Time(y)) => x.cmp(y),
        (Cell::Uuid(x), Cell::Uuid(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// The place of a cell's kind in [`compare`]'s order; numbers share one.
fn rank(cell: &Cell) -> u8 {
    match cell {
        Cell::Null => 0,
        Cell::Bool(_) => 1,
        Cell::Int(_) | Cell::Num(_) => 2,
        Cell::Time(_) => 3,
        Cell::Uuid(_) => 4,
        Cell::Text(_) => 5,
        Cell::Json(_) => 6,
    }
}

/// One page of a listing: the positions of the records on it (in the
/// table) and the number of matches.
pub(crate) struct Found {
    pub(crate) rows: Vec<usize>,
    pub(crate) total: usize,
}

/// Runs a listing. Without filters and in Id order it slices the table
/// directly; otherwise it collects the positions of the matches, sorts them
/// (ties by Id, so paging is stable) and slices that.
pub(crate) fn list(table: &Table, q: &ListQuery) -> Found {
    let total = table.len();
    if q.is_plain(table.layout) {
        let (start, end) = window(q, total);
        let rows = if q.descending {
            (total - end..total - start).rev().collect()
        } else {
            (start..end).collect()
        };
        return Found { rows, total };
    }
    let filters: Vec<(&Filter, &[Cell])> = q
        .filters
        .iter()
        .map(|f| (f, table.column(f.column)))
        .collect();
    let mut matches: Vec<usize> = (0..total)
        .filter(|at| filters.iter().all(|(f, cells)| f.accepts(&cells[*at])))
        .collect();
    if let Some(c) = q.order_by.filter(|c| *c != table.layout.id) {
        // Positions are in Id order, so they break ties by Id.
        let cells = table.column(c);
        matches.sort_unstable_by(|a, b| compare(&cells[*a], &cells[*b]).then(a.cmp(b)));
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

/// The page envelope, with every key the docs show (and `PageNumber`,
/// `PageSize`), around the listing records.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Page<T> {
    current_order_field: String,
    current_page: i32,
    current_page_size: i32,
    current_sort_direction: i32,
    first_item: i32,
    has_next_page: bool,
    has_previous_page: bool,
    last_item: i32,
    page_number: i32,
    page_size: i32,
    records: Vec<T>,
    total_items: i32,
    total_pages: i32,
}

impl<T> Page<T> {
    /// Page `q.page` of `total` matches, holding `records`.
    pub(crate) fn new(q: &ListQuery, total: usize, records: Vec<T>) -> Self {
        let total64 = total as u64;
        let pages = total64.div_ceil(q.size);
        let count = records.len() as u64;
        let (first, last) = if count == 0 {
            (0, 0)
        } else {
            (q.offset() + 1, q.offset() + count)
        };
        Page {
            current_order_field: q.order_label.clone().unwrap_or_else(|| "Id".into()),
            current_page: clamp(q.page),
            current_page_size: clamp(q.size),
            current_sort_direction: if q.descending { -1 } else { 1 },
            first_item: clamp(first),
            has_next_page: q.page < pages,
            has_previous_page: q.page > 1,
            last_item: clamp(last),
            page_number: clamp(q.page),
            page_size: clamp(q.size),
            records,
            total_items: clamp(total64),
            total_pages: clamp(pages),
        }
    }
}

fn clamp(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::spec::Resource;

    fn layout() -> &'static Layout {
        super::super::row::layout(Resource::parse("TimePass").unwrap())
    }

    /// Ids 1..=n with `UsePriority` the Id modulo 3.
    fn table(n: i32) -> Table {
        let mut t = Table::new(layout(), 1);
        for _ in 0..n {
            let id = t.allocate_id();
            let map = json!({"Id": id, "UsePriority": id % 3});
            t.put(Row::from_map(layout(), map.as_object().cloned().unwrap()));
        }
        t
    }

    fn query(s: &str) -> ListQuery {
        ListQuery::parse(layout(), url::form_urlencoded::parse(s.as_bytes()))
    }

    fn ids(t: &Table, s: &str) -> Vec<i32> {
        list(t, &query(s))
            .rows
            .iter()
            .map(|at| t.at(*at).id())
            .collect()
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
        assert_eq!(ids(&t, "TimePass_UsePriority=0"), [3, 6, 9]);
        assert_eq!(
            ids(&t, "from_TimePass_UsePriority=2&to_TimePass_UsePriority=2"),
            [2, 5, 8]
        );
        assert_eq!(ids(&t, "orderBy=usepriority&size=4"), [3, 6, 9, 1]);
        assert_eq!(ids(&t, "orderBy=UsePriority&dir=-1&size=2"), [8, 5]);
        assert!(ids(&t, "TimePass_UsePriority=abc").is_empty());
    }

    #[test]
    fn every_filter_of_the_spec_has_a_column_and_its_bound() {
        for l in layouts() {
            for f in l.spec.filters {
                let (column, bound) = filter(l, f.name).unwrap_or_else(|| panic!("{}", f.name));
                assert_eq!(bound, f.bound, "{}", f.name);
                let field = l.spec.record_fields[column].name;
                assert!(
                    field.starts_with(&f.field.replace('_', "")),
                    "{} -> {field}",
                    f.name
                );
            }
        }
    }

    #[test]
    fn odd_paging_values_fall_back() {
        let q = query("page=-4&size=0");
        assert_eq!((q.page, q.size), (1, DEFAULT_SIZE));
        let q = query("page=99999999999&size=99999999999");
        let t = table(3);
        let found = list(&t, &q);
        assert!(found.rows.is_empty());
        let page = Page::new(&q, found.total, found.rows);
        assert_eq!(page.total_pages, 1);
        assert!(!page.has_next_page);
    }

    #[test]
    fn minute_precision_is_inclusive() {
        let t = parse_minute("2025-01-15T10:30:59Z").unwrap();
        assert_eq!(t, parse_minute("2025-01-15T10:30").unwrap());
        assert!(parse_minute("2025-13-01T00:00").is_none());
    }
}
