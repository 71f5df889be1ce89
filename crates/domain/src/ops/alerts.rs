//! `/ops/alerts`: real conditions of the store in the reference's item shape — stock at or
//! below its reorder point at a branch, orders not ready shortly before (or after) their slot,
//! payments waiting for the provider or refused, and recent damage reports.

use chrono::{DateTime, Duration, Utc};

use crate::orders::{OrderStatus, PaymentStatus};

/// The limits the store reads the facts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertRules {
    /// Orders not yet READY whose due time is this close (or past).
    pub late_within: Duration,
    /// A payment waiting this long for the provider is reported.
    pub payment_stuck_after: Duration,
    /// Damage reports this recent are reported.
    pub damage_since: Duration,
    /// At most this many alerts of each kind (the lowest stock, the most pressing orders, the
    /// newest reports); low stock beyond it is summed up in one more alert.
    pub per_kind: i64,
}

impl Default for AlertRules {
    fn default() -> Self {
        Self {
            late_within: Duration::hours(1),
            payment_stuck_after: Duration::minutes(2),
            damage_since: Duration::days(7),
            per_kind: 10,
        }
    }
}

/// An inventory row at or below its reorder point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowStock {
    pub inventory_id: i64,
    pub branch_name: String,
    pub product_name: String,
    pub available: i32,
    pub reorder_point: i32,
    pub updated_at: DateTime<Utc>,
}

/// An order not yet READY, due soon or overdue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateOrder {
    pub order_id: i64,
    pub order_number: String,
    pub status: OrderStatus,
    pub due: DateTime<Utc>,
}

/// A payment that needs a look: waiting for the provider, refused, or money still held on a
/// canceled order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIssue {
    pub order_id: i64,
    pub order_number: String,
    pub order_status: OrderStatus,
    pub status: PaymentStatus,
    pub failure_code: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A damaged item reported recently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamageFact {
    pub id: i64,
    pub order_number: String,
    pub item_name: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// Everything the store read for the alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFacts {
    pub low_stock: Vec<LowStock>,
    /// How many rows are at or below their reorder point in all (`low_stock` is capped).
    pub low_stock_total: i64,
    pub late_orders: Vec<LateOrder>,
    pub payments: Vec<PaymentIssue>,
    pub damage: Vec<DamageFact>,
}

/// Importance, most important first when sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// One alert: `{id, text, type, severity, createdAt, time}` on the wire, plus its `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Stable for the condition (`low-stock-12`, `late-order-5`, `payment-5`, `damage-3`).
    pub id: String,
    pub text: String,
    /// `alert` (needs action; the client shows a warning sign) or `info`.
    pub kind_type: &'static str,
    pub severity: Severity,
    /// `LOW_STOCK`, `LATE_ORDER`, `PAYMENT`, `DAMAGE`.
    pub kind: &'static str,
    pub at: DateTime<Utc>,
}

fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

fn payment_alert(p: &PaymentIssue) -> Option<Alert> {
    let number = &p.order_number;
    let failure = p.failure_code.as_deref().unwrap_or("refused");
    let (text, severity) = match (p.order_status, p.status) {
        (_, PaymentStatus::Pending) => (
            format!("Payment authorization of {number} is still unconfirmed"),
            Severity::Medium,
        ),
        (_, PaymentStatus::CapturePending) => (
            format!("Capture of {number} awaits the provider's answer"),
            Severity::Medium,
        ),
        (_, PaymentStatus::RefundPending) => (
            format!("Refund of {number} awaits the provider's answer"),
            Severity::Medium,
        ),
        (OrderStatus::Canceled, PaymentStatus::Authorized) => (
            format!("Canceled order {number} still holds an authorization"),
            Severity::Medium,
        ),
        (OrderStatus::Canceled, PaymentStatus::Captured | PaymentStatus::PartiallyRefunded) => (
            format!("Canceled order {number} still holds captured money ({failure})"),
            Severity::High,
        ),
        (status, PaymentStatus::Failed) if status != OrderStatus::Canceled => (
            format!("Capture of {number} was refused ({failure}): cancel or follow up"),
            Severity::High,
        ),
        _ => return None,
    };
    Some(Alert {
        id: format!("payment-{}", p.order_id),
        text,
        kind_type: "alert",
        severity,
        kind: "PAYMENT",
        at: p.updated_at,
    })
}

/// The alerts, most severe first, then newest first.
pub fn alerts(facts: &AlertFacts, now: DateTime<Utc>) -> Vec<Alert> {
    let mut out: Vec<Alert> = Vec::new();
    for s in &facts.low_stock {
        let severity = if s.available == 0 {
            Severity::High
        } else {
            Severity::Medium
        };
        out.push(Alert {
            id: format!("low-stock-{}", s.inventory_id),
            text: format!(
                "Low stock: {} at {}: {} left (reorder point {})",
                s.product_name, s.branch_name, s.available, s.reorder_point
            ),
            kind_type: "alert",
            severity,
            kind: "LOW_STOCK",
            at: s.updated_at,
        });
    }
    let shown = i64::try_from(facts.low_stock.len()).unwrap_or(i64::MAX);
    if facts.low_stock_total > shown {
        out.push(Alert {
            id: "low-stock-more".into(),
            text: format!(
                "{} more inventory rows are at or below their reorder point",
                facts.low_stock_total - shown
            ),
            kind_type: "info",
            severity: Severity::Low,
            kind: "LOW_STOCK",
            at: now,
        });
    }
    for o in &facts.late_orders {
        let (text, severity) = if o.due <= now {
            let late = format!("Order {} is overdue: due {}", o.order_number, hhmm(o.due));
            (late, Severity::High)
        } else {
            let soon = format!(
                "Order {} is due at {} and still {}",
                o.order_number,
                hhmm(o.due),
                o.status.as_str()
            );
            (soon, Severity::Medium)
        };
        out.push(Alert {
            id: format!("late-order-{}", o.order_id),
            text,
            kind_type: "alert",
            severity,
            kind: "LATE_ORDER",
            at: o.due,
        });
    }
    out.extend(facts.payments.iter().filter_map(payment_alert));
    for d in &facts.damage {
        out.push(Alert {
            id: format!("damage-{}", d.id),
            text: format!(
                "Damage reported on {} ({}): {}",
                d.item_name, d.order_number, d.reason
            ),
            kind_type: "info",
            severity: Severity::Medium,
            kind: "DAMAGE",
            at: d.created_at,
        });
    }
    out.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.at.cmp(&a.at)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::default() + Duration::days(20_000) + Duration::minutes(minutes)
    }

    fn payment(order_status: OrderStatus, status: PaymentStatus) -> PaymentIssue {
        PaymentIssue {
            order_id: 5,
            order_number: "ORD-5".into(),
            order_status,
            status,
            failure_code: Some("invalid_request".into()),
            updated_at: at(0),
        }
    }

    #[test]
    fn each_condition_becomes_an_alert_most_severe_first() {
        let facts = AlertFacts {
            low_stock: vec![LowStock {
                inventory_id: 12,
                branch_name: "Warehouse".into(),
                product_name: "Tomatoes".into(),
                available: 3,
                reorder_point: 10,
                updated_at: at(-30),
            }],
            low_stock_total: 4,
            late_orders: vec![
                LateOrder {
                    order_id: 7,
                    order_number: "ORD-7".into(),
                    status: OrderStatus::InProgress,
                    due: at(-5),
                },
                LateOrder {
                    order_id: 8,
                    order_number: "ORD-8".into(),
                    status: OrderStatus::Created,
                    due: at(40),
                },
            ],
            payments: vec![payment(OrderStatus::Ready, PaymentStatus::Failed)],
            damage: vec![DamageFact {
                id: 3,
                order_number: "ORD-7".into(),
                item_name: "Milk".into(),
                reason: "Leaking".into(),
                created_at: at(-1),
            }],
        };
        let list = alerts(&facts, at(0));
        let ids: Vec<&str> = list.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "payment-5",
                "late-order-7",
                "late-order-8",
                "damage-3",
                "low-stock-12",
                "low-stock-more"
            ]
        );
        assert_eq!(list[1].text, "Order ORD-7 is overdue: due 23:55");
        assert!(list[2].text.ends_with("still CREATED"), "{}", list[2].text);
        assert_eq!(
            list[4].text,
            "Low stock: Tomatoes at Warehouse: 3 left (reorder point 10)"
        );
        assert_eq!(
            list[5].text,
            "3 more inventory rows are at or below their reorder point"
        );
        assert_eq!(
            (list[0].kind_type, list[0].severity),
            ("alert", Severity::High)
        );
    }

    #[test]
    fn only_payments_that_need_a_look_are_reported() {
        use OrderStatus as O;
        use PaymentStatus as P;
        let reported = |o, p| payment_alert(&payment(o, p)).is_some();
        assert!(reported(O::Ready, P::CapturePending));
        assert!(reported(O::Canceled, P::RefundPending));
        assert!(reported(O::Created, P::Pending));
        assert!(reported(O::Canceled, P::Authorized), "void not done");
        assert!(reported(O::Canceled, P::Captured), "refund refused");
        assert!(reported(O::Ready, P::Failed), "capture refused");
        assert!(!reported(O::Canceled, P::Failed));
        assert!(!reported(O::Ready, P::Captured));
        assert!(!reported(O::Canceled, P::Voided));
        assert!(!reported(O::Canceled, P::Refunded));
    }
}
