//! The order queue as the staff dashboard reads it (urgency, the reference's summary fields),
//! the picking performance figures, and picking batches.

use chrono::{DateTime, Duration, Timelike, Utc};
use serde_json::json;

use super::OpsError;
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::orders::{Order, OrderItem, OrderStatus, PickedStatus};

/// An order due within this long (or overdue) is critical.
pub const CRITICAL_WITHIN: Duration = Duration::hours(1);
/// An order due within this long is due soon.
pub const DUE_SOON_WITHIN: Duration = Duration::hours(3);

/// How pressing an order still to be handed over is (the dashboard's "Priority").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Critical,
    DueSoon,
}

impl Urgency {
    /// As the React client reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Critical => "critical",
            Urgency::DueSoon => "dueSoon",
        }
    }
}

/// What the queue shows beside the order itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueView {
    /// `None`: on track (or already handed over).
    pub urgency: Option<Urgency>,
    /// The reference's figure: the slot's start in minutes after midnight; 1440 without a
    /// delivery slot (pickup).
    pub urgency_rank: i64,
    /// Lines still part of the order that are not PICKED.
    pub items_pending: i64,
    /// The first three lines as "Name" or "Name xQ", then " (+N more)".
    pub items_summary: String,
    /// When the order is due: the delivery slot's start, or the pickup window's.
    pub due: Option<DateTime<Utc>>,
}

/// When the order is due: the start of its delivery slot or of its pickup window.
pub fn due_time(order: &Order) -> Option<DateTime<Utc>> {
    match (&order.delivery, &order.pickup) {
        (Some(d), _) => d.slot_start,
        (None, Some(p)) => Some(p.window_start),
        (None, None) => None,
    }
}

fn summary(items: &[&OrderItem]) -> String {
    let mut parts: Vec<String> = items
        .iter()
        .take(3)
        .map(|i| {
            if i.quantity > 1 {
                format!("{} x{}", i.name, i.quantity)
            } else {
                i.name.clone()
            }
        })
        .collect::<Vec<_>>();
    if items.len() > 3 {
        let more = format!("(+{} more)", items.len() - 3);
        if let Some(last) = parts.last_mut() {
            last.push(' ');
            last.push_str(&more);
        }
    }
    parts.join(", ")
}

/// The queue figures of `order` at `now`. Orders out for delivery, delivered or canceled have
/// no urgency; the others are critical within [`CRITICAL_WITHIN`] of their due time (or past
/// it) and due soon within [`DUE_SOON_WITHIN`].
pub fn queue_view(order: &Order, now: DateTime<Utc>) -> QueueView {
    let items: Vec<&OrderItem> = order.items.iter().filter(|i| !i.removed).collect();
    let due = due_time(order);
    let open = !matches!(
        order.status,
        OrderStatus::OutForDelivery | OrderStatus::Delivered | OrderStatus::Canceled
    );
    let urgency = match due {
        Some(due) if open && due - now <= CRITICAL_WITHIN => Some(Urgency::Critical),
        Some(due) if open && due - now <= DUE_SOON_WITHIN => Some(Urgency::DueSoon),
        _ => None,
    };
    let slot_start = order.delivery.as_ref().and_then(|d| d.slot_start);
    QueueView {
        urgency,
        urgency_rank: slot_start.map_or(1440, |s| i64::from(s.hour() * 60 + s.minute())),
        items_pending: items
            .iter()
            .filter(|i| i.picked_status != PickedStatus::Picked)
            .count()
            .try_into()
            .unwrap_or(i64::MAX),
        items_summary: summary(&items),
        due,
    }
}

/// Raw counts behind `/ops/performance`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerformanceCounts {
    /// Lines (still part of their order) of orders in the queue that are not canceled.
    pub total_items: i64,
    pub picked_items: i64,
    /// Staff who set a line's picked status within the window.
    pub live_pickers: i64,
    /// Orders CREATED or IN_PROGRESS.
    pub active_orders: i64,
    /// Orders in the queue.
    pub total_orders: i64,
}

/// The performance figures in the reference's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Performance {
    /// Picked lines / all lines × 100, two decimals; the integer 0 when there are none.
    pub batch_efficiency: serde_json::Value,
    pub counts: PerformanceCounts,
    pub picker_window_minutes: i64,
}

/// How far back a picker counts as live.
pub const PICKER_WINDOW_MINUTES: i64 = 5;

impl Performance {
    pub fn from_counts(counts: PerformanceCounts) -> Self {
        let batch_efficiency = if counts.total_items == 0 {
            json!(0)
        } else {
            let basis_points = counts.picked_items.saturating_mul(10_000) / counts.total_items;
            #[allow(clippy::cast_precision_loss)]
            let percent = basis_points as f64 / 100.0;
            json!(percent)
        };
        Self {
            batch_efficiency,
            counts,
            picker_window_minutes: PICKER_WINDOW_MINUTES,
        }
    }
}

/// What creating a batch writes.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPlan {
    pub order_ids: Vec<i64>,
    pub audit: AuditEntry,
}

/// A batch groups open orders of the queue for picking: every id must name an order in the
/// queue (404 otherwise) that is neither delivered nor canceled (409 otherwise). Duplicates
/// count once. `found` are the requested orders that are in the queue, with their status.
pub fn decide_batch(
    requested: &[i64],
    found: &[(i64, OrderStatus)],
    ctx: &RequestContext,
) -> Result<BatchPlan, OpsError> {
    let mut ids: Vec<i64> = requested.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let status = |id: i64| found.iter().find(|(o, _)| *o == id).map(|(_, s)| *s);
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| status(*id).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(OpsError::BatchOrdersNotFound(missing));
    }
    let closed: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| {
            matches!(
                status(*id),
                Some(OrderStatus::Delivered | OrderStatus::Canceled)
            )
        })
        .collect();
    if !closed.is_empty() {
        return Err(OpsError::BatchOrdersClosed(closed));
    }
    let audit = AuditEntry::new(ctx, "ops_batch", AuditTarget::Created, "CREATE")
        .new_value(json!({"order_ids": ids}));
    Ok(BatchPlan {
        order_ids: ids,
        audit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Money;
    use crate::orders::{DeliveryInfo, Fulfillment, PaymentStatus, PickupInfo};

    fn item(name: &str, quantity: i32, picked: PickedStatus, removed: bool) -> OrderItem {
        OrderItem {
            id: 1,
            product_id: 1,
            name: name.into(),
            sku: "S".into(),
            unit_price: Money(100),
            quantity,
            picked_status: picked,
            picked_by: None,
            picked_at: None,
            removed,
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .map(|t| t.and_utc())
            .unwrap_or_default()
    }

    fn order(status: OrderStatus, slot: Option<DateTime<Utc>>, items: Vec<OrderItem>) -> Order {
        Order {
            id: 1,
            order_number: "ORD-1".into(),
            status,
            payment_status: PaymentStatus::Authorized,
            fulfillment_type: Fulfillment::Delivery,
            branch_id: Some(1),
            subtotal_amount: Money(100),
            delivery_fee: Money::ZERO,
            total_amount: Money(100),
            created_at: at(8, 0),
            items,
            delivery: Some(DeliveryInfo {
                delivery_slot_id: Some(1),
                address: String::new(),
                slot_start: slot,
                slot_end: slot.map(|s| s + Duration::hours(2)),
            }),
            pickup: None,
        }
    }

    #[test]
    fn summary_pending_and_rank_as_the_reference() {
        use PickedStatus::{Missing, Pending, Picked};
        let items = vec![
            item("Tomatoes", 2, Picked, false),
            item("Milk", 1, Missing, false),
            item("Gone", 1, Missing, true),
            item("Bread", 1, Pending, false),
            item("Eggs", 12, Picked, false),
        ];
        let v = queue_view(
            &order(OrderStatus::InProgress, Some(at(20, 30)), items),
            at(9, 0),
        );
        assert_eq!(v.items_summary, "Tomatoes x2, Milk, Bread (+1 more)");
        assert_eq!(
            v.items_pending, 2,
            "MISSING counts as pending; removed lines do not"
        );
        assert_eq!(v.urgency_rank, 20 * 60 + 30);
        let mut pickup = order(OrderStatus::Created, None, vec![]);
        pickup.delivery = None;
        pickup.pickup = Some(PickupInfo {
            branch_id: 2,
            window_start: at(10, 0),
            window_end: at(12, 0),
        });
        let v = queue_view(&pickup, at(9, 30));
        assert_eq!((v.urgency_rank, v.due), (1440, Some(at(10, 0))));
        assert_eq!(v.urgency, Some(Urgency::Critical), "due in 30 minutes");
    }

    #[test]
    fn urgency_follows_the_due_time_until_handover() {
        let due = at(14, 0);
        let urgency = |status, now| queue_view(&order(status, Some(due), vec![]), now).urgency;
        assert_eq!(urgency(OrderStatus::Created, at(9, 0)), None);
        assert_eq!(
            urgency(OrderStatus::InProgress, at(11, 30)),
            Some(Urgency::DueSoon)
        );
        assert_eq!(
            urgency(OrderStatus::Ready, at(13, 30)),
            Some(Urgency::Critical)
        );
        assert_eq!(
            urgency(OrderStatus::Missing, at(15, 0)),
            Some(Urgency::Critical),
            "overdue"
        );
        assert_eq!(urgency(OrderStatus::OutForDelivery, at(15, 0)), None);
        assert_eq!(urgency(OrderStatus::Delivered, at(15, 0)), None);
        assert_eq!(Urgency::DueSoon.as_str(), "dueSoon");
    }

    #[test]
    fn efficiency_is_a_percentage_with_two_decimals() {
        let p = |picked, total| {
            Performance::from_counts(PerformanceCounts {
                picked_items: picked,
                total_items: total,
                ..PerformanceCounts::default()
            })
            .batch_efficiency
        };
        assert_eq!(p(0, 0), json!(0));
        assert_eq!(p(1, 3), json!(33.33));
        assert_eq!(p(3, 3), json!(100.0));
    }

    #[test]
    fn a_batch_takes_open_orders_of_the_queue_once() {
        let ctx = RequestContext::default();
        let found = [
            (1, OrderStatus::Created),
            (2, OrderStatus::Ready),
            (3, OrderStatus::Delivered),
        ];
        let plan = decide_batch(&[2, 1, 2], &found, &ctx).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plan.order_ids, vec![1, 2]);
        assert_eq!(plan.audit.new_value, Some(json!({"order_ids": [1, 2]})));
        assert_eq!(
            decide_batch(&[1, 9], &found, &ctx).err(),
            Some(OpsError::BatchOrdersNotFound(vec![9]))
        );
        assert_eq!(
            decide_batch(&[1, 3], &found, &ctx).err(),
            Some(OpsError::BatchOrdersClosed(vec![3]))
        );
    }
}
