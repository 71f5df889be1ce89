//! [`CartStore`] on PostgreSQL: every change locks the user's cart row first.

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::{AuditEntry, AuditTarget};
use mami_domain::cart::{Cart, CartLine, CartStore, LineChange, StockFacts, decide_line};
use mami_domain::identity::UserId;
use mami_domain::{DomainError, Money};
use serde_json::json;

use crate::error::Tx;
use crate::money::{to_decimal, to_money};
use crate::schema::{cart_items, carts, inventory, products};
use crate::{Database, audit};

/// The user's cart id, created if missing, locked until the transaction ends.
async fn lock_cart(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<i64> {
    diesel::insert_into(carts::table)
        .values(carts::user_id.eq(user.0))
        .on_conflict(carts::user_id)
        .do_nothing()
        .execute(conn)
        .await?;
    carts::table
        .filter(carts::user_id.eq(user.0))
        .select(carts::id)
        .for_update()
        .first(conn)
        .await
}

async fn load(conn: &mut AsyncPgConnection, cart_id: i64, user: UserId) -> QueryResult<Cart> {
    let rows: Vec<(i64, i64, i32, BigDecimal, String, Option<String>)> = cart_items::table
        .inner_join(products::table)
        .filter(cart_items::cart_id.eq(cart_id))
        .order(cart_items::id.asc())
        .select((
            cart_items::id,
            cart_items::product_id,
            cart_items::quantity,
            cart_items::unit_price,
            products::name,
            products::image_url,
        ))
        .load(conn)
        .await?;
    Ok(Cart {
        id: cart_id,
        user_id: user,
        items: rows
            .into_iter()
            .map(|(id, product_id, quantity, price, name, image)| CartLine {
                id,
                product_id,
                quantity,
                unit_price: to_money(&price),
                product_name: Some(name),
                product_image: image,
            })
            .collect(),
    })
}

async fn stock_facts(
    conn: &mut AsyncPgConnection,
    product_id: i64,
    warehouse: i64,
) -> QueryResult<StockFacts> {
    let product: Option<(bool, BigDecimal)> = products::table
        .find(product_id)
        .select((products::is_active, products::price))
        .first(conn)
        .await
        .optional()?;
    let Some((active, price)) = product else {
        return Ok(StockFacts {
            product_active: false,
            price: Money::ZERO,
            total_available: 0,
            warehouse_available: 0,
        });
    };
    let total: Option<i64> = inventory::table
        .filter(inventory::product_id.eq(product_id))
        .select(diesel::dsl::sum(inventory::available_quantity))
        .first(conn)
        .await?;
    let at_warehouse: Option<i32> = inventory::table
        .filter(inventory::product_id.eq(product_id))
        .filter(inventory::branch_id.eq(warehouse))
        .select(inventory::available_quantity)
        .first(conn)
        .await
        .optional()?;
    Ok(StockFacts {
        product_active: active,
        price: to_money(&price),
        total_available: total.unwrap_or(0),
        warehouse_available: i64::from(at_warehouse.unwrap_or(0)),
    })
}

fn item_not_found() -> DomainError {
    DomainError::not_found("NOT_FOUND", "Cart item not found")
}

/// Carts in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgCartStore {
    db: Database,
}

impl PgCartStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl CartStore for PgCartStore {
    async fn cart(&self, user: UserId) -> Result<Cart, DomainError> {
        self.db
            .transaction(async |conn| {
                let id = lock_cart(conn, user).await?;
                Ok::<_, Tx<DomainError>>(load(conn, id, user).await?)
            })
            .await
    }

    async fn change_line(
        &self,
        user: UserId,
        warehouse: i64,
        change: LineChange,
        audit_entry: AuditEntry,
    ) -> Result<Cart, DomainError> {
        self.db
            .transaction(async |conn| {
                let cart_id = lock_cart(conn, user).await?;
                let mut entry = match change {
                    LineChange::Add {
                        product_id,
                        quantity,
                    } => {
                        add_line(conn, cart_id, warehouse, product_id, quantity, audit_entry)
                            .await?
                    }
                    LineChange::Set { item_id, quantity } => {
                        set_line(conn, cart_id, warehouse, item_id, quantity, audit_entry).await?
                    }
                };
                entry.target = AuditTarget::Id(cart_id);
                audit::insert(conn, &entry, None).await?;
                Ok::<_, Tx<DomainError>>(load(conn, cart_id, user).await?)
            })
            .await
    }

    async fn remove_line(
        &self,
        user: UserId,
        item_id: i64,
        audit_entry: AuditEntry,
    ) -> Result<Cart, DomainError> {
        self.db
            .transaction(async |conn| {
                let cart_id = lock_cart(conn, user).await?;
                let removed: (i64, i32) = diesel::delete(
                    cart_items::table
                        .filter(cart_items::id.eq(item_id))
                        .filter(cart_items::cart_id.eq(cart_id)),
                )
                .returning((cart_items::product_id, cart_items::quantity))
                .get_result(conn)
                .await
                .optional()?
                .ok_or_else(item_not_found)?;
                let mut entry = audit_entry.with_change(
                    Some(
                        json!({"item_id": item_id, "product_id": removed.0, "quantity": removed.1}),
                    ),
                    None,
                );
                entry.target = AuditTarget::Id(cart_id);
                audit::insert(conn, &entry, None).await?;
                Ok::<_, Tx<DomainError>>(load(conn, cart_id, user).await?)
            })
            .await
    }

    async fn clear(&self, user: UserId, audit_entry: AuditEntry) -> Result<Cart, DomainError> {
        self.db
            .transaction(async |conn| {
                let cart_id = lock_cart(conn, user).await?;
                let removed =
                    diesel::delete(cart_items::table.filter(cart_items::cart_id.eq(cart_id)))
                        .execute(conn)
                        .await?;
                let mut entry = audit_entry.context(json!({"items_removed": removed}));
                entry.target = AuditTarget::Id(cart_id);
                audit::insert(conn, &entry, None).await?;
                Ok::<_, Tx<DomainError>>(load(conn, cart_id, user).await?)
            })
            .await
    }
}

/// Adds `quantity` of `product_id` to the locked cart (a new line, or more of an existing one)
/// and returns `entry` completed with the line before and after.
async fn add_line(
    conn: &mut AsyncPgConnection,
    cart_id: i64,
    warehouse: i64,
    product_id: i64,
    quantity: i32,
    entry: AuditEntry,
) -> Result<AuditEntry, Tx<DomainError>> {
    let existing: Option<(i64, i32)> = cart_items::table
        .filter(cart_items::cart_id.eq(cart_id))
        .filter(cart_items::product_id.eq(product_id))
        .select((cart_items::id, cart_items::quantity))
        .first(conn)
        .await
        .optional()?;
    let facts = stock_facts(conn, product_id, warehouse).await?;
    let old = existing.map_or(0, |(_, q)| q);
    let new_quantity = decide_line(facts, i64::from(old) + i64::from(quantity))?;
    let item_id: i64 = diesel::insert_into(cart_items::table)
        .values((
            cart_items::cart_id.eq(cart_id),
            cart_items::product_id.eq(product_id),
            cart_items::quantity.eq(new_quantity),
            cart_items::unit_price.eq(to_decimal(facts.price)),
        ))
        .on_conflict((cart_items::cart_id, cart_items::product_id))
        .do_update()
        .set((
            cart_items::quantity.eq(new_quantity),
            cart_items::unit_price.eq(to_decimal(facts.price)),
            cart_items::updated_at.eq(Utc::now()),
        ))
        .returning(cart_items::id)
        .get_result(conn)
        .await?;
    let line = |q| json!({"item_id": item_id, "product_id": product_id, "quantity": q});
    Ok(entry
        .with_change(existing.map(|(_, q)| line(q)), Some(line(new_quantity)))
        .context(json!({"added": quantity})))
}

/// Sets the quantity of line `item_id` of the locked cart; returns `entry` completed with the
/// quantity before and after.
async fn set_line(
    conn: &mut AsyncPgConnection,
    cart_id: i64,
    warehouse: i64,
    item_id: i64,
    quantity: i32,
    entry: AuditEntry,
) -> Result<AuditEntry, Tx<DomainError>> {
    let (product_id, old): (i64, i32) = cart_items::table
        .filter(cart_items::id.eq(item_id))
        .filter(cart_items::cart_id.eq(cart_id))
        .select((cart_items::product_id, cart_items::quantity))
        .first(conn)
        .await
        .optional()?
        .ok_or_else(item_not_found)?;
    let facts = stock_facts(conn, product_id, warehouse).await?;
    let new_quantity = decide_line(facts, i64::from(quantity))?;
    diesel::update(cart_items::table.find(item_id))
        .set((
            cart_items::quantity.eq(new_quantity),
            cart_items::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    let line = |q| json!({"item_id": item_id, "quantity": q});
    Ok(entry.with_change(Some(line(old)), Some(line(new_quantity))))
}
