//! A listing's query: [`Query`] holds it as data (filters by their spec
//! name, sorting, page and size); [`ListQuery`] builds one with typed
//! setters, those of each resource's filters generated from the spec. The
//! handles send it as the listing's query string ([`Wire`]).

use std::{marker::PhantomData, num::NonZeroU32};

use serde::{ser::SerializeSeq, Serialize, Serializer};

use crate::{
    error::{Error, Result as CrateResult},
    spec::{FilterValue, Kind, ResourceSpec},
    ResourceHandle, SortDirection,
};

/// The plain `Id` filter every listing takes besides its `Entity_Field`
/// filters.
const ID: &str = "Id";

/// A listing request as data: filters by their spec name, sorting, and a
/// page. Filters the resource does not list are refused before sending.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    /// Filters, by their spec name (`CoworkerTimePass_Used`, or `Id`),
    /// with values.
    pub filters: Vec<(&'static str, FilterValue)>,
    /// The property to sort by.
    pub order_by: Option<String>,
    /// The sort direction.
    pub dir: Option<SortDirection>,
    /// The page to fetch (one-page listings only; streams number their own).
    pub page: Option<u32>,
    /// Records per page, instead of the client's.
    pub size: Option<u32>,
}

impl Query {
    /// Refuses a filter `spec` does not list (naming it), one given twice,
    /// a value of another kind than its filter's, and a page or size of 0
    /// (both count from 1).
    pub(crate) fn check(&self, spec: &ResourceSpec) -> CrateResult<()> {
        let refuse = |why: String| Err(Error::invalid(spec.operations.list, why));
        for (at, (name, value)) in self.filters.iter().enumerate() {
            if self.filters[..at]
                .iter()
                .any(|(earlier, _)| earlier == name)
            {
                return refuse(format!("filter {name} is given twice"));
            }
            let kind = match spec.filters.iter().find(|f| f.name == *name) {
                Some(filter) => filter.kind,
                None if *name == ID => Kind::Integer,
                None => return refuse(format!("{} has no filter {name}", spec.entity)),
            };
            if !value.is(kind) {
                return refuse(format!(
                    "filter {name} takes a value of kind {}",
                    kind.word()
                ));
            }
        }
        for (name, value) in [("page", self.page), ("size", self.size)] {
            if value == Some(0) {
                return refuse(format!("{name} counts from 1; 0 was given"));
            }
        }
        Ok(())
    }

    /// Sets the filter `name`, replacing an earlier value of it.
    fn set(&mut self, name: &'static str, value: FilterValue) {
        match self.filters.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => *old = value,
            None => self.filters.push((name, value)),
        }
    }
}

/// A listing's query being built, as the closures of `list`, `stream` and
/// `all` receive it: `|q| q.coworker_time_pass_used(false).order_by("Id")`.
///
/// Each resource's filters have a typed setter, generated from the spec's
/// filter table (one impl block per handle, in [`spec`](crate::spec));
/// every listing also takes [`id`](Self::id), [`order_by`](Self::order_by),
/// [`dir`](Self::dir), [`page`](Self::page) and [`size`](Self::size). A
/// setter takes anything that converts to its type, and a later call
/// replaces an earlier one; a value that does not convert fails the call
/// with [`Error::InvalidRequest`] before anything is sent.
pub struct ListQuery<H> {
    query: Query,
    /// The parameters whose last value did not convert, with why.
    failed: Vec<(&'static str, String)>,
    handle: PhantomData<fn() -> H>,
}

impl<H> Default for ListQuery<H> {
    fn default() -> Self {
        ListQuery {
            query: Query::default(),
            failed: Vec::new(),
            handle: PhantomData,
        }
    }
}

impl<H> Clone for ListQuery<H> {
    fn clone(&self) -> Self {
        ListQuery {
            query: self.query.clone(),
            failed: self.failed.clone(),
            handle: PhantomData,
        }
    }
}

impl<H> std::fmt::Debug for ListQuery<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListQuery")
            .field("query", &self.query)
            .field("failed", &self.failed)
            .finish()
    }
}

impl<H> ListQuery<H> {
    /// The query as built so far.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Only the record with this Id.
    pub fn id<V: TryInto<i32>>(self, value: V) -> Self {
        self.filter(ID, value.try_into(), FilterValue::Integer)
    }

    /// Sorts by this property (`Id`, `UpdatedOn`, ...).
    pub fn order_by<V: TryInto<String>>(self, value: V) -> Self {
        self.with("orderBy", value.try_into(), "text", |q, v| {
            q.order_by = Some(v)
        })
    }

    /// The sort direction.
    pub fn dir<V: TryInto<SortDirection>>(self, value: V) -> Self {
        self.with("dir", value.try_into(), "a direction", |q, v| {
            q.dir = Some(v)
        })
    }

    /// The page to fetch, from 1 (one-page listings only: a stream numbers
    /// its own pages and refuses this).
    pub fn page<V: TryInto<NonZeroU32>>(self, value: V) -> Self {
        self.count("page", value.try_into(), |q| &mut q.page)
    }

    /// Records per page, instead of the client's page size.
    pub fn size<V: TryInto<NonZeroU32>>(self, value: V) -> Self {
        self.count("size", value.try_into(), |q| &mut q.size)
    }

    /// Sets a count from 1 (`page`, `size`) at the place `field` gives.
    fn count<E>(
        self,
        name: &'static str,
        value: Result<NonZeroU32, E>,
        field: fn(&mut Query) -> &mut Option<u32>,
    ) -> Self {
        self.with(name, value, "a count from 1", |q, v| {
            *field(q) = Some(v.get())
        })
    }

    /// Sets the filter `name` to the converted `value` as `wrap` makes it
    /// a [`FilterValue`] (the generated setters' one body).
    pub(crate) fn filter<T, E>(
        self,
        name: &'static str,
        value: Result<T, E>,
        wrap: fn(T) -> FilterValue,
    ) -> Self {
        let expected = std::any::type_name::<T>().rsplit("::").next();
        let expected = expected.unwrap_or("its type");
        self.with(name, value, expected, |q, v| q.set(name, wrap(v)))
    }

    /// Stores a converted `value` with `set`, or notes that `name`'s value
    /// is not `expected` (the value itself is not repeated: it may be
    /// anything).
    fn with<T, E>(
        mut self,
        name: &'static str,
        value: Result<T, E>,
        expected: &str,
        set: impl FnOnce(&mut Query, T),
    ) -> Self {
        self.failed.retain(|(n, _)| *n != name);
        match value {
            Ok(value) => set(&mut self.query, value),
            Err(_) => {
                let why = format!("{name}: the value given does not convert to {expected}");
                self.failed.push((name, why));
            }
        }
        self
    }
}

impl<H: ResourceHandle> ListQuery<H> {
    /// The query, checked against the resource's spec; a failed conversion
    /// or an unknown filter is [`Error::InvalidRequest`].
    pub(crate) fn finish(self) -> CrateResult<Query> {
        if let Some((_, why)) = self.failed.into_iter().next() {
            return Err(Error::invalid(H::spec().operations.list, why));
        }
        self.query.check(H::spec())?;
        Ok(self.query)
    }
}

/// A query as the listing's query string: the filters in the order they
/// were set, then `orderBy`, `dir`, `page` and `size`.
pub(crate) struct Wire<'a> {
    query: &'a Query,
    /// The query's size, or the page size of the caller.
    size: u32,
}

impl<'a> Wire<'a> {
    /// `query`, with `size` records per page unless it sets its own.
    pub(crate) fn new(query: &'a Query, size: NonZeroU32) -> Self {
        Wire {
            query,
            size: query.size.unwrap_or(size.get()),
        }
    }
}

impl Serialize for Wire<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let q = self.query;
        let mut pairs = s.serialize_seq(None)?;
        for pair in &q.filters {
            pairs.serialize_element(pair)?;
        }
        if let Some(field) = &q.order_by {
            pairs.serialize_element(&("orderBy", field))?;
        }
        if let Some(dir) = q.dir {
            pairs.serialize_element(&("dir", dir))?;
        }
        if let Some(page) = q.page {
            pairs.serialize_element(&("page", page))?;
        }
        pairs.serialize_element(&("size", self.size))?;
        pairs.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Resource;

    fn reason(query: &Query) -> String {
        match query.check(Resource::TimePasses.spec()) {
            Err(Error::InvalidRequest { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_query_is_checked_against_the_resources_filters() {
        let spec = Resource::TimePasses.spec();
        let with = |name, value| Query {
            filters: vec![(name, value)],
            ..Query::default()
        };
        assert!(with("Id", FilterValue::Integer(4)).check(spec).is_ok());
        assert!(with("TimePass_Archived", FilterValue::Boolean(true))
            .check(spec)
            .is_ok());
        let unknown = reason(&with("CoworkerTimePass_Used", FilterValue::Boolean(true)));
        assert!(unknown.contains("TimePass has no filter CoworkerTimePass_Used"));
        let wrong = reason(&with("Id", FilterValue::Text("4".into())));
        assert!(
            wrong.contains("Id takes a value of kind integer"),
            "{wrong}"
        );
        let zero = reason(&Query {
            page: Some(0),
            ..Query::default()
        });
        assert!(zero.contains("page counts from 1"), "{zero}");
        let twice = reason(&Query {
            filters: vec![
                ("TimePass_Archived", FilterValue::Boolean(true)),
                ("TimePass_Archived", FilterValue::Boolean(false)),
            ],
            ..Query::default()
        });
        assert!(
            twice.contains("TimePass_Archived is given twice"),
            "{twice}"
        );
    }

    #[test]
    fn a_later_setter_call_replaces_an_earlier_one_failed_or_not() {
        let q = ListQuery::<crate::TimePasses>::default();
        let query = q.clone().page(0u32).page(2u32).finish().unwrap();
        assert_eq!(query.page, Some(2));
        let query = q
            .clone()
            .time_pass_archived(true)
            .time_pass_archived(false)
            .finish()
            .unwrap();
        assert_eq!(
            query.filters,
            [("TimePass_Archived", FilterValue::Boolean(false))]
        );
        let failed = q.page(2u32).page(0u32).finish().unwrap_err();
        assert!(
            failed
                .to_string()
                .contains("page: the value given does not convert"),
            "{failed}"
        );
    }
}
