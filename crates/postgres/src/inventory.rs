//! [`InventoryStore`] and [`StockUploadStore`] on PostgreSQL: changes run under a row lock; an
//! uploaded row is the same change (or the same creation) in its own transaction.

use async_trait::async_trait;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::DomainError;
use mami_domain::audit::{AuditEntry, RequestContext};
use mami_domain::inventory::{
    InventoryChange, InventoryFilter, InventoryItem, InventoryStore, NewInventory,
};
use mami_domain::stock_upload::{StockRow, StockUploadStore, Upserted};
use serde_json::json;

use crate::error::{Tx, infra};
use crate::schema::{branches, inventory, products};
use crate::{Database, audit};

type Row = (i64, i64, String, i64, String, String, i32, i32, i32);

fn item(r: Row) -> InventoryItem {
    InventoryItem {
        id: r.0,
        branch_id: r.1,
        branch_name: r.2,
        product_id: r.3,
        product_name: r.4,
        product_sku: r.5,
        available_quantity: r.6,
        reserved_quantity: r.7,
        reorder_point: r.8,
    }
}

macro_rules! joined {
    () => {
        inventory::table
            .inner_join(branches::table)
            .inner_join(products::table)
    };
}

macro_rules! columns {
    () => {
        (
            inventory::id,
            inventory::branch_id,
            branches::name,
            inventory::product_id,
            products::name,
            products::sku,
            inventory::available_quantity,
            inventory::reserved_quantity,
            inventory::reorder_point,
        )
    };
}

async fn load_item(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<InventoryItem> {
    let r: Row = joined!()
        .filter(inventory::id.eq(id))
        .select(columns!())
        .first(conn)
        .await?;
    Ok(item(r))
}

fn figures(i: &InventoryItem) -> serde_json::Value {
    json!({
        "available_quantity": i.available_quantity,
        "reserved_quantity": i.reserved_quantity,
        "reorder_point": i.reorder_point,
    })
}

/// Inserts `new` and writes `entry` with its figures.
async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewInventory,
    entry: AuditEntry,
) -> Result<InventoryItem, Tx<DomainError>> {
    let id: i64 = diesel::insert_into(inventory::table)
        .values((
            inventory::product_id.eq(new.product_id),
            inventory::branch_id.eq(new.branch_id),
            inventory::available_quantity.eq(new.available_quantity),
            inventory::reserved_quantity.eq(new.reserved_quantity),
            inventory::reorder_point.eq(new.reorder_point),
        ))
        .returning(inventory::id)
        .get_result(conn)
        .await?;
    let it = load_item(conn, id).await?;
    let entry = entry
        .with_change(None, Some(figures(&it)))
        .context(json!({"branch_id": it.branch_id, "product_id": it.product_id}));
    audit::insert(conn, &entry, Some(id)).await?;
    Ok(it)
}

/// Applies `change` to row `id`, which the caller locked, and writes `entry` with the figures
/// before and after.
async fn apply_change(
    conn: &mut AsyncPgConnection,
    id: i64,
    change: InventoryChange,
    entry: AuditEntry,
) -> Result<InventoryItem, Tx<DomainError>> {
    let (available, reserved, reorder): (i32, i32, i32) = inventory::table
        .find(id)
        .select((
            inventory::available_quantity,
            inventory::reserved_quantity,
            inventory::reorder_point,
        ))
        .first(conn)
        .await?;
    let (a, r, p) = change.apply(available, reserved, reorder)?;
    diesel::update(inventory::table.find(id))
        .set((
            inventory::available_quantity.eq(a),
            inventory::reserved_quantity.eq(r),
            inventory::reorder_point.eq(p),
            inventory::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    let it = load_item(conn, id).await?;
    let old = json!({
        "available_quantity": available,
        "reserved_quantity": reserved,
        "reorder_point": reorder,
    });
    let entry = entry
        .with_change(Some(old), Some(figures(&it)))
        .context(json!({"branch_id": it.branch_id, "product_id": it.product_id}));
    audit::insert(conn, &entry, None).await?;
    Ok(it)
}

/// Inventory in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgInventoryStore {
    db: Database,
}

impl PgInventoryStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl InventoryStore for PgInventoryStore {
    async fn list(
        &self,
        filter: InventoryFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<InventoryItem>, i64), DomainError> {
        let mut conn = self.db.conn().await?;
        let mut count = inventory::table.count().into_boxed();
        let mut rows = joined!().select(columns!()).into_boxed();
        if let Some(b) = filter.branch_id {
            count = count.filter(inventory::branch_id.eq(b));
            rows = rows.filter(inventory::branch_id.eq(b));
        }
        if let Some(p) = filter.product_id {
            count = count.filter(inventory::product_id.eq(p));
            rows = rows.filter(inventory::product_id.eq(p));
        }
        let total: i64 = count.get_result(&mut conn).await.map_err(infra)?;
        let rows: Vec<Row> = rows
            .order((
                inventory::branch_id.asc(),
                products::name.asc(),
                inventory::id.asc(),
            ))
            .limit(limit)
            .offset(offset)
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok((rows.into_iter().map(item).collect(), total))
    }

    async fn create(
        &self,
        new: NewInventory,
        audit_entry: AuditEntry,
    ) -> Result<InventoryItem, DomainError> {
        self.db
            .transaction(async |conn| {
                let exists: Option<i64> = inventory::table
                    .filter(inventory::product_id.eq(new.product_id))
                    .filter(inventory::branch_id.eq(new.branch_id))
                    .select(inventory::id)
                    .first(conn)
                    .await
                    .optional()?;
                if exists.is_some() {
                    return Err(Tx(DomainError::conflict(
                        "DUPLICATE_INVENTORY",
                        "This branch already has an inventory row for this product.",
                    )));
                }
                insert(conn, new, audit_entry).await
            })
            .await
    }

    async fn change(
        &self,
        id: i64,
        change: InventoryChange,
        audit_entry: AuditEntry,
    ) -> Result<InventoryItem, DomainError> {
        self.db
            .transaction(async |conn| {
                let locked: Option<i64> = inventory::table
                    .find(id)
                    .for_update()
                    .select(inventory::id)
                    .first(conn)
                    .await
                    .optional()?;
                if locked.is_none() {
                    return Err(Tx(DomainError::not_found(
                        "NOT_FOUND",
                        "Inventory not found",
                    )));
                }
                apply_change(conn, id, change, audit_entry).await
            })
            .await
    }
}

#[async_trait]
impl StockUploadStore for PgInventoryStore {
    async fn upsert(
        &self,
        row: StockRow,
        ctx: RequestContext,
    ) -> Result<(InventoryItem, Upserted), DomainError> {
        self.db
            .transaction(async |conn| {
                let existing: Option<i64> = inventory::table
                    .filter(inventory::product_id.eq(row.product_id))
                    .filter(inventory::branch_id.eq(row.branch_id))
                    .for_update()
                    .select(inventory::id)
                    .first(conn)
                    .await
                    .optional()?;
                let entry = StockRow::audit(&ctx, existing);
                Ok::<_, Tx<DomainError>>(match existing {
                    Some(id) => (
                        apply_change(conn, id, row.change(), entry).await?,
                        Upserted::Updated,
                    ),
                    None => (
                        insert(conn, row.new_inventory(), entry).await?,
                        Upserted::Created,
                    ),
                })
            })
            .await
    }
}
