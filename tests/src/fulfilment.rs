//! Fulfilment scenarios: an order paid at checkout and waiting in the staff queue, staff calls
//! on `/ops` (moves, picks, the order as staff see it), the payment row's money, and the
//! payment simulator's record of an intent (to count the provider's effects).

use anyhow::{Context, Result, bail};
use bigdecimal::{BigDecimal, ToPrimitive};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_postgres::schema::{delivery_slots, order_delivery_details, payments};
use reqwest::Method;
use serde_json::{Value, json};

use crate::app::Paysim;
use crate::backend::Backend;
use crate::facts::Label;
use crate::http::{Reply, Session};
use crate::shopper::Shopper;
use crate::{demo, each};

/// How an order is fulfilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fulfil {
    /// Delivered from the warehouse in a new Sunday 20:00 slot.
    Delivery,
    /// Picked up at the Tel Aviv store.
    Pickup,
}

/// An order placed and authorized through `POST /checkout/confirm`.
#[derive(Debug, Clone)]
pub struct PaidOrder {
    pub shopper: Shopper,
    pub id: i64,
    /// `total_paid` as answered (`"52.70"`).
    pub total: String,
}

/// The money of an order's payment row, amounts as two-decimal strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    pub status: String,
    pub authorized: String,
    pub captured: String,
    pub refunded: String,
    pub pending: Option<String>,
    pub intent: Option<String>,
}

fn text(d: &BigDecimal) -> String {
    let minor = (d * BigDecimal::from(100))
        .with_scale(0)
        .to_i64()
        .unwrap_or(i64::MAX);
    mami_domain::Money(minor).to_string()
}

impl Backend {
    /// A customer with a card, `lines` in the cart (10 of each at the fulfilling branch unless
    /// more is needed), who checks out and is authorized.
    pub async fn paid_order(&self, lines: &[(i64, i32)], how: Fulfil) -> Result<PaidOrder> {
        let branch = match how {
            Fulfil::Delivery => demo::WAREHOUSE,
            Fulfil::Pickup => demo::TEL_AVIV,
        };
        for &(product, quantity) in lines {
            self.stock(product, branch).set(quantity.max(10)).await?;
        }
        let shopper = self.shopper(lines).card(demo::VISA).create().await?;
        let body = match how {
            Fulfil::Delivery => shopper.delivery(self.sunday_evening_slot().await?),
            Fulfil::Pickup => shopper.pickup(branch),
        };
        let key = format!("paid-{}", shopper.user_id);
        let r = shopper.confirm(&key, &body).await?;
        if r.status != 201 {
            bail!("checkout failed: {} {}", r.status, r.body);
        }
        let data = &r.body["data"];
        Ok(PaidOrder {
            id: data["order_id"].as_i64().context("no order_id")?,
            total: data["total_paid"].as_str().context("no total")?.to_owned(),
            shopper,
        })
    }

    /// The warehouse's Sunday 20:00 slot, created by the first order that needs it.
    pub async fn sunday_evening_slot(&self) -> Result<i64> {
        let mut c = self.conn().await?;
        let found: Option<i64> = delivery_slots::table
            .filter(delivery_slots::branch_id.eq(demo::WAREHOUSE))
            .filter(delivery_slots::day_of_week.eq(0))
            .filter(
                delivery_slots::start_time.eq(chrono::NaiveTime::MIN + chrono::Duration::hours(20)),
            )
            .select(delivery_slots::id)
            .first(&mut c)
            .await
            .optional()?;
        match found {
            Some(id) => Ok(id),
            None => self.slot().create().await,
        }
    }

    /// The payment row of `order`.
    pub async fn money_of(&self, order: i64) -> Result<PaymentState> {
        type Row = (
            Label,
            BigDecimal,
            BigDecimal,
            BigDecimal,
            Option<BigDecimal>,
            Option<String>,
        );
        let mut c = self.conn().await?;
        let (status, authorized, captured, refunded, pending, intent): Row = payments::table
            .filter(payments::order_id.eq(order))
            .select((
                payments::status,
                payments::amount_authorized,
                payments::amount_captured,
                payments::amount_refunded,
                payments::pending_amount,
                payments::provider_payment_id,
            ))
            .get_result(&mut c)
            .await?;
        Ok(PaymentState {
            status: status.0,
            authorized: text(&authorized),
            captured: text(&captured),
            refunded: text(&refunded),
            pending: pending.as_ref().map(text),
            intent,
        })
    }

    /// Moves the start of `order`'s delivery slot to `start` (and its end two hours later),
    /// behind the API's back: an order due at a chosen time.
    pub async fn due_at(&self, order: i64, start: chrono::DateTime<chrono::Utc>) -> Result<()> {
        let mut c = self.conn().await?;
        diesel::update(
            order_delivery_details::table.filter(order_delivery_details::order_id.eq(order)),
        )
        .set((
            order_delivery_details::slot_start.eq(start),
            order_delivery_details::slot_end.eq(start + chrono::Duration::hours(2)),
        ))
        .execute(&mut c)
        .await?;
        Ok(())
    }
}

/// The calls staff make on `/ops`.
pub trait OpsCalls {
    /// `PATCH /ops/orders/{id}/status` with `{"status": to}`.
    fn move_order(&self, id: i64, to: &str) -> impl Future<Output = Result<Reply>>;
    /// `PATCH /ops/orders/{id}/items/{item}/picked-status`.
    fn pick(&self, id: i64, item: i64, status: &str) -> impl Future<Output = Result<Reply>>;
    /// `GET /ops/orders/{id}`'s `data`.
    fn ops_order(&self, id: i64) -> impl Future<Output = Result<Value>>;
    /// Picks every line of `id` as `status` (`PICKED`…), in item order.
    fn pick_all(&self, id: i64, status: &str) -> impl Future<Output = Result<()>>;
}

impl OpsCalls for Session {
    async fn move_order(&self, id: i64, to: &str) -> Result<Reply> {
        let path = format!("/api/v1/ops/orders/{id}/status");
        Reply::of(
            self.request(Method::PATCH, &path)
                .json(&json!({ "status": to })),
        )
        .await
    }

    async fn pick(&self, id: i64, item: i64, status: &str) -> Result<Reply> {
        let path = format!("/api/v1/ops/orders/{id}/items/{item}/picked-status");
        Reply::of(
            self.request(Method::PATCH, &path)
                .json(&json!({ "picked_status": status })),
        )
        .await
    }

    async fn ops_order(&self, id: i64) -> Result<Value> {
        let r = self.get(&format!("/api/v1/ops/orders/{id}")).await?;
        if r.status != 200 {
            bail!("GET /ops/orders/{id}: {} {}", r.status, r.body);
        }
        Ok(r.body["data"].clone())
    }

    async fn pick_all(&self, id: i64, status: &str) -> Result<()> {
        let order = self.ops_order(id).await?;
        for item in each(&order["items"]) {
            let item_id = item["id"].as_i64().context("no item id")?;
            let r = self.pick(id, item_id, status).await?;
            if r.status != 200 {
                bail!("picking {item_id}: {} {}", r.status, r.body);
            }
        }
        Ok(())
    }
}

impl Paysim {
    /// The simulator's record of intent `id` (status, amounts, refunds).
    pub async fn intent(&self, id: &str) -> Result<Value> {
        self.intents()
            .await?
            .into_iter()
            .find(|i| i["id"] == id)
            .context("no such intent at paysim")
    }

    /// Cancels intent `id` at the provider behind the app's back (an authorization that
    /// expired or was released elsewhere): a later capture is refused.
    pub async fn cancel_behind_the_apps_back(&self, id: &str) -> Result<()> {
        let r = crate::http::client()?
            .post(format!("{}/v1/payment_intents/{id}/cancel", self.url))
            .bearer_auth("sk_test_paysim")
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("paysim refused the cancel: {}", r.status());
        }
        Ok(())
    }
}
