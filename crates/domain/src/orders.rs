//! Customer orders: the statuses an order and its payment go through, list and detail, and
//! cancel (stock back and the authorization voided).

pub mod cancel;
pub mod error;
pub mod models;
pub mod ports;
pub mod service;

pub use cancel::{CancelFacts, CancelPlan, decide_cancel};
pub use error::OrderError;
pub use models::*;
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockOrderStore;
pub use ports::OrderStore;
pub use service::OrderService;
