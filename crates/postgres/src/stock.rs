//! A branch's inventory rows under lock: the one function that locks the rows of some products
//! (in ascending id order, so that concurrent lockers never deadlock), and the writing of the
//! figures the domain decided (`mami_domain::inventory::{take, restore}`) with their audit
//! rows, one statement each. Checkout, decline, cancel and stock-request approvals use it; so
//! will picking.

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::InfraError;
use mami_domain::audit::{AuditEntry, RequestContext};
use mami_domain::inventory::{ProductQuantity, StockLevel, StockMove, restore};
use serde_json::json;

use crate::audit;
use crate::error::{FromDb, Tx};
use crate::schema::{inventory, order_items};
use crate::sql::prepared;

async fn levels(
    conn: &mut AsyncPgConnection,
    branch: i64,
    products: &[i64],
    lock: bool,
) -> QueryResult<Vec<StockLevel>> {
    let query = inventory::table
        .filter(inventory::branch_id.eq(branch))
        .filter(inventory::product_id.eq_any(products))
        .order(inventory::id.asc())
        .select((
            inventory::id,
            inventory::product_id,
            inventory::available_quantity,
        ));
    let rows: Vec<(i64, i64, i32)> = if lock {
        query.for_update().load(conn).await?
    } else {
        query.load(conn).await?
    };
    let level = |(row_id, product_id, available)| StockLevel {
        row_id,
        product_id,
        available,
    };
    Ok(rows.into_iter().map(level).collect())
}

/// Locks `branch`'s rows of `products` (`FOR UPDATE`, ascending id) and returns their figures.
pub(crate) async fn lock(
    conn: &mut AsyncPgConnection,
    branch: i64,
    products: &[i64],
) -> QueryResult<Vec<StockLevel>> {
    levels(conn, branch, products, true).await
}

/// The same rows without a lock (a preview).
pub(crate) async fn read(
    conn: &mut AsyncPgConnection,
    branch: i64,
    products: &[i64],
) -> QueryResult<Vec<StockLevel>> {
    levels(conn, branch, products, false).await
}

/// Writes the new figures of locked rows (one `UPDATE … FROM unnest(…)`) and the audit
/// entries (one `INSERT`: the moves' own, and any other entry of the caller's transaction).
pub(crate) async fn apply(
    mut conn: &AsyncPgConnection,
    moves: &[StockMove],
    audit: &[AuditEntry],
) -> QueryResult<()> {
    if moves.is_empty() {
        return audit::insert_all(conn, audit).await;
    }
    let ids: Vec<i64> = moves.iter().map(|m| m.row_id).collect();
    let figures: Vec<i32> = moves.iter().map(|m| m.after).collect();
    prepared(
        diesel::sql_query(
            "UPDATE inventory AS i SET available_quantity = m.available, updated_at = $3 \
             FROM unnest($1::bigint[], $2::integer[]) AS m(id, available) WHERE i.id = m.id",
        )
        .bind::<Array<BigInt>, _>(ids)
        .bind::<Array<Integer>, _>(figures)
        .bind::<Timestamptz, _>(Utc::now()),
    )
    .execute(&mut conn)
    .await?;
    audit::insert_all(conn, audit).await
}

/// Gives `returned` back to `branch`'s rows (locked in id order), audited as `RESTORE` with
/// `context`, in the caller's transaction.
pub(crate) async fn give_back<E: FromDb + From<InfraError>>(
    conn: &mut AsyncPgConnection,
    branch: i64,
    returned: &[ProductQuantity],
    ctx: &RequestContext,
    context: serde_json::Value,
) -> Result<(), Tx<E>> {
    if returned.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = returned.iter().map(|q| q.product_id).collect();
    let moves = restore(&lock(conn, branch, &ids).await?, returned)?;
    let audit: Vec<AuditEntry> = moves
        .iter()
        .map(|m| m.audit(ctx, "RESTORE", context.clone()))
        .collect();
    apply(conn, &moves, &audit).await?;
    Ok(())
}

/// Gives the order's quantities (its lines still part of it) back to `branch`'s rows (locked
/// in id order), audited as `RESTORE` with `reason`, in the caller's transaction.
pub(crate) async fn restore_order_stock<E: FromDb + From<InfraError>>(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    branch: i64,
    ctx: &RequestContext,
    reason: &str,
) -> Result<(), Tx<E>> {
    let items: Vec<(i64, i32)> = order_items::table
        .filter(order_items::order_id.eq(order_id))
        .filter(order_items::removed_at.is_null())
        .select((order_items::product_id, order_items::quantity))
        .load(conn)
        .await?;
    let returned: Vec<ProductQuantity> = items
        .into_iter()
        .map(|(product_id, quantity)| ProductQuantity {
            product_id,
            quantity,
        })
        .collect();
    let context = json!({"order_id": order_id, "reason": reason});
    give_back(conn, branch, &returned, ctx, context).await
}
