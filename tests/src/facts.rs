//! Typed reads of what a test's database holds (stock, orders, payments, the audit trail, row
//! counts), as named fields, through `mami_postgres::schema`.

use std::io::Write as _;

use anyhow::Result;
use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel_async::RunQueryDsl;
use mami_postgres::schema::sql_types::{
    FulfillmentType, IdempotencyStatus, OrderStatus, PaymentStatus, TokenType,
};
use mami_postgres::schema::{
    audit, idempotency_keys, inventory, order_delivery_details, order_pickup_details, orders,
    payments, revoked_tokens, users,
};

use crate::backend::Backend;

/// The label of a PostgreSQL enum value (`PENDING`, `DELIVERY` …), read and written as text,
/// so that the harness needs none of the adapter's private enum types.
#[derive(Debug, Clone, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = OrderStatus)]
#[diesel(sql_type = PaymentStatus)]
#[diesel(sql_type = FulfillmentType)]
#[diesel(sql_type = IdempotencyStatus)]
#[diesel(sql_type = TokenType)]
pub struct Label(pub String);

impl From<&str> for Label {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<Label> for String {
    fn from(l: Label) -> Self {
        l.0
    }
}

macro_rules! enum_as_label {
    ($($sql:ty),*) => {$(
        impl FromSql<$sql, Pg> for Label {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                Ok(Self(std::str::from_utf8(value.as_bytes())?.to_owned()))
            }
        }

        impl ToSql<$sql, Pg> for Label {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.0.as_bytes())?;
                Ok(IsNull::No)
            }
        }
    )*};
}

enum_as_label!(
    OrderStatus,
    PaymentStatus,
    FulfillmentType,
    IdempotencyStatus,
    TokenType
);

/// One inventory row's available quantity.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = inventory)]
pub struct StockLevel {
    pub branch_id: i64,
    #[diesel(column_name = available_quantity)]
    pub available: i32,
}

/// An order's state.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: i64,
    pub user_id: i64,
    #[diesel(deserialize_as = Label)]
    pub status: String,
    #[diesel(deserialize_as = Label)]
    pub payment_status: String,
    #[diesel(deserialize_as = Label)]
    pub fulfillment_type: String,
}

/// A provider authorization recorded for an order.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = payments)]
pub struct PaymentRow {
    pub order_id: i64,
    pub provider_payment_id: Option<String>,
    #[diesel(deserialize_as = Label)]
    pub status: String,
}

/// An audit row, without its JSON values.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit)]
pub struct AuditRow {
    pub id: i64,
    pub entity_type: String,
    pub entity_id: i64,
    pub action: String,
    pub actor_user_id: Option<i64>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Tables whose rows a test counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    Orders,
    /// Pickup details of orders.
    Pickups,
    /// Delivery details of orders with a concrete slot date.
    ScheduledDeliveries,
    IdempotencyKeys,
    RevokedTokens,
}

impl Backend {
    /// Available quantity of `product` at `branch`.
    pub async fn stock_of(&self, product: i64, branch: i64) -> Result<i64> {
        let mut c = self.conn().await?;
        let n: i32 = inventory::table
            .filter(inventory::product_id.eq(product))
            .filter(inventory::branch_id.eq(branch))
            .select(inventory::available_quantity)
            .get_result(&mut c)
            .await?;
        Ok(i64::from(n))
    }

    /// Available quantity of `product` at every branch, by branch id.
    pub async fn stock_levels(&self, product: i64) -> Result<Vec<StockLevel>> {
        let mut c = self.conn().await?;
        Ok(inventory::table
            .filter(inventory::product_id.eq(product))
            .select(StockLevel::as_select())
            .order(inventory::branch_id)
            .load(&mut c)
            .await?)
    }

    /// Every order, oldest first.
    pub async fn orders(&self) -> Result<Vec<OrderRow>> {
        let mut c = self.conn().await?;
        Ok(orders::table
            .select(OrderRow::as_select())
            .order(orders::id)
            .load(&mut c)
            .await?)
    }

    /// How many orders `keep` keeps.
    pub async fn count_orders(&self, keep: impl Fn(&OrderRow) -> bool) -> Result<usize> {
        Ok(self.orders().await?.iter().filter(|o| keep(o)).count())
    }

    /// Every payment, oldest first.
    pub async fn payments(&self) -> Result<Vec<PaymentRow>> {
        let mut c = self.conn().await?;
        Ok(payments::table
            .select(PaymentRow::as_select())
            .order(payments::id)
            .load(&mut c)
            .await?)
    }

    /// The whole audit trail, oldest first.
    pub async fn audit_rows(&self) -> Result<Vec<AuditRow>> {
        let mut c = self.conn().await?;
        Ok(audit::table
            .select(AuditRow::as_select())
            .order(audit::id)
            .load(&mut c)
            .await?)
    }

    /// How many audit rows record `action` on an entity of `entity_type`.
    pub async fn audit_count(&self, entity_type: &str, action: &str) -> Result<i64> {
        let mut c = self.conn().await?;
        Ok(audit::table
            .filter(audit::entity_type.eq(entity_type))
            .filter(audit::action.eq(action))
            .count()
            .get_result(&mut c)
            .await?)
    }

    /// How many rows `rows` names.
    pub async fn count(&self, rows: Rows) -> Result<i64> {
        let mut c = self.conn().await?;
        let c = &mut c;
        Ok(match rows {
            Rows::Orders => orders::table.count().get_result(c).await?,
            Rows::Pickups => order_pickup_details::table.count().get_result(c).await?,
            Rows::ScheduledDeliveries => {
                order_delivery_details::table
                    .filter(order_delivery_details::slot_start.is_not_null())
                    .count()
                    .get_result(c)
                    .await?
            }
            Rows::IdempotencyKeys => idempotency_keys::table.count().get_result(c).await?,
            Rows::RevokedTokens => revoked_tokens::table.count().get_result(c).await?,
        })
    }

    /// The id of the user with `email`.
    pub async fn user_id(&self, email: &str) -> Result<i64> {
        let mut c = self.conn().await?;
        Ok(users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .get_result(&mut c)
            .await?)
    }
}
