//! Per-branch stock: the inventory rows, their back-office changes, and the arithmetic of
//! taking an order's stock and giving it back.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use tracing::instrument;

use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::validation::FieldError;
use crate::{DomainError, InfraError};

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
                        details: serde_json::json!({
                            "available_quantity": available,
                            "adjustment": d,
                        }),
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

/// One inventory row as read under its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockLevel {
    pub row_id: i64,
    pub product_id: i64,
    pub available: i32,
}

/// A quantity of one product: an order line to take or to give back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductQuantity {
    pub product_id: i64,
    pub quantity: i32,
}

/// A product the branch holds too little of (shown as `details.missing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingItem {
    pub product_id: i64,
    pub requested_quantity: i64,
    pub available_quantity: i64,
}

/// The new figure of one inventory row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockMove {
    pub row_id: i64,
    pub product_id: i64,
    pub before: i32,
    pub after: i32,
}

impl StockMove {
    /// The move's audit entry: the row's figure before and after, and why (`context`).
    pub fn audit(
        &self,
        ctx: &RequestContext,
        action: &'static str,
        context: serde_json::Value,
    ) -> AuditEntry {
        AuditEntry::new(ctx, "inventory", AuditTarget::Id(self.row_id), action)
            .with_change(
                Some(serde_json::json!({"available_quantity": self.before})),
                Some(serde_json::json!({"available_quantity": self.after})),
            )
            .context(context)
    }
}

/// The lines `levels` cannot cover in full (a product without a row has none).
pub fn shortages(levels: &[StockLevel], wanted: &[ProductQuantity]) -> Vec<MissingItem> {
    wanted
        .iter()
        .filter_map(|w| {
            let available = levels
                .iter()
                .find(|l| l.product_id == w.product_id)
                .map_or(0, |l| i64::from(l.available));
            (available < i64::from(w.quantity)).then_some(MissingItem {
                product_id: w.product_id,
                requested_quantity: i64::from(w.quantity),
                available_quantity: available,
            })
        })
        .collect()
}

/// Each row's new figure after `step(available, quantity)`, in the rows' (id) order; `None`
/// when a step is refused.
fn moves(
    levels: &[StockLevel],
    quantities: &[ProductQuantity],
    step: impl Fn(i32, i32) -> Option<i32>,
) -> Option<Vec<StockMove>> {
    levels
        .iter()
        .filter_map(|l| {
            let q = quantities.iter().find(|q| q.product_id == l.product_id)?;
            Some(step(l.available, q.quantity).map(|after| StockMove {
                row_id: l.row_id,
                product_id: l.product_id,
                before: l.available,
                after,
            }))
        })
        .collect()
}

/// Takes `wanted` (one line per product) from the locked `levels`: every line must be covered
/// in full, so no row goes below zero; otherwise the shortages.
pub fn take(
    levels: &[StockLevel],
    wanted: &[ProductQuantity],
) -> Result<Vec<StockMove>, Vec<MissingItem>> {
    match moves(levels, wanted, |available, q| {
        available.checked_sub(q).filter(|n| *n >= 0)
    }) {
        // A line without a row has no move: it is short too.
        Some(moves) if moves.len() == wanted.len() => Ok(moves),
        _ => Err(shortages(levels, wanted)),
    }
}

/// Gives `returned` back to the locked `levels` (a product whose row is gone is skipped).
/// No cap: what was taken always fits back; only an arithmetic overflow is refused.
pub fn restore(
    levels: &[StockLevel],
    returned: &[ProductQuantity],
) -> Result<Vec<StockMove>, InfraError> {
    moves(levels, returned, i32::checked_add)
        .ok_or_else(|| InfraError::new("restoring stock would overflow an inventory row"))
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

    fn level(row_id: i64, product_id: i64, available: i32) -> StockLevel {
        StockLevel {
            row_id,
            product_id,
            available,
        }
    }

    fn qty(product_id: i64, quantity: i32) -> ProductQuantity {
        ProductQuantity {
            product_id,
            quantity,
        }
    }

    #[test]
    fn taking_stock_covers_every_line_or_names_the_shortages() {
        let levels = [level(3, 10, 5), level(8, 20, 1)];
        let moves = take(&levels, &[qty(20, 1), qty(10, 5)]);
        assert_eq!(
            moves
                .ok()
                .map(|m| m.iter().map(|m| (m.row_id, m.after)).collect::<Vec<_>>()),
            Some(vec![(3, 0), (8, 0)]),
            "in row id order, down to zero"
        );
        let short = take(&levels, &[qty(10, 6), qty(20, 1), qty(30, 2)]);
        assert_eq!(
            short.err(),
            Some(vec![
                MissingItem {
                    product_id: 10,
                    requested_quantity: 6,
                    available_quantity: 5
                },
                MissingItem {
                    product_id: 30,
                    requested_quantity: 2,
                    available_quantity: 0
                },
            ]),
            "a product without a row has nothing"
        );
    }

    #[test]
    fn restoring_adds_back_and_skips_missing_rows() {
        let levels = [level(3, 10, 0)];
        let moves = restore(&levels, &[qty(10, 4), qty(99, 1)]);
        assert_eq!(
            moves.ok(),
            Some(vec![StockMove {
                row_id: 3,
                product_id: 10,
                before: 0,
                after: 4
            }])
        );
        assert!(restore(&[level(1, 1, i32::MAX)], &[qty(1, 1)]).is_err());
        let audit = StockMove {
            row_id: 3,
            product_id: 10,
            before: 0,
            after: 4,
        }
        .audit(
            &RequestContext::default(),
            "RESTORE",
            serde_json::json!({"order_id": 1}),
        );
        assert_eq!(
            (audit.old_value, audit.new_value),
            (
                Some(serde_json::json!({"available_quantity": 0})),
                Some(serde_json::json!({"available_quantity": 4}))
            )
        );
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
