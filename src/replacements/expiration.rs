//! `ExpirationType`, written by hand because the server sends values the docs
//! do not list (their own examples hold `0`): decoding must keep them.

use std::{borrow::Cow, fmt};

use schemars::{
    gen::SchemaGenerator,
    schema::{InstanceType, Schema, SchemaObject},
    JsonSchema,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How the expiry of passes granted by a product is counted (the server's
/// `eRecurrentChargePattern`).
///
/// Values outside the documented list decode to [`ExpirationType::Other`] and
/// encode back unchanged, so a read-modify-write never alters them.
///
/// ```
/// use nexudus_timepasses::ExpirationType;
/// let t: ExpirationType = serde_json::from_str("0").unwrap();
/// assert_eq!(t, ExpirationType::Other(0));
/// assert_eq!(serde_json::to_string(&ExpirationType::Month).unwrap(), "4");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpirationType {
    /// `1`: follows the customer's pricing plan.
    PricePlan,
    /// `2`: counted in days.
    Day,
    /// `3`: counted in weeks.
    Week,
    /// `4`: counted in months.
    Month,
    /// `5`: counted in years.
    Year,
    /// `6`: expires on the last day of the month.
    LastDayOfMonth,
    /// A value the docs do not list, kept as sent (the docs' examples show `0`).
    Other(i32),
}

impl ExpirationType {
    /// The wire value.
    pub fn code(self) -> i32 {
        match self {
            Self::PricePlan => 1,
            Self::Day => 2,
            Self::Week => 3,
            Self::Month => 4,
            Self::Year => 5,
            Self::LastDayOfMonth => 6,
            Self::Other(code) => code,
        }
    }
}

impl From<i32> for ExpirationType {
    fn from(code: i32) -> Self {
        match code {
            1 => Self::PricePlan,
            2 => Self::Day,
            3 => Self::Week,
            4 => Self::Month,
            5 => Self::Year,
            6 => Self::LastDayOfMonth,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for ExpirationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(code) => write!(f, "undocumented ({code})"),
            known => fmt::Debug::fmt(known, f),
        }
    }
}

impl Serialize for ExpirationType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(self.code())
    }
}

impl<'de> Deserialize<'de> for ExpirationType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        i32::deserialize(d).map(Self::from)
    }
}

impl JsonSchema for ExpirationType {
    fn schema_name() -> String {
        "ExpirationType".into()
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed("nexudus_timepasses::ExpirationType")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        SchemaObject {
            instance_type: Some(InstanceType::Integer.into()),
            format: Some("int32".into()),
            ..Default::default()
        }
        .into()
    }
}
