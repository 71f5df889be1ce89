//! [`WishlistStore`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::DomainError;
use mami_domain::audit::AuditEntry;
use mami_domain::identity::UserId;
use mami_domain::wishlist::{WishlistEntry, WishlistStore};
use serde_json::json;

use crate::error::{Tx, infra};
use crate::schema::{products, wishlist_items as w};
use crate::{Database, audit};

#[derive(Debug, Clone)]
pub struct PgWishlistStore {
    db: Database,
}

impl PgWishlistStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl WishlistStore for PgWishlistStore {
    async fn list(&self, user: UserId) -> Result<Vec<WishlistEntry>, DomainError> {
        let mut conn = self.db.conn().await?;
        let rows: Vec<(i64, DateTime<Utc>)> = w::table
            .filter(w::user_id.eq(user.0))
            .order((w::created_at.desc(), w::id.desc()))
            .select((w::product_id, w::created_at))
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok(rows
            .into_iter()
            .map(|(product_id, created_at)| WishlistEntry {
                product_id,
                created_at,
            })
            .collect())
    }

    async fn add(
        &self,
        user: UserId,
        product_id: i64,
        audit_entry: AuditEntry,
    ) -> Result<WishlistEntry, DomainError> {
        self.db
            .transaction(async |conn| {
                let exists: Option<i64> = products::table
                    .find(product_id)
                    .select(products::id)
                    .first(conn)
                    .await
                    .optional()?;
                if exists.is_none() {
                    return Err(Tx(DomainError::not_found(
                        "PRODUCT_NOT_FOUND",
                        "Product not found",
                    )));
                }
                let inserted: Option<(i64, DateTime<Utc>)> = diesel::insert_into(w::table)
                    .values((w::user_id.eq(user.0), w::product_id.eq(product_id)))
                    .on_conflict((w::user_id, w::product_id))
                    .do_nothing()
                    .returning((w::id, w::created_at))
                    .get_result(conn)
                    .await
                    .optional()?;
                if let Some((id, created_at)) = inserted {
                    audit::insert(
                        conn,
                        &audit_entry.with_change(None, Some(json!({"product_id": product_id}))),
                        Some(id),
                    )
                    .await?;
                    return Ok(WishlistEntry {
                        product_id,
                        created_at,
                    });
                }
                let created_at: DateTime<Utc> = w::table
                    .filter(w::user_id.eq(user.0))
                    .filter(w::product_id.eq(product_id))
                    .select(w::created_at)
                    .first(conn)
                    .await?;
                Ok::<_, Tx<DomainError>>(WishlistEntry {
                    product_id,
                    created_at,
                })
            })
            .await
    }

    async fn remove(
        &self,
        user: UserId,
        product_id: i64,
        audit_entry: AuditEntry,
    ) -> Result<bool, DomainError> {
        self.db
            .transaction(async |conn| {
                let removed: Option<i64> = diesel::delete(
                    w::table
                        .filter(w::user_id.eq(user.0))
                        .filter(w::product_id.eq(product_id)),
                )
                .returning(w::id)
                .get_result(conn)
                .await
                .optional()?;
                if let Some(id) = removed {
                    let mut entry =
                        audit_entry.with_change(Some(json!({"product_id": product_id})), None);
                    entry.target = mami_domain::audit::AuditTarget::Id(id);
                    audit::insert(conn, &entry, None).await?;
                }
                Ok::<_, Tx<DomainError>>(removed.is_some())
            })
            .await
    }
}
