//! [`ReconcileStore`] on PostgreSQL: leadership by a session advisory lock held on a dedicated
//! pooled connection for the length of a pass.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;
use mami_domain::InfraError;
use mami_domain::checkout::PendingOrder;
use mami_domain::reconciler::ReconcileStore;
use tokio::sync::Mutex;

use crate::checkout::{Pending, pending_orders};
use crate::enums::DbPaymentStatus;
use crate::error::infra;
use crate::schema::{idempotency_keys, orders, revoked_tokens};
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
