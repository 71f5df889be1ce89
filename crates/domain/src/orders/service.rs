//! The order use cases: list, detail, and cancel with the void at the provider.

use std::sync::Arc;

use tracing::instrument;

use super::{Canceled, Order, OrderError, OrderStore};
use crate::audit::RequestContext;
use crate::identity::UserId;
use crate::payments::PaymentProvider;

pub struct OrderService {
    store: Arc<dyn OrderStore>,
    provider: Arc<dyn PaymentProvider>,
}

impl OrderService {
    pub fn new(store: Arc<dyn OrderStore>, provider: Arc<dyn PaymentProvider>) -> Self {
        Self { store, provider }
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
    /// transaction.
    #[instrument(skip_all)]
    pub async fn cancel(
        &self,
        user: UserId,
        id: i64,
        ctx: &RequestContext,
    ) -> Result<Canceled, OrderError> {
        let canceled = self.store.cancel(user, id, ctx.clone()).await?;
        if let Some(void) = &canceled.void {
            let result = self
                .provider
                .cancel(void.intent_id.clone(), void.idempotency_key.clone())
                .await;
            let (ok, detail) = match result {
                Ok(_) => (true, String::new()),
                Err(e) => {
                    tracing::error!(
                        error = %e,
                        order = id,
                        "void failed; the authorization is still held"
                    );
                    (false, e.to_string())
                }
            };
            self.store.record_void(id, ok, detail, ctx.clone()).await?;
        }
        Ok(canceled)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::Money;
    use crate::orders::{MockOrderStore, Void};
    use crate::payments::{IntentStatus, MockPaymentProvider, PaymentIntent, ProviderError};

    fn canceled(void: Option<Void>) -> Canceled {
        Canceled {
            order_id: 5,
            canceled_at: Utc::now(),
            void,
        }
    }

    fn service(store: MockOrderStore, provider: MockPaymentProvider) -> OrderService {
        OrderService::new(Arc::new(store), Arc::new(provider))
    }

    async fn cancel_with_void(result: Result<PaymentIntent, ProviderError>, voided: bool) {
        let mut store = MockOrderStore::new();
        store
            .expect_cancel()
            .returning(|_, _, _| Ok(canceled(Some(Void::of(5, "pi_5".into())))));
        store
            .expect_record_void()
            .withf(move |id, ok, _, _| *id == 5 && *ok == voided)
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let mut provider = MockPaymentProvider::new();
        provider
            .expect_cancel()
            .withf(|intent, key| intent == "pi_5" && key == "mami-order-5-void")
            .times(1)
            .return_once(move |_, _| result);
        let svc = service(store, provider);
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
        let svc = service(store, MockPaymentProvider::new());
        let r = svc.cancel(UserId(1), 5, &RequestContext::default()).await;
        assert!(r.is_ok());
    }

    #[tokio::test]
    async fn another_customers_order_is_not_found() {
        let mut store = MockOrderStore::new();
        store.expect_get().returning(|_, _| Ok(None));
        let svc = service(store, MockPaymentProvider::new());
        assert_eq!(
            svc.get(UserId(1), 9).await.err(),
            Some(OrderError::NotFound)
        );
    }
}
