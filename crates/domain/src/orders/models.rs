//! Orders as the customer reads them, and the statuses of an order, its payment and its lines.
//! Each status serialises as the string the wire and the database use (`as_str`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Money;
use crate::payments::ledger::MoneyStep;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Created,
    InProgress,
    Ready,
    OutForDelivery,
    Delivered,
    Canceled,
    Delayed,
    Missing,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "CREATED",
            OrderStatus::InProgress => "IN_PROGRESS",
            OrderStatus::Ready => "READY",
            OrderStatus::OutForDelivery => "OUT_FOR_DELIVERY",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Canceled => "CANCELED",
            OrderStatus::Delayed => "DELAYED",
            OrderStatus::Missing => "MISSING",
        }
    }
}

/// Where the order's money is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    /// Not yet authorized, or the provider's answer is unknown.
    Pending,
    Authorized,
    Declined,
    /// A capture was asked for; its outcome is not recorded yet (the reconciler settles it).
    CapturePending,
    Captured,
    /// A refund was asked for; its outcome is not recorded yet (the reconciler settles it).
    RefundPending,
    /// Part of the captured amount went back.
    PartiallyRefunded,
    Voided,
    Refunded,
    /// The provider refused a capture (or a void): nothing was captured.
    Failed,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Authorized => "AUTHORIZED",
            PaymentStatus::Declined => "DECLINED",
            PaymentStatus::CapturePending => "CAPTURE_PENDING",
            PaymentStatus::Captured => "CAPTURED",
            PaymentStatus::RefundPending => "REFUND_PENDING",
            PaymentStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
            PaymentStatus::Voided => "VOIDED",
            PaymentStatus::Refunded => "REFUNDED",
            PaymentStatus::Failed => "FAILED",
        }
    }
}

/// How the customer gets the order: delivered from the warehouse or picked up at a branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Fulfillment {
    Delivery,
    Pickup,
}

impl Fulfillment {
    pub fn as_str(self) -> &'static str {
        match self {
            Fulfillment::Delivery => "DELIVERY",
            Fulfillment::Pickup => "PICKUP",
        }
    }
}

/// Whether a line has been picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PickedStatus {
    Pending,
    Picked,
    Missing,
}

impl PickedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PickedStatus::Pending => "PENDING",
            PickedStatus::Picked => "PICKED",
            PickedStatus::Missing => "MISSING",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub sku: String,
    pub unit_price: Money,
    pub quantity: i32,
    pub picked_status: PickedStatus,
    /// Who last set the picked status, and when.
    pub picked_by: Option<i64>,
    pub picked_at: Option<DateTime<Utc>>,
    /// Removed from the order (a missing item when it went MISSING → READY): kept for history,
    /// not counted in its totals.
    pub removed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryInfo {
    pub delivery_slot_id: Option<i64>,
    pub address: String,
    pub slot_start: Option<DateTime<Utc>>,
    pub slot_end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupInfo {
    pub branch_id: i64,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: i64,
    pub order_number: String,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub fulfillment_type: Fulfillment,
    pub branch_id: Option<i64>,
    pub subtotal_amount: Money,
    pub delivery_fee: Money,
    pub total_amount: Money,
    pub created_at: DateTime<Utc>,
    pub items: Vec<OrderItem>,
    pub delivery: Option<DeliveryInfo>,
    pub pickup: Option<PickupInfo>,
}

/// The outcome of the cancel transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canceled {
    pub order_id: i64,
    pub canceled_at: DateTime<Utc>,
    /// An authorization to void at the provider, after the commit.
    pub void: Option<MoneyStep>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire<T: Serialize>(value: T) -> String {
        serde_json::to_value(value)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    #[test]
    fn statuses_serialise_as_their_wire_strings() {
        use OrderStatus as O;
        for s in [
            O::Created,
            O::InProgress,
            O::Ready,
            O::OutForDelivery,
            O::Delivered,
            O::Canceled,
            O::Delayed,
            O::Missing,
        ] {
            assert_eq!(wire(s), s.as_str());
        }
        use PaymentStatus as P;
        for s in [
            P::Pending,
            P::Authorized,
            P::Declined,
            P::CapturePending,
            P::Captured,
            P::RefundPending,
            P::PartiallyRefunded,
            P::Voided,
            P::Refunded,
            P::Failed,
        ] {
            assert_eq!(wire(s), s.as_str());
        }
        for s in [Fulfillment::Delivery, Fulfillment::Pickup] {
            assert_eq!(wire(s), s.as_str());
        }
        for s in [
            PickedStatus::Pending,
            PickedStatus::Picked,
            PickedStatus::Missing,
        ] {
            assert_eq!(wire(s), s.as_str());
        }
        assert_eq!(
            serde_json::from_str::<OrderStatus>("\"OUT_FOR_DELIVERY\"").ok(),
            Some(OrderStatus::OutForDelivery)
        );
    }
}
