//! [`CheckoutStore`] on PostgreSQL: the two short transactions around the provider call. Each
//! reads its facts under the locks it needs, runs the domain's decision on them and writes
//! what was decided.

mod facts;
mod key;
mod place;

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::InfraError;
use mami_domain::audit::RequestContext;
use mami_domain::checkout::{
    AuthOutcome, Begun, CheckoutError, CheckoutRequest, CheckoutStore, ConfirmOutcome, Decline,
    DeliveryPricing, IdempotencyClaim, KeyState, PaymentChoice, PaymentFacts, PendingOrder,
    Preview, Receipt, Settlement, key_state, plan_order, preview, settle,
};
use mami_domain::identity::UserId;

use self::facts::Purpose;
use crate::enums::{DbOrderStatus, DbPaymentStatus};
use crate::error::{FromDb, Tx};
use crate::money::to_money;
use crate::schema::sql_types::PaymentStatus;
use crate::schema::{orders, payment_tokens, payments};
use crate::sql::prepared;
use crate::stock::restore_order_stock;
use crate::{Database, audit};

/// Which orders waiting for their authorization to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pending {
    /// This order (a retry taking it over).
    One(i64),
    /// Every PENDING order created before then (the reconciler).
    CreatedBefore(DateTime<Utc>),
}

/// Orders waiting for their authorization, with what asking the provider again needs, and
/// when each was created; by ascending id.
pub(crate) async fn pending_orders(
    conn: &mut AsyncPgConnection,
    which: Pending,
) -> QueryResult<Vec<(PendingOrder, DateTime<Utc>)>> {
    let query = orders::table
        .inner_join(payments::table.on(payments::order_id.eq(orders::id)))
        .inner_join(
            payment_tokens::table.on(payment_tokens::id.nullable().eq(orders::payment_token_id)),
        )
        .order(orders::id.asc())
        .select((
            orders::id,
            orders::order_number,
            orders::total_amount,
            payment_tokens::provider_token,
            payments::provider_idempotency_key,
            orders::created_at,
        ))
        .into_boxed();
    let query = match which {
        Pending::One(id) => query.filter(orders::id.eq(id)),
        Pending::CreatedBefore(before) => query
            .filter(orders::payment_status.eq(DbPaymentStatus::Pending))
            .filter(orders::created_at.lt(before)),
    };
    let rows: Vec<(i64, String, BigDecimal, String, String, DateTime<Utc>)> =
        query.load(conn).await?;
    let pending = |(order_id, order_number, total, payment_method, provider_key, created_at)| {
        let order = PendingOrder {
            order_id,
            order_number,
            total: to_money(&total),
            payment_method,
            provider_key,
        };
        (order, created_at)
    };
    Ok(rows.into_iter().map(pending).collect())
}

/// An order locked for recording its authorization.
struct LockedOrder {
    payment: PaymentFacts,
    user: UserId,
    branch: Option<i64>,
}

async fn lock_order(conn: &mut AsyncPgConnection, order_id: i64) -> QueryResult<LockedOrder> {
    // The payment's reference comes with the order: only the order row is locked.
    let reference = payments::table
        .filter(payments::order_id.eq(orders::id))
        .select(payments::provider_payment_id)
        .single_value();
    let (order_number, total, status, user, branch, reference): (
        String,
        BigDecimal,
        DbPaymentStatus,
        i64,
        Option<i64>,
        Option<String>,
    ) = orders::table
        .find(order_id)
        .select((
            orders::order_number,
            orders::total_amount,
            orders::payment_status,
            orders::user_id,
            orders::branch_id,
            reference,
        ))
        .for_update()
        .first(conn)
        .await?;
    let payment = PaymentFacts {
        order_id,
        order_number,
        total: to_money(&total),
        payment_status: status.into(),
        reference,
    };
    Ok(LockedOrder {
        payment,
        user: UserId(user),
        branch,
    })
}

/// Payment AUTHORIZED; the ordered products leave the customer's cart. Three writes of
/// different tables under the order's lock, sent as one statement.
async fn record_authorized(
    conn: &mut AsyncPgConnection,
    user: UserId,
    receipt: &Receipt,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    prepared(
        diesel::sql_query(
            "WITH p AS (UPDATE payments SET status = $2, provider_payment_id = $3, updated_at = $4 \
           WHERE order_id = $1), \
         o AS (UPDATE orders SET payment_status = $2, updated_at = $4 WHERE id = $1) \
         DELETE FROM cart_items WHERE cart_id IN (SELECT id FROM carts WHERE user_id = $5) \
           AND product_id IN (SELECT product_id FROM order_items WHERE order_id = $1)",
        )
        .bind::<BigInt, _>(receipt.order_id)
        .bind::<PaymentStatus, _>(DbPaymentStatus::Authorized)
        .bind::<Text, _>(&receipt.payment_reference)
        .bind::<Timestamptz, _>(now)
        .bind::<BigInt, _>(user.0),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

/// Payment DECLINED, order CANCELED.
async fn record_declined(
    conn: &mut AsyncPgConnection,
    decline: &Decline,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    prepared(
        diesel::update(payments::table.filter(payments::order_id.eq(decline.order_id))).set((
            payments::status.eq(DbPaymentStatus::Declined),
            payments::failure_code.eq(&decline.decline_code),
            payments::updated_at.eq(now),
        )),
    )
    .execute(conn)
    .await?;
    prepared(diesel::update(orders::table.find(decline.order_id)).set((
        orders::status.eq(DbOrderStatus::Canceled),
        orders::payment_status.eq(DbPaymentStatus::Declined),
        orders::updated_at.eq(now),
    )))
    .execute(conn)
    .await?;
    Ok(())
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
}

#[async_trait]
impl CheckoutStore for PgCheckoutStore {
    async fn preview(
        &self,
        request: CheckoutRequest,
        pricing: DeliveryPricing,
    ) -> Result<Preview, CheckoutError> {
        let branch = request.fulfilling_branch(self.warehouse)?;
        // A preview writes nothing and locks nothing: no transaction around its reads.
        let mut conn = self.db.conn().await?;
        let facts = facts::load(&mut conn, &request, branch, Purpose::Preview).await;
        Ok(preview(
            &request,
            &facts.map_err(CheckoutError::from_db)?,
            pricing,
        )?)
    }

    async fn begin(
        &self,
        request: CheckoutRequest,
        payment: PaymentChoice,
        claim: IdempotencyClaim,
        pricing: DeliveryPricing,
        ctx: RequestContext,
    ) -> Result<Begun, CheckoutError> {
        self.db
            .transaction(async |conn| {
                let now = Utc::now();
                let (key_id, record) = key::claim(conn, request.user, &claim, now).await?;
                match key_state(record.as_ref(), &claim, now)? {
                    KeyState::Replay(settled) => return Ok(Begun::Replay(settled)),
                    KeyState::TakeOver { order_id } => {
                        key::hold(conn, key_id, None, now).await?;
                        let order = pending_orders(conn, Pending::One(order_id)).await?.pop();
                        let (order, _) =
                            order.ok_or_else(|| InfraError::new("the key's order is gone"))?;
                        return Ok(Begun::Authorize(order));
                    }
                    KeyState::Restart => key::restart(conn, key_id, &claim, now).await?,
                    KeyState::Claimed => {}
                }
                let branch = request.fulfilling_branch(self.warehouse)?;
                let facts = facts::load(conn, &request, branch, Purpose::Order(payment)).await?;
                let plan = plan_order(&request, &payment, facts, pricing, now)?;
                let provider = &self.provider_name;
                let order =
                    place::place(conn, key_id, request.user, plan, (provider, &ctx, now)).await?;
                Ok::<_, Tx<CheckoutError>>(Begun::Authorize(order))
            })
            .await
    }

    async fn complete(
        &self,
        order_id: i64,
        outcome: AuthOutcome,
        ctx: RequestContext,
    ) -> Result<ConfirmOutcome, CheckoutError> {
        self.db
            .transaction(async |conn| {
                let now = Utc::now();
                let order = lock_order(conn, order_id).await?;
                let settlement = settle(&order.payment, outcome);
                match &settlement {
                    Settlement::Authorized(receipt) => {
                        record_authorized(conn, order.user, receipt, now).await?;
                    }
                    Settlement::Declined(decline) => {
                        let branch = order.branch.unwrap_or(self.warehouse);
                        let reason = "PAYMENT_DECLINED";
                        restore_order_stock(conn, order_id, branch, &ctx, reason).await?;
                        record_declined(conn, decline, now).await?;
                    }
                    Settlement::Unknown { .. } => key::release(conn, order_id).await?,
                    Settlement::Unchanged(_) => {}
                }
                if let Some(entry) = settlement.audit(&ctx) {
                    audit::insert(conn, &entry, None).await?;
                }
                if let Some(settled) = settlement.stored() {
                    key::store(conn, order_id, &settled, now).await?;
                }
                Ok::<_, Tx<CheckoutError>>(settlement.outcome())
            })
            .await
    }
}
