//! Fulfilment, the staff side of an order: the queue, picking, the status machine with the
//! money that follows the goods (capture at READY, void or refund at cancel), missing items
//! removed and re-priced, damage reports, alerts, performance and picking batches.
//!
//! Every decision is a pure function over facts the adapter reads under the order's lock
//! ([`decide_move`], [`decide_pick`], [`decide_damage`], [`reprice`], [`decide_batch`],
//! [`alerts`]); the service runs the provider call between the two transactions.

pub mod alerts;
pub mod error;
pub mod models;
pub mod moves;
pub mod picking;
pub mod ports;
pub mod queue;
pub mod reprice;
pub mod service;

pub use alerts::{Alert, AlertFacts, AlertRules, alerts};
pub use error::OpsError;
pub use models::*;
pub use moves::{MovePlan, decide_move, moves_from};
pub use picking::{DamageInput, PickPlan, decide_damage, decide_pick};
pub use ports::FulfilmentStore;
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockFulfilmentStore;
pub use queue::{
    BatchPlan, Performance, PerformanceCounts, QueueView, Urgency, decide_batch, queue_view,
};
pub use reprice::{Amounts, Repricing, reprice};
pub use service::FulfilmentService;
