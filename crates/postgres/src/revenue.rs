//! [`RevenueReport`] on PostgreSQL.

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Numeric, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use mami_domain::analytics::{Granularity, RevenueQuery, RevenueReport};
use mami_domain::{DomainError, Money};

use crate::Database;
use crate::error::infra;
use crate::money::to_money;

#[derive(QueryableByName)]
struct Bucket {
    #[diesel(sql_type = Text)]
    label: String,
    #[diesel(sql_type = Nullable<Numeric>)]
    total: Option<BigDecimal>,
}

/// Revenue from delivered orders: their final (re-priced) totals, counted when they were
/// delivered (orders delivered before `delivered_at` was recorded: when they were placed).
#[derive(Debug, Clone)]
pub struct PgRevenueReport {
    db: Database,
}

impl PgRevenueReport {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl RevenueReport for PgRevenueReport {
    async fn revenue(&self, query: RevenueQuery) -> Result<Vec<(String, Money)>, DomainError> {
        let format = match query.granularity {
            Granularity::Day => "YYYY-MM-DD",
            Granularity::Month => "YYYY-MM",
            Granularity::Year => "YYYY",
        };
        let mut conn = self.db.conn().await?;
        let rows: Vec<Bucket> = diesel::sql_query(
            "SELECT to_char(COALESCE(delivered_at, created_at) AT TIME ZONE 'UTC', $1) AS label, \
             SUM(total_amount) AS total FROM orders \
             WHERE status = 'DELIVERED' AND COALESCE(delivered_at, created_at) >= $2 \
             GROUP BY 1 ORDER BY 1",
        )
        .bind::<Text, _>(format)
        .bind::<Timestamptz, _>(query.since)
        .load(&mut conn)
        .await
        .map_err(infra)?;
        Ok(rows
            .into_iter()
            .map(|b| (b.label, b.total.as_ref().map_or(Money::ZERO, to_money)))
            .collect())
    }
}
