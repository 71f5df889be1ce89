//! Query-parameter conventions of the reference: ids, toggle flags and booleans, and
//! optional-nullable body fields (paging is [`super::paging`]).

use mami_domain::FieldError;
use serde::{Deserialize, Deserializer};

use super::ApiError;

/// A `VALIDATION_ERROR` for query parameter `name`.
pub fn invalid(name: &str, kind: &str, msg: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError::new(&["query", name], kind, msg)])
}

/// An optional integer query parameter, validated (`VALIDATION_ERROR` if not a number ≥ 1).
pub fn query_id(name: &str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    v.map(|s| {
        s.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| invalid(name, "int_parsing", "Input should be a whole number ≥ 1"))
    })
    .transpose()
}

/// An optional integer query parameter of a lenient route: anything else is ignored.
pub fn lenient_id(v: Option<&str>) -> Option<i64> {
    v.and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|n| *n >= 1)
}

/// A boolean query parameter: `true/false/1/0/yes/no/on/off/t/f/y/n`.
pub fn query_bool(name: &str, v: Option<&str>) -> Result<Option<bool>, ApiError> {
    v.map(|s| match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
        _ => Err(invalid(
            name,
            "bool_parsing",
            "Input should be a valid boolean",
        )),
    })
    .transpose()
}

/// The toggle flag of the reference: only the exact string `false` deactivates; anything else,
/// absence included, activates.
pub fn toggle_flag(v: Option<&str>) -> bool {
    v != Some("false")
}

/// For `Option<Option<T>>` body fields: absent → `None`, `null` → `Some(None)`.
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
