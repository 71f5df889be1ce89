//! Stock requests: staff ask for stock at a branch, a manager approves (perhaps less than
//! asked) or rejects with a reason, and an approval changes the branch's inventory once.
//!
//! The adapter locks the request and, for an approval, the inventory row (the same locking
//! function as checkout), then persists what the pure [`decide_review`] decided: the request's
//! new state, the stock figure and both audit entries, in one transaction. The edge alone
//! turns [`StockRequestError`] into HTTP.

pub mod error;
pub mod models;
pub mod ports;
pub mod review;
pub mod service;

pub use error::StockRequestError;
pub use models::*;
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockStockRequestStore;
pub use ports::StockRequestStore;
pub use review::{RequestUpdate, ReviewFacts, ReviewPlan, decide_review};
pub use service::StockRequestService;
