//! [`ReconcileStore`] on PostgreSQL: leadership by a session advisory lock held on a dedicated
//! pooled connection for the length of a pass; the orders and payments still waiting for the
//! provider.

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;
use mami_domain::InfraError;
use mami_domain::checkout::PendingOrder;
use mami_domain::payments::ledger::MoneyStep;
use mami_domain::reconciler::ReconcileStore;
use tokio::sync::Mutex;

use crate::checkout::{Pending, pending_orders};
use crate::enums::{DbOrderStatus, DbPaymentStatus};
use crate::error::infra;
use crate::money::to_money;
use crate::schema::{idempotency_keys, orders, payments, revoked_tokens};
use crate::{Conn, Database};

/// The advisory lock key of the reconciler ("mami-rec").
const LOCK_KEY: i64 = 0x006d_616d_6972_6563;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

pub struct PgReconcileStore {
    db: Database,
    leader: Mutex<Option<Conn>>,
}

impl std::fmt::Debug for PgReconcileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgReconcileStore").finish_non_exhaustive()
    }
}

impl PgReconcileStore {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            leader: Mutex::new(None),
        }
    }
}

#[async_trait]
impl ReconcileStore for PgReconcileStore {
    async fn try_lead(&self) -> Result<bool, InfraError> {
        let mut guard = self.leader.lock().await;
        if guard.is_some() {
            return Ok(false);
        }
        let mut conn = self.db.conn().await?;
        let got: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
            .bind::<diesel::sql_types::BigInt, _>(LOCK_KEY)
            .get_result(&mut conn)
            .await
            .map_err(infra)?;
        if got.locked {
            *guard = Some(conn);
        }
        Ok(got.locked)
    }

    async fn release(&self) -> Result<(), InfraError> {
        let mut guard = self.leader.lock().await;
        if let Some(mut conn) = guard.take() {
            diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<diesel::sql_types::BigInt, _>(LOCK_KEY)
                .execute(&mut conn)
                .await
                .map_err(infra)?;
        }
        Ok(())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, InfraError> {
        let mut conn = self.db.conn().await?;
        let pending_orders = orders::table
            .filter(orders::payment_status.eq(DbPaymentStatus::Pending))
            .select(orders::id);
        let keys = diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::expires_at.lt(now))
                .filter(
                    idempotency_keys::order_id
                        .is_null()
                        .or(idempotency_keys::order_id
                            .assume_not_null()
                            .ne_all(pending_orders)),
                ),
        )
        .execute(&mut conn)
        .await
        .map_err(infra)?;
        let tokens =
            diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(now)))
                .execute(&mut conn)
                .await
                .map_err(infra)?;
        Ok(keys + tokens)
    }

    async fn pending_money(&self, before: DateTime<Utc>) -> Result<Vec<MoneyStep>, InfraError> {
        use DbPaymentStatus as P;
        let mut conn = self.db.conn().await?;
        let waiting = || {
            payments::table
                .inner_join(orders::table.on(orders::id.eq(payments::order_id)))
                .filter(payments::updated_at.lt(before))
                .select((
                    orders::id,
                    payments::provider_payment_id,
                    payments::status,
                    payments::pending_amount,
                ))
        };
        // Two conjunctive halves, so that each is found by an index whatever the tables hold
        // (`ix_payments_status_updated`; for the voids, that or `ix_orders_status`, whichever
        // side is smaller). The one condition `capture or refund pending, or canceled and
        // authorized` spans both tables: PostgreSQL planned it as a scan of every order and
        // every payment on each pass (83 ms on the benchmark's 200,000 orders; 1.3 ms so).
        let unknown =
            waiting().filter(payments::status.eq_any([P::CapturePending, P::RefundPending]));
        let to_void = waiting()
            .filter(payments::status.eq(P::Authorized))
            .filter(orders::status.eq(DbOrderStatus::Canceled));
        let mut rows: Vec<(i64, Option<String>, DbPaymentStatus, Option<BigDecimal>)> = unknown
            .union_all(to_void)
            .load(&mut conn)
            .await
            .map_err(infra)?;
        rows.sort_by_key(|row| row.0);
        let step =
            |(order, intent, status, amount): (i64, Option<String>, P, Option<BigDecimal>)| {
                let (intent, amount) = (intent?, amount.as_ref().map(to_money));
                match status {
                    P::CapturePending => Some(MoneyStep::capture(order, intent, amount?)),
                    P::RefundPending => Some(MoneyStep::refund(order, intent, amount?)),
                    _ => Some(MoneyStep::void(order, intent)),
                }
            };
        Ok(rows.into_iter().filter_map(step).collect())
    }

    async fn pending(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<(PendingOrder, DateTime<Utc>)>, InfraError> {
        let mut conn = self.db.conn().await?;
        pending_orders(&mut conn, Pending::CreatedBefore(before))
            .await
            .map_err(infra)
    }
}
