//! The payment ledger: the money an order's payment row holds after checkout's authorization,
//! and how the provider's answer to a capture, a refund or a void is recorded.
//!
//! Every step has its own provider idempotency key derived from the order, so repeating it —
//! the request's own attempt, a retry, the reconciler — has at most one effect at the
//! provider. The step is asked for in one transaction (the payment waits in the step's status
//! with the amount), run outside any transaction, and its answer recorded in another one by
//! [`settle_money`]; an unknown answer leaves the payment waiting for the reconciler.

use async_trait::async_trait;
use serde_json::json;

use super::{PaymentProvider, ProviderError};
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::orders::PaymentStatus;
use crate::{InfraError, Money};

/// What the step does at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Captures this amount of the authorization; the rest is released.
    Capture(Money),
    /// Gives this amount of the captured money back.
    Refund(Money),
    /// Releases the whole authorization.
    Void,
}

/// One money movement of an order's payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyStep {
    pub order_id: i64,
    /// The provider's payment id (from the authorization).
    pub intent_id: String,
    pub kind: StepKind,
}

/// The provider's answer to a step, as the business tells answers apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyOutcome {
    /// It happened (`refund_id` for a refund).
    Done { refund_id: Option<String> },
    /// The provider refused it for good; repeating it with the same key gives the same answer.
    Refused { code: String, message: String },
    /// Nobody knows whether it happened; repeat it with the same key to find out.
    Unknown { reason: String },
}

impl MoneyStep {
    pub fn capture(order_id: i64, intent_id: impl Into<String>, amount: Money) -> Self {
        Self {
            order_id,
            intent_id: intent_id.into(),
            kind: StepKind::Capture(amount),
        }
    }

    pub fn refund(order_id: i64, intent_id: impl Into<String>, amount: Money) -> Self {
        Self {
            order_id,
            intent_id: intent_id.into(),
            kind: StepKind::Refund(amount),
        }
    }

    pub fn void(order_id: i64, intent_id: impl Into<String>) -> Self {
        Self {
            order_id,
            intent_id: intent_id.into(),
            kind: StepKind::Void,
        }
    }

    /// The provider idempotency key: one per order and kind of step. An order is captured
    /// once, refunded once (a cancel after capture) and voided once.
    pub fn idempotency_key(&self) -> String {
        let what = match self.kind {
            StepKind::Capture(_) => "capture",
            StepKind::Refund(_) => "refund",
            StepKind::Void => "void",
        };
        format!("mami-order-{}-{what}", self.order_id)
    }

    /// The payment status in which the step waits for its answer.
    pub fn waiting_status(&self) -> PaymentStatus {
        match self.kind {
            StepKind::Capture(_) => PaymentStatus::CapturePending,
            StepKind::Refund(_) => PaymentStatus::RefundPending,
            StepKind::Void => PaymentStatus::Authorized,
        }
    }

    /// Runs the step at the provider with its key.
    pub async fn run(&self, provider: &dyn PaymentProvider) -> MoneyOutcome {
        let (id, key) = (self.intent_id.clone(), self.idempotency_key());
        let answer = match self.kind {
            StepKind::Capture(amount) => provider.capture(id, amount, key).await.map(|_| None),
            StepKind::Refund(amount) => provider.refund(id, amount, key).await.map(Some),
            StepKind::Void => provider.cancel(id, key).await.map(|_| None),
        };
        classify(answer)
    }
}

/// A refusal is final (a decline, or a request the provider will never accept); anything
/// else — no answer, a 5xx, a rate limit, refused credentials (a configuration error that
/// moved no money) — is settled by repeating the step.
pub fn classify(answer: Result<Option<String>, ProviderError>) -> MoneyOutcome {
    match answer {
        Ok(refund_id) => MoneyOutcome::Done { refund_id },
        Err(ProviderError::Declined { code, message }) => MoneyOutcome::Refused { code, message },
        Err(ProviderError::InvalidRequest(message)) => MoneyOutcome::Refused {
            code: "invalid_request".into(),
            message,
        },
        Err(
            e @ (ProviderError::Unauthorized
            | ProviderError::RateLimited
            | ProviderError::Unavailable(_)
            | ProviderError::UnknownOutcome(_)),
        ) => MoneyOutcome::Unknown {
            reason: e.to_string(),
        },
    }
}

/// The payment row as read under the order's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerFacts {
    pub status: PaymentStatus,
    pub captured: Money,
    pub refunded: Money,
}

/// The payment row after an answer (the order's `payment_status` follows `status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerChange {
    pub status: PaymentStatus,
    pub captured: Money,
    pub refunded: Money,
    /// The failure code and message of a refusal.
    pub failure: Option<(String, String)>,
    /// The provider's id of a refund that went through.
    pub refund_id: Option<String>,
}

/// What recording an answer writes: the change (none when nothing moved) and its audit row
/// (none when the step was settled before).
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub change: Option<LedgerChange>,
    pub audit: Option<AuditEntry>,
}

fn money(status: PaymentStatus, amount_field: &str, amount: Money) -> serde_json::Value {
    json!({"payment_status": status.as_str(), amount_field: amount.to_string()})
}

/// Decides what the provider's answer to `step` does to the payment. Idempotent: a payment
/// that no longer waits for the step (settled by a concurrent attempt) is left alone.
pub fn settle_money(
    facts: &LedgerFacts,
    step: &MoneyStep,
    outcome: &MoneyOutcome,
    ctx: &RequestContext,
) -> Recording {
    let waiting = step.waiting_status();
    if facts.status != waiting {
        return Recording {
            change: None,
            audit: None,
        };
    }
    let entry = |action| AuditEntry::new(ctx, "payment", AuditTarget::Id(step.order_id), action);
    let unchanged = LedgerChange {
        status: waiting,
        captured: facts.captured,
        refunded: facts.refunded,
        failure: None,
        refund_id: None,
    };
    let (change, audit) = match (step.kind, outcome) {
        (kind, MoneyOutcome::Unknown { reason }) => {
            let action = match kind {
                StepKind::Capture(_) => "CAPTURE_UNKNOWN",
                StepKind::Refund(_) => "REFUND_UNKNOWN",
                StepKind::Void => "VOID_FAILED",
            };
            (None, entry(action).context(json!({"error": reason})))
        }
        (StepKind::Capture(amount), MoneyOutcome::Done { .. }) => {
            let change = LedgerChange {
                status: PaymentStatus::Captured,
                captured: amount,
                ..unchanged
            };
            let audit = entry("CAPTURED").with_change(
                Some(money(waiting, "amount_captured", facts.captured)),
                Some(money(change.status, "amount_captured", amount)),
            );
            (Some(change), audit)
        }
        (StepKind::Refund(amount), MoneyOutcome::Done { refund_id }) => {
            let refunded = Money(facts.refunded.minor() + amount.minor());
            let status = if refunded >= facts.captured {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::PartiallyRefunded
            };
            let change = LedgerChange {
                status,
                refunded,
                refund_id: refund_id.clone(),
                ..unchanged
            };
            let audit = entry("REFUNDED").with_change(
                Some(money(waiting, "amount_refunded", facts.refunded)),
                Some(money(status, "amount_refunded", refunded)),
            );
            (Some(change), audit.context(json!({"refund_id": refund_id})))
        }
        (StepKind::Void, MoneyOutcome::Done { .. }) => {
            let change = LedgerChange {
                status: PaymentStatus::Voided,
                ..unchanged
            };
            let audit = entry("VOIDED").with_change(
                Some(json!({"payment_status": waiting.as_str()})),
                Some(json!({"payment_status": change.status.as_str()})),
            );
            (Some(change), audit)
        }
        (kind, MoneyOutcome::Refused { code, message }) => {
            refused(facts, kind, code, message, unchanged, entry)
        }
    };
    Recording {
        change,
        audit: Some(audit),
    }
}

/// A refused capture or void leaves nothing captured (FAILED); a refused refund leaves the
/// money where it was (captured), with the failure recorded for staff to follow up.
fn refused(
    facts: &LedgerFacts,
    kind: StepKind,
    code: &str,
    message: &str,
    unchanged: LedgerChange,
    entry: impl Fn(&'static str) -> AuditEntry,
) -> (Option<LedgerChange>, AuditEntry) {
    let (status, action) = match kind {
        StepKind::Capture(_) => (PaymentStatus::Failed, "CAPTURE_FAILED"),
        StepKind::Void => (PaymentStatus::Failed, "VOID_FAILED"),
        StepKind::Refund(_) if facts.refunded > Money::ZERO => {
            (PaymentStatus::PartiallyRefunded, "REFUND_FAILED")
        }
        StepKind::Refund(_) => (PaymentStatus::Captured, "REFUND_FAILED"),
    };
    let change = LedgerChange {
        status,
        failure: Some((code.to_owned(), message.to_owned())),
        ..unchanged
    };
    let audit = entry(action)
        .with_change(
            Some(json!({"payment_status": unchanged.status.as_str()})),
            Some(json!({"payment_status": status.as_str()})),
        )
        .context(json!({"failure_code": code, "error": message}));
    (Some(change), audit)
}

/// Where the answers are recorded.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentLedger: Send + Sync {
    /// One transaction: locks the order and reads its payment, runs [`settle_money`], writes
    /// the change (payment row and the order's `payment_status`) and the audit row. Returns
    /// the payment status afterwards.
    async fn record(
        &self,
        step: MoneyStep,
        outcome: MoneyOutcome,
        ctx: RequestContext,
    ) -> Result<PaymentStatus, InfraError>;
}

/// Runs `step` at the provider, outside any transaction, and records the answer.
pub async fn move_money(
    provider: &dyn PaymentProvider,
    ledger: &dyn PaymentLedger,
    step: MoneyStep,
    ctx: &RequestContext,
) -> Result<PaymentStatus, InfraError> {
    let outcome = step.run(provider).await;
    match &outcome {
        MoneyOutcome::Done { .. } => {}
        MoneyOutcome::Refused { code, message } => tracing::error!(
            order = step.order_id,
            key = %step.idempotency_key(),
            code = %code,
            message = %message,
            "the provider refused a payment step"
        ),
        MoneyOutcome::Unknown { reason } => tracing::warn!(
            order = step.order_id,
            key = %step.idempotency_key(),
            reason = %reason,
            "payment step outcome unknown; the reconciler repeats it with the same key"
        ),
    }
    ledger.record(step, outcome, ctx.clone()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::{IntentStatus, MockPaymentProvider, PaymentIntent};

    fn facts(status: PaymentStatus, captured: i64, refunded: i64) -> LedgerFacts {
        LedgerFacts {
            status,
            captured: Money(captured),
            refunded: Money(refunded),
        }
    }

    fn done() -> MoneyOutcome {
        MoneyOutcome::Done { refund_id: None }
    }

    fn settle(f: LedgerFacts, step: &MoneyStep, outcome: &MoneyOutcome) -> Recording {
        settle_money(&f, step, outcome, &RequestContext::default())
    }

    fn status_of(r: &Recording) -> Option<PaymentStatus> {
        r.change.as_ref().map(|c| c.status)
    }

    fn action_of(r: &Recording) -> Option<&'static str> {
        r.audit.as_ref().map(|a| a.action)
    }

    #[test]
    fn each_step_has_its_own_key_per_order() {
        assert_eq!(
            MoneyStep::capture(7, "pi", Money(1)).idempotency_key(),
            "mami-order-7-capture"
        );
        assert_eq!(
            MoneyStep::refund(7, "pi", Money(1)).idempotency_key(),
            "mami-order-7-refund"
        );
        assert_eq!(
            MoneyStep::void(7, "pi").idempotency_key(),
            "mami-order-7-void"
        );
    }

    #[test]
    fn a_capture_records_the_amount_or_the_refusal() {
        let step = MoneyStep::capture(7, "pi", Money(4_000));
        let r = settle(facts(PaymentStatus::CapturePending, 0, 0), &step, &done());
        let change = r.change.clone().unwrap_or_else(|| panic!("no change"));
        assert_eq!(
            (change.status, change.captured),
            (PaymentStatus::Captured, Money(4_000))
        );
        assert_eq!(
            r.audit.and_then(|a| a.new_value),
            Some(json!({"payment_status": "CAPTURED", "amount_captured": "40.00"}))
        );
        let refused = MoneyOutcome::Refused {
            code: "invalid_request".into(),
            message: "could not be captured".into(),
        };
        let r = settle(facts(PaymentStatus::CapturePending, 0, 0), &step, &refused);
        assert_eq!(status_of(&r), Some(PaymentStatus::Failed));
        assert_eq!(action_of(&r), Some("CAPTURE_FAILED"));
        assert_eq!(
            r.change.and_then(|c| c.failure).map(|f| f.0),
            Some("invalid_request".to_owned())
        );
    }

    #[test]
    fn an_unknown_answer_changes_nothing_but_is_audited() {
        let unknown = MoneyOutcome::Unknown {
            reason: "timeout".into(),
        };
        for (step, waiting, action) in [
            (
                MoneyStep::capture(7, "pi", Money(1)),
                PaymentStatus::CapturePending,
                "CAPTURE_UNKNOWN",
            ),
            (
                MoneyStep::refund(7, "pi", Money(1)),
                PaymentStatus::RefundPending,
                "REFUND_UNKNOWN",
            ),
            (
                MoneyStep::void(7, "pi"),
                PaymentStatus::Authorized,
                "VOID_FAILED",
            ),
        ] {
            let r = settle(facts(waiting, 1, 0), &step, &unknown);
            assert_eq!(r.change, None);
            assert_eq!(action_of(&r), Some(action));
        }
    }

    #[test]
    fn a_step_settled_before_is_left_alone() {
        let step = MoneyStep::capture(7, "pi", Money(1));
        let r = settle(facts(PaymentStatus::Captured, 1, 0), &step, &done());
        assert_eq!((r.change, r.audit), (None, None));
        let void = MoneyStep::void(7, "pi");
        let r = settle(facts(PaymentStatus::Voided, 0, 0), &void, &done());
        assert_eq!((r.change, r.audit), (None, None));
    }

    #[test]
    fn refunds_add_up_to_refunded() {
        let part = MoneyStep::refund(7, "pi", Money(1_000));
        let refund = MoneyOutcome::Done {
            refund_id: Some("re_1".into()),
        };
        let r = settle(
            facts(PaymentStatus::RefundPending, 4_000, 0),
            &part,
            &refund,
        );
        let change = r.change.unwrap_or_else(|| panic!("no change"));
        assert_eq!(
            (change.status, change.refunded, change.refund_id.as_deref()),
            (PaymentStatus::PartiallyRefunded, Money(1_000), Some("re_1"))
        );
        let rest = MoneyStep::refund(7, "pi", Money(3_000));
        let r = settle(
            facts(PaymentStatus::RefundPending, 4_000, 1_000),
            &rest,
            &refund,
        );
        assert_eq!(status_of(&r), Some(PaymentStatus::Refunded));
        let refused = MoneyOutcome::Refused {
            code: "x".into(),
            message: String::new(),
        };
        let r = settle(
            facts(PaymentStatus::RefundPending, 4_000, 0),
            &rest,
            &refused,
        );
        assert_eq!(status_of(&r), Some(PaymentStatus::Captured), "money stays");
        assert_eq!(action_of(&r), Some("REFUND_FAILED"));
        let r = settle(
            facts(PaymentStatus::RefundPending, 4_000, 1_000),
            &rest,
            &refused,
        );
        assert_eq!(status_of(&r), Some(PaymentStatus::PartiallyRefunded));
    }

    #[test]
    fn a_void_is_audited_as_before() {
        let r = settle(
            facts(PaymentStatus::Authorized, 0, 0),
            &MoneyStep::void(7, "pi"),
            &done(),
        );
        assert_eq!(status_of(&r), Some(PaymentStatus::Voided));
        let audit = r.audit.unwrap_or_else(|| panic!("no audit"));
        assert_eq!(
            (audit.old_value, audit.new_value),
            (
                Some(json!({"payment_status": "AUTHORIZED"})),
                Some(json!({"payment_status": "VOIDED"}))
            )
        );
    }

    #[test]
    fn provider_answers_are_classified() {
        assert!(matches!(classify(Ok(None)), MoneyOutcome::Done { .. }));
        let declined = ProviderError::Declined {
            code: "expired".into(),
            message: String::new(),
        };
        assert!(matches!(
            classify(Err(declined)),
            MoneyOutcome::Refused { .. }
        ));
        for unknown in [
            ProviderError::UnknownOutcome("t".into()),
            ProviderError::Unavailable("t".into()),
            ProviderError::RateLimited,
            ProviderError::Unauthorized,
        ] {
            assert!(matches!(
                classify(Err(unknown)),
                MoneyOutcome::Unknown { .. }
            ));
        }
    }

    #[tokio::test]
    async fn moving_money_calls_the_provider_with_the_step_key_and_records_it() {
        let mut provider = MockPaymentProvider::new();
        provider
            .expect_capture()
            .withf(|id, amount, key| {
                id == "pi_7" && *amount == Money(500) && key == "mami-order-7-capture"
            })
            .times(1)
            .returning(|_, _, _| {
                Ok(PaymentIntent {
                    id: "pi_7".into(),
                    status: IntentStatus::Succeeded,
                    amount: Money(900),
                    amount_capturable: Money::ZERO,
                    amount_received: Money(500),
                })
            });
        let mut ledger = MockPaymentLedger::new();
        ledger
            .expect_record()
            .withf(|step, outcome, _| {
                step.order_id == 7 && matches!(outcome, MoneyOutcome::Done { .. })
            })
            .times(1)
            .returning(|_, _, _| Ok(PaymentStatus::Captured));
        let step = MoneyStep::capture(7, "pi_7", Money(500));
        let r = move_money(&provider, &ledger, step, &RequestContext::default()).await;
        assert_eq!(r, Ok(PaymentStatus::Captured));
    }
}
