//! An order's facts read under its lock (`SELECT … FOR UPDATE`): what every staff decision
//! starts from.

use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::Money;
use mami_domain::ops::{LineFacts, OrderFacts, OrderPayment};

use crate::enums::{DbFulfillment, DbOrderStatus, DbPaymentStatus, DbPickedStatus};
use crate::money::to_money;
use crate::schema::{order_items, orders, payments};

type Head = (
    DbOrderStatus,
    DbFulfillment,
    DbPaymentStatus,
    Option<i64>,
    BigDecimal,
    BigDecimal,
    BigDecimal,
);

type Line = (
    i64,
    i64,
    BigDecimal,
    i32,
    DbPickedStatus,
    Option<DateTime<Utc>>,
);

/// Locks order `id` and reads its facts; `None` when there is no such order.
pub(super) async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<OrderFacts>> {
    let head: Option<Head> = orders::table
        .find(id)
        .select((
            orders::status,
            orders::fulfillment_type,
            orders::payment_status,
            orders::branch_id,
            orders::subtotal_amount,
            orders::delivery_fee,
            orders::total_amount,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some((status, fulfillment, payment_status, branch, subtotal, fee, total)) = head else {
        return Ok(None);
    };
    let payment: Option<(Option<String>, BigDecimal, BigDecimal, BigDecimal)> = payments::table
        .filter(payments::order_id.eq(id))
        .select((
            payments::provider_payment_id,
            payments::amount_authorized,
            payments::amount_captured,
            payments::amount_refunded,
        ))
        .first(conn)
        .await
        .optional()?;
    let (intent_id, authorized, captured, refunded) = match payment {
        Some((intent, a, c, r)) => (intent, to_money(&a), to_money(&c), to_money(&r)),
        None => (None, Money::ZERO, Money::ZERO, Money::ZERO),
    };
    let lines: Vec<Line> = order_items::table
        .filter(order_items::order_id.eq(id))
        .order(order_items::id.asc())
        .select((
            order_items::id,
            order_items::product_id,
            order_items::unit_price,
            order_items::quantity,
            order_items::picked_status,
            order_items::removed_at,
        ))
        .load(conn)
        .await?;
    let line = |(id, product_id, price, quantity, picked, removed_at): Line| LineFacts {
        id,
        product_id,
        unit_price: to_money(&price),
        quantity,
        picked_status: picked.into(),
        removed: removed_at.is_some(),
    };
    Ok(Some(OrderFacts {
        order_id: id,
        status: status.into(),
        fulfillment: fulfillment.into(),
        // An order without a branch (legacy data) took no stock: nothing to give back.
        branch_id: branch.unwrap_or(0),
        subtotal: to_money(&subtotal),
        delivery_fee: to_money(&fee),
        total: to_money(&total),
        payment: OrderPayment {
            status: payment_status.into(),
            intent_id,
            authorized,
            captured,
            refunded,
        },
        items: lines.into_iter().map(line).collect(),
    }))
}
