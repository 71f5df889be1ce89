//! [`PaymentTokenStore`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::DomainError;
use mami_domain::audit::AuditEntry;
use mami_domain::identity::UserId;
use mami_domain::payment_tokens::{PaymentToken, PaymentTokenStore};
use mami_domain::payments::CardToken;
use serde_json::json;

use crate::error::{Tx, infra};
use crate::schema::payment_tokens as pt;
use crate::{Database, audit};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = pt)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct Row {
    id: i64,
    user_id: i64,
    provider: String,
    provider_token: String,
    brand: Option<String>,
    last4: Option<String>,
    exp_month: Option<i32>,
    exp_year: Option<i32>,
    is_default: bool,
    created_at: DateTime<Utc>,
}

impl From<Row> for PaymentToken {
    fn from(r: Row) -> Self {
        PaymentToken {
            id: r.id,
            user_id: UserId(r.user_id),
            provider: r.provider,
            provider_token: r.provider_token,
            brand: r.brand,
            last4: r.last4,
            exp_month: r.exp_month,
            exp_year: r.exp_year,
            is_default: r.is_default,
            created_at: r.created_at,
        }
    }
}

fn not_found() -> DomainError {
    DomainError::not_found("PAYMENT_TOKEN_NOT_FOUND", "Payment token not found")
}

/// Saved cards in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgPaymentTokenStore {
    db: Database,
}

impl PgPaymentTokenStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl PaymentTokenStore for PgPaymentTokenStore {
    async fn list(&self, user: UserId) -> Result<Vec<PaymentToken>, DomainError> {
        let mut conn = self.db.conn().await?;
        let rows: Vec<Row> = pt::table
            .filter(pt::user_id.eq(user.0))
            .filter(pt::is_active.eq(true))
            .order((pt::is_default.desc(), pt::created_at.desc(), pt::id.desc()))
            .select(Row::as_select())
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok(rows.into_iter().map(PaymentToken::from).collect())
    }

    async fn create(
        &self,
        user: UserId,
        provider: String,
        card: CardToken,
        make_default: bool,
        audit_entry: AuditEntry,
    ) -> Result<PaymentToken, DomainError> {
        self.db
            .transaction(async |conn| {
                let has_default: Option<i64> = pt::table
                    .filter(pt::user_id.eq(user.0))
                    .filter(pt::is_active.eq(true))
                    .filter(pt::is_default.eq(true))
                    .select(pt::id)
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                let default = make_default || has_default.is_none();
                if default && has_default.is_some() {
                    diesel::update(
                        pt::table
                            .filter(pt::user_id.eq(user.0))
                            .filter(pt::is_default.eq(true)),
                    )
                    .set((pt::is_default.eq(false), pt::updated_at.eq(Utc::now())))
                    .execute(conn)
                    .await?;
                }
                let row: Row = diesel::insert_into(pt::table)
                    .values((
                        pt::user_id.eq(user.0),
                        pt::provider.eq(&provider),
                        pt::provider_token.eq(&card.provider_token),
                        pt::brand.eq(&card.brand),
                        pt::last4.eq(&card.last4),
                        pt::exp_month.eq(card.exp_month),
                        pt::exp_year.eq(card.exp_year),
                        pt::is_default.eq(default),
                    ))
                    .returning(Row::as_returning())
                    .get_result(conn)
                    .await?;
                let mut entry = audit_entry;
                if let Some(serde_json::Value::Object(m)) = entry.new_value.as_mut() {
                    m.insert("is_default".into(), json!(default));
                }
                audit::insert(conn, &entry, Some(row.id)).await?;
                Ok::<_, Tx<DomainError>>(PaymentToken::from(row))
            })
            .await
    }

    async fn deactivate(
        &self,
        user: UserId,
        id: i64,
        audit_entry: AuditEntry,
    ) -> Result<(), DomainError> {
        self.db
            .transaction(async |conn| {
                let n = diesel::update(
                    pt::table
                        .filter(pt::id.eq(id))
                        .filter(pt::user_id.eq(user.0))
                        .filter(pt::is_active.eq(true)),
                )
                .set((
                    pt::is_active.eq(false),
                    pt::is_default.eq(false),
                    pt::updated_at.eq(Utc::now()),
                ))
                .execute(conn)
                .await?;
                if n == 0 {
                    return Err(Tx(not_found()));
                }
                let entry = audit_entry.with_change(
                    Some(json!({"is_active": true})),
                    Some(json!({"is_active": false})),
                );
                audit::insert(conn, &entry, None).await?;
                Ok::<_, Tx<DomainError>>(())
            })
            .await
    }
}
