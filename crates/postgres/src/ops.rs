//! [`FulfilmentStore`] on PostgreSQL: each change locks the order (`SELECT … FOR UPDATE`),
//! reads its facts, runs the domain's decision and writes what was decided with its audit
//! rows, in one transaction. Concurrent changes of one order serialise on its lock; stock rows
//! are locked after it, in ascending id order.

mod facts;
mod read;
mod reports;
mod write;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::audit::RequestContext;
use mami_domain::checkout::DeliveryPricing;
use mami_domain::identity::Role;
use mami_domain::ops::{
    AlertFacts, AlertRules, Batch, DamageInput, FulfilmentStore, MovePlan, OpsError, OpsOrder,
    PerformanceCounts, QueueFilter, decide_batch, decide_damage, decide_move, decide_pick,
};
use mami_domain::orders::{OrderStatus, PickedStatus};

use crate::Database;
use crate::enums::DbOrderStatus;
use crate::error::{Tx, infra};
use crate::schema::orders;

/// Fulfilment in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgFulfilmentStore {
    db: Database,
}

impl PgFulfilmentStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl FulfilmentStore for PgFulfilmentStore {
    async fn queue(
        &self,
        filter: QueueFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<OpsOrder>, i64), OpsError> {
        let mut conn = self.db.conn().await?;
        Ok(read::queue(&mut conn, &filter, limit, offset)
            .await
            .map_err(infra)?)
    }

    async fn order(&self, id: i64) -> Result<Option<OpsOrder>, OpsError> {
        let mut conn = self.db.conn().await?;
        Ok(read::order(&mut conn, id).await.map_err(infra)?)
    }

    async fn move_status(
        &self,
        id: i64,
        to: OrderStatus,
        role: Role,
        pricing: DeliveryPricing,
        ctx: RequestContext,
    ) -> Result<MovePlan, OpsError> {
        self.db
            .transaction(async |conn| {
                let now = Utc::now();
                let facts = facts::lock(conn, id).await?;
                let plan = decide_move(facts, to, role, pricing, &ctx)?;
                write::apply_move(conn, &plan, &ctx, now).await?;
                Ok::<_, Tx<OpsError>>(plan)
            })
            .await
    }

    async fn set_picked(
        &self,
        order_id: i64,
        item_id: i64,
        status: PickedStatus,
        ctx: RequestContext,
    ) -> Result<(), OpsError> {
        self.db
            .transaction(async |conn| {
                let now = Utc::now();
                let facts = facts::lock(conn, order_id).await?;
                let plan = decide_pick(facts, item_id, status, &ctx)?;
                write::apply_pick(conn, &plan, &ctx, now).await?;
                Ok::<_, Tx<OpsError>>(())
            })
            .await
    }

    async fn report_damage(
        &self,
        order_id: i64,
        item_id: i64,
        input: DamageInput,
        ctx: RequestContext,
    ) -> Result<i64, OpsError> {
        self.db
            .transaction(async |conn| {
                let facts = facts::lock(conn, order_id).await?;
                let entry = decide_damage(facts, item_id, &input, &ctx)?;
                let ids = (order_id, item_id);
                write::insert_damage(conn, ids, &input, &entry, &ctx).await
            })
            .await
    }

    async fn alert_facts(
        &self,
        rules: AlertRules,
        now: DateTime<Utc>,
    ) -> Result<AlertFacts, OpsError> {
        let mut conn = self.db.conn().await?;
        Ok(reports::alert_facts(&mut conn, rules, now)
            .await
            .map_err(infra)?)
    }

    async fn performance(
        &self,
        now: DateTime<Utc>,
        window_minutes: i64,
    ) -> Result<PerformanceCounts, OpsError> {
        let mut conn = self.db.conn().await?;
        Ok(reports::performance(&mut conn, now, window_minutes)
            .await
            .map_err(infra)?)
    }

    async fn create_batch(
        &self,
        order_ids: Vec<i64>,
        ctx: RequestContext,
    ) -> Result<Batch, OpsError> {
        self.db
            .transaction(async |conn| {
                let found: Vec<(i64, DbOrderStatus)> = orders::table
                    .filter(orders::id.eq_any(&order_ids))
                    .filter(orders::payment_status.ne_all(read::NOT_IN_QUEUE))
                    .select((orders::id, orders::status))
                    .load(conn)
                    .await?;
                let found: Vec<(i64, OrderStatus)> =
                    found.into_iter().map(|(id, s)| (id, s.into())).collect();
                let plan = decide_batch(&order_ids, &found, &ctx)?;
                let (id, created_by, created_at) = write::insert_batch(conn, &plan, &ctx).await?;
                Ok::<_, Tx<OpsError>>(Batch {
                    id,
                    created_by,
                    created_at,
                    order_ids: plan.order_ids,
                })
            })
            .await
    }
}
