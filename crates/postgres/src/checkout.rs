//! [`CheckoutStore`] on PostgreSQL: the two short transactions around the provider call.

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::{AuditEntry, AuditTarget, RequestContext};
use mami_domain::checkout::{
    Answer, AuthOutcome, Begun, CheckoutRequest, CheckoutStore, Fulfillment, IdempotencyClaim,
    MissingItem, PendingOrder, Preview, declined_body, delivery_fee,
};
use mami_domain::{DomainError, Money};
use serde_json::{Value, json};

use crate::enums::{DbFulfillment, DbIdempotencyStatus, DbOrderStatus, DbPaymentStatus};
use crate::error::Tx;
use crate::money::{to_decimal, to_money};
use crate::schema::{
    branches, cart_items, carts, delivery_slots, idempotency_keys as ik, inventory,
    order_delivery_details, order_items, order_pickup_details, orders, payment_tokens, payments,
    products,
};
use crate::stock::restore_order_stock;
use crate::{Database, audit};

/// How long a request may hold an idempotency key before another may take over its order.
const LEASE: i64 = 30;

fn conflict(code: &'static str, message: &str) -> Tx<DomainError> {
    Tx(DomainError::conflict(code, message))
}

fn bad(code: &'static str, message: &str) -> Tx<DomainError> {
    Tx(DomainError::BadRequest {
        code,
        message: message.into(),
    })
}

fn not_found(code: &'static str, message: &str) -> Tx<DomainError> {
    Tx(DomainError::not_found(code, message))
}

/// A cart line with what checkout needs of its product.
struct Line {
    product_id: i64,
    quantity: i32,
    unit_price: Money,
    name: String,
    sku: String,
    active: bool,
}

/// Checkout in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgCheckoutStore {
    db: Database,
    warehouse: i64,
    provider_name: String,
}

impl PgCheckoutStore {
    pub fn new(db: Database, warehouse: i64, provider_name: impl Into<String>) -> Self {
        Self {
            db,
            warehouse,
            provider_name: provider_name.into(),
        }
    }

    /// The fulfilling branch: the warehouse for delivery, the chosen active branch for pickup.
    async fn branch(
        &self,
        conn: &mut AsyncPgConnection,
        request: &CheckoutRequest,
    ) -> Result<i64, Tx<DomainError>> {
        match request.fulfillment {
            Fulfillment::Delivery => {
                let found: Option<i64> = branches::table
                    .find(self.warehouse)
                    .select(branches::id)
                    .first(conn)
                    .await
                    .optional()?;
                found.ok_or_else(|| {
                    not_found("CONFIG_ERROR", "The delivery source branch does not exist")
                })
            }
            Fulfillment::Pickup => {
                let id = request
                    .branch_id
                    .ok_or_else(|| bad("BAD_REQUEST", "Branch is required for pickup"))?;
                let active: Option<bool> = branches::table
                    .find(id)
                    .select(branches::is_active)
                    .first(conn)
                    .await
                    .optional()?;
                match active {
                    Some(true) => Ok(id),
                    _ => Err(not_found("NOT_FOUND", "Branch not found")),
                }
            }
        }
    }

    /// The caller's cart (locked when `lock`), or 404.
    async fn cart(
        conn: &mut AsyncPgConnection,
        request: &CheckoutRequest,
        lock: bool,
    ) -> Result<i64, Tx<DomainError>> {
        let q = carts::table
            .filter(carts::id.eq(request.cart_id))
            .filter(carts::user_id.eq(request.user.0))
            .select(carts::id);
        let found: Option<i64> = if lock {
            q.for_update().first(conn).await.optional()?
        } else {
            q.first(conn).await.optional()?
        };
        found.ok_or_else(|| not_found("NOT_FOUND", "Cart not found"))
    }

    async fn lines(conn: &mut AsyncPgConnection, cart_id: i64) -> QueryResult<Vec<Line>> {
        let rows: Vec<(i64, i32, BigDecimal, String, String, bool)> = cart_items::table
            .inner_join(products::table)
            .filter(cart_items::cart_id.eq(cart_id))
            .order(cart_items::product_id.asc())
            .select((
                cart_items::product_id,
                cart_items::quantity,
                cart_items::unit_price,
                products::name,
                products::sku,
                products::is_active,
            ))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(product_id, quantity, price, name, sku, active)| Line {
                product_id,
                quantity,
                unit_price: to_money(&price),
                name,
                sku,
                active,
            })
            .collect())
    }

    /// Locks the inventory rows of `products` at `branch` in id order: `(row id, product, available)`.
    async fn lock_stock(
        conn: &mut AsyncPgConnection,
        branch: i64,
        product_ids: &[i64],
    ) -> QueryResult<Vec<(i64, i64, i32)>> {
        inventory::table
            .filter(inventory::branch_id.eq(branch))
            .filter(inventory::product_id.eq_any(product_ids))
            .order(inventory::id.asc())
            .select((
                inventory::id,
                inventory::product_id,
                inventory::available_quantity,
            ))
            .for_update()
            .load(conn)
            .await
    }

    fn missing(lines: &[Line], stock: &[(i64, i64, i32)]) -> Vec<MissingItem> {
        lines
            .iter()
            .filter_map(|l| {
                let available = stock
                    .iter()
                    .find(|s| s.1 == l.product_id)
                    .map_or(0, |s| i64::from(s.2));
                (available < i64::from(l.quantity)).then_some(MissingItem {
                    product_id: l.product_id,
                    requested_quantity: i64::from(l.quantity),
                    available_quantity: available,
                })
            })
            .collect()
    }
}

/// The next concrete occurrence of a weekly slot (UTC), from now.
fn next_occurrence(
    day_of_week: i16,
    start: NaiveTime,
    end: NaiveTime,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = i64::from(now.weekday().num_days_from_sunday());
    let mut days = (i64::from(day_of_week) - today).rem_euclid(7);
    if days == 0 && now.time() >= start {
        days = 7;
    }
    let date = now.date_naive() + Duration::days(days);
    (date.and_time(start).and_utc(), date.and_time(end).and_utc())
}

fn success_body(order_id: i64, order_number: &str, total: Money, reference: &str) -> Value {
    json!({"data": {"order_id": order_id, "order_number": order_number, "total_paid": total.to_string(), "payment_reference": reference}})
}

#[async_trait]
impl CheckoutStore for PgCheckoutStore {
    async fn preview(
        &self,
        request: CheckoutRequest,
        delivery_min: Money,
        fee: Money,
    ) -> Result<Preview, DomainError> {
        self.db
            .transaction(async |conn| {
                let branch = self.branch(conn, &request).await?;
                let cart_id = Self::cart(conn, &request, false).await?;
                let lines = Self::lines(conn, cart_id).await?;
                let ids: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
                let stock: Vec<(i64, i64, i32)> = inventory::table
                    .filter(inventory::branch_id.eq(branch))
                    .filter(inventory::product_id.eq_any(&ids))
                    .select((
                        inventory::id,
                        inventory::product_id,
                        inventory::available_quantity,
                    ))
                    .load(conn)
                    .await?;
                let cart_total = Money(
                    lines
                        .iter()
                        .map(|l| l.unit_price.minor() * i64::from(l.quantity))
                        .sum(),
                );
                Ok::<_, Tx<DomainError>>(Preview {
                    cart_total,
                    delivery_fee: delivery_fee(request.fulfillment, cart_total, delivery_min, fee),
                    missing_items: Self::missing(&lines, &stock),
                    fulfillment: request.fulfillment,
                })
            })
            .await
    }

    async fn begin(
        &self,
        request: CheckoutRequest,
        payment_token_id: i64,
        claim: IdempotencyClaim,
        delivery_min: Money,
        fee: Money,
        ctx: RequestContext,
    ) -> Result<Begun, DomainError> {
        self.db.transaction(async |conn| {
            let now = Utc::now();
            let user = request.user.0;
            // 1. Claim the key, or find what it already holds.
            let claimed: Option<i64> = diesel::insert_into(ik::table)
                .values((
                    ik::user_id.eq(user),
                    ik::key.eq(&claim.key),
                    ik::request_hash.eq(&claim.request_hash),
                    ik::expires_at.eq(now + Duration::hours(24)),
                ))
                .on_conflict((ik::user_id, ik::key))
                .do_nothing()
                .returning(ik::id)
                .get_result(conn)
                .await
                .optional()?;
            let key_id = match claimed {
                Some(id) => id,
                None => {
                    type KeyRow = (i64, String, DbIdempotencyStatus, Option<Value>, Option<i32>, Option<i64>, DateTime<Utc>, DateTime<Utc>);
                    let row: KeyRow = ik::table
                        .filter(ik::user_id.eq(user))
                        .filter(ik::key.eq(&claim.key))
                        .select((ik::id, ik::request_hash, ik::status, ik::response_payload, ik::status_code, ik::order_id, ik::expires_at, ik::updated_at))
                        .for_update()
                        .first(conn)
                        .await?;
                    let (id, hash, status, payload, code, order_id, expires_at, updated_at) = row;
                    if expires_at < now {
                        // An expired key starts afresh.
                        diesel::update(ik::table.find(id))
                            .set((
                                ik::request_hash.eq(&claim.request_hash),
                                ik::status.eq(DbIdempotencyStatus::InProgress),
                                ik::response_payload.eq(None::<Value>),
                                ik::status_code.eq(None::<i32>),
                                ik::order_id.eq(None::<i64>),
                                ik::expires_at.eq(now + Duration::hours(24)),
                                ik::updated_at.eq(now),
                            ))
                            .execute(conn)
                            .await?;
                        id
                    } else if hash != claim.request_hash {
                        return Err(conflict("IDEMPOTENCY_KEY_REUSE_MISMATCH", "Same Idempotency-Key used with different request payload"));
                    } else if let (Some(body), Some(status), false) = (payload, code, status == DbIdempotencyStatus::InProgress) {
                        return Ok(Begun::Replay { status: u16::try_from(status).unwrap_or(200), body });
                    } else if updated_at > now - Duration::seconds(LEASE) {
                        return Err(conflict("IDEMPOTENCY_IN_PROGRESS", "This request is already being processed"));
                    } else if let Some(order_id) = order_id {
                        // The earlier attempt's authorization outcome is unknown: take the order over.
                        diesel::update(ik::table.find(id)).set(ik::updated_at.eq(now)).execute(conn).await?;
                        let (number, total, pm, key): (String, BigDecimal, String, String) = orders::table
                            .inner_join(payments::table.on(payments::order_id.eq(orders::id)))
                            .inner_join(payment_tokens::table.on(payment_tokens::id.nullable().eq(orders::payment_token_id)))
                            .filter(orders::id.eq(order_id))
                            .select((orders::order_number, orders::total_amount, payment_tokens::provider_token, payments::provider_idempotency_key))
                            .first(conn)
                            .await?;
                        return Ok(Begun::Authorize(PendingOrder { order_id, order_number: number, total: to_money(&total), payment_method: pm, provider_key: key }));
                    } else {
                        return Err(conflict("IDEMPOTENCY_IN_PROGRESS", "This request is already being processed"));
                    }
                }
            };

            // 2. Branch, cart, slot, payment token.
            let branch = self.branch(conn, &request).await?;
            let cart_id = Self::cart(conn, &request, true).await?;
            let mut slot_window = None;
            if request.fulfillment == Fulfillment::Delivery {
                let slot_id = request.delivery_slot_id.ok_or_else(|| bad("BAD_REQUEST", "Delivery slot is required for delivery"))?;
                let slot: Option<(i64, i16, NaiveTime, NaiveTime, bool)> = delivery_slots::table
                    .find(slot_id)
                    .select((delivery_slots::branch_id, delivery_slots::day_of_week, delivery_slots::start_time, delivery_slots::end_time, delivery_slots::is_active))
                    .first(conn)
                    .await
                    .optional()?;
                let Some((slot_branch, day, start, end, true)) = slot else {
                    return Err(not_found("NOT_FOUND", "Delivery slot not found"));
                };
                if slot_branch != branch {
                    return Err(bad("INVALID_SLOT", "Delivery slot does not belong to delivery branch"));
                }
                slot_window = Some((slot_id, next_occurrence(day, start, end, now)));
            }
            let token: Option<(i64, String, bool)> = payment_tokens::table
                .filter(payment_tokens::id.eq(payment_token_id))
                .filter(payment_tokens::user_id.eq(user))
                .select((payment_tokens::id, payment_tokens::provider_token, payment_tokens::is_active))
                .first(conn)
                .await
                .optional()?;
            let payment_method = match token {
                Some((_, pm, true)) => pm,
                Some((_, _, false)) => return Err(bad("PAYMENT_TOKEN_INACTIVE", "Payment token is inactive")),
                None => return Err(not_found("PAYMENT_TOKEN_NOT_FOUND", "Payment token not found")),
            };

            // 3. The cart's lines, then stock under row locks (ascending id: no deadlocks).
            let lines = Self::lines(conn, cart_id).await?;
            if lines.is_empty() {
                return Err(bad("CART_EMPTY", "The cart is empty"));
            }
            let inactive: Vec<i64> = lines.iter().filter(|l| !l.active).map(|l| l.product_id).collect();
            if !inactive.is_empty() {
                return Err(Tx(DomainError::Conflict {
                    code: "PRODUCT_INACTIVE",
                    message: "Some products are no longer sold".into(),
                    details: json!({ "product_ids": inactive }),
                }));
            }
            let ids: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
            let stock = Self::lock_stock(conn, branch, &ids).await?;
            let missing = Self::missing(&lines, &stock);
            if !missing.is_empty() {
                return Err(Tx(DomainError::Conflict {
                    code: "INSUFFICIENT_STOCK",
                    message: "Insufficient stock for items".into(),
                    details: json!({ "missing": missing }),
                }));
            }

            // 4. The order.
            let subtotal = Money(lines.iter().map(|l| l.unit_price.minor() * i64::from(l.quantity)).sum());
            let fee_amount = delivery_fee(request.fulfillment, subtotal, delivery_min, fee).unwrap_or(Money::ZERO);
            let total = Money(subtotal.minor() + fee_amount.minor());
            let number = format!("ORD-{}-{}", now.format("%Y%m%d"), &uuid::Uuid::new_v4().simple().to_string()[..8].to_ascii_uppercase());
            let fulfillment = match request.fulfillment {
                Fulfillment::Delivery => DbFulfillment::Delivery,
                Fulfillment::Pickup => DbFulfillment::Pickup,
            };
            let order_id: i64 = diesel::insert_into(orders::table)
                .values((
                    orders::order_number.eq(&number),
                    orders::user_id.eq(user),
                    orders::subtotal_amount.eq(to_decimal(subtotal)),
                    orders::delivery_fee.eq(to_decimal(fee_amount)),
                    orders::total_amount.eq(to_decimal(total)),
                    orders::fulfillment_type.eq(fulfillment),
                    orders::status.eq(DbOrderStatus::Created),
                    orders::payment_status.eq(DbPaymentStatus::Pending),
                    orders::branch_id.eq(branch),
                    orders::payment_token_id.eq(payment_token_id),
                ))
                .returning(orders::id)
                .get_result(conn)
                .await?;
            let items: Vec<_> = lines
                .iter()
                .map(|l| {
                    (
                        order_items::order_id.eq(order_id),
                        order_items::product_id.eq(l.product_id),
                        order_items::name.eq(l.name.clone()),
                        order_items::sku.eq(l.sku.clone()),
                        order_items::unit_price.eq(to_decimal(l.unit_price)),
                        order_items::quantity.eq(l.quantity),
                    )
                })
                .collect();
            diesel::insert_into(order_items::table).values(&items).execute(conn).await?;
            match slot_window {
                Some((slot_id, (start, end))) => {
                    diesel::insert_into(order_delivery_details::table)
                        .values((
                            order_delivery_details::order_id.eq(order_id),
                            order_delivery_details::delivery_slot_id.eq(slot_id),
                            order_delivery_details::address.eq(request.address.clone().unwrap_or_default()),
                            order_delivery_details::slot_start.eq(start),
                            order_delivery_details::slot_end.eq(end),
                        ))
                        .execute(conn)
                        .await?;
                }
                None => {
                    diesel::insert_into(order_pickup_details::table)
                        .values((
                            order_pickup_details::order_id.eq(order_id),
                            order_pickup_details::branch_id.eq(branch),
                            order_pickup_details::pickup_window_start.eq(now),
                            order_pickup_details::pickup_window_end.eq(now + Duration::hours(2)),
                        ))
                        .execute(conn)
                        .await?;
                }
            }
            for (row_id, product_id, available) in &stock {
                let qty = lines.iter().find(|l| l.product_id == *product_id).map_or(0, |l| l.quantity);
                diesel::update(inventory::table.find(row_id))
                    .set((inventory::available_quantity.eq(inventory::available_quantity - qty), inventory::updated_at.eq(now)))
                    .execute(conn)
                    .await?;
                let entry = AuditEntry::new(&ctx, "inventory", AuditTarget::Id(*row_id), "DECREMENT")
                    .with_change(Some(json!({"available_quantity": available})), Some(json!({"available_quantity": available - qty})))
                    .context(json!({"order_id": order_id, "branch_id": branch, "product_id": product_id}));
                audit::insert(conn, &entry, None).await?;
            }
            let provider_key = format!("mami-order-{order_id}-auth");
            diesel::insert_into(payments::table)
                .values((
                    payments::order_id.eq(order_id),
                    payments::payment_token_id.eq(payment_token_id),
                    payments::provider.eq(&self.provider_name),
                    payments::provider_idempotency_key.eq(&provider_key),
                    payments::amount_authorized.eq(to_decimal(total)),
                ))
                .execute(conn)
                .await?;
            diesel::update(ik::table.find(key_id)).set((ik::order_id.eq(order_id), ik::updated_at.eq(now))).execute(conn).await?;
            let entry = AuditEntry::new(&ctx, "order", AuditTarget::Id(order_id), "CREATE").new_value(json!({
                "order_number": number, "total_amount": total.to_string(), "fulfillment_type": request.fulfillment.as_str(),
                "branch_id": branch, "items": lines.len(), "payment_status": "PENDING",
            }));
            audit::insert(conn, &entry, None).await?;
            Ok::<_, Tx<DomainError>>(Begun::Authorize(PendingOrder { order_id, order_number: number, total, payment_method, provider_key }))
        })
        .await
    }

    async fn complete(
        &self,
        order_id: i64,
        outcome: AuthOutcome,
        ctx: RequestContext,
    ) -> Result<Answer, DomainError> {
        self.db.transaction(async |conn| {
            let now = Utc::now();
            let (number, total, payment_status, user, branch): (String, BigDecimal, DbPaymentStatus, i64, Option<i64>) = orders::table
                .find(order_id)
                .select((orders::order_number, orders::total_amount, orders::payment_status, orders::user_id, orders::branch_id))
                .for_update()
                .first(conn)
                .await?;
            let total = to_money(&total);
            let key_id: Option<i64> = ik::table.filter(ik::order_id.eq(order_id)).select(ik::id).first(conn).await.optional()?;
            let reference: Option<String> = payments::table
                .filter(payments::order_id.eq(order_id))
                .select(payments::provider_payment_id)
                .first(conn)
                .await?;
            // Already settled (a concurrent retry or the reconciler): answer from the state.
            match payment_status {
                DbPaymentStatus::Pending => {}
                DbPaymentStatus::Declined | DbPaymentStatus::Failed => {
                    return Ok(Answer { status: 402, body: declined_body("card_declined", "", order_id) });
                }
                _ => return Ok(Answer { status: 201, body: success_body(order_id, &number, total, reference.as_deref().unwrap_or("")) }),
            }
            let answer = match outcome {
                AuthOutcome::Authorized { intent_id } => {
                    diesel::update(payments::table.filter(payments::order_id.eq(order_id)))
                        .set((payments::status.eq(DbPaymentStatus::Authorized), payments::provider_payment_id.eq(&intent_id), payments::updated_at.eq(now)))
                        .execute(conn)
                        .await?;
                    diesel::update(orders::table.find(order_id))
                        .set((orders::payment_status.eq(DbPaymentStatus::Authorized), orders::updated_at.eq(now)))
                        .execute(conn)
                        .await?;
                    // The ordered products leave the cart.
                    let ordered: Vec<i64> = order_items::table.filter(order_items::order_id.eq(order_id)).select(order_items::product_id).load(conn).await?;
                    let cart: Option<i64> = carts::table.filter(carts::user_id.eq(user)).select(carts::id).first(conn).await.optional()?;
                    if let Some(cart) = cart {
                        diesel::delete(cart_items::table.filter(cart_items::cart_id.eq(cart)).filter(cart_items::product_id.eq_any(&ordered)))
                            .execute(conn)
                            .await?;
                    }
                    let entry = AuditEntry::new(&ctx, "payment", AuditTarget::Id(order_id), "AUTHORIZED")
                        .with_change(Some(json!({"payment_status": "PENDING"})), Some(json!({"payment_status": "AUTHORIZED", "amount": total.to_string(), "provider_payment_id": intent_id})));
                    audit::insert(conn, &entry, None).await?;
                    Answer { status: 201, body: success_body(order_id, &number, total, &intent_id) }
                }
                AuthOutcome::Declined { code, message } => {
                    restore_order_stock(conn, order_id, branch.unwrap_or(self.warehouse), &ctx, "PAYMENT_DECLINED").await?;
                    diesel::update(payments::table.filter(payments::order_id.eq(order_id)))
                        .set((payments::status.eq(DbPaymentStatus::Declined), payments::failure_code.eq(&code), payments::updated_at.eq(now)))
                        .execute(conn)
                        .await?;
                    diesel::update(orders::table.find(order_id))
                        .set((orders::status.eq(DbOrderStatus::Canceled), orders::payment_status.eq(DbPaymentStatus::Declined), orders::updated_at.eq(now)))
                        .execute(conn)
                        .await?;
                    let entry = AuditEntry::new(&ctx, "payment", AuditTarget::Id(order_id), "DECLINED")
                        .with_change(Some(json!({"payment_status": "PENDING", "status": "CREATED"})), Some(json!({"payment_status": "DECLINED", "status": "CANCELED"})))
                        .context(json!({"decline_code": code}));
                    audit::insert(conn, &entry, None).await?;
                    Answer { status: 402, body: declined_body(&code, &message, order_id) }
                }
                AuthOutcome::Unknown { reason } => {
                    // Release the key at once: a retry (or the reconciler) settles the order.
                    if let Some(k) = key_id {
                        diesel::update(ik::table.find(k)).set(ik::updated_at.eq(DateTime::<Utc>::UNIX_EPOCH)).execute(conn).await?;
                    }
                    let entry = AuditEntry::new(&ctx, "payment", AuditTarget::Id(order_id), "AUTHORIZATION_UNKNOWN").context(json!({"reason": reason}));
                    audit::insert(conn, &entry, None).await?;
                    let body = json!({"error": {"code": "PAYMENT_UNAVAILABLE", "message": "The payment could not be confirmed; retry with the same Idempotency-Key",
                        "status_code": 503, "details": {"order_id": order_id}}});
                    return Ok::<_, Tx<DomainError>>(Answer { status: 503, body });
                }
            };
            if let Some(k) = key_id {
                let status = if answer.status == 201 { DbIdempotencyStatus::Succeeded } else { DbIdempotencyStatus::Failed };
                diesel::update(ik::table.find(k))
                    .set((ik::status.eq(status), ik::response_payload.eq(&answer.body), ik::status_code.eq(i32::from(answer.status)), ik::updated_at.eq(now)))
                    .execute(conn)
                    .await?;
            }
            Ok(answer)
        })
        .await
    }
}
