//! The order use cases: list, detail, and cancel with the void at the provider.

use std::sync::Arc;

use tracing::instrument;

use super::{Canceled, Order, OrderError, OrderStore};
use crate::audit::RequestContext;
use crate::identity::UserId;
use crate::payments::PaymentProvider;
use crate::payments::ledger::{PaymentLedger, move_money};

pub struct OrderService {
    store: Arc<dyn OrderStore>,
    ledger: Arc<dyn PaymentLedger>,
    provider: Arc<dyn PaymentProvider>,
}

impl OrderService {
    pub fn new(
        store: Arc<dyn OrderStore>,
        ledger: Arc<dyn PaymentLedger>,
        provider: Arc<dyn PaymentProvider>,
    ) -> Self {
        Self {
            store,
            ledger,
            provider,
        }
    }

    pub async fn list(
        &self,
        user: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Order>, i64), OrderError> {
        self.store.list(user, limit, offset).await
    }

    pub async fn get(&self, user: UserId, id: i64) -> Result<Order, OrderError> {
        self.store.get(user, id).await?.ok_or(OrderError::NotFound)
    }

    /// Cancels the caller's order: stock back in one transaction, then the authorization voided
    /// at the provider (idempotent key), then recorded. The money never moves inside the
    /// transaction; a void whose outcome is unknown is repeated by the reconciler.
    #[instrument(skip_all)]
    pub async fn cancel(
        &self,
        user: UserId,
        id: i64,
        ctx: &RequestContext,
    ) -> Result<Canceled, OrderError> {
        let canceled = self.store.cancel(user, id, ctx.clone()).await?;
        if let Some(void) = canceled.void.clone() {
            move_money(self.provider.as_ref(), self.ledger.as_ref(), void, ctx).await?;
        }
        Ok(canceled)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::Money;
    use crate::orders::{MockOrderStore, PaymentStatus};
    use crate::payments::ledger::{MockPaymentLedger, MoneyOutcome, MoneyStep};
    use crate::payments::{IntentStatus, MockPaymentProvider, PaymentIntent, ProviderError};

    fn canceled(void: Option<MoneyStep>) -> Canceled {
        Canceled {
            order_id: 5,
            canceled_at: Utc::now(),
            void,
        }
    }

    fn service(
        store: MockOrderStore,
        ledger: MockPaymentLedger,
        provider: MockPaymentProvider,
    ) -> OrderService {
        OrderService::new(Arc::new(store), Arc::new(ledger), Arc::new(provider))
    }

    async fn cancel_with_void(result: Result<PaymentIntent, ProviderError>, voided: bool) {
        let mut store = MockOrderStore::new();
        store
            .expect_cancel()
            .returning(|_, _, _| Ok(canceled(Some(MoneyStep::void(5, "pi_5")))));
        let mut ledger = MockPaymentLedger::new();
        ledger
            .expect_record()
            .withf(move |step, outcome, _| {
                step.order_id == 5 && matches!(outcome, MoneyOutcome::Done { .. }) == voided
            })
            .times(1)
            .returning(|_, _, _| Ok(PaymentStatus::Voided));
        let mut provider = MockPaymentProvider::new();
        provider
            .expect_cancel()
            .withf(|intent, key| intent == "pi_5" && key == "mami-order-5-void")
            .times(1)
            .return_once(move |_, _| result);
        let svc = service(store, ledger, provider);
        let r = svc.cancel(UserId(1), 5, &RequestContext::default()).await;
        assert_eq!(r.map(|c| c.order_id).ok(), Some(5));
    }

    #[tokio::test]
    async fn a_held_authorization_is_voided_and_the_result_recorded() {
        let intent = PaymentIntent {
            id: "pi_5".into(),
            status: IntentStatus::Canceled,
            amount: Money(100),
            amount_capturable: Money::ZERO,
            amount_received: Money::ZERO,
        };
        cancel_with_void(Ok(intent), true).await;
        cancel_with_void(Err(ProviderError::UnknownOutcome("timeout".into())), false).await;
    }

    #[tokio::test]
    async fn nothing_to_void_means_no_provider_call() {
        let mut store = MockOrderStore::new();
        store
            .expect_cancel()
            .returning(|_, _, _| Ok(canceled(None)));
        let svc = service(store, MockPaymentLedger::new(), MockPaymentProvider::new());
        let r = svc.cancel(UserId(1), 5, &RequestContext::default()).await;
        assert!(r.is_ok());
    }

    #[tokio::test]
    async fn another_customers_order_is_not_found() {
        let mut store = MockOrderStore::new();
        store.expect_get().returning(|_, _| Ok(None));
        let svc = service(store, MockPaymentLedger::new(), MockPaymentProvider::new());
        assert_eq!(
            svc.get(UserId(1), 9).await.err(),
            Some(OrderError::NotFound)
        );
    }
}
