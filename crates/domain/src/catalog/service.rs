//! Catalog use cases.

use std::sync::Arc;

use tracing::instrument;

use super::error::CatalogError;
use super::models::{
    Category, CategoryPatch, NewCategory, NewProduct, ProductPatch, ProductSearch, ProductView,
    check_old_price,
};
use super::ports::CatalogStore;
use crate::audit::{AuditEntry, AuditTarget, RequestContext};

/// Browsing and running the catalog.
pub struct CatalogService {
    store: Arc<dyn CatalogStore>,
}

impl CatalogService {
    pub fn new(store: Arc<dyn CatalogStore>) -> Self {
        Self { store }
    }

    pub async fn categories(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Category>, i64), CatalogError> {
        self.store.list_categories(limit, offset).await
    }

    #[instrument(skip_all)]
    pub async fn search(
        &self,
        search: ProductSearch,
    ) -> Result<(Vec<ProductView>, i64), CatalogError> {
        if let (Some(min), Some(max)) = (search.min_price, search.max_price)
            && min > max
        {
            return Err(CatalogError::invalid(crate::FieldError::new(
                &["query", "min_price"],
                "value_error",
                "min_price must not exceed max_price",
            )));
        }
        self.store.search_products(search).await
    }

    /// An active product; inactive and missing ones are both "not found".
    pub async fn product(&self, id: i64, branch: Option<i64>) -> Result<ProductView, CatalogError> {
        match self.store.product(id, branch).await? {
            Some(p) if p.product.is_active => Ok(p),
            _ => Err(CatalogError::ProductNotFound),
        }
    }

    pub async fn featured(
        &self,
        limit: i64,
        branch: Option<i64>,
    ) -> Result<Vec<ProductView>, CatalogError> {
        self.store.featured(limit, branch).await
    }

    pub async fn autocomplete(
        &self,
        q: Option<String>,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, CatalogError> {
        self.store.autocomplete(q, limit).await
    }

    #[instrument(skip_all)]
    pub async fn create_category(
        &self,
        new: NewCategory,
        ctx: &RequestContext,
    ) -> Result<Category, CatalogError> {
        let audit = AuditEntry::new(ctx, "category", AuditTarget::Created, "CREATE");
        self.store.create_category(new, audit).await
    }

    #[instrument(skip_all)]
    pub async fn update_category(
        &self,
        id: i64,
        patch: CategoryPatch,
        ctx: &RequestContext,
    ) -> Result<Category, CatalogError> {
        let audit = AuditEntry::new(ctx, "category", AuditTarget::Id(id), "UPDATE");
        self.store.update_category(id, patch, audit).await
    }

    #[instrument(skip_all)]
    pub async fn set_category_active(
        &self,
        id: i64,
        active: bool,
        ctx: &RequestContext,
    ) -> Result<Category, CatalogError> {
        let action = if active { "ACTIVATE" } else { "DEACTIVATE" };
        let audit = AuditEntry::new(ctx, "category", AuditTarget::Id(id), action);
        self.store.set_category_active(id, active, audit).await
    }

    #[instrument(skip_all)]
    pub async fn create_product(
        &self,
        new: NewProduct,
        ctx: &RequestContext,
    ) -> Result<ProductView, CatalogError> {
        check_old_price(new.price, new.old_price).map_err(CatalogError::invalid)?;
        let audit = AuditEntry::new(ctx, "product", AuditTarget::Created, "CREATE");
        self.store
            .create_product(new, audit)
            .await
            .map_err(|e| match e {
                CatalogError::DuplicateSku { .. } => CatalogError::DuplicateSku { on_create: true },
                other => other,
            })
    }

    #[instrument(skip_all)]
    pub async fn update_product(
        &self,
        id: i64,
        patch: ProductPatch,
        ctx: &RequestContext,
    ) -> Result<ProductView, CatalogError> {
        // Refused before the store when the patch alone breaks the rule; the store checks the
        // patched product under its row lock.
        if let Some(price) = patch.price {
            check_old_price(price, patch.old_price.flatten()).map_err(CatalogError::invalid)?;
        }
        let audit = AuditEntry::new(ctx, "product", AuditTarget::Id(id), "UPDATE");
        self.store.update_product(id, patch, audit).await
    }

    #[instrument(skip_all)]
    pub async fn set_product_active(
        &self,
        id: i64,
        active: bool,
        ctx: &RequestContext,
    ) -> Result<ProductView, CatalogError> {
        let action = if active { "ACTIVATE" } else { "DEACTIVATE" };
        let audit = AuditEntry::new(ctx, "product", AuditTarget::Id(id), action);
        self.store.set_product_active(id, active, audit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Money;
    use crate::catalog::models::SearchSort;
    use crate::catalog::ports::MockCatalogStore;

    fn search(min: Option<i64>, max: Option<i64>) -> ProductSearch {
        ProductSearch {
            min_price: min.map(Money),
            max_price: max.map(Money),
            sort: SearchSort::Relevance,
            ..ProductSearch::all(10, 0)
        }
    }

    #[tokio::test]
    async fn an_inverted_price_range_is_refused_before_the_store() {
        let svc = CatalogService::new(Arc::new(MockCatalogStore::new()));
        assert!(matches!(
            svc.search(search(Some(500), Some(100))).await,
            Err(CatalogError::Validation(_))
        ));
    }

    #[tokio::test]
    async fn toggles_are_audited_as_activate_or_deactivate() {
        let mut store = MockCatalogStore::new();
        store
            .expect_set_category_active()
            .withf(|id, active, a| {
                *id == 3 && !active && a.action == "DEACTIVATE" && a.entity_type == "category"
            })
            .times(1)
            .returning(|id, _, _| {
                Ok(Category {
                    id,
                    name: "Dairy".into(),
                    description: None,
                    icon_slug: None,
                    is_active: false,
                })
            });
        let svc = CatalogService::new(Arc::new(store));
        let ctx = RequestContext::default();
        assert!(svc.set_category_active(3, false, &ctx).await.is_ok());
    }

    #[tokio::test]
    async fn an_inactive_product_is_not_found_publicly() {
        let mut store = MockCatalogStore::new();
        store.expect_product().returning(|_, _| Ok(None));
        let svc = CatalogService::new(Arc::new(store));
        assert!(matches!(
            svc.product(1, None).await,
            Err(CatalogError::ProductNotFound)
        ));
    }

    #[tokio::test]
    async fn old_price_must_exceed_price() {
        let svc = CatalogService::new(Arc::new(MockCatalogStore::new()));
        let new = NewProduct {
            name: "Milk".into(),
            sku: "MLK".into(),
            category_id: 1,
            price: Money(690),
            old_price: Some(Money(500)),
            unit: None,
            nutritional_info: None,
            is_organic: false,
            description: None,
            bin_location: None,
            image_url: None,
        };
        assert!(matches!(
            svc.create_product(new, &RequestContext::default()).await,
            Err(CatalogError::Validation(_))
        ));
    }
}
