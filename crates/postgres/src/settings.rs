//! [`SettingsStore`] on PostgreSQL: the single `global_settings` row.

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::DomainError;
use mami_domain::audit::AuditEntry;
use mami_domain::identity::UserId;
use mami_domain::settings::{Settings, SettingsDefaults, SettingsPatch, SettingsStore};
use serde_json::json;

use crate::error::{Tx, infra};
use crate::money::{to_decimal, to_money};
use crate::schema::global_settings as gs;
use crate::{Database, audit};

type Row = (
    BigDecimal,
    BigDecimal,
    BigDecimal,
    DateTime<Utc>,
    Option<i64>,
);

fn settings(r: Row) -> Settings {
    Settings {
        delivery_min: to_money(&r.0),
        delivery_fee: to_money(&r.1),
        free_threshold: to_money(&r.2),
        updated_at: r.3,
        updated_by: r.4.map(UserId),
    }
}

fn values(s: &Settings) -> serde_json::Value {
    json!({
        "delivery_min": s.delivery_min.as_f64(),
        "delivery_fee": s.delivery_fee.as_f64(),
        "free_threshold": s.free_threshold.as_f64(),
    })
}

async fn ensure(conn: &mut AsyncPgConnection, d: SettingsDefaults) -> QueryResult<()> {
    diesel::insert_into(gs::table)
        .values((
            gs::id.eq(1i16),
            gs::delivery_min.eq(to_decimal(d.delivery_min)),
            gs::delivery_fee.eq(to_decimal(d.delivery_fee)),
            gs::free_threshold.eq(to_decimal(d.free_threshold)),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|_| ())
}

const COLUMNS: (
    gs::delivery_min,
    gs::delivery_fee,
    gs::free_threshold,
    gs::updated_at,
    gs::updated_by,
) = (
    gs::delivery_min,
    gs::delivery_fee,
    gs::free_threshold,
    gs::updated_at,
    gs::updated_by,
);

/// Global settings in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgSettingsStore {
    db: Database,
}

impl PgSettingsStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl SettingsStore for PgSettingsStore {
    async fn get(&self, defaults: SettingsDefaults) -> Result<Settings, DomainError> {
        let mut conn = self.db.conn().await?;
        let row: Option<Row> = gs::table
            .find(1i16)
            .select(COLUMNS)
            .first(&mut conn)
            .await
            .optional()
            .map_err(infra)?;
        if let Some(r) = row {
            return Ok(settings(r));
        }
        ensure(&mut conn, defaults).await.map_err(infra)?;
        let r: Row = gs::table
            .find(1i16)
            .select(COLUMNS)
            .first(&mut conn)
            .await
            .map_err(infra)?;
        Ok(settings(r))
    }

    async fn update(
        &self,
        defaults: SettingsDefaults,
        patch: SettingsPatch,
        audit_entry: AuditEntry,
    ) -> Result<Settings, DomainError> {
        self.db
            .transaction(async |conn| {
                ensure(conn, defaults).await?;
                let old = settings(
                    gs::table
                        .find(1i16)
                        .for_update()
                        .select(COLUMNS)
                        .first(conn)
                        .await?,
                );
                let r: Row = diesel::update(gs::table.find(1i16))
                    .set((
                        gs::delivery_min
                            .eq(to_decimal(patch.delivery_min.unwrap_or(old.delivery_min))),
                        gs::delivery_fee
                            .eq(to_decimal(patch.delivery_fee.unwrap_or(old.delivery_fee))),
                        gs::free_threshold.eq(to_decimal(
                            patch.free_threshold.unwrap_or(old.free_threshold),
                        )),
                        gs::updated_at.eq(Utc::now()),
                        gs::updated_by.eq(audit_entry.actor.map(|a| a.0)),
                    ))
                    .returning(COLUMNS)
                    .get_result(conn)
                    .await?;
                let new = settings(r);
                audit::insert(
                    conn,
                    &audit_entry.with_change(Some(values(&old)), Some(values(&new))),
                    None,
                )
                .await?;
                Ok::<_, Tx<DomainError>>(new)
            })
            .await
    }
}
