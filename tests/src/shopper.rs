//! Shoppers: a customer with a cart of products and a saved card, signed in; the checkout
//! bodies they send; and the race of many shoppers for the last units of a product.

use std::ops::Deref;

use anyhow::{Context, Result, bail};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use diesel_async::RunQueryDsl;
use mami_domain::identity::Role;
use mami_postgres::schema::{cart_items, carts, payment_tokens, products, users};
use serde_json::{Value, json};

use crate::backend::Backend;
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
            Some(pm) => Some({
                // A registered shopper may already hold the test card given at registration:
                // the builder's card replaces it as the default.
                diesel::update(payment_tokens::table.filter(payment_tokens::user_id.eq(user_id)))
                    .set(payment_tokens::is_default.eq(false))
                    .execute(&mut c)
                    .await?;
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
                    .await?
            }),
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
}
