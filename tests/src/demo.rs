//! Ids the demo seed gives on a fresh database (it inserts in a fixed order), named once so
//! that tests say which branch or product they mean; and the cards the payment simulator
//! knows.

/// The warehouse: the delivery source (`DELIVERY_SOURCE_BRANCH_ID=1` in tests).
pub const WAREHOUSE: i64 = 1;
/// The Tel Aviv store (pickup).
pub const TEL_AVIV: i64 = 2;

/// Tomatoes, 7.90 a kg.
pub const TOMATOES: i64 = 1;
/// Cucumbers, 6.90 a kg.
pub const CUCUMBERS: i64 = 3;
/// Bananas, 9.90 a kg.
pub const BANANAS: i64 = 5;
/// Red apples, 11.90 a kg.
pub const RED_APPLES: i64 = 7;
/// Organic carrots, 8.90 a kg.
pub const CARROTS: i64 = 9;
/// Avocado, 4.50 each.
pub const AVOCADO: i64 = 11;
/// Milk 3%, 6.90 a litre.
pub const MILK: i64 = 13;
/// Cottage cheese 5%, 5.90.
pub const COTTAGE_CHEESE: i64 = 15;

/// A card the simulator authorizes.
pub const VISA: &str = "pm_card_visa";
/// A card the simulator declines (`card_declined`).
pub const DECLINED: &str = "pm_card_chargeDeclined";
/// A card the simulator declines for `insufficient_funds`.
pub const INSUFFICIENT_FUNDS: &str = "pm_card_chargeDeclinedInsufficientFunds";
