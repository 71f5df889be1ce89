//! Mami's business core: entities, value types, errors, port traits and use cases.
//!
//! This crate does no I/O. Adapters (PostgreSQL, the payment provider, HTTP) live in other
//! crates and implement the ports declared here; the `mocks` feature exposes mockall mocks of
//! every port for unit tests.

pub mod analytics;
pub mod audit;
pub mod branches;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod identity;
pub mod inventory;
pub mod money;
pub mod orders;
pub mod payment_tokens;
pub mod payments;
pub mod reconciler;
pub mod settings;
pub mod validation;
pub mod wishlist;

pub use audit::{AuditEntry, RequestContext};
pub use money::Money;
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

/// The outcome of a back-office operation that did not happen: what the client did wrong, or
/// an infrastructure failure. Shared by the catalog, branches, inventory, settings and user
/// administration, whose failures all fall into these kinds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// The entity (or one it refers to) does not exist; `code` as in the contract.
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// The change contradicts the current state (duplicate, stock would go negative…).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: serde_json::Value,
    },
    /// The caller may not do this to this entity.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Input that breaks a rule.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// A rule the reference answers with 400 and its own code.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The payment was refused (402).
    #[error("{message}")]
    PaymentDeclined {
        message: String,
        decline_code: String,
    },
    /// A dependency (the payment provider) is unavailable or its answer is unknown: retryable (503).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error(transparent)]
    Internal(#[from] InfraError),
}

impl DomainError {
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Conflict {
            code,
            message: message.into(),
            details: serde_json::json!({}),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(error: FieldError) -> Self {
        DomainError::Validation(ValidationErrors(vec![error]))
    }
}
