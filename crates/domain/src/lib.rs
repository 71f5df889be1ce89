//! Mami's business core: entities, value types, errors, port traits and use cases.
//!
//! This crate does no I/O. Adapters (PostgreSQL, the payment provider, HTTP) live in other
//! crates and implement the ports declared here; the `mocks` feature exposes mockall mocks of
//! every port for unit tests.

pub mod addresses;
pub mod analytics;
pub mod audit;
pub mod branches;
pub mod cart;
pub mod catalog;
pub mod checkout;
mod error;
pub mod identity;
pub mod inventory;
pub mod mail;
pub mod money;
pub mod ops;
pub mod orders;
pub mod payment_tokens;
pub mod payments;
pub mod reconciler;
pub mod settings;
pub mod stock_requests;
pub mod stock_upload;
pub mod validation;
pub mod wishlist;

pub use audit::{AuditEntry, RequestContext};
pub use error::{DomainError, InfraError, Violation};
pub use money::Money;
pub use validation::{FieldError, ValidationErrors};
