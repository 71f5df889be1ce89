//! The customer's cart: one per customer, one line per product, stock-checked against the
//! delivery source (the warehouse).

use std::sync::Arc;

use async_trait::async_trait;
use tracing::instrument;

use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::identity::UserId;
use crate::validation::FieldError;
use crate::{DomainError, Money};

/// Largest quantity of one line.
pub const MAX_LINE_QUANTITY: i32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub id: i64,
    pub product_id: i64,
    pub quantity: i32,
    pub unit_price: Money,
    pub product_name: Option<String>,
    pub product_image: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    pub id: i64,
    pub user_id: UserId,
    pub items: Vec<CartLine>,
}

impl Cart {
    /// Σ unit price × quantity.
    pub fn total(&self) -> Money {
        Money(
            self.items
                .iter()
                .map(|l| l.unit_price.minor() * i64::from(l.quantity))
                .sum(),
        )
    }
}

/// What the store knows about a product when a line changes (read under the cart's lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockFacts {
    pub product_active: bool,
    pub price: Money,
    /// Σ available over every branch.
    pub total_available: i64,
    /// Available at the delivery source.
    pub warehouse_available: i64,
}

/// Decides a line's new quantity: the product must be active, in stock somewhere, and the
/// warehouse must hold the whole line.
pub fn decide_line(facts: StockFacts, new_quantity: i64) -> Result<i32, DomainError> {
    if !facts.product_active {
        return Err(DomainError::not_found(
            "PRODUCT_INACTIVE",
            "Product is inactive or missing",
        ));
    }
    if new_quantity > i64::from(MAX_LINE_QUANTITY) {
        return Err(DomainError::invalid(FieldError::new(
            &["quantity"],
            "less_than_equal",
            format!("A cart line holds at most {MAX_LINE_QUANTITY} units"),
        )));
    }
    if facts.total_available <= 0 {
        return Err(DomainError::BadRequest {
            code: "OUT_OF_STOCK_ANYWHERE",
            message: "Product is out of stock".into(),
        });
    }
    if facts.warehouse_available < new_quantity {
        return Err(DomainError::Conflict {
            code: "OUT_OF_STOCK_DELIVERY_BRANCH",
            message: "Not enough stock for delivery: the product is out of stock at the warehouse"
                .into(),
            details: serde_json::json!({
                "available": facts.warehouse_available,
                "requested": new_quantity,
            }),
        });
    }
    i32::try_from(new_quantity).map_err(|_| {
        DomainError::invalid(FieldError::new(
            &["quantity"],
            "range",
            "Quantity too large",
        ))
    })
}

/// A quantity from a request: 1..=10000.
pub fn parse_quantity(value: i64) -> Result<i32, FieldError> {
    i32::try_from(value)
        .ok()
        .filter(|q| (1..=MAX_LINE_QUANTITY).contains(q))
        .ok_or_else(|| {
            FieldError::new(
                &["quantity"],
                "range",
                format!("Input should be from 1 to {MAX_LINE_QUANTITY}"),
            )
        })
}

/// How a line changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineChange {
    /// Add to the product's line (created if absent); its price is refreshed.
    Add { product_id: i64, quantity: i32 },
    /// Set a line's quantity (price kept).
    Set { item_id: i64, quantity: i32 },
}

/// Carts. Each method locks the user's cart row (created when missing), so a user's cart
/// changes serialise; the decision is [`decide_line`], run under that lock; the audit entry is
/// written in the same transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CartStore: Send + Sync {
    async fn cart(&self, user: UserId) -> Result<Cart, DomainError>;
    /// Errors: `NotFound` (item of another cart), and whatever `decide_line` refuses.
    async fn change_line(
        &self,
        user: UserId,
        warehouse: i64,
        change: LineChange,
        audit: AuditEntry,
    ) -> Result<Cart, DomainError>;
    /// Errors: `NotFound("Cart item not found")`.
    async fn remove_line(
        &self,
        user: UserId,
        item_id: i64,
        audit: AuditEntry,
    ) -> Result<Cart, DomainError>;
    async fn clear(&self, user: UserId, audit: AuditEntry) -> Result<Cart, DomainError>;
}

pub struct CartService {
    store: Arc<dyn CartStore>,
    warehouse: i64,
}

impl CartService {
    pub fn new(store: Arc<dyn CartStore>, warehouse: i64) -> Self {
        Self { store, warehouse }
    }

    pub async fn cart(&self, user: UserId) -> Result<Cart, DomainError> {
        self.store.cart(user).await
    }

    #[instrument(skip_all)]
    pub async fn add(
        &self,
        user: UserId,
        product_id: i64,
        quantity: i32,
        ctx: &RequestContext,
    ) -> Result<Cart, DomainError> {
        let audit = AuditEntry::new(ctx, "cart", AuditTarget::None, "ADD_ITEM");
        self.store
            .change_line(
                user,
                self.warehouse,
                LineChange::Add {
                    product_id,
                    quantity,
                },
                audit,
            )
            .await
    }

    #[instrument(skip_all)]
    pub async fn set(
        &self,
        user: UserId,
        item_id: i64,
        quantity: i32,
        ctx: &RequestContext,
    ) -> Result<Cart, DomainError> {
        let audit = AuditEntry::new(ctx, "cart", AuditTarget::None, "UPDATE_ITEM");
        self.store
            .change_line(
                user,
                self.warehouse,
                LineChange::Set { item_id, quantity },
                audit,
            )
            .await
    }

    #[instrument(skip_all)]
    pub async fn remove(
        &self,
        user: UserId,
        item_id: i64,
        ctx: &RequestContext,
    ) -> Result<Cart, DomainError> {
        self.store
            .remove_line(
                user,
                item_id,
                AuditEntry::new(ctx, "cart", AuditTarget::None, "DELETE_ITEM"),
            )
            .await
    }

    #[instrument(skip_all)]
    pub async fn clear(&self, user: UserId, ctx: &RequestContext) -> Result<Cart, DomainError> {
        self.store
            .clear(
                user,
                AuditEntry::new(ctx, "cart", AuditTarget::None, "CLEAR"),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(active: bool, total: i64, warehouse: i64) -> StockFacts {
        StockFacts {
            product_active: active,
            price: Money(690),
            total_available: total,
            warehouse_available: warehouse,
        }
    }

    fn code(r: Result<i32, DomainError>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(
                DomainError::NotFound { code, .. }
                | DomainError::Conflict { code, .. }
                | DomainError::BadRequest { code, .. },
            ) => code,
            Err(DomainError::Validation(_)) => "VALIDATION_ERROR",
            Err(_) => "other",
        }
    }

    #[test]
    fn line_rules_in_the_reference_order() {
        assert_eq!(
            code(decide_line(facts(false, 10, 10), 1)),
            "PRODUCT_INACTIVE"
        );
        assert_eq!(
            code(decide_line(facts(true, 0, 0), 1)),
            "OUT_OF_STOCK_ANYWHERE"
        );
        assert_eq!(
            code(decide_line(facts(true, 10, 3), 4)),
            "OUT_OF_STOCK_DELIVERY_BRANCH"
        );
        assert_eq!(code(decide_line(facts(true, 10, 3), 3)), "ok");
        assert_eq!(
            code(decide_line(facts(true, 100_000, 100_000), 10_001)),
            "VALIDATION_ERROR"
        );
    }

    #[test]
    fn totals() {
        let line = |q, p| CartLine {
            id: 1,
            product_id: 1,
            quantity: q,
            unit_price: Money(p),
            product_name: None,
            product_image: None,
        };
        let cart = Cart {
            id: 1,
            user_id: UserId(1),
            items: vec![line(2, 690), line(1, 1290)],
        };
        assert_eq!(cart.total(), Money(2670));
        assert!(
            parse_quantity(0).is_err()
                && parse_quantity(10_001).is_err()
                && parse_quantity(5).is_ok()
        );
    }
}
