//! The checkout use cases: preview, and confirm in three steps (transaction 1, the provider's
//! authorization outside any transaction, transaction 2).

use std::sync::Arc;

use tracing::instrument;

use super::{
    AuthOutcome, Begun, CheckoutError, CheckoutRequest, CheckoutStore, ConfirmOutcome,
    DeliveryPricing, IdempotencyClaim, PendingOrder, Preview,
};
use crate::audit::RequestContext;
use crate::payments::{PaymentIntent, PaymentProvider, ProviderError};

/// The checkout use cases.
pub struct CheckoutService {
    store: Arc<dyn CheckoutStore>,
    provider: Arc<dyn PaymentProvider>,
}

/// How a checkout records the provider's answer to its authorization.
fn auth_outcome(order: &PendingOrder, answer: Result<PaymentIntent, ProviderError>) -> AuthOutcome {
    match answer {
        Ok(intent) => AuthOutcome::Authorized {
            intent_id: intent.id,
        },
        Err(ProviderError::Declined { code, message }) => AuthOutcome::Declined { code, message },
        Err(e @ (ProviderError::InvalidRequest(_) | ProviderError::Unauthorized)) => {
            // A request the provider will never accept: treat like a decline so the stock
            // comes back, and log it as the bug it is.
            tracing::error!(error = %e, order = order.order_id, "authorization refused as invalid");
            AuthOutcome::Declined {
                code: "processing_error".into(),
                message: "The payment could not be processed".into(),
            }
        }
        Err(
            e @ (ProviderError::RateLimited
            | ProviderError::Unavailable(_)
            | ProviderError::UnknownOutcome(_)),
        ) => AuthOutcome::Unknown {
            reason: e.to_string(),
        },
    }
}

impl CheckoutService {
    pub fn new(store: Arc<dyn CheckoutStore>, provider: Arc<dyn PaymentProvider>) -> Self {
        Self { store, provider }
    }

    pub async fn preview(
        &self,
        request: CheckoutRequest,
        pricing: DeliveryPricing,
    ) -> Result<Preview, CheckoutError> {
        self.store.preview(request, pricing).await
    }

    /// Confirms a checkout: a new order authorized, the key's stored outcome replayed, a
    /// decline, or an unknown authorization outcome (retry with the same key).
    #[instrument(skip_all)]
    pub async fn confirm(
        &self,
        request: CheckoutRequest,
        payment_token_id: i64,
        claim: IdempotencyClaim,
        pricing: DeliveryPricing,
        ctx: &RequestContext,
    ) -> Result<ConfirmOutcome, CheckoutError> {
        let begun = self
            .store
            .begin(request, payment_token_id, claim, pricing, ctx.clone())
            .await?;
        let pending = match begun {
            Begun::Replay(settled) => return Ok(ConfirmOutcome::Replayed(settled)),
            Begun::Authorize(pending) => pending,
        };
        let answer = pending.authorize(self.provider.as_ref()).await;
        let outcome = auth_outcome(&pending, answer);
        self.store
            .complete(pending.order_id, outcome, ctx.clone())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Money;
    use crate::checkout::{MockCheckoutStore, Receipt, Settled};
    use crate::identity::UserId;
    use crate::orders::Fulfillment;
    use crate::payments::{IntentStatus, MockPaymentProvider};

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
            provider_key: PendingOrder::provider_key(9),
        }
    }

    fn receipt() -> Receipt {
        Receipt {
            order_id: 9,
            order_number: "ORD-9".into(),
            total_paid: Money(4590),
            payment_reference: "pi_1".into(),
        }
    }

    fn pricing() -> DeliveryPricing {
        DeliveryPricing {
            delivery_min: Money(15_000),
            delivery_fee: Money(3_000),
        }
    }

    fn claim() -> IdempotencyClaim {
        IdempotencyClaim {
            key: "k".into(),
            request_hash: "h".into(),
        }
    }

    /// Confirms against a store that begins order 9 and a provider answering `answer`;
    /// `complete` must receive what `expected` accepts.
    async fn confirm_with(
        answer: Result<PaymentIntent, ProviderError>,
        expected: fn(&AuthOutcome) -> bool,
    ) {
        let mut store = MockCheckoutStore::new();
        store
            .expect_begin()
            .times(1)
            .returning(|_, _, _, _, _| Ok(Begun::Authorize(pending())));
        store
            .expect_complete()
            .withf(move |id, outcome, _| *id == 9 && expected(outcome))
            .times(1)
            .returning(|_, _, _| Ok(ConfirmOutcome::Created(receipt())));
        let mut provider = MockPaymentProvider::new();
        provider
            .expect_authorize()
            .withf(|pm, amount, key, reference| {
                pm == "pm_1"
                    && *amount == Money(4590)
                    && key == "mami-order-9-auth"
                    && reference == "ORD-9"
            })
            .times(1)
            .return_once(move |_, _, _, _| answer);
        let svc = CheckoutService::new(Arc::new(store), Arc::new(provider));
        let r = svc
            .confirm(request(), 1, claim(), pricing(), &RequestContext::default())
            .await;
        assert_eq!(r, Ok(ConfirmOutcome::Created(receipt())));
    }

    #[tokio::test]
    async fn an_authorization_is_recorded_with_its_intent() {
        let intent = PaymentIntent {
            id: "pi_1".into(),
            status: IntentStatus::RequiresCapture,
            amount: Money(4590),
            amount_capturable: Money(4590),
            amount_received: Money::ZERO,
        };
        confirm_with(
            Ok(intent),
            |o| matches!(o, AuthOutcome::Authorized { intent_id } if intent_id == "pi_1"),
        )
        .await;
    }

    #[tokio::test]
    async fn a_decline_is_recorded_with_its_code() {
        let declined = ProviderError::Declined {
            code: "insufficient_funds".into(),
            message: String::new(),
        };
        confirm_with(
            Err(declined),
            |o| matches!(o, AuthOutcome::Declined { code, .. } if code == "insufficient_funds"),
        )
        .await;
    }

    #[tokio::test]
    async fn a_request_the_provider_refuses_is_a_decline() {
        for refused in [
            ProviderError::InvalidRequest("no such payment method".into()),
            ProviderError::Unauthorized,
        ] {
            confirm_with(
                Err(refused),
                |o| matches!(o, AuthOutcome::Declined { code, .. } if code == "processing_error"),
            )
            .await;
        }
    }

    #[tokio::test]
    async fn an_unanswered_authorization_is_unknown() {
        for unknown in [
            ProviderError::UnknownOutcome("timeout".into()),
            ProviderError::Unavailable("refused".into()),
            ProviderError::RateLimited,
        ] {
            confirm_with(Err(unknown), |o| matches!(o, AuthOutcome::Unknown { .. })).await;
        }
    }

    /// Confirms against a store whose `begin` answers `begun` and a provider that must not be
    /// called.
    async fn confirm_without_provider(
        begun: Result<Begun, CheckoutError>,
    ) -> Result<ConfirmOutcome, CheckoutError> {
        let mut store = MockCheckoutStore::new();
        store.expect_begin().return_once(move |_, _, _, _, _| begun);
        let svc = CheckoutService::new(Arc::new(store), Arc::new(MockPaymentProvider::new()));
        svc.confirm(request(), 1, claim(), pricing(), &RequestContext::default())
            .await
    }

    #[tokio::test]
    async fn a_replay_never_calls_the_provider() {
        let stored = Settled::Created(receipt());
        let r = confirm_without_provider(Ok(Begun::Replay(stored.clone()))).await;
        assert_eq!(r, Ok(ConfirmOutcome::Replayed(stored)));
    }

    #[tokio::test]
    async fn a_refused_checkout_never_calls_the_provider() {
        let r = confirm_without_provider(Err(CheckoutError::CartEmpty)).await;
        assert_eq!(r, Err(CheckoutError::CartEmpty));
    }
}
