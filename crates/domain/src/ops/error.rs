//! What can go wrong on the staff side of an order.

use crate::orders::OrderStatus;
use crate::{InfraError, ValidationErrors, Violation};

/// The failures of the fulfilment use cases; the edge maps each to its status and code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpsError {
    #[error("order not found")]
    OrderNotFound,
    /// No such line in this order.
    #[error("order item not found")]
    ItemNotFound,
    /// `to` is not a move from `from`, or its conditions are not met (`reason`); `allowed` are
    /// the moves the caller can make from `from` right now.
    #[error("status transition not allowed: {from:?} -> {to:?} ({reason})")]
    InvalidTransition {
        from: OrderStatus,
        to: OrderStatus,
        allowed: Vec<OrderStatus>,
        reason: String,
    },
    /// Only a MANAGER or an ADMIN cancels an order.
    #[error("only a manager or an admin can cancel an order")]
    CancelForbidden,
    /// The outcome of the order's authorization, capture or refund is not known yet.
    #[error("the payment is still being settled")]
    PaymentPending,
    /// Lines are picked only while the order is IN_PROGRESS or MISSING.
    #[error("items cannot be picked while the order is {0:?}")]
    NotPickable(OrderStatus),
    /// The line was removed from the order (missing at MISSING -> READY).
    #[error("the item was removed from the order")]
    ItemRemoved,
    /// Orders of a batch that do not exist (or never got paid).
    #[error("orders not found: {0:?}")]
    BatchOrdersNotFound(Vec<i64>),
    /// Orders of a batch that are delivered or canceled.
    #[error("orders already closed: {0:?}")]
    BatchOrdersClosed(Vec<i64>),
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error(transparent)]
    Internal(#[from] InfraError),
}

/// Fulfilment breaks no named constraint in normal operation: one that fires is a broken
/// invariant.
impl From<Violation> for OpsError {
    fn from(v: Violation) -> Self {
        OpsError::Internal(v.into())
    }
}
