//! Customer orders: list, detail, cancel (stock back and the authorization voided).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tracing::instrument;

use crate::audit::RequestContext;
use crate::identity::UserId;
use crate::payments::PaymentProvider;
use crate::{DomainError, Money};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub sku: String,
    pub unit_price: Money,
    pub quantity: i32,
    pub picked_status: String,
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
    pub status: String,
    pub payment_status: String,
    pub fulfillment_type: String,
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
    pub void: Option<(String, String)>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// The user's orders, newest first, and the total.
    async fn list(
        &self,
        user: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Order>, i64), DomainError>;
    /// The user's order; `None` for another user's.
    async fn get(&self, user: UserId, id: i64) -> Result<Option<Order>, DomainError>;
    /// Locks the order; only a CREATED order with a settled payment can be canceled. Restores
    /// the stock (rows locked in id order), sets CANCELED, audits, and returns the
    /// authorization to void. Errors: `NotFound`, `Conflict(INVALID_STATUS | PAYMENT_PENDING)`.
    async fn cancel(
        &self,
        user: UserId,
        id: i64,
        ctx: RequestContext,
    ) -> Result<Canceled, DomainError>;
    /// Records the void's result (payment VOIDED, audited) — or, when it failed, that the
    /// authorization is still held (audited for follow-up).
    async fn record_void(
        &self,
        order_id: i64,
        voided: bool,
        detail: String,
        ctx: RequestContext,
    ) -> Result<(), DomainError>;
}

pub struct OrderService {
    store: Arc<dyn OrderStore>,
    provider: Arc<dyn PaymentProvider>,
}

impl OrderService {
    pub fn new(store: Arc<dyn OrderStore>, provider: Arc<dyn PaymentProvider>) -> Self {
        Self { store, provider }
    }

    pub async fn list(
        &self,
        user: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Order>, i64), DomainError> {
        self.store.list(user, limit, offset).await
    }

    pub async fn get(&self, user: UserId, id: i64) -> Result<Order, DomainError> {
        self.store
            .get(user, id)
            .await?
            .ok_or_else(|| DomainError::not_found("NOT_FOUND", "Order not found"))
    }

    /// Cancels the caller's order: stock back in one transaction, then the authorization voided
    /// at the provider (idempotent key), then recorded.
    #[instrument(skip_all)]
    pub async fn cancel(
        &self,
        user: UserId,
        id: i64,
        ctx: &RequestContext,
    ) -> Result<Canceled, DomainError> {
        let canceled = self.store.cancel(user, id, ctx.clone()).await?;
        if let Some((intent, key)) = &canceled.void {
            let (ok, detail) = match self.provider.cancel(intent.clone(), key.clone()).await {
                Ok(_) => (true, String::new()),
                Err(e) => {
                    tracing::error!(error = %e, order = id, "void failed; the authorization is still held");
                    (false, e.to_string())
                }
            };
            self.store.record_void(id, ok, detail, ctx.clone()).await?;
        }
        Ok(canceled)
    }
}
