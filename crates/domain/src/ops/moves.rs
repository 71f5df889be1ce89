//! The order status machine of staff (decision 7 and the Clarifications): which moves exist
//! from each status for each fulfilment type, their conditions (picked items, the payment),
//! who may make them, and what each one writes and sets in motion.
//!
//! | From | To | Condition, and what the move does |
//! |---|---|---|
//! | CREATED | IN_PROGRESS | the payment is authorized |
//! | IN_PROGRESS | READY | every item PICKED; captures the total |
//! | IN_PROGRESS | MISSING | some item MISSING |
//! | MISSING | READY | no item PENDING, some PICKED; removes the MISSING items (their stock |
//! | | | back), re-prices the order, captures the new total |
//! | READY | OUT_FOR_DELIVERY / DELIVERED | delivery / pickup; the payment is captured |
//! | OUT_FOR_DELIVERY | DELIVERED, DELAYED | |
//! | DELAYED | OUT_FOR_DELIVERY | |
//! | CREATED, IN_PROGRESS, MISSING | CANCELED | MANAGER, ADMIN; stock back, void |
//! | READY | CANCELED | MANAGER, ADMIN; stock back, the capture refunded |
//!
//! No move is possible while the payment's outcome is unknown (PENDING, CAPTURE_PENDING,
//! REFUND_PENDING): that is `PaymentPending`, not an invalid move.

use serde_json::json;

use super::reprice::per_product;
use super::{Amounts, OpsError, OrderFacts, reprice};
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::checkout::DeliveryPricing;
use crate::identity::Role;
use crate::inventory::ProductQuantity;
use crate::orders::{Fulfillment, OrderStatus as S, PaymentStatus as P, PickedStatus};
use crate::payments::ledger::{MoneyStep, StepKind};
use crate::{InfraError, Money};

/// The moves from `from` for a `fulfillment` order, before any condition.
pub fn moves_from(from: S, fulfillment: Fulfillment) -> &'static [S] {
    match (from, fulfillment) {
        (S::Created, _) => &[S::InProgress, S::Canceled],
        (S::InProgress, _) => &[S::Ready, S::Missing, S::Canceled],
        (S::Missing, _) => &[S::Ready, S::Canceled],
        (S::Ready, Fulfillment::Delivery) => &[S::OutForDelivery, S::Canceled],
        (S::Ready, Fulfillment::Pickup) => &[S::Delivered, S::Canceled],
        (S::OutForDelivery, Fulfillment::Delivery) => &[S::Delivered, S::Delayed],
        (S::Delayed, Fulfillment::Delivery) => &[S::OutForDelivery],
        (S::OutForDelivery | S::Delayed, Fulfillment::Pickup) | (S::Delivered | S::Canceled, _) => {
            &[]
        }
    }
}

/// Only a MANAGER or an ADMIN cancels; every staff member makes the other moves.
fn may(role: Role, to: S) -> bool {
    to != S::Canceled || matches!(role, Role::Manager | Role::Admin)
}

/// The payment waits for an answer from the provider.
fn payment_waits(status: P) -> bool {
    matches!(status, P::Pending | P::CapturePending | P::RefundPending)
}

/// Why the move from the order's status to `to` cannot be made now; `None` when it can.
fn unmet(facts: &OrderFacts, to: S) -> Option<&'static str> {
    let mut items = facts.active_items().peekable();
    let has_items = items.peek().is_some();
    let picked: Vec<PickedStatus> = items.map(|i| i.picked_status).collect();
    let any = |s: PickedStatus| picked.contains(&s);
    let payment = &facts.payment;
    let authorized = payment.status == P::Authorized && payment.intent_id.is_some();
    // A zero total is voided instead of captured (nothing to take).
    let paid = payment.status == P::Captured
        || (payment.status == P::Voided && facts.total == Money::ZERO);
    match (facts.status, to) {
        (_, S::Canceled) => None,
        (S::Created, S::InProgress) | (S::InProgress | S::Missing, S::Ready) if !authorized => {
            Some("the payment is not authorized")
        }
        (S::InProgress, S::Ready)
            if !has_items || any(PickedStatus::Pending) || any(PickedStatus::Missing) =>
        {
            Some("every item must be PICKED")
        }
        (S::InProgress, S::Missing) if !any(PickedStatus::Missing) => Some("no item is MISSING"),
        (S::Missing, S::Ready) if any(PickedStatus::Pending) => {
            Some("some items are still PENDING: pick them or mark them MISSING")
        }
        (S::Missing, S::Ready) if !any(PickedStatus::Picked) => {
            Some("every item is missing: cancel the order instead")
        }
        (S::Ready, S::OutForDelivery | S::Delivered) if !paid => {
            Some("the payment is not captured")
        }
        _ => None,
    }
}

/// The moves `role` can make from the order's status right now.
pub fn allowed_moves(facts: &OrderFacts, role: Role) -> Vec<S> {
    if payment_waits(facts.payment.status) {
        return Vec::new();
    }
    moves_from(facts.status, facts.fulfillment)
        .iter()
        .copied()
        .filter(|to| may(role, *to) && unmet(facts, *to).is_none())
        .collect()
}

/// What a move writes in its transaction and sets in motion after the commit.
#[derive(Debug, Clone, PartialEq)]
pub struct MovePlan {
    pub order_id: i64,
    pub branch_id: i64,
    pub to: S,
    /// The order's new amounts, when missing lines were removed.
    pub repriced: Option<Amounts>,
    /// Lines removed from the order (they keep their rows).
    pub removed_items: Vec<i64>,
    /// Stock to give back to `branch_id`, and why (the audit rows' `context.reason`).
    pub restock: Vec<ProductQuantity>,
    pub restock_reason: &'static str,
    /// The capture, refund or void to run at the provider once the move is committed.
    pub money: Option<MoneyStep>,
    /// The order's and the payment's audit rows.
    pub audit: Vec<AuditEntry>,
}

impl MovePlan {
    /// The payment status and amount the money step waits in (a void waits in AUTHORIZED).
    pub fn payment_waits(&self) -> Option<(P, Money)> {
        match self.money.as_ref().map(|m| m.kind) {
            Some(StepKind::Capture(amount)) => Some((P::CapturePending, amount)),
            Some(StepKind::Refund(amount)) => Some((P::RefundPending, amount)),
            Some(StepKind::Void) | None => None,
        }
    }
}

/// Decides a staff member's move of an order to `to`, on the order as read under its lock.
/// Errors: `OrderNotFound`; `CancelForbidden` (an EMPLOYEE canceling); `InvalidTransition`
/// naming the moves allowed now; `PaymentPending` while the payment waits for the provider.
pub fn decide_move(
    facts: Option<OrderFacts>,
    to: S,
    role: Role,
    pricing: DeliveryPricing,
    ctx: &RequestContext,
) -> Result<MovePlan, OpsError> {
    let facts = facts.ok_or(OpsError::OrderNotFound)?;
    if !may(role, to) {
        return Err(OpsError::CancelForbidden);
    }
    let refuse = |reason: String| OpsError::InvalidTransition {
        from: facts.status,
        to,
        allowed: allowed_moves(&facts, role),
        reason,
    };
    if !moves_from(facts.status, facts.fulfillment).contains(&to) {
        let kind = facts.fulfillment.as_str().to_lowercase();
        let (from, to) = (facts.status.as_str(), to.as_str());
        return Err(refuse(format!(
            "{from} → {to} is not a move of a {kind} order"
        )));
    }
    if payment_waits(facts.payment.status) {
        return Err(OpsError::PaymentPending);
    }
    if let Some(reason) = unmet(&facts, to) {
        return Err(refuse(reason.to_owned()));
    }
    plan(&facts, to, pricing, ctx)
}

fn intent(facts: &OrderFacts) -> Result<String, InfraError> {
    facts.payment.intent_id.clone().ok_or_else(|| {
        InfraError::new(format!(
            "order {} has no provider payment id",
            facts.order_id
        ))
    })
}

/// READY captures the (re-priced) total; a zero total releases the authorization instead.
fn capture(facts: &OrderFacts, total: Money) -> Result<MoneyStep, InfraError> {
    if total > facts.payment.authorized {
        return Err(InfraError::new(format!(
            "order {} would capture {total} of an authorization of {}",
            facts.order_id, facts.payment.authorized
        )));
    }
    let intent = intent(facts)?;
    Ok(if total == Money::ZERO {
        MoneyStep::void(facts.order_id, intent)
    } else {
        MoneyStep::capture(facts.order_id, intent, total)
    })
}

/// A cancel voids an authorization or refunds what was captured and not yet refunded; a
/// refused capture (FAILED) holds nothing.
fn release(facts: &OrderFacts) -> Result<Option<MoneyStep>, InfraError> {
    let p = &facts.payment;
    let outstanding = Money(p.captured.minor() - p.refunded.minor());
    Ok(match p.status {
        P::Authorized => Some(MoneyStep::void(facts.order_id, intent(facts)?)),
        P::Captured | P::PartiallyRefunded if outstanding > Money::ZERO => Some(MoneyStep::refund(
            facts.order_id,
            intent(facts)?,
            outstanding,
        )),
        _ => None,
    })
}

fn plan(
    facts: &OrderFacts,
    to: S,
    pricing: DeliveryPricing,
    ctx: &RequestContext,
) -> Result<MovePlan, OpsError> {
    let mut plan = MovePlan {
        order_id: facts.order_id,
        branch_id: facts.branch_id,
        to,
        repriced: None,
        removed_items: Vec::new(),
        restock: Vec::new(),
        restock_reason: "",
        money: None,
        audit: Vec::new(),
    };
    let mut items_audit = Vec::new();
    match to {
        S::Ready => {
            let mut total = facts.total;
            if facts.status == S::Missing {
                let r = reprice(&facts.items, facts.fulfillment, facts.delivery_fee, pricing);
                items_audit = removal_audit(facts, &r.removed, ctx);
                total = r.amounts.total;
                plan.repriced = Some(r.amounts);
                plan.removed_items = r.removed;
                plan.restock = r.returned;
                plan.restock_reason = "ITEM_MISSING";
            }
            plan.money = Some(capture(facts, total)?);
        }
        S::Canceled => {
            plan.restock = per_product(facts.active_items());
            plan.restock_reason = "ORDER_CANCELED";
            plan.money = release(facts)?;
        }
        _ => {}
    }
    plan.audit.push(status_audit(facts, to, plan.repriced, ctx));
    plan.audit.extend(items_audit);
    if let Some((waits, amount)) = plan.payment_waits() {
        let action = if waits == P::CapturePending {
            "CAPTURE_REQUESTED"
        } else {
            "REFUND_REQUESTED"
        };
        let entry = AuditEntry::new(ctx, "payment", AuditTarget::Id(facts.order_id), action)
            .with_change(
                Some(json!({"payment_status": facts.payment.status.as_str()})),
                Some(json!({"payment_status": waits.as_str(), "amount": amount.to_string()})),
            );
        plan.audit.push(entry);
    }
    Ok(plan)
}

/// `order/UPDATE_STATUS` (as the reference), with the amounts when they changed.
fn status_audit(
    facts: &OrderFacts,
    to: S,
    repriced: Option<Amounts>,
    ctx: &RequestContext,
) -> AuditEntry {
    let snapshot = |status: S, a: Amounts| {
        json!({"status": status.as_str(), "subtotal_amount": a.subtotal.to_string(),
            "delivery_fee": a.delivery_fee.to_string(), "total_amount": a.total.to_string()})
    };
    let before = Amounts {
        subtotal: facts.subtotal,
        delivery_fee: facts.delivery_fee,
        total: facts.total,
    };
    AuditEntry::new(
        ctx,
        "order",
        AuditTarget::Id(facts.order_id),
        "UPDATE_STATUS",
    )
    .with_change(
        Some(snapshot(facts.status, before)),
        Some(snapshot(to, repriced.unwrap_or(before))),
    )
}

/// `order_item/REMOVE` for each removed line.
fn removal_audit(facts: &OrderFacts, removed: &[i64], ctx: &RequestContext) -> Vec<AuditEntry> {
    facts
        .items
        .iter()
        .filter(|i| removed.contains(&i.id))
        .map(|i| {
            AuditEntry::new(ctx, "order_item", AuditTarget::Id(i.id), "REMOVE")
                .with_change(
                    Some(json!({"removed": false})),
                    Some(json!({"removed": true})),
                )
                .context(
                    json!({"order_id": facts.order_id, "product_id": i.product_id,
                    "quantity": i.quantity, "reason": "MISSING"}),
                )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{LineFacts, OrderPayment};

    const ALL: [S; 8] = [
        S::Created,
        S::InProgress,
        S::Ready,
        S::OutForDelivery,
        S::Delivered,
        S::Canceled,
        S::Delayed,
        S::Missing,
    ];

    fn line(id: i64, price: i64, status: PickedStatus) -> LineFacts {
        LineFacts {
            id,
            product_id: id + 100,
            unit_price: Money(price),
            quantity: 1,
            picked_status: status,
            removed: false,
        }
    }

    fn order(status: S, fulfillment: Fulfillment, payment: P) -> OrderFacts {
        let items = vec![
            line(1, 2_000, PickedStatus::Picked),
            line(2, 1_000, PickedStatus::Picked),
        ];
        let captured = if matches!(payment, P::Captured | P::Refunded) {
            6_000
        } else {
            0
        };
        OrderFacts {
            order_id: 9,
            status,
            fulfillment,
            branch_id: 1,
            subtotal: Money(3_000),
            delivery_fee: Money(3_000),
            total: Money(6_000),
            payment: OrderPayment {
                status: payment,
                intent_id: Some("pi_9".into()),
                authorized: Money(6_000),
                captured: Money(captured),
                refunded: Money::ZERO,
            },
            items,
        }
    }

    /// The payment an order in `status` normally has.
    fn paid_as(status: S) -> P {
        match status {
            S::Created | S::InProgress | S::Missing => P::Authorized,
            S::Canceled => P::Voided,
            _ => P::Captured,
        }
    }

    fn pricing() -> DeliveryPricing {
        DeliveryPricing {
            delivery_min: Money(15_000),
            delivery_fee: Money(3_000),
        }
    }

    fn decide(facts: OrderFacts, to: S, role: Role) -> Result<MovePlan, OpsError> {
        decide_move(Some(facts), to, role, pricing(), &RequestContext::default())
    }

    fn with_picks(mut facts: OrderFacts, picks: [PickedStatus; 2]) -> OrderFacts {
        for (item, status) in facts.items.iter_mut().zip(picks) {
            item.picked_status = status;
        }
        facts
    }

    /// The status machine table: every (from, to, fulfilment) pair, for a manager, on an order
    /// whose items and payment meet every condition of its status.
    #[test]
    fn the_table_of_moves() {
        let expected = |from: S, to: S, f: Fulfillment| -> bool {
            let delivery = f == Fulfillment::Delivery;
            matches!(
                (from, to),
                (S::Created, S::InProgress | S::Canceled)
                    | (S::InProgress, S::Ready | S::Canceled)
                    | (S::Missing, S::Ready | S::Canceled)
                    | (S::Ready, S::Canceled)
            ) || (delivery
                && matches!(
                    (from, to),
                    (S::Ready | S::Delayed, S::OutForDelivery)
                        | (S::OutForDelivery, S::Delivered | S::Delayed)
                ))
                || (!delivery && (from, to) == (S::Ready, S::Delivered))
        };
        for f in [Fulfillment::Delivery, Fulfillment::Pickup] {
            for from in ALL {
                for to in ALL {
                    let r = decide(order(from, f, paid_as(from)), to, Role::Manager);
                    assert_eq!(r.is_ok(), expected(from, to, f), "{from:?} -> {to:?} {f:?}");
                    if let Err(e) = r {
                        assert!(
                            matches!(e, OpsError::InvalidTransition { .. }),
                            "{from:?} -> {to:?}: {e:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_refusal_names_the_moves_allowed_now() {
        let pickup = order(S::Ready, Fulfillment::Pickup, P::Captured);
        match decide(pickup, S::OutForDelivery, Role::Employee) {
            Err(OpsError::InvalidTransition {
                from,
                allowed,
                reason,
                ..
            }) => {
                assert_eq!(from, S::Ready);
                assert_eq!(allowed, vec![S::Delivered], "an employee cannot cancel");
                assert!(reason.contains("pickup"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let pending = with_picks(
            order(S::InProgress, Fulfillment::Delivery, P::Authorized),
            [PickedStatus::Picked, PickedStatus::Pending],
        );
        match decide(pending, S::Ready, Role::Admin) {
            Err(OpsError::InvalidTransition {
                allowed, reason, ..
            }) => {
                assert_eq!(allowed, vec![S::Canceled]);
                assert_eq!(reason, "every item must be PICKED");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn item_conditions_decide_ready_and_missing() {
        use PickedStatus::{Missing, Pending, Picked};
        let f = Fulfillment::Delivery;
        let in_progress = |picks| with_picks(order(S::InProgress, f, P::Authorized), picks);
        let missing = |picks| with_picks(order(S::Missing, f, P::Authorized), picks);
        let ok = |facts, to| decide(facts, to, Role::Employee).is_ok();
        assert!(ok(in_progress([Picked, Picked]), S::Ready));
        assert!(!ok(in_progress([Picked, Missing]), S::Ready));
        assert!(ok(in_progress([Picked, Missing]), S::Missing));
        assert!(!ok(in_progress([Picked, Pending]), S::Missing));
        assert!(ok(missing([Picked, Missing]), S::Ready));
        assert!(!ok(missing([Pending, Missing]), S::Ready), "pending lines");
        assert!(!ok(missing([Missing, Missing]), S::Ready), "nothing left");
    }

    #[test]
    fn only_managers_and_admins_cancel() {
        for from in [S::Created, S::InProgress, S::Missing, S::Ready] {
            let facts = order(from, Fulfillment::Delivery, paid_as(from));
            assert_eq!(
                decide(facts.clone(), S::Canceled, Role::Employee).err(),
                Some(OpsError::CancelForbidden)
            );
            assert!(decide(facts.clone(), S::Canceled, Role::Manager).is_ok());
            assert!(decide(facts, S::Canceled, Role::Admin).is_ok());
        }
    }

    #[test]
    fn nothing_moves_while_the_payment_waits() {
        for waiting in [P::Pending, P::CapturePending, P::RefundPending] {
            let facts = order(S::Ready, Fulfillment::Delivery, waiting);
            assert_eq!(
                decide(facts, S::Canceled, Role::Admin).err(),
                Some(OpsError::PaymentPending)
            );
        }
        let created = order(S::Created, Fulfillment::Delivery, P::Pending);
        assert_eq!(
            decide(created, S::InProgress, Role::Employee).err(),
            Some(OpsError::PaymentPending)
        );
        let declined = order(S::Ready, Fulfillment::Delivery, P::Failed);
        assert!(
            matches!(decide(declined, S::OutForDelivery, Role::Admin),
                Err(OpsError::InvalidTransition { reason, .. }) if reason.contains("captured")),
            "a refused capture holds the goods"
        );
    }

    #[test]
    fn ready_captures_the_total_and_audits_the_request() {
        let facts = order(S::InProgress, Fulfillment::Delivery, P::Authorized);
        let plan = decide(facts, S::Ready, Role::Employee).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plan.money,
            Some(MoneyStep::capture(9, "pi_9", Money(6_000)))
        );
        assert_eq!(
            plan.payment_waits(),
            Some((P::CapturePending, Money(6_000)))
        );
        assert!(plan.restock.is_empty() && plan.repriced.is_none());
        let actions: Vec<&str> = plan.audit.iter().map(|a| a.action).collect();
        assert_eq!(actions, ["UPDATE_STATUS", "CAPTURE_REQUESTED"]);
        assert_eq!(
            plan.audit[0].new_value,
            Some(json!({"status": "READY"})),
            "amounts unchanged are not repeated"
        );
    }

    #[test]
    fn missing_to_ready_removes_reprices_restocks_and_captures_less() {
        let facts = with_picks(
            order(S::Missing, Fulfillment::Delivery, P::Authorized),
            [PickedStatus::Picked, PickedStatus::Missing],
        );
        let plan = decide(facts, S::Ready, Role::Employee).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.removed_items, vec![2]);
        assert_eq!(
            plan.restock,
            vec![ProductQuantity {
                product_id: 102,
                quantity: 1
            }]
        );
        assert_eq!(plan.restock_reason, "ITEM_MISSING");
        let amounts = Amounts {
            subtotal: Money(2_000),
            delivery_fee: Money(3_000),
            total: Money(5_000),
        };
        assert_eq!(plan.repriced, Some(amounts));
        assert_eq!(
            plan.money,
            Some(MoneyStep::capture(9, "pi_9", Money(5_000)))
        );
        let actions: Vec<&str> = plan.audit.iter().map(|a| a.action).collect();
        assert_eq!(actions, ["UPDATE_STATUS", "REMOVE", "CAPTURE_REQUESTED"]);
        assert_eq!(
            plan.audit[0].new_value,
            Some(json!({"status": "READY", "subtotal_amount": "20.00", "total_amount": "50.00"}))
        );
    }

    #[test]
    fn a_cancel_voids_before_capture_and_refunds_after() {
        let before = order(S::InProgress, Fulfillment::Pickup, P::Authorized);
        let plan = decide(before, S::Canceled, Role::Manager).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.money, Some(MoneyStep::void(9, "pi_9")));
        assert_eq!(plan.payment_waits(), None);
        assert_eq!(plan.restock.len(), 2);
        assert_eq!(plan.restock_reason, "ORDER_CANCELED");
        let after = order(S::Ready, Fulfillment::Pickup, P::Captured);
        let plan = decide(after, S::Canceled, Role::Admin).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.money, Some(MoneyStep::refund(9, "pi_9", Money(6_000))));
        assert_eq!(plan.payment_waits(), Some((P::RefundPending, Money(6_000))));
        let refused = order(S::Ready, Fulfillment::Pickup, P::Failed);
        let plan = decide(refused, S::Canceled, Role::Admin).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.money, None, "nothing held after a refused capture");
        assert_eq!(plan.restock.len(), 2, "the goods go back all the same");
    }

    #[test]
    fn an_unknown_order_is_not_found() {
        let r = decide_move(
            None,
            S::Ready,
            Role::Admin,
            pricing(),
            &RequestContext::default(),
        );
        assert_eq!(r.err(), Some(OpsError::OrderNotFound));
    }
}
