//! Settles payments whose outcome is unknown by asking the provider again with the same
//! provider idempotency key: authorizations of checkout, and the captures, refunds and voids
//! of fulfilment and cancels. One leader at a time across processes (the store's lock).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tracing::instrument;

use crate::InfraError;
use crate::audit::RequestContext;
use crate::checkout::{AuthOutcome, CheckoutError, CheckoutStore, PendingOrder};
use crate::payments::ledger::{MoneyStep, PaymentLedger, move_money};
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
    /// Captures and refunds still waiting for the provider's answer (CAPTURE_PENDING,
    /// REFUND_PENDING) and authorizations of canceled orders not yet voided, whose payment
    /// last changed before `before`; by order id.
    async fn pending_money(&self, before: DateTime<Utc>) -> Result<Vec<MoneyStep>, InfraError>;
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
    /// Captures, refunds and voids whose answer is now recorded (done or refused).
    pub money_settled: usize,
    /// Captures, refunds and voids whose outcome is still unknown.
    pub money_unknown: usize,
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
    ledger: Arc<dyn PaymentLedger>,
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
        ledger: Arc<dyn PaymentLedger>,
        provider: Arc<dyn PaymentProvider>,
    ) -> Self {
        Self {
            store,
            checkout,
            ledger,
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
        self.settle_money(now, &ctx, &mut report).await?;
        Ok(report)
    }

    /// Repeats each waiting capture, refund or void with its own key and records the answer.
    async fn settle_money(
        &self,
        now: DateTime<Utc>,
        ctx: &RequestContext,
        report: &mut ReconcileReport,
    ) -> Result<(), InfraError> {
        for step in self.store.pending_money(now - self.min_age).await? {
            let waiting = step.waiting_status();
            let (provider, ledger) = (self.provider.as_ref(), self.ledger.as_ref());
            if move_money(provider, ledger, step, ctx).await? == waiting {
                report.money_unknown += 1;
            } else {
                report.money_settled += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Money;
    use crate::checkout::{ConfirmOutcome, MockCheckoutStore};
    use crate::orders::PaymentStatus;
    use crate::payments::MockPaymentProvider;
    use crate::payments::ledger::{MockPaymentLedger, MoneyOutcome};

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
            Arc::new(MockPaymentLedger::new()),
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
        store.expect_pending_money().returning(|_| Ok(vec![]));
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
        let ledger = Arc::new(MockPaymentLedger::new());
        let r = Reconciler::new(
            Arc::new(store),
            Arc::new(checkout),
            ledger,
            Arc::new(provider),
        );
        let report = r.run_once(now).await.unwrap_or_default();
        assert_eq!(
            report,
            ReconcileReport {
                led: true,
                purged: 0,
                authorized: 1,
                declined: 1,
                abandoned: 1,
                still_unknown: 1,
                money_settled: 0,
                money_unknown: 0,
            }
        );
    }

    #[tokio::test]
    async fn waiting_captures_and_refunds_are_repeated_with_their_own_keys() {
        let now = Utc::now();
        let mut store = MockReconcileStore::new();
        store.expect_try_lead().returning(|| Ok(true));
        store.expect_release().times(1).returning(|| Ok(()));
        store.expect_purge_expired().returning(|_| Ok(0));
        store.expect_pending().returning(|_| Ok(vec![]));
        store.expect_pending_money().returning(|_| {
            Ok(vec![
                MoneyStep::capture(1, "pi_1", Money(500)),
                MoneyStep::refund(2, "pi_2", Money(700)),
            ])
        });
        let mut provider = MockPaymentProvider::new();
        provider
            .expect_capture()
            .withf(|_, amount, key| *amount == Money(500) && key == "mami-order-1-capture")
            .times(1)
            .returning(|_, _, _| Err(ProviderError::UnknownOutcome("still".into())));
        provider
            .expect_refund()
            .withf(|_, amount, key| *amount == Money(700) && key == "mami-order-2-refund")
            .times(1)
            .returning(|_, _, _| Ok("re_2".into()));
        let mut ledger = MockPaymentLedger::new();
        ledger
            .expect_record()
            .times(2)
            .returning(|step, outcome, _| {
                Ok(match outcome {
                    MoneyOutcome::Done { .. } => PaymentStatus::Refunded,
                    _ => step.waiting_status(),
                })
            });
        let r = Reconciler::new(
            Arc::new(store),
            Arc::new(MockCheckoutStore::new()),
            Arc::new(ledger),
            Arc::new(provider),
        );
        let report = r.run_once(now).await.unwrap_or_default();
        assert_eq!((report.money_settled, report.money_unknown), (1, 1));
    }
}
