//! Checkout: preview and the three-step confirm (reserve stock and create the order in one
//! short transaction; authorize at the provider outside any transaction; record the outcome
//! in a second short transaction), with Stripe-style idempotency keys.
//!
//! The adapter loads facts under its locks and persists what pure functions of this module
//! decide: [`key_state`] (the idempotency record), [`plan_order`] (the order, with
//! [`choose_card`] for the card that pays) and [`preview`],
//! [`settle`] (the provider's answer). Confirm answers a typed [`ConfirmOutcome`]; the edge
//! alone turns it and [`CheckoutError`] into HTTP.

pub mod error;
pub mod idempotency;
pub mod models;
pub mod plan;
pub mod ports;
pub mod service;
pub mod settle;

pub use error::CheckoutError;
pub use idempotency::{KEY_TTL, KeyRecord, KeyState, LEASE, key_state};
pub use models::*;
pub use plan::{
    BranchFact, CheckoutFacts, FulfillmentDetails, LineFact, NewDefaultCard, OrderPlan, SlotFact,
    TokenFact, choose_card, delivery_fee, next_occurrence, plan_order, preview,
};
pub use ports::CheckoutStore;
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockCheckoutStore;
pub use service::CheckoutService;
pub use settle::{PaymentFacts, Settlement, settle};
