//! Whether and how a request is reviewed: the decision the adapter runs while it holds the
//! request's row lock and, for an approval, the lock of the branch's inventory row.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{RequestStatus, RequestType, Review, StockRequestError};
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::identity::UserId;
use crate::inventory::{MAX_QUANTITY, StockLevel, StockMove};
use crate::validation::FieldError;

/// The request as read under its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewFacts {
    pub request_id: i64,
    pub status: RequestStatus,
    pub request_type: RequestType,
    pub requested_quantity: i32,
}

/// What the request row becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUpdate {
    pub status: RequestStatus,
    /// The approved amount (approvals only; `requested_quantity` keeps what was asked).
    pub quantity: Option<i32>,
    pub rejection_reason: Option<String>,
    pub reviewed_by: Option<UserId>,
    pub reviewed_at: DateTime<Utc>,
}

/// What a review writes, all in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewPlan {
    pub request_id: i64,
    /// `None` when the review asked for PENDING: nothing changes (the reference answers 200).
    pub update: Option<RequestUpdate>,
    /// The inventory row's new figure (approvals only).
    pub stock: Option<StockMove>,
    /// The stock's entry (`inventory/STOCK_REQUEST_APPLY`) first, then the request's
    /// (`stock_request/REVIEW`).
    pub audit: Vec<AuditEntry>,
}

/// The available stock an approval of `quantity` leaves on a row holding `available`.
fn approved_stock(
    request_type: RequestType,
    available: i32,
    quantity: i32,
) -> Result<i32, StockRequestError> {
    match request_type {
        RequestType::SetQuantity => Ok(quantity),
        RequestType::AddQuantity => available
            .checked_add(quantity)
            .filter(|n| *n <= MAX_QUANTITY)
            .ok_or_else(|| {
                let msg = format!("Stock cannot exceed {MAX_QUANTITY}");
                let e = FieldError::new(&["approved_quantity"], "less_than_equal", msg);
                StockRequestError::Validation(crate::ValidationErrors(vec![e]))
            }),
    }
}

/// Reviews the request `facts` describes, as the reference does and in its order: a missing
/// request, one already reviewed (409), an approval without a quantity, a vanished inventory
/// row (`stock`, locked by the adapter for approvals), a rejection without a reason. PENDING
/// changes nothing. The reviewer and the time are recorded with the decision.
pub fn decide_review(
    facts: Option<ReviewFacts>,
    stock: Option<StockLevel>,
    review: &Review,
    ctx: &RequestContext,
    now: DateTime<Utc>,
) -> Result<ReviewPlan, StockRequestError> {
    let facts = facts.ok_or(StockRequestError::NotFoundForReview)?;
    if facts.status != RequestStatus::Pending {
        return Err(StockRequestError::AlreadyReviewed);
    }
    let id = facts.request_id;
    let (quantity, rejection_reason, stock) = match review.status {
        RequestStatus::Pending => {
            return Ok(ReviewPlan {
                request_id: id,
                update: None,
                stock: None,
                audit: Vec::new(),
            });
        }
        RequestStatus::Approved => {
            let q = review
                .approved_quantity
                .ok_or(StockRequestError::QuantityRequired)?;
            let level = stock.ok_or(StockRequestError::InventoryGone)?;
            let after = approved_stock(facts.request_type, level.available, q)?;
            let stock = StockMove {
                row_id: level.row_id,
                product_id: level.product_id,
                before: level.available,
                after,
            };
            (Some(q), None, Some(stock))
        }
        RequestStatus::Rejected => {
            let reason = review
                .rejection_reason
                .clone()
                .ok_or(StockRequestError::ReasonRequired)?;
            (None, Some(reason), None)
        }
    };
    let mut audit: Vec<AuditEntry> = stock
        .iter()
        .map(|m| {
            let context = json!({"stock_request_id": id,
                "request_type": facts.request_type.as_str(), "approved_quantity": quantity});
            m.audit(ctx, "STOCK_REQUEST_APPLY", context)
        })
        .collect();
    audit.push(
        AuditEntry::new(ctx, "stock_request", AuditTarget::Id(id), "REVIEW")
            .old(json!({"status": RequestStatus::Pending.as_str()}))
            .new_value(
                json!({"status": review.status.as_str(), "approved_quantity": quantity,
                "rejection_reason": rejection_reason}),
            )
            .context(json!({"requested_quantity": facts.requested_quantity})),
    );
    Ok(ReviewPlan {
        request_id: id,
        update: Some(RequestUpdate {
            status: review.status,
            quantity,
            rejection_reason,
            reviewed_by: ctx.actor,
            reviewed_at: now,
        }),
        stock,
        audit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: RequestStatus, request_type: RequestType) -> Option<ReviewFacts> {
        Some(ReviewFacts {
            request_id: 4,
            status,
            request_type,
            requested_quantity: 10,
        })
    }

    const ROW: StockLevel = StockLevel {
        row_id: 9,
        product_id: 3,
        available: 7,
    };

    fn review(status: RequestStatus, q: Option<i32>, reason: Option<&str>) -> Review {
        Review {
            status,
            approved_quantity: q,
            rejection_reason: reason.map(str::to_owned),
        }
    }

    fn decide(
        facts: Option<ReviewFacts>,
        stock: Option<StockLevel>,
        r: &Review,
    ) -> Result<ReviewPlan, StockRequestError> {
        let ctx = RequestContext::default().with_actor(UserId(2));
        decide_review(facts, stock, r, &ctx, Utc::now())
    }

    use RequestStatus::{Approved, Pending, Rejected};
    use RequestType::{AddQuantity, SetQuantity};

    #[test]
    fn refusals_come_in_the_reference_order() {
        let approve = review(Approved, Some(4), None);
        assert_eq!(
            decide(None, Some(ROW), &approve).err(),
            Some(StockRequestError::NotFoundForReview)
        );
        let done = facts(Approved, AddQuantity);
        let no_quantity = review(Approved, None, None);
        assert_eq!(
            decide(done, None, &no_quantity).err(),
            Some(StockRequestError::AlreadyReviewed),
            "a reviewed request is 409 whatever the body says"
        );
        let pending = facts(Pending, AddQuantity);
        assert_eq!(
            decide(pending, None, &no_quantity).err(),
            Some(StockRequestError::QuantityRequired),
            "the quantity is checked before the inventory row"
        );
        assert_eq!(
            decide(pending, None, &approve).err(),
            Some(StockRequestError::InventoryGone)
        );
        let reject = review(Rejected, Some(4), None);
        assert_eq!(
            decide(pending, Some(ROW), &reject).err(),
            Some(StockRequestError::ReasonRequired)
        );
    }

    #[test]
    fn an_approval_sets_or_adds_and_records_the_reviewer() {
        let pending = facts(Pending, AddQuantity);
        let plan = decide(pending, Some(ROW), &review(Approved, Some(4), None));
        let plan = plan.unwrap_or_else(|e| panic!("{e}"));
        let m = plan.stock.unwrap_or_else(|| panic!("no stock move"));
        assert_eq!((m.row_id, m.before, m.after), (9, 7, 11), "7 + 4");
        let update = plan.update.unwrap_or_else(|| panic!("no update"));
        assert_eq!(
            (update.status, update.quantity, update.reviewed_by),
            (Approved, Some(4), Some(UserId(2))),
            "partial approval: 4 of the 10 asked"
        );
        let entries: Vec<_> = plan
            .audit
            .iter()
            .map(|a| (a.entity_type, a.action))
            .collect();
        assert_eq!(
            entries,
            [
                ("inventory", "STOCK_REQUEST_APPLY"),
                ("stock_request", "REVIEW")
            ]
        );
        assert_eq!(
            plan.audit[0].old_value,
            Some(json!({"available_quantity": 7}))
        );
        assert_eq!(
            plan.audit[0].new_value,
            Some(json!({"available_quantity": 11}))
        );
        assert_eq!(
            plan.audit[0]
                .context
                .as_ref()
                .map(|c| &c["stock_request_id"]),
            Some(&json!(4))
        );
        assert_eq!(plan.audit[1].actor, Some(UserId(2)));
        let set = decide(
            facts(Pending, SetQuantity),
            Some(ROW),
            &review(Approved, Some(4), None),
        );
        assert_eq!(
            set.ok().and_then(|p| p.stock).map(|m| m.after),
            Some(4),
            "set to 4"
        );
    }

    #[test]
    fn an_addition_never_exceeds_the_row_maximum() {
        let full = StockLevel {
            available: MAX_QUANTITY - 3,
            ..ROW
        };
        let over = decide(
            facts(Pending, AddQuantity),
            Some(full),
            &review(Approved, Some(4), None),
        );
        assert!(matches!(over, Err(StockRequestError::Validation(_))));
        let fits = decide(
            facts(Pending, AddQuantity),
            Some(full),
            &review(Approved, Some(3), None),
        );
        assert_eq!(
            fits.ok().and_then(|p| p.stock).map(|m| m.after),
            Some(MAX_QUANTITY)
        );
    }

    #[test]
    fn a_rejection_keeps_the_stock_and_stores_the_reason() {
        let plan = decide(
            facts(Pending, SetQuantity),
            None,
            &review(Rejected, None, Some("No room")),
        );
        let plan = plan.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.stock, None);
        let update = plan.update.unwrap_or_else(|| panic!("no update"));
        assert_eq!(
            (
                update.status,
                update.quantity,
                update.rejection_reason.as_deref()
            ),
            (Rejected, None, Some("No room"))
        );
        assert_eq!(plan.audit.len(), 1);
        assert_eq!(
            plan.audit[0].new_value,
            Some(json!({"status": "REJECTED", "approved_quantity": null,
                "rejection_reason": "No room"}))
        );
    }

    #[test]
    fn pending_changes_nothing() {
        let plan = decide(
            facts(Pending, AddQuantity),
            Some(ROW),
            &review(Pending, Some(3), None),
        );
        let plan = plan.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((plan.update, plan.stock, plan.audit.len()), (None, None, 0));
    }
}
