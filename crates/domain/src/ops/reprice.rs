//! Re-pricing an order whose missing items are removed (MISSING → READY).

use super::LineFacts;
use crate::Money;
use crate::checkout::{DeliveryPricing, delivery_fee};
use crate::inventory::ProductQuantity;
use crate::orders::{Fulfillment, PickedStatus};

/// An order's amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    pub subtotal: Money,
    pub delivery_fee: Money,
    pub total: Money,
}

/// The order without its missing lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repricing {
    /// The lines removed: every line still part of the order whose item is MISSING.
    pub removed: Vec<i64>,
    /// Their quantities, one entry per product, to give back to the fulfilling branch.
    pub returned: Vec<ProductQuantity>,
    pub amounts: Amounts,
}

/// The quantities of `lines`, one entry per product (what goes back to the shelf).
pub(super) fn per_product<'a>(lines: impl Iterator<Item = &'a LineFacts>) -> Vec<ProductQuantity> {
    let mut out: Vec<ProductQuantity> = Vec::new();
    for line in lines {
        match out.iter_mut().find(|q| q.product_id == line.product_id) {
            Some(q) => q.quantity = q.quantity.saturating_add(line.quantity),
            None => out.push(ProductQuantity {
                product_id: line.product_id,
                quantity: line.quantity,
            }),
        }
    }
    out
}

/// Removes the MISSING lines and prices what is left: the subtotal of the remaining lines,
/// the delivery fee by the settings' rule on that subtotal — but never more than the fee the
/// customer agreed to at checkout (`agreed_fee`: nobody pays more because the store missed
/// items, and the total never exceeds the authorization) — and their sum.
pub fn reprice(
    items: &[LineFacts],
    fulfillment: Fulfillment,
    agreed_fee: Money,
    pricing: DeliveryPricing,
) -> Repricing {
    let (missing, kept): (Vec<&LineFacts>, Vec<&LineFacts>) = items
        .iter()
        .filter(|i| !i.removed)
        .partition(|i| i.picked_status == PickedStatus::Missing);
    let subtotal = Money(kept.iter().map(|i| i.amount().minor()).sum());
    let fee = delivery_fee(fulfillment, subtotal, pricing)
        .unwrap_or(Money::ZERO)
        .min(agreed_fee);
    Repricing {
        removed: missing.iter().map(|i| i.id).collect(),
        returned: per_product(missing.iter().copied()),
        amounts: Amounts {
            subtotal,
            delivery_fee: fee,
            total: Money(subtotal.minor() + fee.minor()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: i64, price: i64, quantity: i32, status: PickedStatus) -> LineFacts {
        LineFacts {
            id,
            product_id: id * 10,
            unit_price: Money(price),
            quantity,
            picked_status: status,
            removed: false,
        }
    }

    fn pricing() -> DeliveryPricing {
        DeliveryPricing {
            delivery_min: Money(15_000),
            delivery_fee: Money(3_000),
        }
    }

    #[test]
    fn missing_lines_leave_and_their_stock_goes_back() {
        let items = [
            line(1, 790, 2, PickedStatus::Picked),
            line(2, 690, 1, PickedStatus::Missing),
            line(3, 450, 3, PickedStatus::Missing),
        ];
        let r = reprice(&items, Fulfillment::Delivery, Money(3_000), pricing());
        assert_eq!(r.removed, vec![2, 3]);
        assert_eq!(
            r.returned,
            vec![
                ProductQuantity {
                    product_id: 20,
                    quantity: 1
                },
                ProductQuantity {
                    product_id: 30,
                    quantity: 3
                }
            ]
        );
        assert_eq!(
            r.amounts,
            Amounts {
                subtotal: Money(1_580),
                delivery_fee: Money(3_000),
                total: Money(4_580)
            }
        );
    }

    #[test]
    fn the_fee_follows_the_rule_but_never_grows() {
        // 160.00 paid no fee; without the missing 20.00 it falls under the 150.00 threshold,
        // but the customer keeps the free delivery agreed at checkout.
        let items = [
            line(1, 14_000, 1, PickedStatus::Picked),
            line(2, 2_000, 1, PickedStatus::Missing),
        ];
        let r = reprice(&items, Fulfillment::Delivery, Money::ZERO, pricing());
        assert_eq!(r.amounts.delivery_fee, Money::ZERO);
        assert_eq!(r.amounts.total, Money(14_000));
        // A fee lowered in the settings since checkout is passed on.
        let cheaper = DeliveryPricing {
            delivery_fee: Money(1_000),
            ..pricing()
        };
        let items = [
            line(1, 1_000, 1, PickedStatus::Picked),
            line(2, 1_000, 1, PickedStatus::Missing),
        ];
        let r = reprice(&items, Fulfillment::Delivery, Money(3_000), cheaper);
        assert_eq!(r.amounts.delivery_fee, Money(1_000));
        // Pickup never pays a fee.
        let r = reprice(&items, Fulfillment::Pickup, Money::ZERO, pricing());
        assert_eq!(
            (r.amounts.delivery_fee, r.amounts.total),
            (Money::ZERO, Money(1_000))
        );
    }

    #[test]
    fn lines_removed_before_count_for_nothing() {
        let mut gone = line(2, 5_000, 1, PickedStatus::Missing);
        gone.removed = true;
        let items = [line(1, 1_000, 1, PickedStatus::Picked), gone];
        let r = reprice(&items, Fulfillment::Pickup, Money::ZERO, pricing());
        assert!(r.removed.is_empty() && r.returned.is_empty());
        assert_eq!(r.amounts.subtotal, Money(1_000));
    }
}
