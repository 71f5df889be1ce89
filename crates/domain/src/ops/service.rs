//! The fulfilment use cases. A status move is the checkout's three steps again: one
//! transaction decides and records the move with the money it sets in motion, the provider
//! is called outside any transaction, and a second transaction records its answer.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::{
    Alert, AlertRules, Batch, DamageInput, FulfilmentStore, OpsError, OpsOrder, Performance,
    QueueFilter, alerts,
};
use crate::audit::RequestContext;
use crate::checkout::DeliveryPricing;
use crate::identity::Role;
use crate::orders::{OrderStatus, PickedStatus};
use crate::payments::PaymentProvider;
use crate::payments::ledger::{PaymentLedger, move_money};

pub struct FulfilmentService {
    store: Arc<dyn FulfilmentStore>,
    ledger: Arc<dyn PaymentLedger>,
    provider: Arc<dyn PaymentProvider>,
    rules: AlertRules,
}

impl FulfilmentService {
    pub fn new(
        store: Arc<dyn FulfilmentStore>,
        ledger: Arc<dyn PaymentLedger>,
        provider: Arc<dyn PaymentProvider>,
    ) -> Self {
        Self {
            store,
            ledger,
            provider,
            rules: AlertRules::default(),
        }
    }

    pub async fn queue(
        &self,
        filter: QueueFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<OpsOrder>, i64), OpsError> {
        self.store.queue(filter, limit, offset).await
    }

    pub async fn order(&self, id: i64) -> Result<OpsOrder, OpsError> {
        self.store.order(id).await?.ok_or(OpsError::OrderNotFound)
    }

    /// Moves the order to `to` and runs the capture, refund or void the move sets in motion;
    /// answers the order as it then is. A capture or refund whose outcome is unknown leaves
    /// the payment waiting (`CAPTURE_PENDING`, `REFUND_PENDING`) for the reconciler; a refused
    /// one is recorded (and shown in the order and the alerts).
    #[instrument(skip_all, fields(order = id, to = to.as_str()))]
    pub async fn move_status(
        &self,
        id: i64,
        to: OrderStatus,
        role: Role,
        pricing: DeliveryPricing,
        ctx: &RequestContext,
    ) -> Result<OpsOrder, OpsError> {
        if to == OrderStatus::Canceled && !matches!(role, Role::Manager | Role::Admin) {
            // Refused before any lock: the role alone decides.
            return Err(OpsError::CancelForbidden);
        }
        let plan = self
            .store
            .move_status(id, to, role, pricing, ctx.clone())
            .await?;
        if let Some(step) = plan.money {
            move_money(self.provider.as_ref(), self.ledger.as_ref(), step, ctx).await?;
        }
        self.order(id).await
    }

    /// Sets a line's picked status; answers the order.
    pub async fn pick(
        &self,
        order_id: i64,
        item_id: i64,
        status: PickedStatus,
        ctx: &RequestContext,
    ) -> Result<OpsOrder, OpsError> {
        self.store
            .set_picked(order_id, item_id, status, ctx.clone())
            .await?;
        self.order(order_id).await
    }

    /// Stores a damage report; returns its id.
    pub async fn report_damage(
        &self,
        order_id: i64,
        item_id: i64,
        input: DamageInput,
        ctx: &RequestContext,
    ) -> Result<i64, OpsError> {
        self.store
            .report_damage(order_id, item_id, input, ctx.clone())
            .await
    }

    pub async fn alerts(&self, now: DateTime<Utc>) -> Result<Vec<Alert>, OpsError> {
        let facts = self.store.alert_facts(self.rules, now).await?;
        Ok(alerts(&facts, now))
    }

    pub async fn performance(&self, now: DateTime<Utc>) -> Result<Performance, OpsError> {
        let window = super::queue::PICKER_WINDOW_MINUTES;
        let counts = self.store.performance(now, window).await?;
        Ok(Performance::from_counts(counts))
    }

    pub async fn create_batch(
        &self,
        order_ids: Vec<i64>,
        ctx: &RequestContext,
    ) -> Result<Batch, OpsError> {
        self.store.create_batch(order_ids, ctx.clone()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Money;
    use crate::ops::{MockFulfilmentStore, MovePlan};
    use crate::orders::{Fulfillment, Order, PaymentStatus};
    use crate::payments::ledger::{MockPaymentLedger, MoneyOutcome, MoneyStep};
    use crate::payments::{MockPaymentProvider, ProviderError};

    fn pricing() -> DeliveryPricing {
        DeliveryPricing {
            delivery_min: Money(15_000),
            delivery_fee: Money(3_000),
        }
    }

    fn plan(money: Option<MoneyStep>) -> MovePlan {
        MovePlan {
            order_id: 4,
            branch_id: 1,
            to: OrderStatus::Ready,
            repriced: None,
            removed_items: vec![],
            restock: vec![],
            restock_reason: "",
            money,
            audit: vec![],
        }
    }

    fn ops_order() -> OpsOrder {
        OpsOrder {
            order: Order {
                id: 4,
                order_number: "ORD-4".into(),
                status: OrderStatus::Ready,
                payment_status: PaymentStatus::CapturePending,
                fulfillment_type: Fulfillment::Pickup,
                branch_id: Some(2),
                subtotal_amount: Money(500),
                delivery_fee: Money::ZERO,
                total_amount: Money(500),
                created_at: Utc::now(),
                items: vec![],
                delivery: None,
                pickup: None,
            },
            user_id: 1,
            customer_name: "Dana".into(),
            payment: None,
            damage_reports: vec![],
            delivered_at: None,
        }
    }

    #[tokio::test]
    async fn an_employee_cancel_is_refused_before_any_lock() {
        let svc = FulfilmentService::new(
            Arc::new(MockFulfilmentStore::new()),
            Arc::new(MockPaymentLedger::new()),
            Arc::new(MockPaymentProvider::new()),
        );
        let ctx = RequestContext::default();
        let r = svc
            .move_status(4, OrderStatus::Canceled, Role::Employee, pricing(), &ctx)
            .await;
        assert_eq!(r.err(), Some(OpsError::CancelForbidden));
    }

    #[tokio::test]
    async fn ready_captures_after_the_commit_and_records_an_unknown_answer() {
        let mut store = MockFulfilmentStore::new();
        store
            .expect_move_status()
            .times(1)
            .returning(|_, _, _, _, _| Ok(plan(Some(MoneyStep::capture(4, "pi_4", Money(500))))));
        store
            .expect_order()
            .times(1)
            .returning(|_| Ok(Some(ops_order())));
        let mut provider = MockPaymentProvider::new();
        provider
            .expect_capture()
            .withf(|id, amount, key| {
                id == "pi_4" && *amount == Money(500) && key == "mami-order-4-capture"
            })
            .times(1)
            .returning(|_, _, _| Err(ProviderError::UnknownOutcome("timeout".into())));
        let mut ledger = MockPaymentLedger::new();
        ledger
            .expect_record()
            .withf(|step, outcome, _| {
                step.order_id == 4 && matches!(outcome, MoneyOutcome::Unknown { .. })
            })
            .times(1)
            .returning(|_, _, _| Ok(PaymentStatus::CapturePending));
        let svc = FulfilmentService::new(Arc::new(store), Arc::new(ledger), Arc::new(provider));
        let ctx = RequestContext::default();
        let r = svc
            .move_status(4, OrderStatus::Ready, Role::Employee, pricing(), &ctx)
            .await;
        assert_eq!(
            r.map(|o| o.order.payment_status),
            Ok(PaymentStatus::CapturePending)
        );
    }

    #[tokio::test]
    async fn a_move_without_money_never_calls_the_provider() {
        let mut store = MockFulfilmentStore::new();
        store
            .expect_move_status()
            .returning(|_, _, _, _, _| Ok(plan(None)));
        store.expect_order().returning(|_| Ok(Some(ops_order())));
        let svc = FulfilmentService::new(
            Arc::new(store),
            Arc::new(MockPaymentLedger::new()),
            Arc::new(MockPaymentProvider::new()),
        );
        let ctx = RequestContext::default();
        let r = svc
            .move_status(4, OrderStatus::InProgress, Role::Employee, pricing(), &ctx)
            .await;
        assert!(r.is_ok());
    }
}
