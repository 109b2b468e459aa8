//! Wire formats the API wants in requests: dates for range filters, Id
//! lists for batch get, and query parameters (build.rs has the generated
//! requests add theirs through [`add_query`]).

use chrono::{DateTime, NaiveDateTime, TimeZone};

use progenitor_client::ClientInfo;
use url::Url;

use crate::{error::Error, generated::Client as Raw, types::FilterDateTime};

/// The format range filters take: minute precision, no seconds, no zone.
const FILTER_FORMAT: &str = "%Y-%m-%dT%H:%M";

/// A wall-clock date-time, sent as `YYYY-MM-DDTHH:mm` (seconds dropped).
/// Years outside 0000-9999 cannot be written in that form and are refused.
///
/// ```
/// use chrono::NaiveDate;
/// use nexudus_timepasses::types::FilterDateTime;
/// let at = NaiveDate::from_ymd_opt(2025, 1, 31).unwrap().and_hms_opt(23, 59, 30).unwrap();
/// assert_eq!(FilterDateTime::try_from(at).unwrap().as_str(), "2025-01-31T23:59");
/// ```
impl TryFrom<NaiveDateTime> for FilterDateTime {
    type Error = Error;

    fn try_from(at: NaiveDateTime) -> Result<Self, Error> {
        at.format(FILTER_FORMAT)
            .to_string()
            .parse()
            .map_err(|_| Error::InvalidRequest {
                operation: "FilterDateTime",
                reason: format!("{at} cannot be sent as a range filter (years 0000-9999 only)"),
            })
    }
}

/// A zoned date-time, converted to UTC and sent as `YYYY-MM-DDTHH:mm`. The
/// API's timestamps carry `Z`, so range filters are read as UTC; the docs do
/// not say so for filters.
impl<Tz: TimeZone> TryFrom<DateTime<Tz>> for FilterDateTime {
    type Error = Error;

    fn try_from(at: DateTime<Tz>) -> Result<Self, Error> {
        FilterDateTime::try_from(at.naive_utc())
    }
}

impl FilterDateTime {
    /// The text sent on the wire.
    pub fn as_str(&self) -> &str {
        self
    }
}

/// A query parameter's value: set, or left out of the URL.
pub(crate) trait QueryValue: serde::Serialize {
    /// Whether the parameter is to be left out.
    fn is_unset(&self) -> bool;
}

impl<T: serde::Serialize> QueryValue for Option<T> {
    fn is_unset(&self) -> bool {
        self.is_none()
    }
}

/// Required parameters are always set.
impl QueryValue for crate::types::IdList {
    fn is_unset(&self) -> bool {
        false
    }
}

/// Adds `name=value` to the built request's query as progenitor's
/// `QueryParam` writes it, or leaves the URL alone when the value is unset.
/// build.rs calls this after each generated request is built, so the
/// builder is not moved and the URL not rewritten once per declared filter.
#[inline(always)]
// The generated code's own error type, which its `?` must receive.
#[allow(clippy::result_large_err)]
pub(crate) fn add_query<T: QueryValue>(
    request: &mut reqwest::Request,
    name: &str,
    value: T,
) -> Result<(), progenitor_client::Error<()>> {
    // Inlined, an unset filter (most of a listing's 45) costs one test.
    if value.is_unset() {
        Ok(())
    } else {
        write_query(request.url_mut(), name, &value)
    }
}

/// Appends a set parameter to `url`'s query.
#[allow(clippy::result_large_err)]
fn write_query<T: serde::Serialize>(
    url: &mut url::Url,
    name: &str,
    value: &T,
) -> Result<(), progenitor_client::Error<()>> {
    let written = {
        let mut pairs = url.query_pairs_mut();
        let param = progenitor_client::QueryParam::new(name, value);
        serde::Serialize::serialize(&param, serde_urlencoded::Serializer::new(&mut pairs)).map(drop)
    };
    // As reqwest does: a value that wrote no pair leaves no bare `?`.
    if url.query() == Some("") {
        url.set_query(None);
    }
    written.map_err(|e| progenitor_client::Error::InvalidRequest(format!("query `{name}`: {e}")))
}

/// The base URL a client was built with: its normalised text and that
/// text parsed, once.
#[derive(Debug)]
pub(crate) struct BaseUrl {
    text: String,
    parsed: Url,
}

impl BaseUrl {
    /// `text` is the normalised base (no trailing `/`, no query).
    pub(crate) fn new(text: &str) -> Result<BaseUrl, url::ParseError> {
        Ok(BaseUrl {
            text: text.to_owned(),
            parsed: Url::parse(text)?,
        })
    }

    /// The normalised text.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}

/// The URL of `path` (it starts with `/`, and holds no query) on
/// `client`'s server. Usually a copy of the base URL parsed once when the
/// client was built, with `path` set after the base's own path: build.rs
/// has the generated requests start from this instead of formatting the
/// whole URL as text for reqwest to parse again, host and all, on every
/// call. A raw client built with these hooks and a base of its own gets
/// its own base, parsed.
#[allow(clippy::result_large_err)]
pub(crate) fn endpoint(client: &Raw, path: &str) -> Result<Url, progenitor_client::Error<()>> {
    debug_assert!(
        path.starts_with('/') && !path.contains(['?', '#']),
        "{path}"
    );
    let base = ClientInfo::inner(client).base_url();
    let text = ClientInfo::baseurl(client);
    if text == base.text {
        let mut url = base.parsed.clone();
        match base.parsed.path() {
            "/" => url.set_path(path),
            stem => url.set_path(&format!("{stem}{path}")),
        }
        return Ok(url);
    }
    let full = format!("{text}{path}");
    Url::parse(&full)
        .map_err(|e| progenitor_client::Error::InvalidRequest(format!("URL {full:?}: {e}")))
}

/// Ids as batch get takes them: `[1,2,3]`.
pub(crate) fn id_list(ids: &[i32]) -> String {
    let joined: Vec<String> = ids.iter().map(i32::to_string).collect();
    format!("[{}]", joined.join(","))
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, NaiveDate};

    use super::*;

    fn request(url: &str) -> reqwest::Request {
        reqwest::Request::new(reqwest::Method::GET, url.parse().unwrap())
    }

    #[test]
    fn set_parameters_are_added_in_order_encoded_and_unset_ones_leave_no_trace() {
        let mut r = request("http://h/api/x");
        add_query(&mut r, "a", None::<i32>).unwrap();
        assert_eq!(r.url().as_str(), "http://h/api/x");
        add_query(&mut r, "size", Some(25)).unwrap();
        add_query(&mut r, "Name", Some("Day pass & more")).unwrap();
        add_query(&mut r, "b", None::<String>).unwrap();
        assert_eq!(r.url().query(), Some("size=25&Name=Day+pass+%26+more"));
    }

    #[test]
    fn zoned_times_are_sent_in_utc() {
        let local = FixedOffset::east_opt(2 * 3600)
            .unwrap()
            .with_ymd_and_hms(2025, 6, 1, 10, 15, 59)
            .unwrap();
        assert_eq!(
            FilterDateTime::try_from(local).unwrap().as_str(),
            "2025-06-01T08:15"
        );
    }

    #[test]
    fn endpoints_are_the_urls_the_text_would_parse_to() {
        let bases = [
            "https://x.test",
            "https://x.test/",
            "https://x.test:443",
            "http://127.0.0.1:8080/stem/",
            "http://[::1]:8080/stem",
            "http://h.test/a/b",
            "http://h.test/a%20b/%7Bx%7D",
            "https://bücher.example",
        ];
        let paths = [
            "/api/billing/coworkertimepasses",
            "/api/billing/timepasses/",
            "/api/billing/timepasses/%7B1%7D",
            "/api/token",
        ];
        for base in bases {
            let client = crate::Client::builder().base_url(base).build().unwrap();
            let raw = client.raw();
            for path in paths {
                let text = format!("{}{path}", ClientInfo::baseurl(raw));
                assert_eq!(
                    endpoint(raw, path).unwrap(),
                    Url::parse(&text).unwrap(),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn a_raw_client_with_a_base_of_its_own_keeps_it() {
        let client = crate::Client::builder()
            .base_url("https://a.test")
            .build()
            .unwrap();
        let hooks = ClientInfo::inner(client.raw()).clone();
        let other = Raw::new_with_client("https://b.test/stem", reqwest::Client::new(), hooks);
        let url = endpoint(&other, "/api/token").unwrap();
        assert_eq!(url.as_str(), "https://b.test/stem/api/token");
        let broken = Raw::new_with_client(
            "not a url",
            reqwest::Client::new(),
            ClientInfo::inner(&other).clone(),
        );
        assert!(matches!(
            endpoint(&broken, "/api/token"),
            Err(progenitor_client::Error::InvalidRequest(_))
        ));
    }

    #[test]
    fn id_lists_use_brackets() {
        assert_eq!(id_list(&[1, 22, 333]), "[1,22,333]");
    }

    #[test]
    fn strings_outside_the_format_are_refused() {
        assert!("2025-06-01 08:15".parse::<FilterDateTime>().is_err());
        let ok = NaiveDate::from_ymd_opt(2025, 6, 1)
            .unwrap()
            .and_hms_opt(8, 15, 0)
            .unwrap();
        assert_eq!(
            FilterDateTime::try_from(ok).unwrap().as_str(),
            "2025-06-01T08:15"
        );
        let far = NaiveDate::from_ymd_opt(12000, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert!(matches!(
            FilterDateTime::try_from(far),
            Err(Error::InvalidRequest { .. })
        ));
    }
}
