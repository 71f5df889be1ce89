//! Writing an order plan: the order (payment PENDING), its items and fulfilment details, the
//! stock it takes, its payment row, the caller's new default card, and the audit rows.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::RequestContext;
use mami_domain::checkout::{
    FulfillmentDetails, LineFact, NewDefaultCard, OrderPlan, PendingOrder,
};
use mami_domain::identity::UserId;

use crate::enums::{DbFulfillment, DbOrderStatus, DbPaymentStatus};
use crate::money::to_decimal;
use crate::schema::{
    order_delivery_details as odd, order_items, order_pickup_details as opd, orders,
    payment_tokens as pt, payments,
};
use crate::sql::{prepared, prepared_rows};
use crate::stock;

use super::key;

/// `ORD-<date>-<8 random hex digits>`. 32 random bits a day do collide: among n orders of one
/// day two share a number with a probability of about n² ÷ 2³³ (10,000 orders: 1.2%; the
/// benchmark met one). So [`insert_order`] draws again when the number is taken.
fn order_number(now: DateTime<Utc>) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "ORD-{}-{}",
        now.format("%Y%m%d"),
        random[..8].to_ascii_uppercase()
    )
}

/// How many numbers [`insert_order`] draws before it gives up. Each draw fails with a
/// probability of about n ÷ 2³² (n: the day's orders so far): 5 draws all fail about never.
const ORDER_NUMBER_DRAWS: usize = 5;

/// Inserts the order under a fresh number; returns its id and number. A number already taken
/// inserts nothing (`ON CONFLICT … DO NOTHING`, which leaves the transaction usable) and the
/// next draw is tried.
async fn insert_order(
    mut conn: &AsyncPgConnection,
    user: UserId,
    plan: &OrderPlan,
    now: DateTime<Utc>,
) -> QueryResult<(i64, String)> {
    for _ in 0..ORDER_NUMBER_DRAWS {
        let number = order_number(now);
        let inserted: Option<i64> = prepared(
            diesel::insert_into(orders::table)
                .values((
                    orders::order_number.eq(&number),
                    orders::user_id.eq(user.0),
                    orders::subtotal_amount.eq(to_decimal(plan.subtotal)),
                    orders::delivery_fee.eq(to_decimal(plan.delivery_fee)),
                    orders::total_amount.eq(to_decimal(plan.total)),
                    orders::fulfillment_type.eq(DbFulfillment::from(plan.fulfillment)),
                    orders::status.eq(DbOrderStatus::Created),
                    orders::payment_status.eq(DbPaymentStatus::Pending),
                    orders::branch_id.eq(plan.branch_id),
                    orders::payment_token_id.eq(plan.payment_token_id),
                ))
                .on_conflict(orders::order_number)
                .do_nothing()
                .returning(orders::id),
        )
        .get_result(&mut conn)
        .await
        .optional()?;
        if let Some(id) = inserted {
            return Ok((id, number));
        }
    }
    Err(diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::UniqueViolation,
        Box::new(format!(
            "{ORDER_NUMBER_DRAWS} order numbers drawn in a row were all taken"
        )),
    ))
}

async fn insert_items(
    mut conn: &AsyncPgConnection,
    order_id: i64,
    items: &[LineFact],
) -> QueryResult<()> {
    let rows: Vec<_> = items
        .iter()
        .map(|l| {
            (
                order_items::order_id.eq(order_id),
                order_items::product_id.eq(l.product_id),
                order_items::name.eq(&l.name),
                order_items::sku.eq(&l.sku),
                order_items::unit_price.eq(to_decimal(l.unit_price)),
                order_items::quantity.eq(l.quantity),
            )
        })
        .collect();
    let count = rows.len();
    prepared_rows(diesel::insert_into(order_items::table).values(&rows), count)
        .execute(&mut conn)
        .await
        .map(|_| ())
}

async fn insert_details(
    mut conn: &AsyncPgConnection,
    order_id: i64,
    details: &FulfillmentDetails,
) -> QueryResult<usize> {
    match details {
        FulfillmentDetails::Delivery {
            slot_id,
            address,
            start,
            end,
        } => {
            diesel::insert_into(odd::table)
                .values((
                    odd::order_id.eq(order_id),
                    odd::delivery_slot_id.eq(slot_id),
                    odd::address.eq(address),
                    odd::slot_start.eq(start),
                    odd::slot_end.eq(end),
                ))
                .execute(&mut conn)
                .await
        }
        FulfillmentDetails::Pickup {
            branch_id,
            start,
            end,
        } => {
            diesel::insert_into(opd::table)
                .values((
                    opd::order_id.eq(order_id),
                    opd::branch_id.eq(branch_id),
                    opd::pickup_window_start.eq(start),
                    opd::pickup_window_end.eq(end),
                ))
                .execute(&mut conn)
                .await
        }
    }
}

/// Makes `new.token_id` the user's only default card (its rows are locked): the old default is
/// cleared first, so the one-default index never sees two.
async fn set_default(
    mut conn: &AsyncPgConnection,
    user: UserId,
    new: Option<NewDefaultCard>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let Some(new) = new.filter(NewDefaultCard::changes) else {
        return Ok(());
    };
    prepared(
        diesel::update(
            pt::table
                .filter(pt::user_id.eq(user.0))
                .filter(pt::is_default.eq(true)),
        )
        .set((pt::is_default.eq(false), pt::updated_at.eq(now))),
    )
    .execute(&mut conn)
    .await?;
    prepared(
        diesel::update(pt::table.find(new.token_id))
            .set((pt::is_default.eq(true), pt::updated_at.eq(now))),
    )
    .execute(&mut conn)
    .await
    .map(|_| ())
}

/// Writes `plan` for `user` and ties idempotency key `key_id` to the new order; returns the
/// order to authorize.
///
/// The stock rows are locked from the facts' read until the commit, and every checkout of the
/// same products queues on them, so the time between the two is what limits such checkouts.
/// Everything after the order's own row needs only its id: those statements are sent together
/// without waiting for each answer (pipelined on the one connection). PostgreSQL still runs
/// them one after the other in this transaction, and the first error aborts it as before.
pub(super) async fn place(
    conn: &AsyncPgConnection,
    key_id: i64,
    user: UserId,
    plan: OrderPlan,
    (provider, ctx, now): (&str, &RequestContext, DateTime<Utc>),
) -> QueryResult<PendingOrder> {
    let (order_id, number) = insert_order(conn, user, &plan, now).await?;
    // The stock's, the order's and the card's audit rows: one statement.
    let mut audits = plan.stock_audit(ctx, order_id);
    audits.push(plan.audit(ctx, order_id, &number));
    audits.extend(plan.card_audit(ctx, order_id));
    let provider_key = PendingOrder::provider_key(order_id);
    let payment = (
        payments::order_id.eq(order_id),
        payments::payment_token_id.eq(plan.payment_token_id),
        payments::provider.eq(provider),
        payments::provider_idempotency_key.eq(&provider_key),
        payments::amount_authorized.eq(to_decimal(plan.total)),
    );
    tokio::try_join!(
        insert_items(conn, order_id, &plan.items),
        insert_details(conn, order_id, &plan.details),
        stock::apply(conn, &plan.stock, &audits),
        async {
            diesel::insert_into(payments::table)
                .values(payment)
                .execute(&mut &*conn)
                .await
        },
        set_default(conn, user, plan.new_default, now),
        key::hold(conn, key_id, Some(order_id), now),
    )?;
    Ok(PendingOrder {
        order_id,
        order_number: number,
        total: plan.total,
        payment_method: plan.payment_method,
        provider_key,
    })
}
