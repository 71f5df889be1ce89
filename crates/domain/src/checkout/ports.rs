//! The checkout port: the two short transactions around the provider call, and the preview.

use async_trait::async_trait;

use super::{
    AuthOutcome, Begun, CheckoutError, CheckoutRequest, ConfirmOutcome, DeliveryPricing,
    IdempotencyClaim, PaymentChoice, Preview,
};
use crate::audit::RequestContext;

/// Checkout's storage. Each method is one transaction; the decisions are the pure functions of
/// [`crate::checkout`], run by the adapter on the facts it reads under its locks.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CheckoutStore: Send + Sync {
    /// Reads the cart and the fulfilling branch's stock (no locks) and runs
    /// [`super::preview`]. Errors: whatever `preview` refuses.
    async fn preview(
        &self,
        request: CheckoutRequest,
        pricing: DeliveryPricing,
    ) -> Result<Preview, CheckoutError>;

    /// Transaction 1. Claims the key (or locks its row) and runs [`super::key_state`]: a replay
    /// or a take-over ends here. Otherwise locks the cart, reads the fulfilling branch, the
    /// slot, the requested saved card and the caller's active cards (locked when the paid card
    /// becomes the default), locks the branch's stock rows of the cart's products in ascending
    /// id order, and runs [`super::plan_order`]; then writes the plan: the order (payment
    /// PENDING), its items and fulfilment details, the stock taken, the payment row, the new
    /// default card, the key's order and the audit rows. Any error rolls everything back,
    /// releasing the key.
    async fn begin(
        &self,
        request: CheckoutRequest,
        payment: PaymentChoice,
        claim: IdempotencyClaim,
        pricing: DeliveryPricing,
        ctx: RequestContext,
    ) -> Result<Begun, CheckoutError>;

    /// Transaction 2. Locks the order, runs [`super::settle`] on the provider's answer and
    /// writes what it decided (payment status, cart lines, stock back, the key's stored
    /// outcome or its release, the audit row). Idempotent: an order no longer PENDING is
    /// answered from its state.
    async fn complete(
        &self,
        order_id: i64,
        outcome: AuthOutcome,
        ctx: RequestContext,
    ) -> Result<ConfirmOutcome, CheckoutError>;
}
