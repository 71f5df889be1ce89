//! [`PaymentLedger`] on PostgreSQL: the provider's answer to a capture, a refund or a void,
//! recorded on the order's payment row under the order's lock.

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::InfraError;
use mami_domain::audit::RequestContext;
use mami_domain::orders::PaymentStatus;
use mami_domain::payments::ledger::{
    LedgerChange, LedgerFacts, MoneyOutcome, MoneyStep, PaymentLedger, settle_money,
};

use crate::enums::DbPaymentStatus;
use crate::error::Tx;
use crate::money::{to_decimal, to_money};
use crate::schema::{orders, payments};
use crate::{Database, audit};

/// At most `max` characters of `text` (the column's width).
fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Writes `change` on the payment row of `order_id` and the order's `payment_status`.
async fn write(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    change: &LedgerChange,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let status = DbPaymentStatus::from(change.status);
    let target = || payments::table.filter(payments::order_id.eq(order_id));
    let (code, message) = match &change.failure {
        Some((code, message)) => (Some(clip(code, 64)), Some(clip(message, 256))),
        None => (None, None),
    };
    diesel::update(target())
        .set((
            payments::status.eq(status),
            payments::amount_captured.eq(to_decimal(change.captured)),
            payments::amount_refunded.eq(to_decimal(change.refunded)),
            payments::pending_amount.eq(None::<BigDecimal>),
            payments::failure_code.eq(code),
            payments::failure_message.eq(message),
            payments::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if let Some(refund) = &change.refund_id {
        diesel::update(target())
            .set(payments::provider_refund_id.eq(refund))
            .execute(conn)
            .await?;
    }
    diesel::update(orders::table.find(order_id))
        .set((
            orders::payment_status.eq(status),
            orders::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Payment answers in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgPaymentLedger {
    db: Database,
}

impl PgPaymentLedger {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl PaymentLedger for PgPaymentLedger {
    async fn record(
        &self,
        step: MoneyStep,
        outcome: MoneyOutcome,
        ctx: RequestContext,
    ) -> Result<PaymentStatus, InfraError> {
        self.db
            .transaction(async |conn| {
                let now = Utc::now();
                // The order's lock first, as every writer of an order takes it.
                let status: DbPaymentStatus = orders::table
                    .find(step.order_id)
                    .select(orders::payment_status)
                    .for_update()
                    .first(conn)
                    .await?;
                let (captured, refunded): (BigDecimal, BigDecimal) = payments::table
                    .filter(payments::order_id.eq(step.order_id))
                    .select((payments::amount_captured, payments::amount_refunded))
                    .first(conn)
                    .await?;
                let facts = LedgerFacts {
                    status: status.into(),
                    captured: to_money(&captured),
                    refunded: to_money(&refunded),
                };
                let recording = settle_money(&facts, &step, &outcome, &ctx);
                if let Some(change) = &recording.change {
                    write(conn, step.order_id, change, now).await?;
                }
                if let Some(entry) = &recording.audit {
                    audit::insert(conn, entry, None).await?;
                }
                let after = recording.change.map_or(facts.status, |c| c.status);
                Ok::<_, Tx<InfraError>>(after)
            })
            .await
    }
}
