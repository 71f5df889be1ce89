//! Giving an order's stock back (decline, cancel): the rows are locked in ascending id order and
//! every restored row is audited in the caller's transaction.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::{AuditEntry, AuditTarget, RequestContext};
use serde_json::json;

use crate::audit;
use crate::schema::{inventory, order_items};

/// Adds the order's quantities back to `branch`'s inventory rows.
pub(crate) async fn restore_order_stock(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    branch: i64,
    ctx: &RequestContext,
    reason: &str,
) -> QueryResult<()> {
    let now = Utc::now();
    let items: Vec<(i64, i32)> = order_items::table
        .filter(order_items::order_id.eq(order_id))
        .select((order_items::product_id, order_items::quantity))
        .load(conn)
        .await?;
    let ids: Vec<i64> = items.iter().map(|i| i.0).collect();
    let stock: Vec<(i64, i64, i32)> = inventory::table
        .filter(inventory::branch_id.eq(branch))
        .filter(inventory::product_id.eq_any(&ids))
        .order(inventory::id.asc())
        .select((
            inventory::id,
            inventory::product_id,
            inventory::available_quantity,
        ))
        .for_update()
        .load(conn)
        .await?;
    for (row, product, available) in &stock {
        let qty = items.iter().find(|i| i.0 == *product).map_or(0, |i| i.1);
        diesel::update(inventory::table.find(row))
            .set((
                inventory::available_quantity.eq(inventory::available_quantity + qty),
                inventory::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        let entry = AuditEntry::new(ctx, "inventory", AuditTarget::Id(*row), "RESTORE")
            .with_change(
                Some(json!({"available_quantity": available})),
                Some(json!({"available_quantity": available + qty})),
            )
            .context(json!({"order_id": order_id, "reason": reason}));
        audit::insert(conn, &entry, None).await?;
    }
    Ok(())
}
