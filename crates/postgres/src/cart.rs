//! [`CartStore`] on PostgreSQL: every change locks the user's cart row first.

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Numeric, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::{AuditEntry, AuditTarget};
use mami_domain::cart::{Cart, CartLine, CartStore, LineChange, StockFacts, decide_line};
use mami_domain::identity::UserId;
use mami_domain::{DomainError, Money};
use serde_json::json;

use crate::error::{FromDb, Tx};
use crate::money::{DbMoney, to_decimal, to_money};
use crate::schema::{cart_items, carts, inventory, products};
use crate::sql::prepared;
use crate::{Database, audit};

/// One row of [`CART_ROWS`]: the cart, one of its lines (none for an empty cart) and, when a
/// product was named, that product's facts.
#[derive(QueryableByName)]
struct CartRow {
    #[diesel(sql_type = BigInt)]
    cart_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    item_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    item_product: Option<i64>,
    #[diesel(sql_type = Nullable<Integer>)]
    item_quantity: Option<i32>,
    #[diesel(sql_type = Nullable<Numeric>)]
    item_price: Option<DbMoney>,
    #[diesel(sql_type = Nullable<Text>)]
    item_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    item_image: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    active: Option<bool>,
    #[diesel(sql_type = Nullable<Numeric>)]
    price: Option<DbMoney>,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    image: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    total: Option<i64>,
    #[diesel(sql_type = Nullable<Integer>)]
    at_warehouse: Option<i32>,
}

/// The user's (`$1`) cart with its lines in id order and the facts of product `$2` (none for
/// 0) as stocked overall and at branch `$3`: one statement, so that reading a cart or adding
/// to it needs no other read.
const CART_ROWS: &str = "SELECT c.id AS cart_id, ci.id AS item_id, ci.product_id AS item_product, \
     ci.quantity AS item_quantity, ci.unit_price AS item_price, lp.name AS item_name, \
     lp.image_url AS item_image, p.is_active AS active, p.price, p.name, p.image_url AS image, \
     (SELECT sum(available_quantity) FROM inventory WHERE product_id = $2)::bigint AS total, \
     (SELECT available_quantity FROM inventory WHERE product_id = $2 AND branch_id = $3) \
     AS at_warehouse \
     FROM carts c LEFT JOIN products p ON p.id = $2 \
     LEFT JOIN cart_items ci ON ci.cart_id = c.id LEFT JOIN products lp ON lp.id = ci.product_id \
     WHERE c.user_id = $1 ORDER BY ci.id";

/// The cart and the product's facts as one read found them.
struct Found {
    cart: Cart,
    facts: StockFacts,
    product_name: Option<String>,
    product_image: Option<String>,
}

/// Reads [`CART_ROWS`]; `None` when the user has no cart yet. One statement sees one
/// snapshot: a caller that locks the cart does so in an earlier statement, so that what it
/// reads here is what the lock protects.
async fn read_cart(
    conn: &mut AsyncPgConnection,
    user: UserId,
    product: Option<(i64, i64)>,
) -> QueryResult<Option<Found>> {
    let (product_id, warehouse) = product.unwrap_or((0, 0));
    let rows: Vec<CartRow> = prepared(
        diesel::sql_query(CART_ROWS)
            .bind::<BigInt, _>(user.0)
            .bind::<BigInt, _>(product_id)
            .bind::<BigInt, _>(warehouse),
    )
    .load(conn)
    .await?;
    let Some(first) = <[CartRow]>::first(&rows) else {
        return Ok(None);
    };
    let facts = StockFacts {
        product_active: first.active.unwrap_or(false),
        price: first.price.map_or(Money::ZERO, |m| m.0),
        total_available: first.total.unwrap_or(0),
        warehouse_available: i64::from(first.at_warehouse.unwrap_or(0)),
    };
    let (product_name, product_image) = (first.name.clone(), first.image.clone());
    let cart_id = first.cart_id;
    let items = rows.into_iter().filter_map(|r| {
        Some(CartLine {
            id: r.item_id?,
            product_id: r.item_product?,
            quantity: r.item_quantity?,
            unit_price: r.item_price?.0,
            product_name: r.item_name,
            product_image: r.item_image,
        })
    });
    Ok(Some(Found {
        cart: Cart {
            id: cart_id,
            user_id: user,
            items: items.collect(),
        },
        facts,
        product_name,
        product_image,
    }))
}

/// Creates the user's cart if it is missing (no statement waits on a lock for it).
async fn create_cart(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<()> {
    diesel::insert_into(carts::table)
        .values(carts::user_id.eq(user.0))
        .on_conflict(carts::user_id)
        .do_nothing()
        .execute(conn)
        .await
        .map(|_| ())
}

/// [`read_cart`], creating the cart first when the user has none.
async fn cart_with(
    conn: &mut AsyncPgConnection,
    user: UserId,
    product: Option<(i64, i64)>,
) -> QueryResult<Found> {
    if let Some(found) = read_cart(conn, user, product).await? {
        return Ok(found);
    }
    create_cart(conn, user).await?;
    read_cart(conn, user, product)
        .await?
        .ok_or(diesel::result::Error::NotFound)
}

async fn locked_cart(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Option<i64>> {
    carts::table
        .filter(carts::user_id.eq(user.0))
        .select(carts::id)
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The user's cart id, created if missing, locked until the transaction ends.
async fn lock_cart(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<i64> {
    if let Some(id) = locked_cart(conn, user).await? {
        return Ok(id);
    }
    create_cart(conn, user).await?;
    locked_cart(conn, user)
        .await?
        .ok_or(diesel::result::Error::NotFound)
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
    /// One statement, no transaction: a read takes no lock (a missing cart is created first,
    /// as the reference does, since its id is part of the answer).
    async fn cart(&self, user: UserId) -> Result<Cart, DomainError> {
        let mut conn = self.db.conn().await?;
        let found = cart_with(&mut conn, user, None).await;
        Ok(found.map_err(DomainError::from_db)?.cart)
    }

    async fn change_line(
        &self,
        user: UserId,
        warehouse: i64,
        change: LineChange,
        audit_entry: AuditEntry,
    ) -> Result<Cart, DomainError> {
        let (item_id, quantity) = match change {
            LineChange::Add {
                product_id,
                quantity,
            } => {
                let add = (product_id, quantity, warehouse);
                return self
                    .db
                    .transaction(async |conn| add_line(conn, user, add, audit_entry).await)
                    .await;
            }
            LineChange::Set { item_id, quantity } => (item_id, quantity),
        };
        self.db
            .transaction(async |conn| {
                let cart_id = lock_cart(conn, user).await?;
                let mut entry =
                    set_line(conn, cart_id, warehouse, item_id, quantity, audit_entry).await?;
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
                // Emptied under its lock: nothing to read back.
                Ok::<_, Tx<DomainError>>(Cart {
                    id: cart_id,
                    user_id: user,
                    items: Vec::new(),
                })
            })
            .await
    }
}

/// Adds `quantity` of `product_id` to the user's cart (a new line, or more of an existing
/// one): the cart is locked, then read with the product's facts in one statement; the line
/// is audited before and after. The answer is the cart as read with the decided line in
/// place: no read after the write.
async fn add_line(
    conn: &mut AsyncPgConnection,
    user: UserId,
    (product_id, quantity, warehouse): (i64, i32, i64),
    entry: AuditEntry,
) -> Result<Cart, Tx<DomainError>> {
    let Found {
        mut cart,
        facts,
        product_name,
        product_image,
    } = {
        lock_cart(conn, user).await?;
        cart_with(conn, user, Some((product_id, warehouse))).await?
    };
    let existing = cart.items.iter().position(|l| l.product_id == product_id);
    let old = existing.map(|i| cart.items[i].quantity);
    let new_quantity = decide_line(facts, i64::from(old.unwrap_or(0)) + i64::from(quantity))?;
    let item_id: i64 = prepared(
        diesel::insert_into(cart_items::table)
            .values((
                cart_items::cart_id.eq(cart.id),
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
            .returning(cart_items::id),
    )
    .get_result(conn)
    .await?;
    let line = |q| json!({"item_id": item_id, "product_id": product_id, "quantity": q});
    let mut entry = entry
        .with_change(old.map(line), Some(line(new_quantity)))
        .context(json!({"added": quantity}));
    entry.target = AuditTarget::Id(cart.id);
    audit::insert(conn, &entry, None).await?;
    match existing.and_then(|i| cart.items.get_mut(i)) {
        Some(l) => {
            l.quantity = new_quantity;
            l.unit_price = facts.price;
        }
        // Ids grow, so the new line is the last one, as a read would order it.
        None => cart.items.push(CartLine {
            id: item_id,
            product_id,
            quantity: new_quantity,
            unit_price: facts.price,
            product_name,
            product_image,
        }),
    }
    Ok(cart)
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
    prepared(diesel::update(cart_items::table.find(item_id)).set((
        cart_items::quantity.eq(new_quantity),
        cart_items::updated_at.eq(Utc::now()),
    )))
    .execute(conn)
    .await?;
    let line = |q| json!({"item_id": item_id, "quantity": q});
    Ok(entry.with_change(Some(line(old)), Some(line(new_quantity))))
}
