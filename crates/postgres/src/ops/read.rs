//! Orders as staff read them: the queue (every order whose payment was authorized at
//! checkout), ordered open orders first and then by due time, and each order with its
//! customer, payment row and damage reports.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::ops::{DamageReport, OpsOrder, PaymentRecord, QueueFilter};

use crate::enums::{DbOrderStatus, DbPaymentStatus};
use crate::money::to_money;
use crate::orders::{Head, assemble, head_columns};
use crate::schema::{
    order_delivery_details as odd, order_item_damage_reports as damage,
    order_pickup_details as opd, orders, payments, users,
};

/// Orders that never became real orders: their authorization is unknown or was declined.
pub(super) const NOT_IN_QUEUE: [DbPaymentStatus; 2] =
    [DbPaymentStatus::Pending, DbPaymentStatus::Declined];

type PaymentRow = (
    i64,
    DbPaymentStatus,
    Option<String>,
    (BigDecimal, BigDecimal, BigDecimal, Option<BigDecimal>),
    (Option<String>, Option<String>, Option<String>),
    DateTime<Utc>,
);

fn payment(p: &PaymentRow) -> PaymentRecord {
    let (amounts, texts) = (&p.3, &p.4);
    PaymentRecord {
        status: p.1.into(),
        provider_payment_id: p.2.clone(),
        amount_authorized: to_money(&amounts.0),
        amount_captured: to_money(&amounts.1),
        amount_refunded: to_money(&amounts.2),
        pending_amount: amounts.3.as_ref().map(to_money),
        failure_code: texts.0.clone(),
        failure_message: texts.1.clone(),
        provider_refund_id: texts.2.clone(),
        updated_at: p.5,
    }
}

async fn payments_of(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<PaymentRow>> {
    payments::table
        .filter(payments::order_id.eq_any(ids))
        .select((
            payments::order_id,
            payments::status,
            payments::provider_payment_id,
            (
                payments::amount_authorized,
                payments::amount_captured,
                payments::amount_refunded,
                payments::pending_amount,
            ),
            (
                payments::failure_code,
                payments::failure_message,
                payments::provider_refund_id,
            ),
            payments::updated_at,
        ))
        .load(conn)
        .await
}

async fn damage_of(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<Vec<(i64, DamageReport)>> {
    type Row = (i64, i64, i64, String, Option<String>, i64, DateTime<Utc>);
    let rows: Vec<Row> = damage::table
        .filter(damage::order_id.eq_any(ids))
        .order((damage::created_at.asc(), damage::id.asc()))
        .select((
            damage::order_id,
            damage::id,
            damage::order_item_id,
            damage::reason,
            damage::notes,
            damage::reported_by,
            damage::created_at,
        ))
        .load(conn)
        .await?;
    let report = |(order_id, id, order_item_id, reason, notes, reported_by, created_at): Row| {
        let r = DamageReport {
            id,
            order_item_id,
            reason,
            notes,
            reported_by,
            created_at,
        };
        (order_id, r)
    };
    Ok(rows.into_iter().map(report).collect())
}

/// The orders of `heads` as staff see them, in the heads' order.
async fn ops_orders(conn: &mut AsyncPgConnection, heads: Vec<Head>) -> QueryResult<Vec<OpsOrder>> {
    let ids: Vec<i64> = heads.iter().map(|h| h.0).collect();
    let people: Vec<(i64, i64, String, Option<DateTime<Utc>>)> = orders::table
        .inner_join(users::table.on(users::id.eq(orders::user_id)))
        .filter(orders::id.eq_any(&ids))
        .select((
            orders::id,
            users::id,
            users::full_name,
            orders::delivered_at,
        ))
        .load(conn)
        .await?;
    let payments = payments_of(conn, &ids).await?;
    let mut damage = damage_of(conn, &ids).await?;
    let orders = assemble(conn, heads).await?;
    Ok(orders
        .into_iter()
        .map(|order| {
            let who = people.iter().find(|p| p.0 == order.id);
            let reports = damage.extract_if(.., |(o, _)| *o == order.id);
            OpsOrder {
                user_id: who.map_or(0, |p| p.1),
                customer_name: who.map(|p| p.2.clone()).unwrap_or_default(),
                delivered_at: who.and_then(|p| p.3),
                payment: payments.iter().find(|p| p.0 == order.id).map(payment),
                damage_reports: reports.map(|(_, r)| r).collect(),
                order,
            }
        })
        .collect())
}

/// One order of the queue.
pub(super) async fn order(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<OpsOrder>> {
    let heads: Vec<Head> = orders::table
        .filter(orders::id.eq(id))
        .filter(orders::payment_status.ne_all(NOT_IN_QUEUE))
        .select(head_columns!())
        .load(conn)
        .await?;
    Ok(ops_orders(conn, heads).await?.pop())
}

/// Open orders first (not delivered or canceled), then by due time (delivery slot or pickup
/// window; none last), then oldest first — over the whole queue, so pages are stable.
fn queue_order() -> (
    diesel::expression::SqlLiteral<Integer>,
    diesel::expression::SqlLiteral<Nullable<Timestamptz>>,
) {
    (
        sql::<Integer>("CASE WHEN orders.status IN ('DELIVERED', 'CANCELED') THEN 1 ELSE 0 END"),
        sql::<Nullable<Timestamptz>>(
            "COALESCE(order_delivery_details.slot_start, order_pickup_details.pickup_window_start)",
        ),
    )
}

/// A page of the queue and the number of orders matching `filter`.
pub(super) async fn queue(
    conn: &mut AsyncPgConnection,
    filter: &QueueFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<OpsOrder>, i64)> {
    let matching = || {
        let mut q = orders::table
            .left_join(odd::table.on(odd::order_id.eq(orders::id)))
            .left_join(opd::table.on(opd::order_id.eq(orders::id)))
            .filter(orders::payment_status.ne_all(NOT_IN_QUEUE))
            .into_boxed::<Pg>();
        if let Some(status) = filter.status {
            q = q.filter(orders::status.eq(DbOrderStatus::from(status)));
        }
        if let Some(from) = filter.from {
            q = q.filter(orders::created_at.ge(from));
        }
        if let Some(to) = filter.to {
            q = q.filter(orders::created_at.le(to));
        }
        q
    };
    let total: i64 = matching().count().get_result(conn).await?;
    let (closed, due) = queue_order();
    let heads: Vec<Head> = matching()
        .order((closed.asc(), due.asc().nulls_last()))
        .then_order_by((orders::created_at.asc(), orders::id.asc()))
        .limit(limit)
        .offset(offset)
        .select(head_columns!())
        .load(conn)
        .await?;
    Ok((ops_orders(conn, heads).await?, total))
}
