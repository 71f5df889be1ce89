//! What can go wrong with a stock request.

use crate::{InfraError, ValidationErrors, Violation};

/// The failures of the stock-request use cases; the edge maps each to its status and code.
/// The reference answers a missing request and a missing inventory row with different codes
/// and messages depending on the use case, so each case has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockRequestError {
    /// Reading a request that does not exist.
    #[error("stock request not found")]
    NotFound,
    /// Reviewing a request that does not exist.
    #[error("stock request to review not found")]
    NotFoundForReview,
    /// The branch holds no inventory row of the product (a request must name one).
    #[error("inventory row not found for branch/product")]
    NoInventoryRow,
    /// The inventory row disappeared between the request and its approval.
    #[error("inventory not found for branch/product")]
    InventoryGone,
    /// Only a PENDING request can be reviewed.
    #[error("stock request already reviewed")]
    AlreadyReviewed,
    /// An approval without `approved_quantity`.
    #[error("approved quantity must be positive")]
    QuantityRequired,
    /// A rejection without `rejection_reason`.
    #[error("rejection reason is required")]
    ReasonRequired,
    /// Input that breaks a rule (the stock an approval would leave is out of range, too).
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error(transparent)]
    Internal(#[from] InfraError),
}

/// Stock requests refer to rows they have checked; a violated constraint is a broken
/// invariant.
impl From<Violation> for StockRequestError {
    fn from(v: Violation) -> Self {
        StockRequestError::Internal(v.into())
    }
}
