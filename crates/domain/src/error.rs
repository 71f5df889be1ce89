//! The error kinds every use case shares: infrastructure failures (typed by what the caller
//! can do about them), constraint violations named by the business, and the back-office
//! error type.

use crate::validation::{FieldError, ValidationErrors};

/// Failure of an adapter that the business cannot act on.
///
/// The adapter that meets the failure says which kind it is: `Unavailable` where the pool or
/// a connection fails (retryable: the edge answers 503), `Failure` for anything else (500).
/// Use cases pass it through as their `Internal` variant; the edge logs the cause once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfraError {
    #[error("dependency unavailable: {0}")]
    Unavailable(String),
    #[error("infrastructure failure: {0}")]
    Failure(String),
}

impl InfraError {
    /// An unexpected failure.
    pub fn new(message: impl Into<String>) -> Self {
        Self::Failure(message.into())
    }

    /// The dependency could not be reached; a retry may succeed.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Unavailable(message.into())
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// A rule the database enforces (unique names, existing references, no negative stock),
/// named in business terms. Adapters translate the driver's constraint violations into these;
/// each use case's error type decides what the caller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    DuplicateCategory,
    DuplicateSku,
    DuplicateBranch,
    DuplicateInventory,
    DuplicateSlot,
    DuplicateEmail,
    UnknownCategory,
    UnknownBranch,
    UnknownProduct,
    NegativeStock,
}

/// A violation where none was expected is a broken invariant.
impl From<Violation> for InfraError {
    fn from(v: Violation) -> Self {
        InfraError::new(format!("unexpected constraint violation: {v:?}"))
    }
}

/// The outcome of a back-office operation that did not happen: what the client did wrong, or
/// an infrastructure failure. Shared by branches, inventory, settings, the cart, saved cards
/// and user administration, whose failures all fall into these kinds.
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
    /// A dependency (the payment provider) is unavailable or its answer is unknown: retryable
    /// (503).
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

impl From<Violation> for DomainError {
    fn from(v: Violation) -> Self {
        use DomainError as D;
        match v {
            // Catalog constraints: only the catalog, with its own error type, meets them.
            Violation::DuplicateCategory | Violation::DuplicateSku => D::Internal(v.into()),
            Violation::DuplicateBranch => D::conflict(
                "DUPLICATE_BRANCH",
                "A branch with this name already exists.",
            ),
            Violation::DuplicateInventory => D::conflict(
                "DUPLICATE_INVENTORY",
                "This branch already has an inventory row for this product.",
            ),
            Violation::DuplicateSlot => D::conflict(
                "DUPLICATE_SLOT",
                "This branch already has an active slot starting then on that day.",
            ),
            Violation::DuplicateEmail => D::conflict("USER_EXISTS", "User already exists"),
            Violation::UnknownCategory => D::not_found("NOT_FOUND", "Category not found"),
            Violation::UnknownBranch => D::not_found("NOT_FOUND", "Branch not found"),
            Violation::UnknownProduct => D::not_found("NOT_FOUND", "Product not found"),
            Violation::NegativeStock => {
                D::conflict("INSUFFICIENT_STOCK", "Stock cannot go below zero")
            }
        }
    }
}
