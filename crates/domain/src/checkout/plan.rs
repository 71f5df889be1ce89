//! The order a checkout places: from the facts the adapter read under its locks (the cart and
//! its products, the fulfilling branch, the slot, the saved cards, the branch's stock rows),
//! the rules decide the order, its amounts, its fulfilment window, the card it is paid with
//! (and whether that card becomes the default) and the stock it takes.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use serde_json::json;

use super::{CheckoutError, CheckoutRequest, DeliveryPricing, PaymentChoice, Preview};
use crate::Money;
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::inventory::{self, ProductQuantity, StockLevel, StockMove};
use crate::orders::{Fulfillment, PaymentStatus};

/// How long a pickup window lasts from the moment of the order.
const PICKUP_WINDOW: Duration = Duration::hours(2);

/// The fulfilling branch's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BranchFact {
    pub id: i64,
    pub active: bool,
}

/// A cart line with what the order keeps of its product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFact {
    pub product_id: i64,
    pub quantity: i32,
    pub unit_price: Money,
    pub name: String,
    pub sku: String,
    pub active: bool,
}

/// A weekly delivery slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotFact {
    pub id: i64,
    pub branch_id: i64,
    /// 0 = Sunday … 6 = Saturday.
    pub day_of_week: i16,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub active: bool,
}

/// A saved card of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFact {
    pub id: i64,
    pub provider_token: String,
    pub active: bool,
    pub is_default: bool,
}

/// Everything checkout decides on. `None` is a row that does not exist (or is another
/// customer's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutFacts {
    /// The row of [`CheckoutRequest::fulfilling_branch`].
    pub branch: Option<BranchFact>,
    /// The caller's cart lines (by product id), when the cart is theirs.
    pub cart: Option<Vec<LineFact>>,
    /// The requested delivery slot.
    pub slot: Option<SlotFact>,
    /// The requested saved card, when it is the caller's (preview reads none).
    pub token: Option<TokenFact>,
    /// The caller's active saved cards, in ascending id order (preview reads none).
    pub cards: Vec<TokenFact>,
    /// The fulfilling branch's rows of the cart's products, in ascending id order.
    pub stock: Vec<StockLevel>,
}

/// Where and when the customer gets the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FulfillmentDetails {
    Delivery {
        slot_id: i64,
        address: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    Pickup {
        branch_id: i64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

/// The caller's default card changes to `token_id` (`save_as_default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDefaultCard {
    /// The default before, if any.
    pub previous: Option<i64>,
    pub token_id: i64,
}

impl NewDefaultCard {
    /// Whether any row changes (the card may already be the default; it is audited anyway, as
    /// in the reference).
    pub fn changes(&self) -> bool {
        self.previous != Some(self.token_id)
    }
}

/// The order to write, payment PENDING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlan {
    pub fulfillment: Fulfillment,
    pub branch_id: i64,
    /// The saved card paid with.
    pub payment_token_id: i64,
    /// The provider's token of the saved card.
    pub payment_method: String,
    /// The requested card id when it was not the caller's and their own card pays instead.
    pub fell_back_from: Option<i64>,
    /// The paid card becomes the caller's default.
    pub new_default: Option<NewDefaultCard>,
    /// The ordered lines, snapshots of name, SKU and price.
    pub items: Vec<LineFact>,
    pub subtotal: Money,
    pub delivery_fee: Money,
    pub total: Money,
    pub details: FulfillmentDetails,
    /// The new figures of the branch's stock rows, in ascending id order.
    pub stock: Vec<StockMove>,
}

impl OrderPlan {
    /// The order's CREATE audit entry, once its id and number are assigned.
    pub fn audit(&self, ctx: &RequestContext, order_id: i64, order_number: &str) -> AuditEntry {
        AuditEntry::new(ctx, "order", AuditTarget::Id(order_id), "CREATE").new_value(json!({
            "order_number": order_number,
            "total_amount": self.total.to_string(),
            "fulfillment_type": self.fulfillment.as_str(),
            "branch_id": self.branch_id,
            "items": self.items.len(),
            "payment_status": PaymentStatus::Pending.as_str(),
        }))
    }

    /// The audit entries of the card choice, once the order's id is assigned: the fallback from
    /// a card that is not the caller's (`order/PAYMENT_TOKEN_FALLBACK`), and the new default
    /// (`payment_preferences/SET_DEFAULT`, as in the reference).
    pub fn card_audit(&self, ctx: &RequestContext, order_id: i64) -> Vec<AuditEntry> {
        let fallback = self.fell_back_from.map(|requested| {
            AuditEntry::new(
                ctx,
                "order",
                AuditTarget::Id(order_id),
                "PAYMENT_TOKEN_FALLBACK",
            )
            .with_change(
                Some(json!({"payment_token_id": requested})),
                Some(json!({"payment_token_id": self.payment_token_id})),
            )
            .context(json!({"reason": "the requested card is not the caller's; \
                their default saved card paid"}))
        });
        let default = self.new_default.map(|d| {
            AuditEntry::new(
                ctx,
                "payment_preferences",
                AuditTarget::Id(d.token_id),
                "SET_DEFAULT",
            )
            .with_change(
                Some(json!({"payment_token_id": d.previous})),
                Some(json!({"payment_token_id": d.token_id})),
            )
            .context(json!({"order_id": order_id}))
        });
        fallback.into_iter().chain(default).collect()
    }

    /// The audit entries of the stock taken, once the order's id is assigned.
    pub fn stock_audit(&self, ctx: &RequestContext, order_id: i64) -> Vec<AuditEntry> {
        let context = |m: &StockMove| {
            json!({
                "order_id": order_id,
                "branch_id": self.branch_id,
                "product_id": m.product_id,
            })
        };
        let audit = |m: &StockMove| m.audit(ctx, "DECREMENT", context(m));
        self.stock.iter().map(audit).collect()
    }
}

impl CheckoutRequest {
    /// The branch whose stock fulfils the order: the warehouse for delivery, the chosen branch
    /// for pickup.
    pub fn fulfilling_branch(&self, warehouse: i64) -> Result<i64, CheckoutError> {
        match self.fulfillment {
            Fulfillment::Delivery => Ok(warehouse),
            Fulfillment::Pickup => self.branch_id.ok_or(CheckoutError::BranchRequired),
        }
    }
}

/// Delivery pricing: below `delivery_min` the cart pays `delivery_fee`; pickup has no fee.
pub fn delivery_fee(
    fulfillment: Fulfillment,
    cart_total: Money,
    pricing: DeliveryPricing,
) -> Option<Money> {
    match fulfillment {
        Fulfillment::Pickup => None,
        Fulfillment::Delivery if cart_total >= pricing.delivery_min => Some(Money::ZERO),
        Fulfillment::Delivery => Some(pricing.delivery_fee),
    }
}

/// The next concrete occurrence of a weekly slot (UTC) that has not started yet.
pub fn next_occurrence(
    day_of_week: i16,
    start: NaiveTime,
    end: NaiveTime,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = i64::from(now.weekday().num_days_from_sunday());
    let mut days = (i64::from(day_of_week) - today).rem_euclid(7);
    if days == 0 && now.time() >= start {
        days = 7;
    }
    let date = now.date_naive() + Duration::days(days);
    (date.and_time(start).and_utc(), date.and_time(end).and_utc())
}

fn subtotal(lines: &[LineFact]) -> Money {
    Money(
        lines
            .iter()
            .map(|l| l.unit_price.minor() * i64::from(l.quantity))
            .sum(),
    )
}

fn quantities(lines: &[LineFact]) -> Vec<ProductQuantity> {
    let quantity = |l: &LineFact| ProductQuantity {
        product_id: l.product_id,
        quantity: l.quantity,
    };
    lines.iter().map(quantity).collect()
}

/// The fulfilling branch must exist; a pickup branch must also be open.
fn check_branch(
    request: &CheckoutRequest,
    branch: Option<BranchFact>,
) -> Result<i64, CheckoutError> {
    match (request.fulfillment, branch) {
        (Fulfillment::Delivery, Some(b)) => Ok(b.id),
        (Fulfillment::Delivery, None) => Err(CheckoutError::DeliveryBranchMissing),
        (Fulfillment::Pickup, Some(b)) if b.active => Ok(b.id),
        (Fulfillment::Pickup, _) => Err(CheckoutError::BranchNotFound),
    }
}

/// Delivery goes into the next occurrence of an open slot of the warehouse; pickup is ready
/// within the next two hours at the branch.
fn details(
    request: &CheckoutRequest,
    slot: Option<SlotFact>,
    branch_id: i64,
    now: DateTime<Utc>,
) -> Result<FulfillmentDetails, CheckoutError> {
    if request.fulfillment == Fulfillment::Pickup {
        return Ok(FulfillmentDetails::Pickup {
            branch_id,
            start: now,
            end: now + PICKUP_WINDOW,
        });
    }
    request
        .delivery_slot_id
        .ok_or(CheckoutError::SlotRequired)?;
    let slot = slot
        .filter(|s| s.active)
        .ok_or(CheckoutError::SlotNotFound)?;
    if slot.branch_id != branch_id {
        return Err(CheckoutError::SlotOfAnotherBranch);
    }
    let (start, end) = next_occurrence(slot.day_of_week, slot.start, slot.end, now);
    Ok(FulfillmentDetails::Delivery {
        slot_id: slot.id,
        address: request.address.clone().unwrap_or_default(),
        start,
        end,
    })
}

/// The card that pays: the requested one when it is the caller's (and active); otherwise, if
/// falling back is on, the caller's default card (or, when none is marked default, their
/// newest active one) — never anyone else's. Returns the card and whether it is a fallback.
pub fn choose_card(
    payment: &PaymentChoice,
    requested: Option<TokenFact>,
    cards: &[TokenFact],
) -> Result<(TokenFact, bool), CheckoutError> {
    match requested {
        Some(t) if !t.active => Err(CheckoutError::PaymentTokenInactive),
        Some(t) => Ok((t, false)),
        None if !payment.fallback_to_default => Err(CheckoutError::PaymentTokenNotFound),
        None => {
            let active = || cards.iter().filter(|c| c.active);
            active()
                .find(|c| c.is_default)
                .or_else(|| active().max_by_key(|c| c.id))
                .map(|c| (c.clone(), true))
                .ok_or(CheckoutError::NoSavedCard)
        }
    }
}

/// Decides the order, checking in this order: the branch, the cart, the slot, the saved card,
/// the lines (not empty, all still sold), then the stock (every line covered in full).
pub fn plan_order(
    request: &CheckoutRequest,
    payment: &PaymentChoice,
    facts: CheckoutFacts,
    pricing: DeliveryPricing,
    now: DateTime<Utc>,
) -> Result<OrderPlan, CheckoutError> {
    let branch_id = check_branch(request, facts.branch)?;
    let lines = facts.cart.ok_or(CheckoutError::CartNotFound)?;
    let details = details(request, facts.slot, branch_id, now)?;
    let (token, fell_back) = choose_card(payment, facts.token, &facts.cards)?;
    let new_default = payment.save_as_default.then(|| NewDefaultCard {
        previous: facts.cards.iter().find(|c| c.is_default).map(|c| c.id),
        token_id: token.id,
    });
    if lines.is_empty() {
        return Err(CheckoutError::CartEmpty);
    }
    let inactive: Vec<i64> = lines
        .iter()
        .filter(|l| !l.active)
        .map(|l| l.product_id)
        .collect();
    if !inactive.is_empty() {
        return Err(CheckoutError::ProductsInactive(inactive));
    }
    let stock = inventory::take(&facts.stock, &quantities(&lines))
        .map_err(CheckoutError::InsufficientStock)?;
    let subtotal = subtotal(&lines);
    let fee = delivery_fee(request.fulfillment, subtotal, pricing).unwrap_or(Money::ZERO);
    Ok(OrderPlan {
        fulfillment: request.fulfillment,
        branch_id,
        payment_token_id: token.id,
        payment_method: token.provider_token,
        fell_back_from: fell_back.then_some(payment.token_id),
        new_default,
        items: lines,
        subtotal,
        delivery_fee: fee,
        total: Money(subtotal.minor() + fee.minor()),
        details,
        stock,
    })
}

/// Totals, fee and shortages of the cart at the fulfilling branch (nothing is locked or
/// written).
pub fn preview(
    request: &CheckoutRequest,
    facts: &CheckoutFacts,
    pricing: DeliveryPricing,
) -> Result<Preview, CheckoutError> {
    check_branch(request, facts.branch)?;
    let lines = facts.cart.as_deref().ok_or(CheckoutError::CartNotFound)?;
    let cart_total = subtotal(lines);
    Ok(Preview {
        cart_total,
        delivery_fee: delivery_fee(request.fulfillment, cart_total, pricing),
        missing_items: inventory::shortages(&facts.stock, &quantities(lines)),
        fulfillment: request.fulfillment,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::identity::UserId;
    use crate::inventory::MissingItem;

    const WAREHOUSE: i64 = 1;
    const PRICING: DeliveryPricing = DeliveryPricing {
        delivery_min: Money(15_000),
        delivery_fee: Money(3_000),
    };

    fn request(fulfillment: Fulfillment) -> CheckoutRequest {
        CheckoutRequest {
            user: UserId(1),
            cart_id: 1,
            fulfillment,
            branch_id: (fulfillment == Fulfillment::Pickup).then_some(2),
            delivery_slot_id: Some(4),
            address: Some("1 Herzl St".into()),
        }
    }

    fn line(product_id: i64, quantity: i32, price: i64) -> LineFact {
        LineFact {
            product_id,
            quantity,
            unit_price: Money(price),
            name: format!("P{product_id}"),
            sku: format!("SKU{product_id}"),
            active: true,
        }
    }

    /// A Monday, 10:00 UTC.
    fn monday() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn time(h: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default()
    }

    fn card(id: i64, is_default: bool) -> TokenFact {
        TokenFact {
            id,
            provider_token: format!("pm_{id}"),
            active: true,
            is_default,
        }
    }

    /// Pay with card 3; nothing else asked.
    const PAY: PaymentChoice = PaymentChoice {
        token_id: 3,
        save_as_default: false,
        fallback_to_default: true,
    };

    /// A cart of two lines (2 × 6.90 + 1 × 8.90 = 22.70) with stock for both at `branch`.
    fn facts(branch: i64) -> CheckoutFacts {
        CheckoutFacts {
            branch: Some(BranchFact {
                id: branch,
                active: true,
            }),
            cart: Some(vec![line(10, 2, 690), line(20, 1, 890)]),
            slot: Some(SlotFact {
                id: 4,
                branch_id: WAREHOUSE,
                day_of_week: 2,
                start: time(8),
                end: time(10),
                active: true,
            }),
            token: Some(card(3, true)),
            cards: vec![card(3, true)],
            stock: vec![
                StockLevel {
                    row_id: 5,
                    product_id: 10,
                    available: 2,
                },
                StockLevel {
                    row_id: 6,
                    product_id: 20,
                    available: 9,
                },
            ],
        }
    }

    fn delivery(facts: CheckoutFacts) -> Result<OrderPlan, CheckoutError> {
        plan_order(
            &request(Fulfillment::Delivery),
            &PAY,
            facts,
            PRICING,
            monday(),
        )
    }

    #[test]
    fn a_delivery_below_the_threshold_pays_the_fee_and_takes_the_stock() {
        let plan = delivery(facts(WAREHOUSE)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (plan.subtotal, plan.delivery_fee, plan.total),
            (Money(2_270), Money(3_000), Money(5_270))
        );
        assert_eq!(
            (plan.payment_token_id, plan.payment_method.as_str()),
            (3, "pm_3")
        );
        let figures: Vec<_> = plan.stock.iter().map(|m| (m.row_id, m.after)).collect();
        assert_eq!(figures, vec![(5, 0), (6, 8)]);
        assert_eq!(
            plan.details,
            FulfillmentDetails::Delivery {
                slot_id: 4,
                address: "1 Herzl St".into(),
                start: monday() + Duration::hours(22),
                end: monday() + Duration::hours(24),
            },
            "Tuesday 08:00–10:00, the next occurrence"
        );
        let audit = plan.audit(&RequestContext::default(), 77, "ORD-1");
        assert_eq!(audit.target, AuditTarget::Id(77));
        assert_eq!(plan.stock_audit(&RequestContext::default(), 77).len(), 2);
    }

    #[test]
    fn the_fee_is_waived_at_the_threshold() {
        let at = |minor| delivery_fee(Fulfillment::Delivery, Money(minor), PRICING);
        assert_eq!(at(14_999), Some(Money(3_000)), "below");
        assert_eq!(at(15_000), Some(Money::ZERO), "at");
        let mut f = facts(WAREHOUSE);
        f.cart = Some(vec![line(10, 2, 7_500)]);
        let plan = delivery(f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (plan.delivery_fee, plan.total),
            (Money::ZERO, Money(15_000))
        );
    }

    #[test]
    fn pickup_pays_no_fee_and_is_ready_within_two_hours() {
        let plan = plan_order(
            &request(Fulfillment::Pickup),
            &PAY,
            facts(2),
            PRICING,
            monday(),
        );
        let plan = plan.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (plan.branch_id, plan.delivery_fee, plan.total),
            (2, Money::ZERO, Money(2_270))
        );
        assert_eq!(
            plan.details,
            FulfillmentDetails::Pickup {
                branch_id: 2,
                start: monday(),
                end: monday() + Duration::hours(2),
            }
        );
        assert_eq!(
            delivery_fee(Fulfillment::Pickup, Money(1), PRICING),
            None,
            "preview shows no fee"
        );
    }

    #[test]
    fn an_empty_cart_is_refused() {
        let mut f = facts(WAREHOUSE);
        f.cart = Some(Vec::new());
        assert_eq!(delivery(f).err(), Some(CheckoutError::CartEmpty));
    }

    #[test]
    fn inactive_products_are_named() {
        let mut f = facts(WAREHOUSE);
        f.cart = Some(vec![
            LineFact {
                active: false,
                ..line(10, 1, 690)
            },
            line(20, 1, 890),
        ]);
        assert_eq!(
            delivery(f).err(),
            Some(CheckoutError::ProductsInactive(vec![10]))
        );
    }

    #[test]
    fn shortages_are_named_with_what_is_left() {
        let mut f = facts(WAREHOUSE);
        f.cart = Some(vec![line(10, 3, 690), line(20, 1, 890)]);
        assert_eq!(
            delivery(f).err(),
            Some(CheckoutError::InsufficientStock(vec![MissingItem {
                product_id: 10,
                requested_quantity: 3,
                available_quantity: 2,
            }]))
        );
    }

    #[test]
    fn the_slot_must_be_an_open_slot_of_the_warehouse() {
        let mut f = facts(WAREHOUSE);
        f.slot = f.slot.map(|s| SlotFact { branch_id: 2, ..s });
        assert_eq!(delivery(f).err(), Some(CheckoutError::SlotOfAnotherBranch));
        let mut f = facts(WAREHOUSE);
        f.slot = f.slot.map(|s| SlotFact { active: false, ..s });
        assert_eq!(delivery(f).err(), Some(CheckoutError::SlotNotFound));
        let mut r = request(Fulfillment::Delivery);
        r.delivery_slot_id = None;
        let none = plan_order(&r, &PAY, facts(WAREHOUSE), PRICING, monday());
        assert_eq!(none.err(), Some(CheckoutError::SlotRequired));
    }

    #[test]
    fn branch_cart_and_card_come_first() {
        let mut f = facts(WAREHOUSE);
        f.branch = None;
        assert_eq!(
            delivery(f).err(),
            Some(CheckoutError::DeliveryBranchMissing)
        );
        let mut f = facts(2);
        f.branch = Some(BranchFact {
            id: 2,
            active: false,
        });
        let closed = plan_order(&request(Fulfillment::Pickup), &PAY, f, PRICING, monday());
        assert_eq!(closed.err(), Some(CheckoutError::BranchNotFound));
        let mut f = facts(WAREHOUSE);
        f.cart = None;
        f.token = None;
        assert_eq!(delivery(f).err(), Some(CheckoutError::CartNotFound));
        let mut f = facts(WAREHOUSE);
        f.token = None;
        f.cards.clear();
        assert_eq!(delivery(f).err(), Some(CheckoutError::NoSavedCard));
        let mut f = facts(WAREHOUSE);
        f.token = f.token.map(|t| TokenFact { active: false, ..t });
        assert_eq!(delivery(f).err(), Some(CheckoutError::PaymentTokenInactive));
        let mut pickup = request(Fulfillment::Pickup);
        pickup.branch_id = None;
        assert_eq!(
            pickup.fulfilling_branch(WAREHOUSE),
            Err(CheckoutError::BranchRequired)
        );
        assert_eq!(
            request(Fulfillment::Delivery).fulfilling_branch(WAREHOUSE),
            Ok(WAREHOUSE)
        );
    }

    #[test]
    fn a_card_that_is_not_the_callers_falls_back_to_their_default_or_is_not_found() {
        let mut f = facts(WAREHOUSE);
        f.token = None;
        f.cards = vec![card(4, false), card(6, true), card(8, false)];
        let requested = PaymentChoice { token_id: 1, ..PAY };
        let run = |f: CheckoutFacts, p: &PaymentChoice| {
            plan_order(&request(Fulfillment::Delivery), p, f, PRICING, monday())
        };
        let plan = run(f.clone(), &requested).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (plan.payment_token_id, plan.payment_method.as_str()),
            (6, "pm_6"),
            "the caller's default card pays"
        );
        assert_eq!(plan.fell_back_from, Some(1));
        let audit = plan.card_audit(&RequestContext::default(), 77);
        assert_eq!(audit.len(), 1);
        assert_eq!(
            (audit[0].entity_type, audit[0].action, audit[0].target),
            ("order", "PAYMENT_TOKEN_FALLBACK", AuditTarget::Id(77))
        );
        assert_eq!(
            (audit[0].old_value.clone(), audit[0].new_value.clone()),
            (
                Some(json!({"payment_token_id": 1})),
                Some(json!({"payment_token_id": 6}))
            )
        );

        let mut no_default = f.clone();
        no_default.cards = vec![card(4, false), card(8, false)];
        let plan = run(no_default, &requested).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plan.payment_token_id, 8,
            "no default: the newest active card"
        );

        let off = PaymentChoice {
            fallback_to_default: false,
            ..requested
        };
        assert_eq!(
            run(f.clone(), &off).err(),
            Some(CheckoutError::PaymentTokenNotFound),
            "switched off: someone else's card is simply not found"
        );
        let mut none = f;
        none.cards.clear();
        assert_eq!(
            run(none, &requested).err(),
            Some(CheckoutError::NoSavedCard)
        );

        let mine = plan_order(
            &request(Fulfillment::Delivery),
            &PAY,
            facts(WAREHOUSE),
            PRICING,
            monday(),
        );
        let mine = mine.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mine.fell_back_from, None);
        assert!(mine.card_audit(&RequestContext::default(), 1).is_empty());
    }

    #[test]
    fn save_as_default_makes_the_paid_card_the_default_and_is_audited() {
        let mut f = facts(WAREHOUSE);
        f.cards = vec![card(2, true), card(3, false)];
        f.token = Some(card(3, false));
        let save = PaymentChoice {
            save_as_default: true,
            ..PAY
        };
        let plan = plan_order(&request(Fulfillment::Delivery), &save, f, PRICING, monday());
        let plan = plan.unwrap_or_else(|e| panic!("{e}"));
        let new = NewDefaultCard {
            previous: Some(2),
            token_id: 3,
        };
        assert_eq!(plan.new_default, Some(new));
        assert!(new.changes());
        let audit = plan.card_audit(&RequestContext::default(), 77);
        assert_eq!(audit.len(), 1);
        assert_eq!(
            (audit[0].entity_type, audit[0].action, audit[0].target),
            ("payment_preferences", "SET_DEFAULT", AuditTarget::Id(3))
        );
        assert_eq!(
            audit[0].new_value,
            Some(json!({"payment_token_id": 3})),
            "new_value.payment_token_id, as the reference writes it"
        );
        assert_eq!(audit[0].context, Some(json!({"order_id": 77})));

        let already = NewDefaultCard {
            previous: Some(3),
            token_id: 3,
        };
        assert!(
            !already.changes(),
            "already the default: audited, nothing to write"
        );
        let plain = delivery(facts(WAREHOUSE)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plain.new_default, None,
            "save_as_default false: nothing changes"
        );
    }

    #[test]
    fn slot_dates_wrap_around_the_week() {
        let now = monday();
        let at = |day, h| next_occurrence(day, time(h), time(h + 2), now).0;
        assert_eq!(at(1, 12), now + Duration::hours(2), "later today");
        assert_eq!(
            at(1, 8),
            now + Duration::days(7) - Duration::hours(2),
            "started: next week"
        );
        assert_eq!(
            at(1, 10),
            now + Duration::days(7),
            "starting now: next week"
        );
        assert_eq!(
            at(0, 8),
            now + Duration::days(6) - Duration::hours(2),
            "Sunday wraps"
        );
        let saturday = now + Duration::days(5);
        let (start, end) = next_occurrence(2, time(8), time(10), saturday);
        assert_eq!(
            start,
            now + Duration::days(8) - Duration::hours(2),
            "Saturday → Tuesday"
        );
        assert_eq!(end - start, Duration::hours(2));
    }

    #[test]
    fn preview_totals_and_shortages_without_refusing() {
        let mut f = facts(WAREHOUSE);
        f.cart = Some(vec![line(10, 3, 690)]);
        f.token = None;
        let p = preview(&request(Fulfillment::Delivery), &f, PRICING);
        let p = p.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (p.cart_total, p.delivery_fee),
            (Money(2_070), Some(Money(3_000)))
        );
        assert_eq!(p.missing_items.len(), 1);
        f.cart = None;
        let missing = preview(&request(Fulfillment::Delivery), &f, PRICING);
        assert_eq!(missing.err(), Some(CheckoutError::CartNotFound));
    }
}
