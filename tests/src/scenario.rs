//! Scenario builders: a shopper with a cart of products and a saved card, stock at a branch,
//! a delivery slot, past orders, switched-off products and users, and faults in the audit
//! trail — written through `mami_postgres::schema`, never as SQL tied to seed ids.

use std::ops::Deref;

use anyhow::{Context, Result, bail};
use bigdecimal::BigDecimal;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use diesel_async::RunQueryDsl;
use mami_domain::identity::Role;
use mami_postgres::schema::{
    cart_items, carts, delivery_slots, idempotency_keys, inventory, orders, payment_tokens,
    products, revoked_tokens, users,
};
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::facts::Label;
use crate::http::{Reply, Session, access_token, demo_email, log_in};
use crate::{DEMO_PASSWORD, demo};

/// The body of a delivery checkout.
pub fn delivery(cart_id: i64, card_id: Option<i64>, slot: i64) -> Value {
    json!({"cart_id": cart_id, "payment_token_id": card_id, "fulfillment_type": "DELIVERY",
        "delivery_slot_id": slot})
}

/// The body of a pickup checkout.
pub fn pickup(cart_id: i64, card_id: Option<i64>, branch: i64) -> Value {
    json!({"cart_id": cart_id, "payment_token_id": card_id, "fulfillment_type": "PICKUP",
        "branch_id": branch})
}

/// A customer made by [`ShopperBuilder`], signed in (it dereferences to its [`Session`]).
#[derive(Debug, Clone)]
pub struct Shopper {
    pub session: Session,
    pub user_id: i64,
    pub email: String,
    pub cart_id: i64,
    /// The saved card, if the builder was given one.
    pub card_id: Option<i64>,
}

impl Deref for Shopper {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

impl Shopper {
    /// Checkout of the whole cart for delivery in `slot`, with the saved card.
    pub fn delivery(&self, slot: i64) -> Value {
        delivery(self.cart_id, self.card_id, slot)
    }

    /// Checkout of the whole cart for pickup at `branch`, with the saved card.
    pub fn pickup(&self, branch: i64) -> Value {
        pickup(self.cart_id, self.card_id, branch)
    }

    /// The same shopper talking to another instance of the API.
    pub fn at(&self, address: &str) -> Self {
        Self {
            session: self.session.at(address),
            ..self.clone()
        }
    }

    /// `POST /checkout/confirm` with an idempotency key.
    pub async fn confirm(&self, key: &str, body: &Value) -> Result<Reply> {
        Reply::of(
            self.request(reqwest::Method::POST, "/api/v1/checkout/confirm")
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }
}

/// Every shopper confirms a delivery in `slot` at once, with key `{key}-{i}`; shopper `i`
/// talks to `instances[i % instances.len()]`. Returns the answers in shopper order.
pub async fn confirm_all(
    shoppers: &[Shopper],
    slot: i64,
    key: &str,
    instances: &[&str],
) -> Vec<Result<Reply>> {
    let calls = shoppers.iter().enumerate().map(|(i, s)| {
        let s = s.at(instances[i % instances.len()]);
        let key = format!("{key}-{i}");
        async move { s.confirm(&key, &s.delivery(slot)).await }
    });
    futures_util::future::join_all(calls).await
}

/// How a race for the last units ended (see [`Backend::race_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Race {
    /// Checkouts answered 201.
    pub created: usize,
    /// Available quantity at the warehouse afterwards.
    pub stock_left: i64,
}

/// Builds customers: `app.shopper(&[(TOMATOES, 2)]).card(VISA).create()`.
pub struct ShopperBuilder<'a> {
    backend: &'a Backend,
    lines: Vec<(i64, i32)>,
    card: Option<String>,
    registered: bool,
}

impl ShopperBuilder<'_> {
    /// A saved default card with this provider token (`pm_card_visa`,
    /// `pm_card_chargeDeclined` …).
    pub fn card(mut self, provider_token: &str) -> Self {
        self.card = Some(provider_token.to_owned());
        self
    }

    /// Signs up through `POST /auth/register` (an argon2 hash each, so slower) instead of
    /// copying the demo users' password hash.
    pub fn registered(mut self) -> Self {
        self.registered = true;
        self
    }

    /// `n` such shoppers.
    pub async fn create_many(&self, n: usize) -> Result<Vec<Shopper>> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.create().await?);
        }
        Ok(out)
    }

    /// One such shopper, signed in, with a cart (empty unless given lines).
    pub async fn create(&self) -> Result<Shopper> {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let email = format!("shopper-{}@mami.local", &suffix[..12]);
        let (user_id, token) = if self.registered {
            self.register(&email).await?
        } else {
            self.insert_user(&email).await?
        };
        let mut c = self.backend.conn().await?;
        let cart_id: i64 = diesel::insert_into(carts::table)
            .values(carts::user_id.eq(user_id))
            .returning(carts::id)
            .get_result(&mut c)
            .await?;
        self.backend.put_in_cart(cart_id, &self.lines).await?;
        let card_id = match &self.card {
            None => None,
            Some(pm) => Some(
                diesel::insert_into(payment_tokens::table)
                    .values((
                        payment_tokens::user_id.eq(user_id),
                        payment_tokens::provider.eq("stripe"),
                        payment_tokens::provider_token.eq(pm),
                        payment_tokens::brand.eq("visa"),
                        payment_tokens::last4.eq("4242"),
                        payment_tokens::is_default.eq(true),
                    ))
                    .returning(payment_tokens::id)
                    .get_result(&mut c)
                    .await?,
            ),
        };
        Ok(Shopper {
            session: self.backend.session_with(token),
            user_id,
            email,
            cart_id,
            card_id,
        })
    }

    /// A customer row with the demo users' password hash (hashing is slow on purpose), then
    /// a login over HTTP.
    async fn insert_user(&self, email: &str) -> Result<(i64, String)> {
        let mut c = self.backend.conn().await?;
        let hash: String = users::table
            .filter(users::email.eq(demo_email(Role::Customer)))
            .select(users::password_hash)
            .get_result(&mut c)
            .await?;
        let id = diesel::insert_into(users::table)
            .values((
                users::email.eq(email),
                users::full_name.eq("Shopper"),
                users::password_hash.eq(hash),
            ))
            .returning(users::id)
            .get_result(&mut c)
            .await?;
        let b = self.backend;
        let data = log_in(&b.client, &b.address, email, DEMO_PASSWORD).await?;
        Ok((id, access_token(&data)?))
    }

    async fn register(&self, email: &str) -> Result<(i64, String)> {
        let r = Reply::of(
            self.backend
                .client
                .post(self.backend.url("/api/v1/auth/register"))
                .json(&json!({"email": email, "password": DEMO_PASSWORD, "full_name": "Shopper"})),
        )
        .await?;
        if r.status != 201 {
            bail!("registering {email}: {} {}", r.status, r.body);
        }
        let id = r.body["data"]["user"]["id"]
            .as_i64()
            .context("no user id")?;
        Ok((id, access_token(&r.body["data"])?))
    }
}

/// The stock of one product at one branch, or at every branch.
pub struct Stock<'a> {
    backend: &'a Backend,
    product: i64,
    branch: Option<i64>,
}

impl Stock<'_> {
    /// Sets the available quantity (the database refuses a negative one).
    pub async fn set(&self, available: i32) -> Result<()> {
        let mut c = self.backend.conn().await?;
        let mut rows = inventory::table
            .filter(inventory::product_id.eq(self.product))
            .select(inventory::id)
            .into_boxed();
        if let Some(branch) = self.branch {
            rows = rows.filter(inventory::branch_id.eq(branch));
        }
        let ids: Vec<i64> = rows.load(&mut c).await?;
        if ids.is_empty() {
            bail!(
                "no inventory of product {} at {:?}",
                self.product,
                self.branch
            );
        }
        diesel::update(inventory::table.filter(inventory::id.eq_any(ids)))
            .set(inventory::available_quantity.eq(available))
            .execute(&mut c)
            .await?;
        Ok(())
    }
}

/// Builds a weekly delivery slot (by default at the warehouse, Sunday 20:00-22:00, which the
/// seed leaves free).
pub struct SlotBuilder<'a> {
    backend: &'a Backend,
    branch: i64,
    day_of_week: i16,
    start_hour: u32,
}

impl SlotBuilder<'_> {
    pub fn at(mut self, branch: i64) -> Self {
        self.branch = branch;
        self
    }

    /// Weekday, 0 (Sunday) to 6.
    pub fn on(mut self, day_of_week: i16) -> Self {
        self.day_of_week = day_of_week;
        self
    }

    /// The two-hour window starts at this hour.
    pub fn from(mut self, hour: u32) -> Self {
        self.start_hour = hour;
        self
    }

    /// Creates the slot; returns its id.
    pub async fn create(&self) -> Result<i64> {
        let time = |h| NaiveTime::from_hms_opt(h, 0, 0).context("hour out of range");
        let mut c = self.backend.conn().await?;
        Ok(diesel::insert_into(delivery_slots::table)
            .values((
                delivery_slots::branch_id.eq(self.branch),
                delivery_slots::day_of_week.eq(self.day_of_week),
                delivery_slots::start_time.eq(time(self.start_hour)?),
                delivery_slots::end_time.eq(time(self.start_hour + 2)?),
            ))
            .returning(delivery_slots::id)
            .get_result(&mut c)
            .await?)
    }
}

/// Builds an order as if placed earlier (for reports): the demo customer's, for delivery.
pub struct PastOrder<'a> {
    backend: &'a Backend,
    total: String,
    fulfillment: &'static str,
    status: &'static str,
    age: Duration,
}

impl PastOrder<'_> {
    pub fn pickup(mut self) -> Self {
        self.fulfillment = "PICKUP";
        self
    }

    /// `DELIVERED`, `CANCELED` …
    pub fn status(mut self, status: &'static str) -> Self {
        self.status = status;
        self
    }

    pub fn days_ago(mut self, days: i64) -> Self {
        self.age = Duration::days(days);
        self
    }

    /// Creates the order; returns its id.
    pub async fn create(&self) -> Result<i64> {
        let user = self.backend.user_id(demo_email(Role::Customer)).await?;
        let total: BigDecimal = self.total.parse()?;
        let number = format!("T-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut c = self.backend.conn().await?;
        Ok(diesel::insert_into(orders::table)
            .values((
                orders::order_number.eq(number),
                orders::user_id.eq(user),
                orders::total_amount.eq(total),
                orders::fulfillment_type.eq(Label::from(self.fulfillment)),
                orders::status.eq(Label::from(self.status)),
                orders::created_at.eq(Utc::now() - self.age),
            ))
            .returning(orders::id)
            .get_result(&mut c)
            .await?)
    }
}

/// When an audit insert fails, for [`Backend::fail_audit_writes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFailure {
    /// At once, as the row is inserted.
    OnInsert,
    /// At commit, once both the change and its audit row were written.
    AtCommit,
}

impl Backend {
    /// A customer to build, with lines `(product, quantity)` in the cart at the products'
    /// current prices: see [`ShopperBuilder`].
    pub fn shopper(&self, cart: &[(i64, i32)]) -> ShopperBuilder<'_> {
        ShopperBuilder {
            backend: self,
            lines: cart.to_vec(),
            card: None,
            registered: false,
        }
    }

    /// The stock of `product` at `branch`.
    pub fn stock(&self, product: i64, branch: i64) -> Stock<'_> {
        Stock {
            backend: self,
            product,
            branch: Some(branch),
        }
    }

    /// The stock of `product` at every branch.
    pub fn stock_everywhere(&self, product: i64) -> Stock<'_> {
        Stock {
            backend: self,
            product,
            branch: None,
        }
    }

    /// A delivery slot to build: see [`SlotBuilder`].
    pub fn slot(&self) -> SlotBuilder<'_> {
        SlotBuilder {
            backend: self,
            branch: demo::WAREHOUSE,
            day_of_week: 0,
            start_hour: 20,
        }
    }

    /// A delivered order of `total` (`"40.00"`) placed now: see [`PastOrder`].
    pub fn past_order(&self, total: &str) -> PastOrder<'_> {
        PastOrder {
            backend: self,
            total: total.to_owned(),
            fulfillment: "DELIVERY",
            status: "DELIVERED",
            age: Duration::zero(),
        }
    }

    /// A race for the last units: `units` of `product` at the warehouse, and every buyer
    /// confirms a delivery at once, buyer `i` at `instances[i % instances.len()]`. Asserts
    /// that every checkout that did not create an order was refused with 409
    /// `INSUFFICIENT_STOCK`.
    pub async fn race_for(
        &self,
        product: i64,
        units: i32,
        buyers: &[Shopper],
        instances: &[&str],
    ) -> Result<Race> {
        self.stock(product, demo::WAREHOUSE).set(units).await?;
        let slot = self.slot().create().await?;
        let mut created = 0;
        for r in confirm_all(buyers, slot, "race", instances).await {
            let r = r?;
            match r.status {
                201 => created += 1,
                409 => assert_eq!(r.body["error"]["code"], "INSUFFICIENT_STOCK", "{}", r.body),
                other => panic!("unexpected {other}: {}", r.body),
            }
        }
        Ok(Race {
            created,
            stock_left: self.stock_of(product, demo::WAREHOUSE).await?,
        })
    }

    /// Adds lines `(product, quantity)` to a cart at the products' current prices.
    pub async fn put_in_cart(&self, cart_id: i64, lines: &[(i64, i32)]) -> Result<()> {
        let mut c = self.conn().await?;
        for &(product, quantity) in lines {
            let added = diesel::insert_into(cart_items::table)
                .values(products::table.filter(products::id.eq(product)).select((
                    cart_id.into_sql::<BigInt>(),
                    products::id,
                    quantity.into_sql::<Integer>(),
                    products::price,
                )))
                .into_columns((
                    cart_items::cart_id,
                    cart_items::product_id,
                    cart_items::quantity,
                    cart_items::unit_price,
                ))
                .execute(&mut c)
                .await?;
            if added != 1 {
                bail!("no product {product}");
            }
        }
        Ok(())
    }

    /// Takes a product off sale (`is_active = false`), behind the API's back.
    pub async fn deactivate_product(&self, product: i64) -> Result<()> {
        let mut c = self.conn().await?;
        diesel::update(products::table.find(product))
            .set(products::is_active.eq(false))
            .execute(&mut c)
            .await?;
        Ok(())
    }

    /// Deactivates the user with `email`, behind the API's back.
    pub async fn deactivate_user(&self, email: &str) -> Result<()> {
        let mut c = self.conn().await?;
        diesel::update(users::table.filter(users::email.eq(email)))
            .set(users::is_active.eq(false))
            .execute(&mut c)
            .await?;
        Ok(())
    }

    /// A finished (`SUCCEEDED`) idempotency record of `user` for `key`, kept until `expires_at`.
    pub async fn idempotency_key(
        &self,
        user: i64,
        key: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut c = self.conn().await?;
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::user_id.eq(user),
                idempotency_keys::key.eq(key),
                idempotency_keys::request_hash.eq("h"),
                idempotency_keys::status.eq(Label::from("SUCCEEDED")),
                idempotency_keys::expires_at.eq(expires_at),
            ))
            .execute(&mut c)
            .await?;
        Ok(())
    }

    /// A revoked refresh token of `user` that would have expired at `expires_at`.
    pub async fn revoked_refresh_token(&self, user: i64, expires_at: DateTime<Utc>) -> Result<()> {
        let mut c = self.conn().await?;
        diesel::insert_into(revoked_tokens::table)
            .values((
                revoked_tokens::jti.eq(uuid::Uuid::new_v4()),
                revoked_tokens::user_id.eq(user),
                revoked_tokens::token_type.eq(Label::from("REFRESH")),
                revoked_tokens::expires_at.eq(expires_at),
            ))
            .execute(&mut c)
            .await?;
        Ok(())
    }

    /// Makes every audit insert fail (`RAISE 'audit refused'`) until
    /// [`Backend::allow_audit_writes`]. Raw SQL: a trigger is the fault.
    pub async fn fail_audit_writes(&self, when: AuditFailure) -> Result<()> {
        let mut c = self.conn().await?;
        diesel::sql_query(
            "CREATE OR REPLACE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql \
             AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$",
        )
        .execute(&mut c)
        .await?;
        diesel::sql_query(match when {
            AuditFailure::OnInsert => {
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit \
                 FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
            }
            AuditFailure::AtCommit => {
                "CREATE CONSTRAINT TRIGGER refuse_audit AFTER INSERT ON audit \
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
            }
        })
        .execute(&mut c)
        .await?;
        Ok(())
    }

    /// Undoes [`Backend::fail_audit_writes`].
    pub async fn allow_audit_writes(&self) -> Result<()> {
        let mut c = self.conn().await?;
        diesel::sql_query("DROP TRIGGER refuse_audit ON audit")
            .execute(&mut c)
            .await?;
        Ok(())
    }
}
