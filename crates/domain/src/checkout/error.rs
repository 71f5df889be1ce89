//! Why a checkout did not happen. A declined or unconfirmed payment is not an error: it is a
//! [`super::ConfirmOutcome`], stored with the key like a success.

use super::MissingItem;
use crate::{InfraError, Violation};

/// The failures of preview and confirm; the edge maps each to its status and code. Every one
/// happens before an order exists, so the idempotency key is released with the rollback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    /// A request with the same key is being processed (its lease has not run out).
    #[error("a request with this idempotency key is in progress")]
    IdempotencyInProgress,
    /// The key was used with another body.
    #[error("the idempotency key was used with a different request")]
    IdempotencyKeyMismatch,
    /// The configured delivery source (warehouse) does not exist.
    #[error("the delivery source branch does not exist")]
    DeliveryBranchMissing,
    #[error("a branch is required for pickup")]
    BranchRequired,
    /// The pickup branch does not exist or is inactive.
    #[error("branch not found")]
    BranchNotFound,
    /// No such cart, or another customer's.
    #[error("cart not found")]
    CartNotFound,
    #[error("a delivery slot is required for delivery")]
    SlotRequired,
    /// The slot does not exist or is inactive.
    #[error("delivery slot not found")]
    SlotNotFound,
    #[error("the delivery slot belongs to another branch")]
    SlotOfAnotherBranch,
    /// No such saved card, or another customer's.
    #[error("payment token not found")]
    PaymentTokenNotFound,
    #[error("payment token is inactive")]
    PaymentTokenInactive,
    /// The requested card is not the caller's and the caller has no saved card to pay with
    /// instead: they must add one.
    #[error("no saved card to pay with")]
    NoSavedCard,
    #[error("the cart is empty")]
    CartEmpty,
    /// Products of the cart that are no longer sold.
    #[error("some products are no longer sold")]
    ProductsInactive(Vec<i64>),
    /// Lines the fulfilling branch cannot cover.
    #[error("insufficient stock")]
    InsufficientStock(Vec<MissingItem>),
    #[error(transparent)]
    Internal(#[from] InfraError),
}

/// Checkout decides every rule before it writes, under the locks that keep the decision true;
/// a constraint that fires anyway is a broken invariant.
impl From<Violation> for CheckoutError {
    fn from(v: Violation) -> Self {
        CheckoutError::Internal(v.into())
    }
}
