//! What checkout takes and answers: the parsed request, the idempotency claim, the order
//! waiting for its authorization, the provider's answer and the confirm outcome.

use serde::{Deserialize, Serialize};

use crate::Money;
use crate::identity::UserId;
pub use crate::inventory::MissingItem;
use crate::orders::Fulfillment;
use crate::payments::{PaymentIntent, PaymentProvider, ProviderError};

/// A checkout request whose fields are parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    pub user: UserId,
    pub cart_id: i64,
    pub fulfillment: Fulfillment,
    pub branch_id: Option<i64>,
    pub delivery_slot_id: Option<i64>,
    pub address: Option<String>,
}

/// The saved card a confirm asks to pay with, and what to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentChoice {
    /// The requested saved card (`payment_token_id`).
    pub token_id: i64,
    /// Make the card paid with the caller's default (`save_as_default`).
    pub save_as_default: bool,
    /// When `token_id` is not the caller's, pay with the caller's own default card instead
    /// (the React client always sends id 1); otherwise `PaymentTokenNotFound`. Never anyone
    /// else's card.
    pub fallback_to_default: bool,
}

/// Delivery pricing from the settings: a cart below `delivery_min` pays `delivery_fee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPricing {
    pub delivery_min: Money,
    pub delivery_fee: Money,
}

/// The idempotency key of a confirm: per user, with the hash of the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub key: String,
    pub request_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub cart_total: Money,
    pub delivery_fee: Option<Money>,
    pub missing_items: Vec<MissingItem>,
    pub fulfillment: Fulfillment,
}

/// An order waiting for its authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOrder {
    pub order_id: i64,
    pub order_number: String,
    pub total: Money,
    pub payment_method: String,
    /// Sent to the provider on every attempt, so repeating an authorization is harmless.
    pub provider_key: String,
}

impl PendingOrder {
    /// The provider idempotency key of `order_id`'s authorization.
    pub fn provider_key(order_id: i64) -> String {
        format!("mami-order-{order_id}-auth")
    }

    /// Asks the provider to authorize the total (manual capture) under the order's provider
    /// key, so that every attempt — the request's, a retry's, the reconciler's — is one.
    pub async fn authorize(
        &self,
        provider: &dyn PaymentProvider,
    ) -> Result<PaymentIntent, ProviderError> {
        provider
            .authorize(
                self.payment_method.clone(),
                self.total,
                self.provider_key.clone(),
                self.order_number.clone(),
            )
            .await
    }
}

/// What the first transaction decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// The key already holds a final outcome: replay it.
    Replay(Settled),
    /// A new order (or one whose earlier authorization outcome is unknown) to authorize.
    Authorize(PendingOrder),
}

/// The provider's answer, as the second transaction records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    Authorized { intent_id: String },
    Declined { code: String, message: String },
    Unknown { reason: String },
}

/// A paid order, as the customer is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub order_id: i64,
    pub order_number: String,
    pub total_paid: Money,
    /// The provider's payment id ("" when it is not known).
    pub payment_reference: String,
}

/// A refused payment: the order is canceled, its stock is back and the cart is intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decline {
    pub order_id: i64,
    /// The provider's decline code (`insufficient_funds`, `card_declined`…).
    pub decline_code: String,
    /// The provider's message; empty when it gave none.
    pub message: String,
}

/// A final outcome, stored with the idempotency key (serialised with this shape) and
/// replayed for the same key and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Settled {
    Created(Receipt),
    Declined(Decline),
}

/// What a confirm answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// A new order, authorized.
    Created(Receipt),
    /// The key's stored outcome, for a repeated request.
    Replayed(Settled),
    Declined(Decline),
    /// The provider's answer is unknown: the order stays pending, the key is free for a retry
    /// (or the reconciler settles it).
    PaymentUnavailable {
        order_id: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settled_outcome_round_trips_through_its_stored_form() {
        let created = Settled::Created(Receipt {
            order_id: 9,
            order_number: "ORD-9".into(),
            total_paid: Money(5270),
            payment_reference: "pi_1".into(),
        });
        let stored = serde_json::to_value(&created).unwrap_or_default();
        assert_eq!(
            stored,
            serde_json::json!({"outcome": "created", "order_id": 9, "order_number": "ORD-9",
                "total_paid": "52.70", "payment_reference": "pi_1"})
        );
        assert_eq!(
            serde_json::from_value::<Settled>(stored).ok(),
            Some(created)
        );
        let declined = Settled::Declined(Decline {
            order_id: 9,
            decline_code: "insufficient_funds".into(),
            message: String::new(),
        });
        let stored = serde_json::to_value(&declined).unwrap_or_default();
        assert_eq!(
            serde_json::from_value::<Settled>(stored).ok(),
            Some(declined)
        );
    }
}
