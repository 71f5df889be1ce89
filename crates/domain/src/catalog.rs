//! Catalog: categories and products, their search, and their back-office changes.

pub mod models;
pub mod ports;
pub mod service;

pub use models::*;
pub use ports::CatalogStore;
pub use service::{CatalogError, CatalogService};
