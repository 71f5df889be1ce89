//! Mami's business core: entities, value types, errors, port traits and use cases.
//!
//! This crate does no I/O. Adapters (PostgreSQL, the payment provider, HTTP) live in other
//! crates and implement the ports declared here; the `mocks` feature exposes mockall mocks of
//! every port for unit tests.

pub mod audit;
pub mod identity;
pub mod validation;

pub use audit::{AuditEntry, RequestContext};
pub use validation::{FieldError, ValidationErrors};

/// Failure of an adapter that the business cannot act on (database down, broken invariant).
///
/// Use cases pass it through as their `Internal` variant; the edge answers with a generic 5xx
/// and logs the cause once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("infrastructure failure: {0}")]
pub struct InfraError(pub String);

impl InfraError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
