//! HTTP conventions shared by every route: envelopes, errors, body and query extraction,
//! request ids, security headers and rate limits.

pub mod envelope;
pub mod error;
pub mod extract;
pub mod formats;
pub mod middleware;
pub mod paging;
pub mod params;
pub mod rate_limit;
pub mod refusals;
pub mod shape;

pub use envelope::{created, ok};
pub use error::ApiError;
pub use extract::{FilledJson, JsonOrEmpty, ValidJson, ValidQuery};
pub use paging::Paging;
