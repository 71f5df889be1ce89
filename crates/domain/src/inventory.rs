//! Per-branch stock: the inventory rows and their back-office changes.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use tracing::instrument;

use crate::DomainError;
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::validation::FieldError;

/// Highest quantity one row may hold.
pub const MAX_QUANTITY: i32 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryItem {
    pub id: i64,
    pub branch_id: i64,
    pub branch_name: String,
    pub product_id: i64,
    pub product_name: String,
    pub product_sku: String,
    pub available_quantity: i32,
    pub reserved_quantity: i32,
    pub reorder_point: i32,
}

/// How `available_quantity` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChange {
    /// Becomes exactly this.
    Set(i32),
    /// Moves by this much (received goods, a count correction); may not go below zero.
    Adjust(i32),
}

/// A change to one inventory row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryChange {
    pub available: Option<StockChange>,
    pub reserved: Option<i32>,
    pub reorder_point: Option<i32>,
}

impl InventoryChange {
    /// Applies the change to the current figures `(available, reserved, reorder_point)`.
    /// This is the decision the adapter runs while it holds the row lock.
    pub fn apply(
        &self,
        available: i32,
        reserved: i32,
        reorder_point: i32,
    ) -> Result<(i32, i32, i32), DomainError> {
        let new_available = match self.available {
            None => available,
            Some(StockChange::Set(n)) => n,
            Some(StockChange::Adjust(d)) => {
                let n = i64::from(available) + i64::from(d);
                if n < 0 {
                    return Err(DomainError::Conflict {
                        code: "INSUFFICIENT_STOCK",
                        message: "Stock cannot go below zero".into(),
                        details: serde_json::json!({ "available_quantity": available, "adjustment": d }),
                    });
                }
                i32::try_from(n)
                    .ok()
                    .filter(|n| *n <= MAX_QUANTITY)
                    .ok_or_else(|| {
                        DomainError::invalid(FieldError::new(
                            &["available_delta"],
                            "less_than_equal",
                            format!("Stock cannot exceed {MAX_QUANTITY}"),
                        ))
                    })?
            }
        };
        Ok((
            new_available,
            self.reserved.unwrap_or(reserved),
            self.reorder_point.unwrap_or(reorder_point),
        ))
    }
}

/// A quantity field: a whole number in `0..=MAX_QUANTITY`.
pub fn parse_quantity(field: &str, value: i64) -> Result<i32, FieldError> {
    if value < 0 {
        return Err(FieldError::new(
            &[field],
            "greater_than_equal",
            "Input should be greater than or equal to 0",
        ));
    }
    i32::try_from(value)
        .ok()
        .filter(|v| *v <= MAX_QUANTITY)
        .ok_or_else(|| {
            FieldError::new(
                &[field],
                "less_than_equal",
                format!("Input should be less than or equal to {MAX_QUANTITY}"),
            )
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewInventory {
    pub product_id: i64,
    pub branch_id: i64,
    pub available_quantity: i32,
    pub reserved_quantity: i32,
    pub reorder_point: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InventoryFilter {
    pub branch_id: Option<i64>,
    pub product_id: Option<i64>,
}

/// Inventory rows.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait InventoryStore: Send + Sync {
    /// Rows by branch and product name, and the total.
    async fn list(
        &self,
        filter: InventoryFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<InventoryItem>, i64), DomainError>;

    /// Errors: `Conflict(DUPLICATE_INVENTORY)`, `NotFound` (product or branch).
    async fn create(
        &self,
        new: NewInventory,
        audit: AuditEntry,
    ) -> Result<InventoryItem, DomainError>;

    /// Locks the row (`SELECT … FOR UPDATE`), applies [`InventoryChange::apply`] to its current
    /// figures, writes them and the audit entry (old and new figures) in one transaction, so
    /// concurrent changes serialise and none is lost.
    /// Errors: `NotFound`, whatever `apply` refuses.
    async fn change(
        &self,
        id: i64,
        change: InventoryChange,
        audit: AuditEntry,
    ) -> Result<InventoryItem, DomainError>;
}

/// Inventory use cases.
pub struct InventoryService {
    store: Arc<dyn InventoryStore>,
}

impl InventoryService {
    pub fn new(store: Arc<dyn InventoryStore>) -> Self {
        Self { store }
    }

    pub async fn list(
        &self,
        filter: InventoryFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<InventoryItem>, i64), DomainError> {
        self.store.list(filter, limit, offset).await
    }

    #[instrument(skip_all)]
    pub async fn create(
        &self,
        new: NewInventory,
        ctx: &RequestContext,
    ) -> Result<InventoryItem, DomainError> {
        self.store
            .create(
                new,
                AuditEntry::new(ctx, "inventory", AuditTarget::Created, "CREATE"),
            )
            .await
    }

    #[instrument(skip_all)]
    pub async fn change(
        &self,
        id: i64,
        change: InventoryChange,
        ctx: &RequestContext,
    ) -> Result<InventoryItem, DomainError> {
        if change
            == (InventoryChange {
                available: None,
                reserved: None,
                reorder_point: None,
            })
        {
            return Err(DomainError::invalid(FieldError::new(
                &["body"],
                "missing",
                "Give available_quantity, available_delta, reserved_quantity or reorder_point",
            )));
        }
        let action = match change.available {
            Some(StockChange::Adjust(_)) => "ADJUST",
            _ => "UPDATE",
        };
        self.store
            .change(
                id,
                change,
                AuditEntry::new(ctx, "inventory", AuditTarget::Id(id), action),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustments_never_go_below_zero() {
        let c = InventoryChange {
            available: Some(StockChange::Adjust(-5)),
            reserved: None,
            reorder_point: None,
        };
        assert_eq!(c.apply(5, 1, 2).ok(), Some((0, 1, 2)));
        assert!(matches!(
            c.apply(4, 0, 0),
            Err(DomainError::Conflict {
                code: "INSUFFICIENT_STOCK",
                ..
            })
        ));
        let s = InventoryChange {
            available: Some(StockChange::Set(9)),
            reserved: Some(3),
            reorder_point: None,
        };
        assert_eq!(s.apply(100, 0, 7).ok(), Some((9, 3, 7)));
    }

    #[test]
    fn quantities_are_bounded() {
        assert!(parse_quantity("q", -1).is_err());
        assert!(parse_quantity("q", i64::from(MAX_QUANTITY) + 1).is_err());
        assert_eq!(parse_quantity("q", 7).ok(), Some(7));
    }

    #[tokio::test]
    async fn an_empty_change_is_refused() {
        let svc = InventoryService::new(Arc::new(MockInventoryStore::new()));
        let none = InventoryChange {
            available: None,
            reserved: None,
            reorder_point: None,
        };
        assert!(matches!(
            svc.change(1, none, &RequestContext::default()).await,
            Err(DomainError::Validation(_))
        ));
    }
}
