//! Picking a line (PENDING, PICKED, MISSING) and reporting a damaged item: the decisions the
//! adapter runs under the order's lock.

use serde_json::json;

use super::{OpsError, OrderFacts};
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::identity::models::length_error;
use crate::orders::{OrderStatus, PickedStatus};
use crate::validation::ValidationErrors;

/// What setting a line's picked status writes.
#[derive(Debug, Clone, PartialEq)]
pub struct PickPlan {
    pub item_id: i64,
    pub status: PickedStatus,
    /// `None` when the line already had this status: nothing is written.
    pub audit: Option<AuditEntry>,
}

/// Lines are picked while the order is being picked (IN_PROGRESS) or its missing items are
/// being looked for again (MISSING). A line removed from the order is not picked any more.
pub fn decide_pick(
    facts: Option<OrderFacts>,
    item_id: i64,
    to: PickedStatus,
    ctx: &RequestContext,
) -> Result<PickPlan, OpsError> {
    let facts = facts.ok_or(OpsError::OrderNotFound)?;
    let item = facts
        .items
        .iter()
        .find(|i| i.id == item_id)
        .ok_or(OpsError::ItemNotFound)?;
    if !matches!(facts.status, OrderStatus::InProgress | OrderStatus::Missing) {
        return Err(OpsError::NotPickable(facts.status));
    }
    if item.removed {
        return Err(OpsError::ItemRemoved);
    }
    let audit = (item.picked_status != to).then(|| {
        AuditEntry::new(
            ctx,
            "order_item",
            AuditTarget::Id(item_id),
            "UPDATE_PICK_STATUS",
        )
        .with_change(
            Some(json!({"picked_status": item.picked_status.as_str()})),
            Some(json!({"picked_status": to.as_str()})),
        )
        .context(json!({"order_id": facts.order_id}))
    });
    Ok(PickPlan {
        item_id,
        status: to,
        audit,
    })
}

/// A damage report as typed by staff: `reason` 1..256 characters, `notes` at most 512.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamageInput {
    pub reason: String,
    pub notes: Option<String>,
}

impl DamageInput {
    /// Trims both fields; an empty `notes` is none. Every broken rule is reported at once.
    pub fn parse(reason: &str, notes: Option<&str>) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let reason = reason.trim();
        errors.0.extend(length_error("reason", reason, 1, 256));
        let notes = notes.map(str::trim).filter(|n| !n.is_empty());
        errors
            .0
            .extend(notes.and_then(|n| length_error("notes", n, 0, 512)));
        errors.into_result()?;
        Ok(Self {
            reason: reason.to_owned(),
            notes: notes.map(str::to_owned),
        })
    }
}

/// A damaged item can be reported on any line of any order (damage is found at any time);
/// returns the audit row `order_item/REPORT_DAMAGE`.
pub fn decide_damage(
    facts: Option<OrderFacts>,
    item_id: i64,
    input: &DamageInput,
    ctx: &RequestContext,
) -> Result<AuditEntry, OpsError> {
    let facts = facts.ok_or(OpsError::OrderNotFound)?;
    if !facts.items.iter().any(|i| i.id == item_id) {
        return Err(OpsError::ItemNotFound);
    }
    Ok(
        AuditEntry::new(ctx, "order_item", AuditTarget::Id(item_id), "REPORT_DAMAGE")
            .new_value(json!({"reason": input.reason, "notes": input.notes}))
            .context(json!({"order_id": facts.order_id})),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Money;
    use crate::ops::{LineFacts, OrderPayment};
    use crate::orders::{Fulfillment, PaymentStatus};

    fn facts(status: OrderStatus) -> Option<OrderFacts> {
        let line = |id, removed| LineFacts {
            id,
            product_id: 1,
            unit_price: Money(100),
            quantity: 1,
            picked_status: PickedStatus::Pending,
            removed,
        };
        Some(OrderFacts {
            order_id: 3,
            status,
            fulfillment: Fulfillment::Delivery,
            branch_id: 1,
            subtotal: Money(200),
            delivery_fee: Money::ZERO,
            total: Money(200),
            payment: OrderPayment {
                status: PaymentStatus::Authorized,
                intent_id: Some("pi".into()),
                authorized: Money(200),
                captured: Money::ZERO,
                refunded: Money::ZERO,
            },
            items: vec![line(10, false), line(11, true)],
        })
    }

    fn pick(facts: Option<OrderFacts>, item: i64, to: PickedStatus) -> Result<PickPlan, OpsError> {
        decide_pick(facts, item, to, &RequestContext::default())
    }

    #[test]
    fn lines_are_picked_while_the_order_is_picked() {
        for status in [OrderStatus::InProgress, OrderStatus::Missing] {
            let plan = pick(facts(status), 10, PickedStatus::Picked);
            let audit = plan.ok().and_then(|p| p.audit);
            assert_eq!(
                audit.map(|a| (a.action, a.old_value, a.new_value)),
                Some((
                    "UPDATE_PICK_STATUS",
                    Some(json!({"picked_status": "PENDING"})),
                    Some(json!({"picked_status": "PICKED"}))
                ))
            );
        }
        for status in [
            OrderStatus::Created,
            OrderStatus::Ready,
            OrderStatus::Delivered,
            OrderStatus::Canceled,
        ] {
            assert_eq!(
                pick(facts(status), 10, PickedStatus::Picked).err(),
                Some(OpsError::NotPickable(status))
            );
        }
    }

    #[test]
    fn unknown_removed_and_unchanged_lines() {
        let in_progress = || facts(OrderStatus::InProgress);
        assert_eq!(
            pick(None, 10, PickedStatus::Picked).err(),
            Some(OpsError::OrderNotFound)
        );
        assert_eq!(
            pick(in_progress(), 99, PickedStatus::Picked).err(),
            Some(OpsError::ItemNotFound)
        );
        assert_eq!(
            pick(in_progress(), 11, PickedStatus::Picked).err(),
            Some(OpsError::ItemRemoved)
        );
        let same = pick(in_progress(), 10, PickedStatus::Pending);
        assert_eq!(same.map(|p| p.audit).ok(), Some(None), "nothing to write");
    }

    #[test]
    fn damage_reports_are_checked_and_audited() {
        assert!(DamageInput::parse("  ", None).is_err());
        assert!(DamageInput::parse(&"x".repeat(257), None).is_err());
        let both = DamageInput::parse("", Some(&"n".repeat(513)));
        assert_eq!(both.err().map(|e| e.0.len()), Some(2), "all errors at once");
        let input =
            DamageInput::parse(" Crushed box ", Some(" ")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            input,
            DamageInput {
                reason: "Crushed box".into(),
                notes: None
            }
        );
        let ctx = RequestContext::default();
        let audit = decide_damage(facts(OrderStatus::Delivered), 10, &input, &ctx);
        assert_eq!(
            audit.map(|a| a.new_value),
            Ok(Some(json!({"reason": "Crushed box", "notes": null})))
        );
        assert_eq!(
            decide_damage(facts(OrderStatus::Ready), 7, &input, &ctx).err(),
            Some(OpsError::ItemNotFound)
        );
    }
}
