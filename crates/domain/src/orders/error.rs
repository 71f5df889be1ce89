//! What can go wrong with a customer's order.

use crate::{InfraError, Violation};

/// The failures of the order use cases; the edge maps each to its status and code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// No such order, or another customer's.
    #[error("order not found")]
    NotFound,
    /// Only a CREATED order can be canceled.
    #[error("the order cannot be canceled in its current status")]
    InvalidStatus,
    /// The authorization's outcome is not known yet (the reconciler will settle it).
    #[error("the payment is still being confirmed")]
    PaymentPending,
    #[error(transparent)]
    Internal(#[from] InfraError),
}

/// Orders break no named constraint in normal operation: one that fires is a broken invariant.
impl From<Violation> for OrderError {
    fn from(v: Violation) -> Self {
        OrderError::Internal(v.into())
    }
}
