//! [`OrderStore`] on PostgreSQL.

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::RequestContext;
use mami_domain::identity::UserId;
use mami_domain::orders::{
    CancelFacts, Canceled, DeliveryInfo, Order, OrderError, OrderItem, OrderStore, PickupInfo,
    decide_cancel,
};
use mami_domain::payments::ledger::MoneyStep;

use crate::enums::{DbFulfillment, DbOrderStatus, DbPaymentStatus, DbPickedStatus};
use crate::error::{Tx, infra};
use crate::money::to_money;
use crate::schema::{
    order_delivery_details as odd, order_items, order_pickup_details as opd, orders, payments,
};
use crate::stock::restore_order_stock;
use crate::{Database, audit};

/// An order's own columns, as [`head_columns!`] selects them.
pub(crate) type Head = (
    i64,
    String,
    DbOrderStatus,
    DbPaymentStatus,
    DbFulfillment,
    Option<i64>,
    BigDecimal,
    BigDecimal,
    BigDecimal,
    DateTime<Utc>,
);

type ItemRow = (
    i64,
    i64,
    i64,
    String,
    String,
    BigDecimal,
    i32,
    DbPickedStatus,
    (Option<i64>, Option<DateTime<Utc>>, Option<DateTime<Utc>>),
);
type DeliveryRow = (
    i64,
    Option<i64>,
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);
type PickupRow = (i64, i64, DateTime<Utc>, DateTime<Utc>);

/// The columns of [`Head`].
macro_rules! head_columns {
    () => {
        (
            $crate::schema::orders::id,
            $crate::schema::orders::order_number,
            $crate::schema::orders::status,
            $crate::schema::orders::payment_status,
            $crate::schema::orders::fulfillment_type,
            $crate::schema::orders::branch_id,
            $crate::schema::orders::subtotal_amount,
            $crate::schema::orders::delivery_fee,
            $crate::schema::orders::total_amount,
            $crate::schema::orders::created_at,
        )
    };
}
pub(crate) use head_columns;

fn item(i: &ItemRow) -> OrderItem {
    OrderItem {
        id: i.1,
        product_id: i.2,
        name: i.3.clone(),
        sku: i.4.clone(),
        unit_price: to_money(&i.5),
        quantity: i.6,
        picked_status: i.7.into(),
        picked_by: i.8.0,
        picked_at: i.8.1,
        removed: i.8.2.is_some(),
    }
}

type DetailRow = (i64, Option<ItemRow>, Option<DeliveryRow>, Option<PickupRow>);

/// The lines and fulfilment details of orders `ids`.
async fn lines_and_details(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<Vec<DetailRow>> {
    // Lines and fulfilment details (at most one delivery and one pickup row per order) in one
    // read: a row per line, with its order's details beside it.
    orders::table
        .left_join(order_items::table)
        .left_join(odd::table.on(odd::order_id.eq(orders::id)))
        .left_join(opd::table.on(opd::order_id.eq(orders::id)))
        .filter(orders::id.eq_any(ids))
        .order(order_items::id.asc())
        .select((
            orders::id,
            (
                order_items::order_id,
                order_items::id,
                order_items::product_id,
                order_items::name,
                order_items::sku,
                order_items::unit_price,
                order_items::quantity,
                order_items::picked_status,
                (
                    order_items::picked_by,
                    order_items::picked_at,
                    order_items::removed_at,
                ),
            )
                .nullable(),
            (
                odd::order_id,
                odd::delivery_slot_id,
                odd::address,
                odd::slot_start,
                odd::slot_end,
            )
                .nullable(),
            (
                opd::order_id,
                opd::branch_id,
                opd::pickup_window_start,
                opd::pickup_window_end,
            )
                .nullable(),
        ))
        .load(conn)
        .await
}

/// The orders of `heads` with their items and fulfilment details, in the heads' order.
pub(crate) async fn assemble(
    conn: &mut AsyncPgConnection,
    heads: Vec<Head>,
) -> QueryResult<Vec<Order>> {
    let ids: Vec<i64> = heads.iter().map(|h| h.0).collect();
    let rows = lines_and_details(conn, &ids).await?;
    let items: Vec<&ItemRow> = rows.iter().filter_map(|r| r.1.as_ref()).collect();
    let deliveries: Vec<&DeliveryRow> = rows.iter().filter_map(|r| r.2.as_ref()).collect();
    let pickups: Vec<&PickupRow> = rows.iter().filter_map(|r| r.3.as_ref()).collect();
    Ok(heads
        .into_iter()
        .map(|h| Order {
            id: h.0,
            order_number: h.1,
            status: h.2.into(),
            payment_status: h.3.into(),
            fulfillment_type: h.4.into(),
            branch_id: h.5,
            subtotal_amount: to_money(&h.6),
            delivery_fee: to_money(&h.7),
            total_amount: to_money(&h.8),
            created_at: h.9,
            items: items
                .iter()
                .filter(|i| i.0 == h.0)
                .map(|i| item(i))
                .collect(),
            delivery: deliveries
                .iter()
                .find(|d| d.0 == h.0)
                .map(|d| DeliveryInfo {
                    delivery_slot_id: d.1,
                    address: d.2.clone(),
                    slot_start: d.3,
                    slot_end: d.4,
                }),
            pickup: pickups.iter().find(|p| p.0 == h.0).map(|p| PickupInfo {
                branch_id: p.1,
                window_start: p.2,
                window_end: p.3,
            }),
        })
        .collect())
}

/// Orders in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgOrderStore {
    db: Database,
}

impl PgOrderStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl OrderStore for PgOrderStore {
    async fn list(
        &self,
        user: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Order>, i64), OrderError> {
        let mut conn = self.db.conn().await?;
        let total: i64 = orders::table
            .filter(orders::user_id.eq(user.0))
            .count()
            .get_result(&mut conn)
            .await
            .map_err(infra)?;
        let heads: Vec<Head> = orders::table
            .filter(orders::user_id.eq(user.0))
            .order((orders::created_at.desc(), orders::id.desc()))
            .limit(limit)
            .offset(offset)
            .select(head_columns!())
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok((assemble(&mut conn, heads).await.map_err(infra)?, total))
    }

    async fn get(&self, user: UserId, id: i64) -> Result<Option<Order>, OrderError> {
        let mut conn = self.db.conn().await?;
        let heads: Vec<Head> = orders::table
            .filter(orders::id.eq(id))
            .filter(orders::user_id.eq(user.0))
            .select(head_columns!())
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok(assemble(&mut conn, heads).await.map_err(infra)?.pop())
    }

    async fn cancel(
        &self,
        user: UserId,
        id: i64,
        ctx: RequestContext,
    ) -> Result<Canceled, OrderError> {
        self.db
            .transaction(async |conn| {
                let now = Utc::now();
                let row: Option<(DbOrderStatus, DbPaymentStatus, Option<i64>)> = orders::table
                    .filter(orders::id.eq(id))
                    .filter(orders::user_id.eq(user.0))
                    .select((orders::status, orders::payment_status, orders::branch_id))
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                let facts = row.map(|(status, payment_status, branch_id)| CancelFacts {
                    order_id: id,
                    status: status.into(),
                    payment_status: payment_status.into(),
                    branch_id,
                });
                let plan = decide_cancel(facts, &ctx, now)?;
                restore_order_stock(conn, id, plan.branch_id, &ctx, "ORDER_CANCELED").await?;
                diesel::update(orders::table.find(id))
                    .set((
                        orders::status.eq(DbOrderStatus::Canceled),
                        orders::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                audit::insert(conn, &plan.audit, None).await?;
                let intent: Option<String> = if plan.void {
                    // The void is on its way: the reconciler leaves it to this request.
                    diesel::update(payments::table.filter(payments::order_id.eq(id)))
                        .set(payments::updated_at.eq(now))
                        .returning(payments::provider_payment_id)
                        .get_result(conn)
                        .await?
                } else {
                    None
                };
                Ok::<_, Tx<OrderError>>(Canceled {
                    order_id: id,
                    canceled_at: now,
                    void: intent.map(|i| MoneyStep::void(id, i)),
                })
            })
            .await
    }
}
