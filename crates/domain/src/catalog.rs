//! Catalog: categories and products, their search, and their back-office changes.

pub mod error;
pub mod models;
pub mod ports;
pub mod service;

pub use error::CatalogError;
pub use models::*;
pub use ports::CatalogStore;
pub use service::CatalogService;
