//! The fulfilment port. Each method is one transaction; the decisions are the pure functions
//! of [`crate::ops`], run by the adapter on the facts it reads under the order's lock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    AlertFacts, AlertRules, Batch, DamageInput, MovePlan, OpsError, OpsOrder, PerformanceCounts,
    QueueFilter,
};
use crate::audit::RequestContext;
use crate::checkout::DeliveryPricing;
use crate::identity::Role;
use crate::orders::{OrderStatus, PickedStatus};

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait FulfilmentStore: Send + Sync {
    /// Orders in the queue — every order whose payment was authorized at checkout (never one
    /// still PENDING or DECLINED) — matching `filter`: open orders first, then by due time
    /// (delivery slot or pickup window), oldest first; and how many match in all.
    async fn queue(
        &self,
        filter: QueueFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<OpsOrder>, i64), OpsError>;

    /// One order of the queue; `None` when there is none (or it never got paid).
    async fn order(&self, id: i64) -> Result<Option<OpsOrder>, OpsError>;

    /// Locks the order, reads its facts and runs [`super::decide_move`]; writes the plan: the
    /// status (and `delivered_at`), the re-priced amounts and removed lines, the stock given
    /// back (rows locked in id order, audited), the payment waiting for its capture or refund
    /// (with the amount), and the audit rows. Returns the plan, whose money step the caller
    /// runs after the commit.
    async fn move_status(
        &self,
        id: i64,
        to: OrderStatus,
        role: Role,
        pricing: DeliveryPricing,
        ctx: RequestContext,
    ) -> Result<MovePlan, OpsError>;

    /// Locks the order and runs [`super::decide_pick`]; records the status, the picker (the
    /// context's actor) and the time, and the audit row.
    async fn set_picked(
        &self,
        order_id: i64,
        item_id: i64,
        status: PickedStatus,
        ctx: RequestContext,
    ) -> Result<(), OpsError>;

    /// Locks the order and runs [`super::decide_damage`]; stores the report (the context's
    /// actor as reporter) and its audit row. Returns the report's id.
    async fn report_damage(
        &self,
        order_id: i64,
        item_id: i64,
        input: DamageInput,
        ctx: RequestContext,
    ) -> Result<i64, OpsError>;

    /// Reads what the alerts are made of, within `rules`.
    async fn alert_facts(
        &self,
        rules: AlertRules,
        now: DateTime<Utc>,
    ) -> Result<AlertFacts, OpsError>;

    /// Counts behind the performance figures; pickers count within `window_minutes`.
    async fn performance(
        &self,
        now: DateTime<Utc>,
        window_minutes: i64,
    ) -> Result<PerformanceCounts, OpsError>;

    /// Reads the requested orders of the queue, runs [`super::decide_batch`], stores the batch
    /// (creator from the context) with its orders, and audits it.
    async fn create_batch(
        &self,
        order_ids: Vec<i64>,
        ctx: RequestContext,
    ) -> Result<Batch, OpsError>;
}
