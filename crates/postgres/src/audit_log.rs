//! [`AuditLog`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::InfraError;
use mami_domain::audit::{AuditFilter, AuditLog, AuditRecord};
use serde_json::Value;

use crate::schema::{audit, users};
use crate::{Database, error};

/// The audit trail in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgAuditLog {
    db: Database,
}

impl PgAuditLog {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

type Row = (
    i64,
    String,
    i64,
    String,
    Option<Value>,
    Option<Value>,
    Option<Value>,
    Option<i64>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
);

macro_rules! filtered {
    ($query:expr, $f:expr) => {{
        let mut q = $query;
        if let Some(t) = &$f.entity_type {
            q = q.filter(audit::entity_type.eq(t.clone()));
        }
        if let Some(id) = $f.entity_id {
            q = q.filter(audit::entity_id.eq(id));
        }
        if let Some(a) = &$f.action {
            q = q.filter(audit::action.eq(a.clone()));
        }
        if let Some(actor) = $f.actor {
            q = q.filter(audit::actor_user_id.eq(actor.0));
        }
        if let Some(from) = $f.from {
            q = q.filter(audit::created_at.ge(from));
        }
        if let Some(to) = $f.to {
            q = q.filter(audit::created_at.le(to));
        }
        q
    }};
}

#[async_trait]
impl AuditLog for PgAuditLog {
    async fn list(
        &self,
        filter: AuditFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AuditRecord>, i64), InfraError> {
        let mut conn = self.db.conn().await?;
        let total: i64 = filtered!(audit::table.into_boxed(), filter)
            .count()
            .get_result(&mut conn)
            .await
            .map_err(error::infra)?;
        let rows: Vec<Row> = filtered!(audit::table.left_join(users::table).into_boxed(), filter)
            .select((
                audit::id,
                audit::entity_type,
                audit::entity_id,
                audit::action,
                audit::old_value,
                audit::new_value,
                audit::context,
                audit::actor_user_id,
                users::email.nullable(),
                audit::request_id,
                audit::created_at,
            ))
            .order((audit::created_at.desc(), audit::id.desc()))
            .limit(limit)
            .offset(offset)
            .load(&mut conn)
            .await
            .map_err(error::infra)?;
        let records = rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.0,
                entity_type: r.1,
                entity_id: r.2,
                action: r.3,
                old_value: r.4,
                new_value: r.5,
                context: r.6,
                actor_user_id: r.7,
                actor_email: r.8,
                request_id: r.9,
                created_at: r.10,
            })
            .collect();
        Ok((records, total))
    }
}
