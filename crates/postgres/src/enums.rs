//! PostgreSQL enum types used by orders, payments, idempotency keys, stock requests and the mail
//! outbox, and their mapping to the domain's statuses.

use mami_domain::mail::MailTemplate;
use mami_domain::orders::{Fulfillment, OrderStatus, PaymentStatus, PickedStatus};
use mami_domain::stock_requests::{RequestStatus, RequestType};

/// A database enum with the same variants as a domain enum, and `From` both ways.
macro_rules! db_enum {
    ($(#[$attr:meta])* pub enum $db:ident mirrors $domain:ident { $($v:ident),* $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum)]
        $(#[$attr])*
        pub enum $db {
            $($v,)*
        }

        impl From<$db> for $domain {
            fn from(v: $db) -> Self {
                match v {
                    $($db::$v => $domain::$v,)*
                }
            }
        }

        impl From<$domain> for $db {
            fn from(v: $domain) -> Self {
                match v {
                    $($domain::$v => $db::$v,)*
                }
            }
        }
    };
}

db_enum! {
    #[ExistingTypePath = "crate::schema::sql_types::OrderStatus"]
    #[DbValueStyle = "SCREAMING_SNAKE_CASE"]
    pub enum DbOrderStatus mirrors OrderStatus {
        Created, InProgress, Ready, OutForDelivery, Delivered, Canceled, Delayed, Missing,
    }
}

db_enum! {
    #[ExistingTypePath = "crate::schema::sql_types::FulfillmentType"]
    #[DbValueStyle = "UPPERCASE"]
    pub enum DbFulfillment mirrors Fulfillment { Delivery, Pickup }
}

db_enum! {
    #[ExistingTypePath = "crate::schema::sql_types::PaymentStatus"]
    #[DbValueStyle = "SCREAMING_SNAKE_CASE"]
    pub enum DbPaymentStatus mirrors PaymentStatus {
        Pending, Authorized, Declined, CapturePending, Captured, RefundPending, PartiallyRefunded,
        Voided, Refunded, Failed,
    }
}

db_enum! {
    #[ExistingTypePath = "crate::schema::sql_types::PickedStatus"]
    #[DbValueStyle = "UPPERCASE"]
    pub enum DbPickedStatus mirrors PickedStatus { Pending, Picked, Missing }
}

db_enum! {
    #[ExistingTypePath = "crate::schema::sql_types::StockRequestType"]
    #[DbValueStyle = "SCREAMING_SNAKE_CASE"]
    pub enum DbRequestType mirrors RequestType { SetQuantity, AddQuantity }
}

db_enum! {
    #[ExistingTypePath = "crate::schema::sql_types::StockRequestStatus"]
    #[DbValueStyle = "UPPERCASE"]
    pub enum DbRequestStatus mirrors RequestStatus { Pending, Approved, Rejected }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::IdempotencyStatus"]
#[DbValueStyle = "SCREAMING_SNAKE_CASE"]
pub enum DbIdempotencyStatus {
    InProgress,
    Succeeded,
    Failed,
}

db_enum! {
    #[ExistingTypePath = "crate::schema::sql_types::MailTemplate"]
    #[DbValueStyle = "SCREAMING_SNAKE_CASE"]
    pub enum DbMailTemplate mirrors MailTemplate { PasswordReset, RegistrationCode }
}

/// Where an outbox message stands; only a `Pending` one still carries its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::MailStatus"]
#[DbValueStyle = "UPPERCASE"]
pub enum DbMailStatus {
    Pending,
    Sent,
    Failed,
    Expired,
    Canceled,
}
