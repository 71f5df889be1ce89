//! Query-parameter conventions of the reference: lenient and model paging, toggle flags and
//! booleans, and optional-nullable body fields.

use mami_domain::FieldError;
use serde::{Deserialize, Deserializer};

use super::ApiError;

/// Lenient paging (catalog, inventory): a non-numeric value falls back to the default, a
/// negative one is 400, `limit` is clamped to `1..=max`.
pub fn lenient_page(
    limit: Option<&str>,
    offset: Option<&str>,
    default: i64,
    max: i64,
) -> Result<(i64, i64), ApiError> {
    let parse = |v: Option<&str>, d: i64| -> Result<i64, ApiError> {
        match v.and_then(|s| s.trim().parse::<i64>().ok()) {
            None => Ok(d),
            Some(n) if n < 0 => Err(ApiError::bad_request("Invalid pagination parameters")),
            Some(n) => Ok(n),
        }
    };
    Ok((parse(limit, default)?.clamp(1, max), parse(offset, 0)?))
}

/// Model paging (search, branches, users): `limit` in `1..=max_allowed` and `offset ≥ 0`, else
/// `VALIDATION_ERROR`; the result is clamped to `max`.
pub fn model_page(
    limit: Option<&str>,
    offset: Option<&str>,
    default: i64,
    max_allowed: i64,
    max: i64,
) -> Result<(i64, i64), ApiError> {
    let limit = match limit {
        None => default,
        Some(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max_allowed).contains(n))
            .ok_or_else(|| {
                invalid(
                    "limit",
                    "range",
                    format!("Input should be a whole number from 1 to {max_allowed}"),
                )
            })?,
    };
    let offset = match offset {
        None => 0,
        Some(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                invalid(
                    "offset",
                    "greater_than_equal",
                    "Input should be a whole number ≥ 0",
                )
            })?,
    };
    Ok((limit.min(max), offset))
}

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
