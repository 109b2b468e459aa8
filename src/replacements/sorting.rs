//! `SortDirection`, written by hand so that the `dir` parameter reads as a
//! direction rather than a bare number.

use std::{borrow::Cow, fmt};

use schemars::{
    gen::SchemaGenerator,
    schema::{InstanceType, Schema, SchemaObject},
    JsonSchema,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Sort direction of a listing (the `dir` parameter).
///
/// The docs disagree on the values; the spec follows the pages that say `1`
/// ascending and `-1` descending, which the example responses bear out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SortDirection {
    /// `1`: smallest first.
    #[default]
    Ascending,
    /// `-1`: largest (or newest) first.
    Descending,
}

impl SortDirection {
    /// The wire value.
    pub fn code(self) -> i32 {
        match self {
            Self::Ascending => 1,
            Self::Descending => -1,
        }
    }
}

impl fmt::Display for SortDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl Serialize for SortDirection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(self.code())
    }
}

impl<'de> Deserialize<'de> for SortDirection {
    /// Reads the documented `1`/`-1`, and `0` as ascending (one docs page's
    /// reading); anything else is an error.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match i32::deserialize(d)? {
            1 | 0 => Ok(Self::Ascending),
            -1 => Ok(Self::Descending),
            other => Err(serde::de::Error::custom(format!(
                "sort direction {other} is neither 1 nor -1"
            ))),
        }
    }
}

impl JsonSchema for SortDirection {
    fn schema_name() -> String {
        "SortDirection".into()
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed("nexudus_timepasses::SortDirection")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        SchemaObject {
            instance_type: Some(InstanceType::Integer.into()),
            enum_values: Some(vec![1.into(), (-1).into()]),
            ..Default::default()
        }
        .into()
    }
}
