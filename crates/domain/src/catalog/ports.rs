//! The catalog's storage port.

use async_trait::async_trait;

use super::error::CatalogError;
use super::models::{
    Category, CategoryPatch, NewCategory, NewProduct, ProductPatch, ProductSearch, ProductView,
};
use crate::audit::AuditEntry;

/// Categories and products. Every write is one transaction that also writes the given audit
/// entry, completed by the adapter with the entity's values before and after (see
/// [`AuditEntry::with_change`]).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// Active categories by name, and how many there are.
    async fn list_categories(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Category>, i64), CatalogError>;

    /// Products matching the search (active products of any category), and the total.
    async fn search_products(
        &self,
        search: ProductSearch,
    ) -> Result<(Vec<ProductView>, i64), CatalogError>;

    /// The product, active or not, with its availability (at `branch` when given).
    async fn product(
        &self,
        id: i64,
        branch: Option<i64>,
    ) -> Result<Option<ProductView>, CatalogError>;

    /// Newest active products.
    async fn featured(
        &self,
        limit: i64,
        branch: Option<i64>,
    ) -> Result<Vec<ProductView>, CatalogError>;

    /// Active products whose name matches `q` (best matches first), as `(id, name)`.
    async fn autocomplete(
        &self,
        q: Option<String>,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, CatalogError>;

    /// Errors: `DuplicateCategory`.
    async fn create_category(
        &self,
        new: NewCategory,
        audit: AuditEntry,
    ) -> Result<Category, CatalogError>;

    /// Errors: `CategoryNotFound`, `DuplicateCategory`.
    async fn update_category(
        &self,
        id: i64,
        patch: CategoryPatch,
        audit: AuditEntry,
    ) -> Result<Category, CatalogError>;

    /// Errors: `CategoryNotFound`.
    async fn set_category_active(
        &self,
        id: i64,
        active: bool,
        audit: AuditEntry,
    ) -> Result<Category, CatalogError>;

    /// Errors: `CategoryNotFound`, `DuplicateSku`.
    async fn create_product(
        &self,
        new: NewProduct,
        audit: AuditEntry,
    ) -> Result<ProductView, CatalogError>;

    /// Errors: `ProductNotFound`, `CategoryNotFound`, `DuplicateSku`, `Validation` when the
    /// patched product's old price would not be above its price (checked under the row lock).
    async fn update_product(
        &self,
        id: i64,
        patch: ProductPatch,
        audit: AuditEntry,
    ) -> Result<ProductView, CatalogError>;

    /// Errors: `ProductNotFound`.
    async fn set_product_active(
        &self,
        id: i64,
        active: bool,
        audit: AuditEntry,
    ) -> Result<ProductView, CatalogError>;
}
