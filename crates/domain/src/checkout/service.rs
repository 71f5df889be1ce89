//! The checkout use cases: preview, and confirm in three steps (transaction 1, the provider's
//! authorization outside any transaction, transaction 2). With test cards on, a caller with
//! no saved card is given the provider's test card and transaction 1 runs again.

use std::sync::Arc;

use tracing::instrument;

use super::{
    AuthOutcome, Begun, CheckoutError, CheckoutRequest, CheckoutStore, ConfirmOutcome,
    DeliveryPricing, IdempotencyClaim, PaymentChoice, PendingOrder, Preview,
};
use crate::audit::RequestContext;
use crate::identity::UserId;
use crate::payment_tokens::PaymentTokenService;
use crate::payments::{PaymentIntent, PaymentProvider, ProviderError};

/// The checkout use cases.
pub struct CheckoutService {
    store: Arc<dyn CheckoutStore>,
    provider: Arc<dyn PaymentProvider>,
    /// Set when the provider is a test provider: gives a caller without cards its test card.
    test_cards: Option<Arc<PaymentTokenService>>,
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
        Self {
            store,
            provider,
            test_cards: None,
        }
    }

    /// A caller who has no saved card at confirm is given the provider's test card
    /// ([`PaymentTokenService::provision_test_card`]); for test providers only.
    pub fn with_test_cards(mut self, cards: Arc<PaymentTokenService>) -> Self {
        self.test_cards = Some(cards);
        self
    }

    /// Whether `user` now has the test card (so that checking out again can succeed).
    async fn give_test_card(&self, user: UserId, ctx: &RequestContext) -> bool {
        let Some(cards) = &self.test_cards else {
            return false;
        };
        match cards.provision_test_card(user, ctx).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, user = user.0, "could not give the test card");
                false
            }
        }
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
        payment: PaymentChoice,
        claim: IdempotencyClaim,
        pricing: DeliveryPricing,
        ctx: &RequestContext,
    ) -> Result<ConfirmOutcome, CheckoutError> {
        let user = request.user;
        let begin = || {
            self.store.begin(
                request.clone(),
                payment,
                claim.clone(),
                pricing,
                ctx.clone(),
            )
        };
        // The refused attempt rolled back and released the key, so it may run again.
        let begun = match begin().await {
            Err(CheckoutError::NoSavedCard) if self.give_test_card(user, ctx).await => {
                begin().await?
            }
            other => other?,
        };
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

    fn pay() -> PaymentChoice {
        PaymentChoice {
            token_id: 1,
            save_as_default: false,
            fallback_to_default: true,
        }
    }

    /// The test's confirm: `request()` paid with `pay()`.
    async fn confirm(svc: &CheckoutService) -> Result<ConfirmOutcome, CheckoutError> {
        let ctx = RequestContext::default();
        svc.confirm(request(), pay(), claim(), pricing(), &ctx)
            .await
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
        let r = confirm(&svc).await;
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
        confirm(&svc).await
    }

    #[tokio::test]
    async fn a_replay_never_calls_the_provider() {
        let stored = Settled::Created(receipt());
        let r = confirm_without_provider(Ok(Begun::Replay(stored.clone()))).await;
        assert_eq!(r, Ok(ConfirmOutcome::Replayed(stored)));
    }

    /// Cards of a test provider: tokenizing and saving succeed (`saves` times) unless
    /// `provider_down`.
    fn test_cards(provider_down: bool, saves: usize) -> Arc<PaymentTokenService> {
        use crate::payment_tokens::{MockPaymentTokenStore, PaymentToken};
        use crate::payments::CardToken;
        let mut provider = MockPaymentProvider::new();
        provider.expect_tokenize().returning(move |_, _| {
            if provider_down {
                return Err(ProviderError::Unavailable("refused".into()));
            }
            Ok(CardToken {
                provider_token: "pm_test".into(),
                brand: Some("visa".into()),
                last4: "4242".into(),
                exp_month: 12,
                exp_year: 2049,
            })
        });
        let mut store = MockPaymentTokenStore::new();
        store.expect_list().returning(|_| Ok(Vec::new()));
        store
            .expect_create()
            .times(saves)
            .returning(|user, _, _, _, _| {
                Ok(PaymentToken {
                    id: 5,
                    user_id: user,
                    provider: "paysim".into(),
                    provider_token: "pm_test".into(),
                    brand: None,
                    last4: None,
                    exp_month: None,
                    exp_year: None,
                    is_default: true,
                    created_at: chrono::Utc::now(),
                })
            });
        Arc::new(PaymentTokenService::new(
            Arc::new(store),
            Arc::new(provider),
            "paysim",
        ))
    }

    #[tokio::test]
    async fn a_caller_without_cards_gets_the_test_card_and_checkout_runs_again() {
        let mut store = MockCheckoutStore::new();
        let mut seq = mockall::Sequence::new();
        store
            .expect_begin()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _, _| Err(CheckoutError::NoSavedCard));
        store
            .expect_begin()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _, _| Ok(Begun::Replay(Settled::Created(receipt()))));
        let svc = CheckoutService::new(Arc::new(store), Arc::new(MockPaymentProvider::new()))
            .with_test_cards(test_cards(false, 1));
        let r = confirm(&svc).await;
        assert_eq!(r, Ok(ConfirmOutcome::Replayed(Settled::Created(receipt()))));
    }

    #[tokio::test]
    async fn without_test_cards_or_a_provider_the_caller_is_told_to_add_a_card() {
        for cards in [None, Some(test_cards(true, 0))] {
            let mut store = MockCheckoutStore::new();
            store
                .expect_begin()
                .times(1)
                .returning(|_, _, _, _, _| Err(CheckoutError::NoSavedCard));
            let mut svc =
                CheckoutService::new(Arc::new(store), Arc::new(MockPaymentProvider::new()));
            if let Some(cards) = cards {
                svc = svc.with_test_cards(cards);
            }
            let r = confirm(&svc).await;
            assert_eq!(r, Err(CheckoutError::NoSavedCard));
        }
    }

    #[tokio::test]
    async fn a_refused_checkout_never_calls_the_provider() {
        let r = confirm_without_provider(Err(CheckoutError::CartEmpty)).await;
        assert_eq!(r, Err(CheckoutError::CartEmpty));
    }
}
