//! PostgreSQL enum types used by orders, payments and idempotency keys.

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::OrderStatus"]
#[DbValueStyle = "SCREAMING_SNAKE_CASE"]
pub enum DbOrderStatus {
    Created,
    InProgress,
    Ready,
    OutForDelivery,
    Delivered,
    Canceled,
    Delayed,
    Missing,
}

impl DbOrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DbOrderStatus::Created => "CREATED",
            DbOrderStatus::InProgress => "IN_PROGRESS",
            DbOrderStatus::Ready => "READY",
            DbOrderStatus::OutForDelivery => "OUT_FOR_DELIVERY",
            DbOrderStatus::Delivered => "DELIVERED",
            DbOrderStatus::Canceled => "CANCELED",
            DbOrderStatus::Delayed => "DELAYED",
            DbOrderStatus::Missing => "MISSING",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::FulfillmentType"]
#[DbValueStyle = "UPPERCASE"]
pub enum DbFulfillment {
    Delivery,
    Pickup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::PaymentStatus"]
#[DbValueStyle = "UPPERCASE"]
pub enum DbPaymentStatus {
    Pending,
    Authorized,
    Declined,
    Captured,
    Voided,
    Refunded,
    Failed,
}

impl DbPaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DbPaymentStatus::Pending => "PENDING",
            DbPaymentStatus::Authorized => "AUTHORIZED",
            DbPaymentStatus::Declined => "DECLINED",
            DbPaymentStatus::Captured => "CAPTURED",
            DbPaymentStatus::Voided => "VOIDED",
            DbPaymentStatus::Refunded => "REFUNDED",
            DbPaymentStatus::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::PickedStatus"]
#[DbValueStyle = "UPPERCASE"]
pub enum DbPickedStatus {
    Pending,
    Picked,
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::IdempotencyStatus"]
#[DbValueStyle = "SCREAMING_SNAKE_CASE"]
pub enum DbIdempotencyStatus {
    InProgress,
    Succeeded,
    Failed,
}
