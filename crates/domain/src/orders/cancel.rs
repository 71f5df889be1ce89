//! Whether an order may be canceled: the decision the adapter runs under the order's row lock.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{OrderError, OrderStatus, PaymentStatus};
use crate::audit::{AuditEntry, AuditTarget, RequestContext};

/// The order as read under its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelFacts {
    pub order_id: i64,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub branch_id: Option<i64>,
}

/// What canceling writes: the stock of `branch_id` back, the order CANCELED, the audit entry;
/// then, after the commit, the authorization voided when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct CancelPlan {
    pub order_id: i64,
    /// The branch whose stock the order took (0 when unknown: nothing to give back).
    pub branch_id: i64,
    /// The authorization is held at the provider and must be voided.
    pub void: bool,
    pub audit: AuditEntry,
}

/// Only the customer's own CREATED order whose payment is settled can be canceled.
pub fn decide_cancel(
    facts: Option<CancelFacts>,
    ctx: &RequestContext,
    now: DateTime<Utc>,
) -> Result<CancelPlan, OrderError> {
    let facts = facts.ok_or(OrderError::NotFound)?;
    if facts.status != OrderStatus::Created {
        return Err(OrderError::InvalidStatus);
    }
    if facts.payment_status == PaymentStatus::Pending {
        return Err(OrderError::PaymentPending);
    }
    let audit = AuditEntry::new(ctx, "order", AuditTarget::Id(facts.order_id), "CANCEL")
        .with_change(
            Some(json!({"status": OrderStatus::Created.as_str()})),
            Some(json!({"status": OrderStatus::Canceled.as_str()})),
        )
        .context(json!({"canceled_at": now.to_rfc3339()}));
    Ok(CancelPlan {
        order_id: facts.order_id,
        branch_id: facts.branch_id.unwrap_or(0),
        void: facts.payment_status == PaymentStatus::Authorized,
        audit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: OrderStatus, payment_status: PaymentStatus) -> Option<CancelFacts> {
        Some(CancelFacts {
            order_id: 7,
            status,
            payment_status,
            branch_id: Some(1),
        })
    }

    fn decide(facts: Option<CancelFacts>) -> Result<CancelPlan, OrderError> {
        decide_cancel(facts, &RequestContext::default(), Utc::now())
    }

    #[test]
    fn only_a_created_order_with_a_settled_payment_is_canceled() {
        assert_eq!(decide(None).err(), Some(OrderError::NotFound));
        let ready = facts(OrderStatus::Ready, PaymentStatus::Authorized);
        assert_eq!(decide(ready).err(), Some(OrderError::InvalidStatus));
        let pending = facts(OrderStatus::Created, PaymentStatus::Pending);
        assert_eq!(decide(pending).err(), Some(OrderError::PaymentPending));
    }

    #[test]
    fn an_authorized_order_is_voided_and_audited() {
        let plan = decide(facts(OrderStatus::Created, PaymentStatus::Authorized));
        let plan = plan.unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.void);
        assert_eq!(plan.branch_id, 1);
        assert_eq!(
            (plan.audit.action, plan.audit.target),
            ("CANCEL", AuditTarget::Id(7))
        );
        assert_eq!(plan.audit.new_value, Some(json!({"status": "CANCELED"})));
        let declined = decide(facts(OrderStatus::Created, PaymentStatus::Declined));
        assert_eq!(
            declined.map(|p| p.void).ok(),
            Some(false),
            "nothing held: no void"
        );
    }
}
