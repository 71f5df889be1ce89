//! What fulfilment reads: an order as staff see it (with its customer, payment and damage
//! reports), and the facts a decision needs, read under the order's lock.

use chrono::{DateTime, Utc};

use crate::Money;
use crate::orders::{Fulfillment, Order, OrderStatus, PaymentStatus, PickedStatus};

/// One line of an order as read under the order's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFacts {
    pub id: i64,
    pub product_id: i64,
    pub unit_price: Money,
    pub quantity: i32,
    pub picked_status: PickedStatus,
    /// Removed from the order earlier (kept for history, no longer part of it).
    pub removed: bool,
}

impl LineFacts {
    /// The line's price: unit price × quantity.
    pub fn amount(&self) -> Money {
        Money(self.unit_price.minor() * i64::from(self.quantity))
    }
}

/// The order's payment as read under the order's lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPayment {
    pub status: PaymentStatus,
    /// The provider's payment id of the authorization, once authorized.
    pub intent_id: Option<String>,
    pub authorized: Money,
    pub captured: Money,
    pub refunded: Money,
}

/// An order as read under its lock: what every staff decision starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: i64,
    pub status: OrderStatus,
    pub fulfillment: Fulfillment,
    /// The branch whose stock the order took.
    pub branch_id: i64,
    pub subtotal: Money,
    pub delivery_fee: Money,
    pub total: Money,
    pub payment: OrderPayment,
    pub items: Vec<LineFacts>,
}

impl OrderFacts {
    /// The lines still part of the order.
    pub fn active_items(&self) -> impl Iterator<Item = &LineFacts> {
        self.items.iter().filter(|i| !i.removed)
    }
}

/// The payment row as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub status: PaymentStatus,
    pub provider_payment_id: Option<String>,
    pub amount_authorized: Money,
    pub amount_captured: Money,
    pub amount_refunded: Money,
    /// The amount of the capture or refund waiting for the provider's answer.
    pub pending_amount: Option<Money>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub provider_refund_id: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A damaged item reported by staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamageReport {
    pub id: i64,
    pub order_item_id: i64,
    pub reason: String,
    pub notes: Option<String>,
    pub reported_by: i64,
    pub created_at: DateTime<Utc>,
}

/// An order as staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsOrder {
    pub order: Order,
    pub user_id: i64,
    pub customer_name: String,
    pub payment: Option<PaymentRecord>,
    pub damage_reports: Vec<DamageReport>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Filters of the order queue (bounds on `created_at`, inclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub status: Option<OrderStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A stored picking batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub id: i64,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub order_ids: Vec<i64>,
}
