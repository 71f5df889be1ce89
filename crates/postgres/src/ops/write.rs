//! Writing what a staff decision decided, in the transaction that read its facts: a status
//! move (amounts, removed lines, stock given back, the payment waiting for its step), a pick,
//! a damage report, a batch.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::InfraError;
use mami_domain::audit::{AuditEntry, RequestContext};
use mami_domain::ops::{BatchPlan, DamageInput, MovePlan, OpsError, PickPlan};
use mami_domain::orders::OrderStatus;
use serde_json::json;

use crate::enums::{DbOrderStatus, DbPaymentStatus, DbPickedStatus};
use crate::error::Tx;
use crate::money::to_decimal;
use crate::schema::{
    ops_batch_orders, ops_batches, order_item_damage_reports as damage, order_items, orders,
    payments,
};
use crate::{audit, stock};

/// The order's status, amounts and removed lines.
async fn write_order(
    conn: &mut AsyncPgConnection,
    plan: &MovePlan,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let order = || orders::table.find(plan.order_id);
    let status = DbOrderStatus::from(plan.to);
    diesel::update(order())
        .set((orders::status.eq(status), orders::updated_at.eq(now)))
        .execute(conn)
        .await?;
    if plan.to == OrderStatus::Delivered {
        diesel::update(order())
            .set(orders::delivered_at.eq(now))
            .execute(conn)
            .await?;
    }
    if let Some(a) = plan.repriced {
        diesel::update(order())
            .set((
                orders::subtotal_amount.eq(to_decimal(a.subtotal)),
                orders::delivery_fee.eq(to_decimal(a.delivery_fee)),
                orders::total_amount.eq(to_decimal(a.total)),
            ))
            .execute(conn)
            .await?;
    }
    if !plan.removed_items.is_empty() {
        diesel::update(order_items::table.filter(order_items::id.eq_any(&plan.removed_items)))
            .set(order_items::removed_at.eq(now))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The payment waits for its capture or refund (status and amount); any step marks the row
/// as just changed, so the reconciler leaves it to this request for a while.
async fn write_payment(
    conn: &mut AsyncPgConnection,
    plan: &MovePlan,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    if plan.money.is_none() {
        return Ok(());
    }
    let row = || payments::table.filter(payments::order_id.eq(plan.order_id));
    diesel::update(row())
        .set(payments::updated_at.eq(now))
        .execute(conn)
        .await?;
    if let Some((waits, amount)) = plan.payment_waits() {
        let status = DbPaymentStatus::from(waits);
        diesel::update(row())
            .set((
                payments::status.eq(status),
                payments::pending_amount.eq(Some(to_decimal(amount))),
            ))
            .execute(conn)
            .await?;
        diesel::update(orders::table.find(plan.order_id))
            .set(orders::payment_status.eq(status))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Writes a move: the order, the stock given back (rows locked in id order, audited), the
/// payment, and the move's audit rows.
pub(super) async fn apply_move(
    conn: &mut AsyncPgConnection,
    plan: &MovePlan,
    ctx: &RequestContext,
    now: DateTime<Utc>,
) -> Result<(), Tx<OpsError>> {
    write_order(conn, plan, now).await?;
    audit::insert_all(conn, &plan.audit).await?;
    let context = json!({"order_id": plan.order_id, "reason": plan.restock_reason});
    stock::give_back(conn, plan.branch_id, &plan.restock, ctx, context).await?;
    write_payment(conn, plan, now).await?;
    Ok(())
}

/// Writes a pick (status, picker, time) and its audit row; nothing when unchanged.
pub(super) async fn apply_pick(
    conn: &mut AsyncPgConnection,
    plan: &PickPlan,
    ctx: &RequestContext,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let Some(entry) = &plan.audit else {
        return Ok(());
    };
    diesel::update(order_items::table.find(plan.item_id))
        .set((
            order_items::picked_status.eq(DbPickedStatus::from(plan.status)),
            order_items::picked_by.eq(ctx.actor.map(|a| a.0)),
            order_items::picked_at.eq(now),
        ))
        .execute(conn)
        .await?;
    audit::insert(conn, entry, None).await
}

/// The actor of a staff change (every staff route is authenticated).
fn actor(ctx: &RequestContext) -> Result<i64, InfraError> {
    ctx.actor
        .map(|a| a.0)
        .ok_or_else(|| InfraError::new("a staff change without an actor"))
}

/// Stores a damage report and its audit row; returns the report's id.
pub(super) async fn insert_damage(
    conn: &mut AsyncPgConnection,
    (order_id, item_id): (i64, i64),
    input: &DamageInput,
    entry: &AuditEntry,
    ctx: &RequestContext,
) -> Result<i64, Tx<OpsError>> {
    let id: i64 = diesel::insert_into(damage::table)
        .values((
            damage::order_id.eq(order_id),
            damage::order_item_id.eq(item_id),
            damage::reason.eq(&input.reason),
            damage::notes.eq(input.notes.as_deref()),
            damage::reported_by.eq(actor(ctx)?),
        ))
        .returning(damage::id)
        .get_result(conn)
        .await?;
    audit::insert(conn, entry, None).await?;
    Ok(id)
}

/// Stores a batch, its orders and its audit row; returns its id and time.
pub(super) async fn insert_batch(
    conn: &mut AsyncPgConnection,
    plan: &BatchPlan,
    ctx: &RequestContext,
) -> Result<(i64, i64, DateTime<Utc>), Tx<OpsError>> {
    let creator = actor(ctx)?;
    let (id, created_at): (i64, DateTime<Utc>) = diesel::insert_into(ops_batches::table)
        .values(ops_batches::created_by.eq(creator))
        .returning((ops_batches::id, ops_batches::created_at))
        .get_result(conn)
        .await?;
    let rows: Vec<_> = plan
        .order_ids
        .iter()
        .map(|o| {
            (
                ops_batch_orders::batch_id.eq(id),
                ops_batch_orders::order_id.eq(*o),
            )
        })
        .collect();
    diesel::insert_into(ops_batch_orders::table)
        .values(&rows)
        .execute(conn)
        .await?;
    audit::insert(conn, &plan.audit, Some(id)).await?;
    Ok((id, creator, created_at))
}
