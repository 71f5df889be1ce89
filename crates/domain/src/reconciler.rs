//! Settles orders whose authorization outcome is unknown, by asking the provider again with the
//! same provider idempotency key. One leader at a time across processes (the store's lock).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tracing::instrument;

use crate::InfraError;
use crate::audit::RequestContext;
use crate::checkout::{AuthOutcome, CheckoutError, CheckoutStore, PendingOrder};
use crate::payments::{PaymentProvider, ProviderError};

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReconcileStore: Send + Sync {
    /// Tries to become the reconciler leader for one pass; `false` when another process is.
    async fn try_lead(&self) -> Result<bool, InfraError>;
    async fn release(&self) -> Result<(), InfraError>;
    /// Orders still waiting for their authorization, created before `before`, with when.
    async fn pending(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<(PendingOrder, DateTime<Utc>)>, InfraError>;
    /// Deletes idempotency keys and token revocations that expired before `now` (keys still
    /// tied to a pending order are kept). Returns how many rows went.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, InfraError>;
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub led: bool,
    pub purged: usize,
    pub authorized: usize,
    pub declined: usize,
    pub abandoned: usize,
    pub still_unknown: usize,
}

/// Recording an answer for an order that exists fails only on infrastructure; any other
/// refusal is a broken invariant.
fn unexpected(e: CheckoutError) -> InfraError {
    match e {
        CheckoutError::Internal(e) => e,
        other => InfraError::new(format!("settling an order: {other}")),
    }
}

pub struct Reconciler {
    store: Arc<dyn ReconcileStore>,
    checkout: Arc<dyn CheckoutStore>,
    provider: Arc<dyn PaymentProvider>,
    /// Orders younger than this are left to their own request.
    pub min_age: Duration,
    /// After this, an order whose outcome is still unknown is canceled and its stock returned.
    pub give_up_after: Duration,
}

impl Reconciler {
    pub fn new(
        store: Arc<dyn ReconcileStore>,
        checkout: Arc<dyn CheckoutStore>,
        provider: Arc<dyn PaymentProvider>,
    ) -> Self {
        Self {
            store,
            checkout,
            provider,
            min_age: Duration::seconds(30),
            give_up_after: Duration::hours(1),
        }
    }

    /// One pass, if this process can lead.
    #[instrument(skip_all)]
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<ReconcileReport, InfraError> {
        if !self.store.try_lead().await? {
            return Ok(ReconcileReport::default());
        }
        let result = self.pass(now).await;
        self.store.release().await?;
        result
    }

    async fn pass(&self, now: DateTime<Utc>) -> Result<ReconcileReport, InfraError> {
        let mut report = ReconcileReport {
            led: true,
            purged: self.store.purge_expired(now).await?,
            ..ReconcileReport::default()
        };
        let ctx = RequestContext::anonymous(Some(format!("reconciler-{}", now.timestamp())));
        for (order, created_at) in self.store.pending(now - self.min_age).await? {
            let outcome = match order.authorize(self.provider.as_ref()).await {
                Ok(intent) => AuthOutcome::Authorized {
                    intent_id: intent.id,
                },
                Err(ProviderError::Declined { code, message }) => {
                    AuthOutcome::Declined { code, message }
                }
                Err(ProviderError::InvalidRequest(m)) => AuthOutcome::Declined {
                    code: "processing_error".into(),
                    message: m,
                },
                Err(e) if now - created_at > self.give_up_after => {
                    tracing::error!(
                        order = order.order_id,
                        error = %e,
                        "authorization still unknown; canceling the order"
                    );
                    AuthOutcome::Declined {
                        code: "authorization_unconfirmed".into(),
                        message: "The payment could not be confirmed".into(),
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        order = order.order_id,
                        error = %e,
                        "authorization still unknown"
                    );
                    report.still_unknown += 1;
                    continue;
                }
            };
            let kind = match &outcome {
                AuthOutcome::Authorized { .. } => 0,
                AuthOutcome::Declined { code, .. } if code == "authorization_unconfirmed" => 2,
                _ => 1,
            };
            self.checkout
                .complete(order.order_id, outcome, ctx.clone())
                .await
                .map_err(unexpected)?;
            match kind {
                0 => report.authorized += 1,
                1 => report.declined += 1,
                _ => report.abandoned += 1,
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Money;
    use crate::checkout::{ConfirmOutcome, MockCheckoutStore};
    use crate::payments::MockPaymentProvider;

    fn order(id: i64) -> PendingOrder {
        PendingOrder {
            order_id: id,
            order_number: format!("ORD-{id}"),
            total: Money(100),
            payment_method: "pm".into(),
            provider_key: format!("k{id}"),
        }
    }

    #[tokio::test]
    async fn a_follower_does_nothing() {
        let mut store = MockReconcileStore::new();
        store.expect_try_lead().returning(|| Ok(false));
        let r = Reconciler::new(
            Arc::new(store),
            Arc::new(MockCheckoutStore::new()),
            Arc::new(MockPaymentProvider::new()),
        );
        assert_eq!(
            r.run_once(Utc::now()).await.ok(),
            Some(ReconcileReport::default())
        );
    }

    #[tokio::test]
    async fn the_leader_settles_each_order_with_its_own_key() {
        let now = Utc::now();
        let mut store = MockReconcileStore::new();
        store.expect_try_lead().returning(|| Ok(true));
        store.expect_release().times(1).returning(|| Ok(()));
        store.expect_purge_expired().returning(|_| Ok(0));
        store.expect_pending().returning(move |_| {
            Ok(vec![
                (order(1), now),
                (order(2), now),
                (order(3), now - Duration::hours(2)),
                (order(4), now),
            ])
        });
        let mut provider = MockPaymentProvider::new();
        provider
            .expect_authorize()
            .times(4)
            .returning(|_, _, key, _| match key.as_str() {
                "k1" => Ok(crate::payments::PaymentIntent {
                    id: "pi".into(),
                    status: crate::payments::IntentStatus::RequiresCapture,
                    amount: Money(100),
                    amount_capturable: Money(100),
                    amount_received: Money::ZERO,
                }),
                "k2" => Err(ProviderError::Declined {
                    code: "generic_decline".into(),
                    message: String::new(),
                }),
                _ => Err(ProviderError::UnknownOutcome("timeout".into())),
            });
        let mut checkout = MockCheckoutStore::new();
        checkout
            .expect_complete()
            .times(3)
            .returning(|id, _, _| Ok(ConfirmOutcome::PaymentUnavailable { order_id: id }));
        let r = Reconciler::new(Arc::new(store), Arc::new(checkout), Arc::new(provider));
        let report = r.run_once(now).await.unwrap_or_default();
        assert_eq!(
            report,
            ReconcileReport {
                led: true,
                purged: 0,
                authorized: 1,
                declined: 1,
                abandoned: 1,
                still_unknown: 1
            }
        );
    }
}
