//! A listing's query: [`Query`] holds it as data (filters by their spec
//! name, sorting, page and size); [`ListQuery`] builds one with typed
//! setters, those of each resource's filters generated from the spec. The
//! handles send it as the listing's query string ([`Wire`]).

use std::{fmt::Display, marker::PhantomData, num::NonZeroU32};

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
    /// Refuses a filter `spec` does not list (naming it), a value of
    /// another kind than its filter's, and a page or size of 0 (both count
    /// from 1).
    pub(crate) fn check(&self, spec: &ResourceSpec) -> CrateResult<()> {
        let refuse = |why: String| Err(Error::invalid(spec.operations.list, why));
        for (name, value) in &self.filters {
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
/// Each resource's filters have a typed setter, generated from the spec
/// (the impl blocks below, one per handle); every listing also takes
/// [`id`](Self::id), [`order_by`](Self::order_by), [`dir`](Self::dir),
/// [`page`](Self::page) and [`size`](Self::size). A setter takes anything
/// that converts to its type; a value that does not convert fails the call
/// with [`Error::InvalidRequest`] before anything is sent.
pub struct ListQuery<H> {
    query: Query,
    /// The first conversion that failed.
    error: Option<String>,
    handle: PhantomData<fn() -> H>,
}

impl<H> Default for ListQuery<H> {
    fn default() -> Self {
        ListQuery {
            query: Query::default(),
            error: None,
            handle: PhantomData,
        }
    }
}

impl<H> Clone for ListQuery<H> {
    fn clone(&self) -> Self {
        ListQuery {
            query: self.query.clone(),
            error: self.error.clone(),
            handle: PhantomData,
        }
    }
}

impl<H> std::fmt::Debug for ListQuery<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListQuery")
            .field("query", &self.query)
            .field("error", &self.error)
            .finish()
    }
}

impl<H> ListQuery<H> {
    /// The query as built so far.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Only the record with this Id.
    pub fn id<V>(self, value: V) -> Self
    where
        V: TryInto<i32>,
        V::Error: Display,
    {
        self.filter(ID, value.try_into().map(FilterValue::Integer))
    }

    /// Sorts by this property (`Id`, `UpdatedOn`, ...).
    pub fn order_by<V>(self, value: V) -> Self
    where
        V: TryInto<String>,
        V::Error: Display,
    {
        self.with("orderBy", value.try_into(), |q, v| q.order_by = Some(v))
    }

    /// The sort direction.
    pub fn dir<V>(self, value: V) -> Self
    where
        V: TryInto<SortDirection>,
        V::Error: Display,
    {
        self.with("dir", value.try_into(), |q, v| q.dir = Some(v))
    }

    /// The page to fetch, from 1 (one-page listings only: a stream numbers
    /// its own pages and refuses this).
    pub fn page<V>(self, value: V) -> Self
    where
        V: TryInto<NonZeroU32>,
        V::Error: Display,
    {
        self.with("page", value.try_into(), |q, v: NonZeroU32| {
            q.page = Some(v.get())
        })
    }

    /// Records per page, instead of the client's page size.
    pub fn size<V>(self, value: V) -> Self
    where
        V: TryInto<NonZeroU32>,
        V::Error: Display,
    {
        self.with("size", value.try_into(), |q, v: NonZeroU32| {
            q.size = Some(v.get())
        })
    }

    /// Sets the filter `name` (the generated setters' one body), or keeps
    /// the conversion's failure for the call to report.
    pub(crate) fn filter<E: Display>(
        self,
        name: &'static str,
        value: Result<FilterValue, E>,
    ) -> Self {
        self.with(name, value, |q, v| q.set(name, v))
    }

    /// Stores a converted `value` with `set`, or keeps the first failed
    /// conversion, naming the parameter.
    fn with<T, E: Display>(
        mut self,
        name: &str,
        value: Result<T, E>,
        set: impl FnOnce(&mut Query, T),
    ) -> Self {
        match value {
            Ok(value) => set(&mut self.query, value),
            Err(e) if self.error.is_none() => {
                self.error = Some(format!("error converting supplied value for {name}: {e}"));
            }
            Err(_) => {}
        }
        self
    }
}

impl<H: ResourceHandle> ListQuery<H> {
    /// The query, checked against the resource's spec; a failed conversion
    /// or an unknown filter is [`Error::InvalidRequest`].
    pub(crate) fn finish(self) -> CrateResult<Query> {
        if let Some(why) = self.error {
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
    }
}
