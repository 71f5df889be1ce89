//! The store around the shoppers: stock at a branch, a delivery slot, past orders,
//! switched-off products and users, stored idempotency keys and revocations, and faults in
//! the audit trail — written through `mami_postgres::schema`, never as SQL tied to seed ids.

use anyhow::{Context, Result, bail};
use bigdecimal::BigDecimal;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::identity::Role;
use mami_postgres::schema::{
    delivery_slots, idempotency_keys, inventory, orders, products, revoked_tokens, users,
};

use crate::backend::Backend;
use crate::demo;
use crate::facts::Label;
use crate::http::demo_email;

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
