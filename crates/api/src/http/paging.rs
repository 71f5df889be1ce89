//! Paging of list routes: one extractor, [`Paging`], in the three styles of the reference
//! (`shared/design/contract-decisions.md`, "Paging errors"), bounded by the configured
//! `DEFAULT_LIMIT` and `MAX_LIMIT`.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Deserialize;

use super::ApiError;
use super::envelope::Page;
use super::extract::from_query_str;
use super::params::invalid;
use crate::state::AppState;

/// `limit` and `offset` of a list request, parsed in style `S`.
///
/// Declare it after the route's `ValidQuery`, whose errors (unknown or repeated parameters)
/// come first. Where authentication is an extractor rather than the scope's guard, take it
/// as `Result<Paging<S>, ApiError>` so that an unauthenticated caller hears 401 first.
#[derive(Debug, Clone, Copy)]
pub struct Paging<S> {
    pub limit: i64,
    pub offset: i64,
    style: PhantomData<S>,
}

impl<S> Paging<S> {
    /// The page as answered, with the total count of rows.
    pub fn page(&self, total: i64) -> Page {
        Page {
            total,
            limit: self.limit,
            offset: self.offset,
        }
    }
}

/// `DEFAULT_LIMIT` and `MAX_LIMIT`.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub default: i64,
    pub max: i64,
}

/// How a style reads `limit` and `offset`.
pub trait PagingStyle {
    fn parse(
        limit: Option<&str>,
        offset: Option<&str>,
        limits: PageLimits,
    ) -> Result<(i64, i64), ApiError>;
}

/// Lenient (catalog lists, inventory): absent or empty means the default; anything but a
/// whole number ≥ 0 is 400 `BAD_REQUEST` "Invalid pagination parameters" (the reference fell
/// back to the default; decision 2 of the contract makes it a 4xx); `limit` is clamped to
/// `1..=MAX_LIMIT`.
#[derive(Debug, Clone, Copy)]
pub enum Lenient {}

/// Lenient, first `DEFAULT` only (featured, autocomplete): `offset` is not read.
#[derive(Debug, Clone, Copy)]
pub enum Top<const DEFAULT: i64> {}

/// Query-model paging (search, branches, users): `limit` in `1..=MAX` and `offset ≥ 0`, else
/// `VALIDATION_ERROR`; the limit is then clamped to `MAX_LIMIT`.
#[derive(Debug, Clone, Copy)]
pub enum Model<const MAX: i64> {}

/// Strict (audit, orders): whole, non-negative numbers or 400 "Invalid pagination
/// parameters"; `limit` clamped to `1..=MAX_LIMIT`.
#[derive(Debug, Clone, Copy)]
pub enum Strict {}

fn whole(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

fn invalid_pagination() -> ApiError {
    ApiError::bad_request("Invalid pagination parameters")
}

impl PagingStyle for Lenient {
    fn parse(
        limit: Option<&str>,
        offset: Option<&str>,
        limits: PageLimits,
    ) -> Result<(i64, i64), ApiError> {
        let parse = |v: Option<&str>, d: i64| match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(d),
            Some(s) => whole(s).filter(|n| *n >= 0).ok_or_else(invalid_pagination),
        };
        Ok((
            parse(limit, limits.default)?.clamp(1, limits.max),
            parse(offset, 0)?,
        ))
    }
}

impl<const DEFAULT: i64> PagingStyle for Top<DEFAULT> {
    fn parse(
        limit: Option<&str>,
        _offset: Option<&str>,
        limits: PageLimits,
    ) -> Result<(i64, i64), ApiError> {
        let limits = PageLimits {
            default: DEFAULT,
            ..limits
        };
        Lenient::parse(limit, None, limits)
    }
}

impl<const MAX: i64> PagingStyle for Model<MAX> {
    fn parse(
        limit: Option<&str>,
        offset: Option<&str>,
        limits: PageLimits,
    ) -> Result<(i64, i64), ApiError> {
        let limit = match limit {
            None => limits.default,
            Some(s) => whole(s).filter(|n| (1..=MAX).contains(n)).ok_or_else(|| {
                let msg = format!("Input should be a whole number from 1 to {MAX}");
                invalid("limit", "range", msg)
            })?,
        };
        let offset = match offset {
            None => 0,
            Some(s) => whole(s).filter(|n| *n >= 0).ok_or_else(|| {
                let msg = "Input should be a whole number ≥ 0";
                invalid("offset", "greater_than_equal", msg)
            })?,
        };
        Ok((limit.min(limits.max), offset))
    }
}

impl PagingStyle for Strict {
    fn parse(
        limit: Option<&str>,
        offset: Option<&str>,
        limits: PageLimits,
    ) -> Result<(i64, i64), ApiError> {
        let parse = |v: Option<&str>, d: i64| match v {
            None => Ok(d),
            Some(s) => whole(s).filter(|n| *n >= 0).ok_or_else(invalid_pagination),
        };
        Ok((
            parse(limit, limits.default)?.clamp(1, limits.max),
            parse(offset, 0)?,
        ))
    }
}

/// The two paging parameters of any query string (the route's own query type names the rest).
#[derive(Deserialize)]
struct PageParams {
    limit: Option<String>,
    offset: Option<String>,
}

impl<S: PagingStyle> Paging<S> {
    fn from_query(query: &str, limits: PageLimits) -> Result<Self, ApiError> {
        let params: PageParams = from_query_str(query)?;
        let (limit, offset) = S::parse(params.limit.as_deref(), params.offset.as_deref(), limits)?;
        Ok(Self {
            limit,
            offset,
            style: PhantomData,
        })
    }
}

impl<S: PagingStyle> FromRequest for Paging<S> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let paging = match req.app_data::<web::Data<AppState>>() {
            Some(state) => {
                let limits = PageLimits {
                    default: state.config.default_limit,
                    max: state.config.max_limit,
                };
                Self::from_query(req.query_string(), limits)
            }
            None => Err(ApiError::internal(&"application state missing")),
        };
        std::future::ready(paging)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits {
        default: 50,
        max: 100,
    };

    fn page<S: PagingStyle>(query: &str) -> Result<(i64, i64), &'static str> {
        Paging::<S>::from_query(query, LIMITS)
            .map(|p| (p.limit, p.offset))
            .map_err(|e| e.code)
    }

    #[test]
    fn lenient_defaults_clamps_and_refuses_non_numbers() {
        assert_eq!(page::<Lenient>(""), Ok((50, 0)));
        assert_eq!(page::<Lenient>("limit=&offset="), Ok((50, 0)));
        for bad in [
            "limit=abc",
            "offset=x",
            "limit=1.5",
            "limit=%C2%80",
            "offset=-1",
        ] {
            assert_eq!(page::<Lenient>(bad), Err("BAD_REQUEST"), "{bad}");
        }
        assert_eq!(page::<Lenient>("limit=500&offset=3"), Ok((100, 3)));
        assert_eq!(page::<Lenient>("limit=0"), Ok((1, 0)));
    }

    #[test]
    fn top_has_its_own_default_and_ignores_offset() {
        assert_eq!(page::<Top<10>>("offset=-1"), Ok((10, 0)));
        assert_eq!(page::<Top<10>>("limit=500"), Ok((100, 0)));
        assert_eq!(page::<Top<10>>("limit=abc"), Err("BAD_REQUEST"));
    }

    #[test]
    fn model_validates_then_clamps() {
        assert_eq!(page::<Model<200>>("limit=150&offset=2"), Ok((100, 2)));
        assert_eq!(page::<Model<200>>("limit=201"), Err("VALIDATION_ERROR"));
        assert_eq!(page::<Model<200>>("limit=0"), Err("VALIDATION_ERROR"));
        assert_eq!(page::<Model<200>>("offset=-1"), Err("VALIDATION_ERROR"));
    }

    #[test]
    fn strict_refuses_anything_but_whole_numbers() {
        assert_eq!(page::<Strict>("limit=500"), Ok((100, 0)));
        assert_eq!(page::<Strict>("limit=abc"), Err("BAD_REQUEST"));
        assert_eq!(page::<Strict>("offset=-2"), Err("BAD_REQUEST"));
    }
}
