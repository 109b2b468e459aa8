//! `--where`, `--from`, `--to`, `--order-by` and `--since`, checked against
//! the spec's tables: a misspelt name or a value of the wrong type is a
//! usage error naming the valid choices. Also the date parsing they share.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use nexudus_timepasses::types::FilterDateTime;
use nexudus_timepasses::SortDirection;

use crate::failure::Failure;
use crate::fields::bad_value;
use nexudus_timepasses::spec::{Bound, FieldSpec, FilterSpec, FilterValue, Kind};
use nexudus_timepasses::{Query, ResourceHandle as Resource};

/// The listing options shared by `list` and `export`.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct FilterArgs {
    /// Exact filter, repeatable: `--where Used=false`. Field names are the
    /// spec's, with or without the entity prefix, in any case.
    #[arg(long = "where", value_name = "FIELD=VALUE")]
    pub exact: Vec<String>,
    /// Lower end of a range, inclusive: `--from UpdatedOn=2025-01-31`.
    /// Dates: 2025-01-31, 2025-01-31T10:00 or RFC 3339; UTC unless a zone is given.
    #[arg(long, value_name = "FIELD=VALUE")]
    pub from: Vec<String>,
    /// Upper end of a range, inclusive: `--to Price=20`. A date alone covers
    /// that whole day.
    #[arg(long, value_name = "FIELD=VALUE")]
    pub to: Vec<String>,
    /// Sort by this field (a field of the listing records).
    #[arg(long, value_name = "FIELD")]
    pub order_by: Option<String>,
    /// Sort in descending order (with --order-by, or the server's default order).
    #[arg(long)]
    pub desc: bool,
}

/// The query for these options, every name and value checked.
pub fn query<R: Resource>(args: &FilterArgs) -> Result<Query, Failure> {
    let mut query = Query::default();
    for (bound, given) in [
        (Bound::Exact, &args.exact),
        (Bound::From, &args.from),
        (Bound::To, &args.to),
    ] {
        for pair in given {
            let (field, value) = split_pair(pair, flag(bound))?;
            let spec = filter::<R>(bound, field)?;
            push(&mut query, spec, value_of(spec, value)?, flag(bound))?;
        }
    }
    if let Some(field) = &args.order_by {
        let spec = field_named(R::spec().list_fields, field).ok_or_else(|| {
            Failure::usage(format!(
                "cannot sort {} by `{field}`: not a field of its listing records",
                R::spec().entity
            ))
            .hint(format!("fields: {}", names(R::spec().list_fields)))
        })?;
        query.order_by = Some(spec.name.to_owned());
    }
    if args.desc {
        query.dir = Some(SortDirection::Descending);
    } else if query.order_by.is_some() {
        query.dir = Some(SortDirection::Ascending);
    }
    Ok(query)
}

/// Adds `from_<Entity>_UpdatedOn` for `--since`, at the API's minute
/// precision rounded down, so the listing holds every record updated since
/// then and maybe a few from the same minute before; [`since_instant`]
/// drops those.
pub fn add_since<R: Resource>(query: &mut Query, since: DateTime<Utc>) -> Result<(), Failure> {
    let spec = filter::<R>(Bound::From, "UpdatedOn")?;
    push(
        query,
        spec,
        FilterValue::Date(filter_date(since)?),
        "--since",
    )
}

/// Adds a filter, refusing a second value for the same parameter (the
/// request can carry only one, and silently keeping either would surprise).
fn push(
    query: &mut Query,
    spec: &'static FilterSpec,
    value: FilterValue,
    option: &str,
) -> Result<(), Failure> {
    if query.filters.iter().any(|(name, _)| *name == spec.name) {
        return Err(Failure::usage(format!(
            "{option}: filter {} is given twice",
            spec.name
        )));
    }
    query.filters.push((spec.name, value));
    Ok(())
}

/// `--since`'s date as an instant: a date alone is its midnight, UTC.
pub fn since_instant(text: &str) -> Result<DateTime<Utc>, Failure> {
    parse_instant(text, false).ok_or_else(|| {
        Failure::usage(format!("bad --since date `{text}`"))
            .hint("use 2025-01-31, 2025-01-31T10:00 or RFC 3339 (2025-01-31T10:00:00Z)")
    })
}

/// The option a bound comes from, for messages.
fn flag(bound: Bound) -> &'static str {
    match bound {
        Bound::Exact => "--where",
        Bound::From => "--from",
        Bound::To => "--to",
    }
}

/// `Field=Value` split at the first `=`.
pub fn split_pair<'a>(pair: &'a str, option: &str) -> Result<(&'a str, &'a str), Failure> {
    match pair.split_once('=') {
        Some((field, value)) if !field.trim().is_empty() => Ok((field.trim(), value)),
        _ => Err(Failure::usage(format!(
            "{option} takes FIELD=VALUE, got `{pair}`"
        ))),
    }
}

/// The filter of this bound for a field name as the user wrote it:
/// `UpdatedOn`, `CoworkerTimePass_UpdatedOn`, or the full parameter name,
/// in any case, `.` allowed for `_`.
fn filter<R: Resource>(bound: Bound, field: &str) -> Result<&'static FilterSpec, Failure> {
    let wanted = field.replace('.', "_");
    let prefixed = format!("{}_", R::spec().entity);
    let unbounded = match bound {
        Bound::Exact => None,
        Bound::From => strip_prefix_ignore_case(&wanted, "from_"),
        Bound::To => strip_prefix_ignore_case(&wanted, "to_"),
    }
    .unwrap_or(&wanted);
    let short = strip_prefix_ignore_case(unbounded, &prefixed).unwrap_or(unbounded);
    R::spec()
        .filters
        .iter()
        .find(|f| f.bound == bound && f.field.eq_ignore_ascii_case(short))
        .ok_or_else(|| {
            let choices: Vec<&str> = R::spec()
                .filters
                .iter()
                .filter(|f| f.bound == bound)
                .map(|f| f.field)
                .collect();
            let what = match bound {
                Bound::Exact => "filter",
                Bound::From | Bound::To => "range filter",
            };
            Failure::usage(format!(
                "{} has no {what} `{field}` ({})",
                R::spec().entity,
                flag(bound)
            ))
            .hint(format!("choices: {}", choices.join(", ")))
        })
}

/// `text` without `prefix`, compared in any case.
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// A filter's value read as its type.
fn value_of(spec: &FilterSpec, text: &str) -> Result<FilterValue, Failure> {
    let bad = || bad_value(text, &format!("filter {}", spec.field), spec.kind);
    Ok(match spec.kind {
        Kind::Integer => FilterValue::Integer(text.trim().parse().map_err(|_| bad())?),
        Kind::Number => {
            let n: f64 = text.trim().parse().map_err(|_| bad())?;
            if !n.is_finite() {
                return Err(bad());
            }
            FilterValue::Number(n)
        }
        Kind::Boolean => FilterValue::Boolean(parse_bool(text).ok_or_else(bad)?),
        Kind::FilterDate => {
            let instant = parse_instant(text, spec.bound == Bound::To)
                .ok_or_else(|| bad().hint("dates: 2025-01-31, 2025-01-31T10:00 or RFC 3339"))?;
            FilterValue::Date(filter_date(instant)?)
        }
        Kind::Text | Kind::DateTime | Kind::Json => FilterValue::Text(text.to_owned()),
    })
}

/// `true`/`false` in any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A date as the CLI accepts it. A date alone is its first minute, or with
/// `end_of_day` its last (so `--to UpdatedOn=2025-01-31` covers the day).
/// Times without a zone are UTC.
fn parse_instant(text: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let time = if end_of_day {
            NaiveTime::from_hms_opt(23, 59, 0)?
        } else {
            NaiveTime::MIN
        };
        return Some(d.and_time(time).and_utc());
    }
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    None
}

/// An instant as a range filter takes it: minute precision, rounded down.
fn filter_date(t: DateTime<Utc>) -> Result<FilterDateTime, Failure> {
    let minute = t
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t);
    FilterDateTime::try_from(minute.format("%Y-%m-%dT%H:%M").to_string())
        .map_err(|e| Failure::usage(format!("date {t} out of range for the API: {e}")))
}

/// The field of a table with this name, in any case.
pub fn field_named<'a>(fields: &'a [FieldSpec], name: &str) -> Option<&'a FieldSpec> {
    fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name.trim()))
}

/// The names of a table, for messages.
pub fn names(fields: &[FieldSpec]) -> String {
    fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexudus_timepasses::CoworkerTimePasses;

    fn args(exact: &[&str], from: &[&str], to: &[&str]) -> FilterArgs {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        FilterArgs {
            exact: owned(exact),
            from: owned(from),
            to: owned(to),
            ..FilterArgs::default()
        }
    }

    #[test]
    fn names_resolve_with_or_without_prefix_in_any_case() {
        let q = query::<CoworkerTimePasses>(&args(
            &[
                "used=false",
                "CoworkerTimePass_Coworker=42",
                "TimePass.Name=Day",
            ],
            &["UpdatedOn=2025-01-31"],
            &["from_CoworkerTimePass_Price=1"],
        ));
        // `to` with a `from_` name is not a `to` filter.
        assert!(q.is_err());
        let q = query::<CoworkerTimePasses>(&args(
            &[
                "used=false",
                "CoworkerTimePass_Coworker=42",
                "TimePass.Name=Day",
            ],
            &["UpdatedOn=2025-01-31"],
            &["UpdatedOn=2025-01-31"],
        ))
        .map_err(|f| f.message)
        .expect("valid filters");
        let names: Vec<_> = q.filters.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "CoworkerTimePass_Used",
                "CoworkerTimePass_Coworker",
                "CoworkerTimePass_TimePass_Name",
                "from_CoworkerTimePass_UpdatedOn",
                "to_CoworkerTimePass_UpdatedOn"
            ]
        );
        assert_eq!(q.filters[0].1, FilterValue::Boolean(false));
        let date = |v: &FilterValue| match v {
            FilterValue::Date(d) => d.to_string(),
            _ => String::new(),
        };
        assert_eq!(date(&q.filters[3].1), "2025-01-31T00:00");
        assert_eq!(date(&q.filters[4].1), "2025-01-31T23:59");
    }

    #[test]
    fn misspelt_names_and_bad_values_name_the_choices() {
        let e = query::<CoworkerTimePasses>(&args(&["Usd=true"], &[], &[])).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.hint.as_deref().unwrap_or("").contains("Used"), "{e:?}");
        let e = query::<CoworkerTimePasses>(&args(&["Used=maybe"], &[], &[])).unwrap_err();
        assert!(e.message.contains("true|false"), "{e:?}");
        let e = query::<CoworkerTimePasses>(&args(&["Coworker=4.5"], &[], &[])).unwrap_err();
        assert!(e.message.contains("integer"), "{e:?}");
        let e = query::<CoworkerTimePasses>(&args(&[], &["UpdatedOn=yesterday"], &[])).unwrap_err();
        assert!(e.message.contains("date"), "{e:?}");
        let e =
            query::<CoworkerTimePasses>(&args(&["Used=true", "used=false"], &[], &[])).unwrap_err();
        assert!(e.message.contains("twice"), "{e:?}");
        let mut q = query::<CoworkerTimePasses>(&args(&[], &["UpdatedOn=2025-01-01"], &[]))
            .map_err(|f| f.message)
            .expect("valid");
        assert!(
            add_since::<CoworkerTimePasses>(&mut q, Utc::now()).is_err(),
            "--since and --from UpdatedOn clash"
        );
    }

    #[test]
    fn dates_in_every_accepted_form() {
        let at = |s| parse_instant(s, false).map(|t| t.to_rfc3339());
        assert_eq!(
            at("2025-01-31").as_deref(),
            Some("2025-01-31T00:00:00+00:00")
        );
        assert_eq!(
            at("2025-01-31T10:05").as_deref(),
            Some("2025-01-31T10:05:00+00:00")
        );
        assert_eq!(
            at("2025-01-31T10:05:30+02:00").as_deref(),
            Some("2025-01-31T08:05:30+00:00")
        );
        assert_eq!(at("31/01/2025"), None);
        let t = parse_instant("2025-01-31T10:05:30Z", false).expect("a date");
        assert_eq!(
            filter_date(t).map(|d| d.to_string()).ok().as_deref(),
            Some("2025-01-31T10:05")
        );
    }
}
