//! Checkout: preview and the three-step confirm (reserve stock and create the order in one
//! short transaction; authorize at the provider outside any transaction; record the outcome
//! in a second short transaction), with Stripe-style idempotency keys.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Value, json};
use tracing::instrument;

use crate::audit::RequestContext;
use crate::identity::UserId;
use crate::payments::{PaymentProvider, ProviderError};
use crate::{DomainError, Money};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Fulfillment {
    Delivery,
    Pickup,
}

impl Fulfillment {
    pub fn as_str(self) -> &'static str {
        match self {
            Fulfillment::Delivery => "DELIVERY",
            Fulfillment::Pickup => "PICKUP",
        }
    }
}

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingItem {
    pub product_id: i64,
    pub requested_quantity: i64,
    pub available_quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub cart_total: Money,
    pub delivery_fee: Option<Money>,
    pub missing_items: Vec<MissingItem>,
    pub fulfillment: Fulfillment,
}

/// Delivery pricing: below `delivery_min` the cart pays `delivery_fee`.
pub fn delivery_fee(
    fulfillment: Fulfillment,
    cart_total: Money,
    delivery_min: Money,
    fee: Money,
) -> Option<Money> {
    match fulfillment {
        Fulfillment::Pickup => None,
        Fulfillment::Delivery if cart_total >= delivery_min => Some(Money::ZERO),
        Fulfillment::Delivery => Some(fee),
    }
}

/// The idempotency key of a confirm: per user, with the hash of the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub key: String,
    pub request_hash: String,
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

/// What the first transaction decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Begun {
    /// The key already holds a final answer: replay it.
    Replay { status: u16, body: Value },
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

/// The final answer of a confirm: status and body (stored with the key and replayed).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CheckoutStore: Send + Sync {
    /// Totals and shortages; writes nothing. Errors: cart or branch not found, config.
    async fn preview(
        &self,
        request: CheckoutRequest,
        delivery_min: Money,
        delivery_fee: Money,
    ) -> Result<Preview, DomainError>;

    /// Transaction 1: claims the key (or finds its final answer), checks ownership of the
    /// cart and the token, the branch and the slot, locks the inventory rows in id order,
    /// refuses shortages, decrements stock, creates the order (payment PENDING), its items,
    /// details and payment row, and their audit rows. Any error rolls everything back,
    /// releasing the key.
    async fn begin(
        &self,
        request: CheckoutRequest,
        payment_token_id: i64,
        claim: IdempotencyClaim,
        delivery_min: Money,
        delivery_fee: Money,
        ctx: RequestContext,
    ) -> Result<Begun, DomainError>;

    /// Transaction 3: records the outcome. Authorized: payment AUTHORIZED, the ordered lines
    /// leave the cart, the key stores the 201 answer. Declined: stock restored, order
    /// CANCELED, cart untouched, the key stores the 402 answer. Unknown: the order stays
    /// PENDING and the key is released for a retry (or the reconciler). Idempotent: an order
    /// no longer PENDING is answered from its current state.
    async fn complete(
        &self,
        order_id: i64,
        outcome: AuthOutcome,
        ctx: RequestContext,
    ) -> Result<Answer, DomainError>;
}

/// The checkout use cases.
pub struct CheckoutService {
    store: Arc<dyn CheckoutStore>,
    provider: Arc<dyn PaymentProvider>,
}

impl CheckoutService {
    pub fn new(store: Arc<dyn CheckoutStore>, provider: Arc<dyn PaymentProvider>) -> Self {
        Self { store, provider }
    }

    pub async fn preview(
        &self,
        request: CheckoutRequest,
        delivery_min: Money,
        fee: Money,
    ) -> Result<Preview, DomainError> {
        self.store.preview(request, delivery_min, fee).await
    }

    /// Confirms a checkout; returns the answer to send (201 new order, 200 replay, 402
    /// declined, 503 unknown outcome).
    #[instrument(skip_all)]
    pub async fn confirm(
        &self,
        request: CheckoutRequest,
        payment_token_id: i64,
        claim: IdempotencyClaim,
        delivery_min: Money,
        fee: Money,
        ctx: &RequestContext,
    ) -> Result<Answer, DomainError> {
        let pending = match self
            .store
            .begin(
                request,
                payment_token_id,
                claim,
                delivery_min,
                fee,
                ctx.clone(),
            )
            .await?
        {
            Begun::Replay { status, body } => {
                return Ok(Answer {
                    status: if status == 201 { 200 } else { status },
                    body,
                });
            }
            Begun::Authorize(p) => p,
        };
        let outcome = match self
            .provider
            .authorize(
                pending.payment_method.clone(),
                pending.total,
                pending.provider_key.clone(),
                pending.order_number.clone(),
            )
            .await
        {
            Ok(intent) => AuthOutcome::Authorized {
                intent_id: intent.id,
            },
            Err(ProviderError::Declined { code, message }) => {
                AuthOutcome::Declined { code, message }
            }
            Err(e @ (ProviderError::InvalidRequest(_) | ProviderError::Unauthorized)) => {
                // A request the provider will never accept: treat like a decline so the
                // stock comes back, and log it as the bug it is.
                tracing::error!(error = %e, order = pending.order_id, "authorization refused as invalid");
                AuthOutcome::Declined {
                    code: "processing_error".into(),
                    message: "The payment could not be processed".into(),
                }
            }
            Err(e) => AuthOutcome::Unknown {
                reason: e.to_string(),
            },
        };
        self.store
            .complete(pending.order_id, outcome, ctx.clone())
            .await
    }
}

/// The 402 body of a declined payment.
pub fn declined_body(code: &str, message: &str, order_id: i64) -> Value {
    json!({"error": {"code": "PAYMENT_DECLINED", "message": if message.is_empty() { "The card was declined" } else { message },
        "status_code": 402, "details": {"decline_code": code, "order_id": order_id}}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::{IntentStatus, MockPaymentProvider, PaymentIntent};

    fn request() -> CheckoutRequest {
        CheckoutRequest {
            user: UserId(1),
            cart_id: 1,
            fulfillment: Fulfillment::Delivery,
            branch_id: None,
            delivery_slot_id: Some(1),
            address: None,
        }
    }

    fn pending() -> PendingOrder {
        PendingOrder {
            order_id: 9,
            order_number: "ORD-9".into(),
            total: Money(4590),
            payment_method: "pm_1".into(),
            provider_key: "order-9-auth".into(),
        }
    }

    #[test]
    fn fee_rules() {
        assert_eq!(
            delivery_fee(
                Fulfillment::Delivery,
                Money(14_999),
                Money(15_000),
                Money(3_000)
            ),
            Some(Money(3_000))
        );
        assert_eq!(
            delivery_fee(
                Fulfillment::Delivery,
                Money(15_000),
                Money(15_000),
                Money(3_000)
            ),
            Some(Money::ZERO)
        );
        assert_eq!(
            delivery_fee(Fulfillment::Pickup, Money(1), Money(15_000), Money(3_000)),
            None
        );
    }

    async fn run(
        provider_result: Result<PaymentIntent, ProviderError>,
        expected: fn(&AuthOutcome) -> bool,
    ) {
        let mut store = MockCheckoutStore::new();
        store
            .expect_begin()
            .returning(|_, _, _, _, _, _| Ok(Begun::Authorize(pending())));
        store
            .expect_complete()
            .withf(move |id, outcome, _| *id == 9 && expected(outcome))
            .times(1)
            .returning(|_, _, _| {
                Ok(Answer {
                    status: 201,
                    body: json!({}),
                })
            });
        let mut provider = MockPaymentProvider::new();
        provider
            .expect_authorize()
            .withf(|pm, amount, key, _| {
                pm == "pm_1" && *amount == Money(4590) && key == "order-9-auth"
            })
            .times(1)
            .return_once(move |_, _, _, _| provider_result);
        let svc = CheckoutService::new(Arc::new(store), Arc::new(provider));
        let claim = IdempotencyClaim {
            key: "k".into(),
            request_hash: "h".into(),
        };
        assert!(
            svc.confirm(
                request(),
                1,
                claim,
                Money(15_000),
                Money(3_000),
                &RequestContext::default()
            )
            .await
            .is_ok()
        );
    }

    #[tokio::test]
    async fn every_provider_outcome_is_recorded() {
        let intent = PaymentIntent {
            id: "pi_1".into(),
            status: IntentStatus::RequiresCapture,
            amount: Money(4590),
            amount_capturable: Money(4590),
            amount_received: Money::ZERO,
        };
        run(
            Ok(intent),
            |o| matches!(o, AuthOutcome::Authorized { intent_id } if intent_id == "pi_1"),
        )
        .await;
        run(
            Err(ProviderError::Declined {
                code: "insufficient_funds".into(),
                message: String::new(),
            }),
            |o| matches!(o, AuthOutcome::Declined { .. }),
        )
        .await;
        run(Err(ProviderError::UnknownOutcome("timeout".into())), |o| {
            matches!(o, AuthOutcome::Unknown { .. })
        })
        .await;
        run(Err(ProviderError::Unavailable("refused".into())), |o| {
            matches!(o, AuthOutcome::Unknown { .. })
        })
        .await;
    }

    #[tokio::test]
    async fn a_replay_never_calls_the_provider() {
        let mut store = MockCheckoutStore::new();
        store.expect_begin().returning(|_, _, _, _, _, _| {
            Ok(Begun::Replay {
                status: 201,
                body: json!({"data": {"order_id": 9}}),
            })
        });
        let svc = CheckoutService::new(Arc::new(store), Arc::new(MockPaymentProvider::new()));
        let claim = IdempotencyClaim {
            key: "k".into(),
            request_hash: "h".into(),
        };
        let a = svc
            .confirm(
                request(),
                1,
                claim,
                Money(1),
                Money(1),
                &RequestContext::default(),
            )
            .await;
        assert_eq!(
            a.ok().map(|a| a.status),
            Some(200),
            "a replayed success is 200"
        );
    }
}
