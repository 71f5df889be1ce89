//! Recording the provider's answer: from the order as read under its lock, what the second
//! transaction writes and what the customer is told.

use serde_json::json;

use super::{AuthOutcome, ConfirmOutcome, Decline, Receipt, Settled};
use crate::Money;
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::orders::{OrderStatus, PaymentStatus};

/// The order as read under its lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFacts {
    pub order_id: i64,
    pub order_number: String,
    pub total: Money,
    pub payment_status: PaymentStatus,
    /// The provider's payment id, once authorized.
    pub reference: Option<String>,
}

/// What recording the answer does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Settled before (a concurrent retry or the reconciler): answered from the order's state,
    /// nothing written.
    Unchanged(ConfirmOutcome),
    /// Payment AUTHORIZED with the receipt's reference; the ordered products leave the cart.
    Authorized(Receipt),
    /// Stock back, order CANCELED, payment DECLINED; the cart stays as it was.
    Declined(Decline),
    /// Nothing settles: the order stays PENDING and its key is released at once, so a retry (or
    /// the reconciler) asks the provider again.
    Unknown { order_id: i64, reason: String },
}

/// Decides what the provider's answer does to the order. Idempotent: an order no longer
/// PENDING is answered from its state, whatever the new answer says.
pub fn settle(facts: &PaymentFacts, outcome: AuthOutcome) -> Settlement {
    let receipt = |reference: String| Receipt {
        order_id: facts.order_id,
        order_number: facts.order_number.clone(),
        total_paid: facts.total,
        payment_reference: reference,
    };
    let decline = |decline_code: String, message: String| Decline {
        order_id: facts.order_id,
        decline_code,
        message,
    };
    match facts.payment_status {
        PaymentStatus::Pending => {}
        PaymentStatus::Declined => {
            let declined = decline("card_declined".into(), String::new());
            return Settlement::Unchanged(ConfirmOutcome::Declined(declined));
        }
        // Authorized at checkout; what happened to the money later (fulfilment) does not
        // change the checkout's answer. FAILED is a refused capture or void, never a decline.
        PaymentStatus::Authorized
        | PaymentStatus::CapturePending
        | PaymentStatus::Captured
        | PaymentStatus::RefundPending
        | PaymentStatus::PartiallyRefunded
        | PaymentStatus::Voided
        | PaymentStatus::Refunded
        | PaymentStatus::Failed => {
            let paid = receipt(facts.reference.clone().unwrap_or_default());
            return Settlement::Unchanged(ConfirmOutcome::Created(paid));
        }
    }
    match outcome {
        AuthOutcome::Authorized { intent_id } => Settlement::Authorized(receipt(intent_id)),
        AuthOutcome::Declined { code, message } => Settlement::Declined(decline(code, message)),
        AuthOutcome::Unknown { reason } => Settlement::Unknown {
            order_id: facts.order_id,
            reason,
        },
    }
}

impl Settlement {
    /// The payment's audit entry (none when nothing changes).
    pub fn audit(&self, ctx: &RequestContext) -> Option<AuditEntry> {
        let entry =
            |order_id, action| AuditEntry::new(ctx, "payment", AuditTarget::Id(order_id), action);
        let pending = PaymentStatus::Pending.as_str();
        match self {
            Settlement::Unchanged(_) => None,
            Settlement::Authorized(r) => Some(entry(r.order_id, "AUTHORIZED").with_change(
                Some(json!({"payment_status": pending})),
                Some(json!({
                    "payment_status": PaymentStatus::Authorized.as_str(),
                    "amount": r.total_paid.to_string(),
                    "provider_payment_id": r.payment_reference,
                })),
            )),
            Settlement::Declined(d) => Some(
                entry(d.order_id, "DECLINED")
                    .with_change(
                        Some(json!({
                            "payment_status": pending,
                            "status": OrderStatus::Created.as_str(),
                        })),
                        Some(json!({
                            "payment_status": PaymentStatus::Declined.as_str(),
                            "status": OrderStatus::Canceled.as_str(),
                        })),
                    )
                    .context(json!({"decline_code": d.decline_code})),
            ),
            Settlement::Unknown { order_id, reason } => {
                Some(entry(*order_id, "AUTHORIZATION_UNKNOWN").context(json!({"reason": reason})))
            }
        }
    }

    /// The final outcome to store with the idempotency key, when this settles the order.
    pub fn stored(&self) -> Option<Settled> {
        match self {
            Settlement::Authorized(r) => Some(Settled::Created(r.clone())),
            Settlement::Declined(d) => Some(Settled::Declined(d.clone())),
            Settlement::Unchanged(_) | Settlement::Unknown { .. } => None,
        }
    }

    /// What the customer is told.
    pub fn outcome(self) -> ConfirmOutcome {
        match self {
            Settlement::Unchanged(outcome) => outcome,
            Settlement::Authorized(r) => ConfirmOutcome::Created(r),
            Settlement::Declined(d) => ConfirmOutcome::Declined(d),
            Settlement::Unknown { order_id, .. } => ConfirmOutcome::PaymentUnavailable { order_id },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(payment_status: PaymentStatus) -> PaymentFacts {
        PaymentFacts {
            order_id: 9,
            order_number: "ORD-9".into(),
            total: Money(5_270),
            payment_status,
            reference: (payment_status != PaymentStatus::Pending).then(|| "pi_old".into()),
        }
    }

    fn authorized() -> AuthOutcome {
        AuthOutcome::Authorized {
            intent_id: "pi_new".into(),
        }
    }

    #[test]
    fn an_authorization_settles_a_pending_order() {
        let s = settle(&facts(PaymentStatus::Pending), authorized());
        let receipt = Receipt {
            order_id: 9,
            order_number: "ORD-9".into(),
            total_paid: Money(5_270),
            payment_reference: "pi_new".into(),
        };
        assert_eq!(s, Settlement::Authorized(receipt.clone()));
        let audit = s.audit(&RequestContext::default());
        assert_eq!(
            audit.and_then(|a| a.new_value),
            Some(json!({"payment_status": "AUTHORIZED", "amount": "52.70",
                "provider_payment_id": "pi_new"}))
        );
        assert_eq!(s.stored(), Some(Settled::Created(receipt.clone())));
        assert_eq!(s.outcome(), ConfirmOutcome::Created(receipt));
    }

    #[test]
    fn a_decline_is_stored_and_audited_with_its_code() {
        let declined = AuthOutcome::Declined {
            code: "insufficient_funds".into(),
            message: "Insufficient funds".into(),
        };
        let s = settle(&facts(PaymentStatus::Pending), declined);
        let audit = s.audit(&RequestContext::default());
        assert_eq!(
            audit.and_then(|a| a.context),
            Some(json!({"decline_code": "insufficient_funds"}))
        );
        assert!(matches!(s.stored(), Some(Settled::Declined(_))));
        assert!(
            matches!(s.outcome(), ConfirmOutcome::Declined(d) if d.message == "Insufficient funds")
        );
    }

    #[test]
    fn an_unknown_answer_settles_nothing() {
        let unknown = AuthOutcome::Unknown {
            reason: "timeout".into(),
        };
        let s = settle(&facts(PaymentStatus::Pending), unknown);
        assert_eq!(s.stored(), None);
        assert_eq!(
            s.audit(&RequestContext::default()).map(|a| a.action),
            Some("AUTHORIZATION_UNKNOWN")
        );
        assert_eq!(
            s.outcome(),
            ConfirmOutcome::PaymentUnavailable { order_id: 9 }
        );
    }

    #[test]
    fn a_settled_order_answers_from_its_state() {
        let s = settle(
            &facts(PaymentStatus::Authorized),
            AuthOutcome::Unknown {
                reason: "late".into(),
            },
        );
        assert_eq!(
            (s.audit(&RequestContext::default()), s.stored()),
            (None, None)
        );
        assert!(matches!(
            s.outcome(),
            ConfirmOutcome::Created(r) if r.payment_reference == "pi_old"
        ));
        let s = settle(&facts(PaymentStatus::Declined), authorized());
        assert!(matches!(
            s.outcome(),
            ConfirmOutcome::Declined(d) if d.decline_code == "card_declined"
        ));
    }
}
