//! Query-parameter conventions of the reference: ids, booleans, the `active` flag of toggle
//! routes, and optional-nullable body fields (paging has its own module).

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};
use mami_domain::FieldError;
use serde::{Deserialize, Deserializer};
use utoipa::IntoParams;

use super::ApiError;
use super::extract::from_query_str;

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

/// The query of a toggle route: `active` and nothing else.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ToggleQuery {
    /// `true` or `false`.
    pub active: Option<String>,
}

/// The `active` flag of a toggle route, read in the style `S` of the route in the reference.
#[derive(Debug, Clone, Copy)]
pub struct Active<S> {
    pub active: bool,
    style: PhantomData<S>,
}

/// How a toggle route reads its `active` flag.
pub trait ActiveStyle {
    fn read(raw: Option<&str>) -> Result<bool, ApiError>;
}

/// Only the exact string `false` deactivates; anything else, absence included, activates
/// (products, delivery slots).
#[derive(Debug, Clone, Copy)]
pub enum UnlessFalse {}

/// A required boolean, else `VALIDATION_ERROR` (categories, branches).
#[derive(Debug, Clone, Copy)]
pub enum RequiredBool {}

/// `1/true/yes` or `0/false/no` in any case, else 400 `MISSING_ACTIVE_PARAM` (users).
#[derive(Debug, Clone, Copy)]
pub enum YesOrNo {}

impl ActiveStyle for UnlessFalse {
    fn read(raw: Option<&str>) -> Result<bool, ApiError> {
        Ok(raw != Some("false"))
    }
}

impl ActiveStyle for RequiredBool {
    fn read(raw: Option<&str>) -> Result<bool, ApiError> {
        query_bool("active", raw)?.ok_or_else(|| invalid("active", "missing", "Field required"))
    }
}

impl ActiveStyle for YesOrNo {
    fn read(raw: Option<&str>) -> Result<bool, ApiError> {
        match raw.map(str::to_ascii_lowercase).as_deref() {
            Some("1" | "true" | "yes") => Ok(true),
            Some("0" | "false" | "no") => Ok(false),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "MISSING_ACTIVE_PARAM",
                "Query parameter 'active' must be true or false",
            )),
        }
    }
}

impl<S: ActiveStyle> FromRequest for Active<S> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let active = from_query_str::<ToggleQuery>(req.query_string())
            .and_then(|q| S::read(q.active.as_deref()))
            .map(|active| Active {
                active,
                style: PhantomData,
            });
        std::future::ready(active)
    }
}

/// For `Option<Option<T>>` body fields: absent → `None`, `null` → `Some(None)`.
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
