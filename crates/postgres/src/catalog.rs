//! [`CatalogStore`] on PostgreSQL: search with trigram indexes, availability from inventory.

use std::collections::HashMap;

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::{DateTime, Utc};
use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::AuditEntry;
use mami_domain::catalog::{
    Availability, CatalogError, CatalogStore, Category, CategoryPatch, NewCategory, NewProduct,
    Product, ProductPatch, ProductSearch, ProductView, SearchSort,
};
use serde_json::Value;

use crate::error::{Tx, infra};
use crate::money::{DbMoney, to_decimal};
use crate::rows::{self, Switchable};
use crate::schema::{categories, inventory, products};
use crate::sql::like_pattern;
use crate::{Database, audit};

diesel::define_sql_function!(
    fn word_similarity(a: diesel::sql_types::Text, b: diesel::sql_types::Text)
        -> diesel::sql_types::Float4
);

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = categories)]
#[diesel(check_for_backend(Pg))]
struct CategoryRow {
    id: i64,
    name: String,
    description: Option<String>,
    icon_slug: Option<String>,
    is_active: bool,
}

impl From<CategoryRow> for Category {
    fn from(r: CategoryRow) -> Self {
        Category {
            id: r.id,
            name: r.name,
            description: r.description,
            icon_slug: r.icon_slug,
            is_active: r.is_active,
        }
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = products)]
#[diesel(check_for_backend(Pg))]
pub(crate) struct ProductRow {
    id: i64,
    name: String,
    sku: String,
    category_id: i64,
    price: DbMoney,
    old_price: Option<DbMoney>,
    unit: Option<String>,
    nutritional_info: Option<Value>,
    is_organic: bool,
    description: Option<String>,
    bin_location: Option<String>,
    image_url: Option<String>,
    is_active: bool,
    created_at: DateTime<Utc>,
}

impl From<ProductRow> for Product {
    fn from(r: ProductRow) -> Self {
        Product {
            id: r.id,
            name: r.name,
            sku: r.sku,
            category_id: r.category_id,
            price: r.price.0,
            old_price: r.old_price.map(|m| m.0),
            unit: r.unit,
            nutritional_info: r.nutritional_info,
            is_organic: r.is_organic,
            description: r.description,
            bin_location: r.bin_location,
            image_url: r.image_url,
            is_active: r.is_active,
            created_at: r.created_at,
        }
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = categories)]
struct CategoryChanges {
    name: Option<String>,
    description: Option<Option<String>>,
    icon_slug: Option<Option<String>>,
    updated_at: DateTime<Utc>,
}

#[derive(AsChangeset)]
#[diesel(table_name = products)]
struct ProductChanges {
    name: Option<String>,
    sku: Option<String>,
    category_id: Option<i64>,
    price: Option<BigDecimal>,
    old_price: Option<Option<BigDecimal>>,
    unit: Option<Option<String>>,
    nutritional_info: Option<Option<Value>>,
    is_organic: Option<bool>,
    description: Option<Option<String>>,
    bin_location: Option<Option<String>>,
    image_url: Option<Option<String>>,
    updated_at: DateTime<Utc>,
}

impl From<&ProductPatch> for ProductChanges {
    fn from(patch: &ProductPatch) -> Self {
        ProductChanges {
            name: patch.name.clone(),
            sku: patch.sku.clone(),
            category_id: patch.category_id,
            price: patch.price.map(to_decimal),
            old_price: patch.old_price.map(|o| o.map(to_decimal)),
            unit: patch.unit.clone(),
            nutritional_info: patch.nutritional_info.clone(),
            is_organic: patch.is_organic,
            description: patch.description.clone(),
            bin_location: patch.bin_location.clone(),
            image_url: patch.image_url.clone(),
            updated_at: Utc::now(),
        }
    }
}

/// Catalog in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgCatalogStore {
    db: Database,
}

impl PgCatalogStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// The filtered (not yet ordered or paged) search query.
fn filtered(search: &ProductSearch) -> products::BoxedQuery<'static, Pg> {
    let mut q = products::table
        .filter(products::is_active.eq(true))
        .into_boxed();
    if let Some(text) = search.q.as_deref() {
        let pattern = like_pattern(text);
        q = q.filter(
            products::name
                .ilike(pattern.clone())
                .or(products::description.ilike(pattern)),
        );
    }
    if let Some(c) = search.category_id {
        q = q.filter(products::category_id.eq(c));
    }
    if search.organic_only {
        q = q.filter(products::is_organic.eq(true));
    }
    if let Some(min) = search.min_price {
        q = q.filter(products::price.ge(to_decimal(min)));
    }
    if let Some(max) = search.max_price {
        q = q.filter(products::price.le(to_decimal(max)));
    }
    if search.in_stock {
        let stocked = inventory::table
            .filter(inventory::product_id.eq(products::id))
            .filter(inventory::available_quantity.gt(0));
        q = match search.branch_id {
            Some(b) => q.filter(exists(stocked.filter(inventory::branch_id.eq(b)))),
            None => q.filter(exists(stocked)),
        };
    }
    q
}

/// Availability of `ids`, everywhere and at `branch`.
pub(crate) async fn availability(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    branch: Option<i64>,
) -> QueryResult<HashMap<i64, Availability>> {
    let sums: Vec<(i64, Option<i64>)> = inventory::table
        .filter(inventory::product_id.eq_any(ids))
        .group_by(inventory::product_id)
        .select((
            inventory::product_id,
            diesel::dsl::sum(inventory::available_quantity),
        ))
        .load(conn)
        .await?;
    let mut out: HashMap<i64, Availability> = ids
        .iter()
        .map(|id| {
            (
                *id,
                Availability {
                    available_quantity: 0,
                    branch_available_quantity: branch.map(|_| 0),
                },
            )
        })
        .collect();
    for (id, sum) in sums {
        if let Some(a) = out.get_mut(&id) {
            a.available_quantity = sum.unwrap_or(0);
        }
    }
    if let Some(b) = branch {
        let rows: Vec<(i64, i32)> = inventory::table
            .filter(inventory::product_id.eq_any(ids))
            .filter(inventory::branch_id.eq(b))
            .select((inventory::product_id, inventory::available_quantity))
            .load(conn)
            .await?;
        for (id, qty) in rows {
            if let Some(a) = out.get_mut(&id) {
                a.branch_available_quantity = Some(i64::from(qty));
            }
        }
    }
    Ok(out)
}

async fn views(
    conn: &mut AsyncPgConnection,
    rows: Vec<ProductRow>,
    branch: Option<i64>,
) -> QueryResult<Vec<ProductView>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let avail = availability(conn, &ids, branch).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let availability = avail.get(&r.id).copied().unwrap_or_default();
            ProductView {
                product: r.into(),
                availability,
            }
        })
        .collect())
}

async fn product_view(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<ProductView> {
    let row: ProductRow = products::table
        .find(id)
        .select(ProductRow::as_select())
        .first(conn)
        .await?;
    view(conn, row).await
}

async fn view(conn: &mut AsyncPgConnection, row: ProductRow) -> QueryResult<ProductView> {
    let mut v = views(conn, vec![row], None).await?;
    v.pop().ok_or(diesel::result::Error::NotFound)
}

#[async_trait]
impl CatalogStore for PgCatalogStore {
    async fn list_categories(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Category>, i64), CatalogError> {
        let mut conn = self.db.conn().await?;
        let total: i64 = categories::table
            .filter(categories::is_active.eq(true))
            .count()
            .get_result(&mut conn)
            .await
            .map_err(infra)?;
        let rows: Vec<CategoryRow> = categories::table
            .filter(categories::is_active.eq(true))
            .order((categories::name.asc(), categories::id.asc()))
            .limit(limit)
            .offset(offset)
            .select(CategoryRow::as_select())
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok((rows.into_iter().map(Category::from).collect(), total))
    }

    async fn search_products(
        &self,
        search: ProductSearch,
    ) -> Result<(Vec<ProductView>, i64), CatalogError> {
        let mut conn = self.db.conn().await?;
        let total: i64 = filtered(&search)
            .count()
            .get_result(&mut conn)
            .await
            .map_err(infra)?;
        let mut q = filtered(&search);
        q = match (search.sort, search.q.as_deref()) {
            (SearchSort::Relevance, Some(text)) => q
                .order(word_similarity(text.to_owned(), products::name).desc())
                .then_order_by(products::name.asc()),
            (SearchSort::Relevance | SearchSort::NameAsc, _) => q.order(products::name.asc()),
            (SearchSort::NameDesc, _) => q.order(products::name.desc()),
            (SearchSort::PriceAsc, _) => q.order(products::price.asc()),
            (SearchSort::PriceDesc, _) => q.order(products::price.desc()),
            (SearchSort::Date, _) => q.order(products::created_at.desc()),
        };
        let rows: Vec<ProductRow> = q
            .then_order_by(products::id.asc())
            .limit(search.limit)
            .offset(search.offset)
            .select(ProductRow::as_select())
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok((
            views(&mut conn, rows, search.branch_id)
                .await
                .map_err(infra)?,
            total,
        ))
    }

    async fn product(
        &self,
        id: i64,
        branch: Option<i64>,
    ) -> Result<Option<ProductView>, CatalogError> {
        let mut conn = self.db.conn().await?;
        let row: Option<ProductRow> = products::table
            .find(id)
            .select(ProductRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(infra)?;
        let Some(row) = row else { return Ok(None) };
        Ok(views(&mut conn, vec![row], branch)
            .await
            .map_err(infra)?
            .pop())
    }

    async fn featured(
        &self,
        limit: i64,
        branch: Option<i64>,
    ) -> Result<Vec<ProductView>, CatalogError> {
        let mut conn = self.db.conn().await?;
        let rows: Vec<ProductRow> = products::table
            .filter(products::is_active.eq(true))
            .order((products::updated_at.desc(), products::id.desc()))
            .limit(limit)
            .select(ProductRow::as_select())
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok(views(&mut conn, rows, branch).await.map_err(infra)?)
    }

    async fn autocomplete(
        &self,
        q: Option<String>,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, CatalogError> {
        let mut conn = self.db.conn().await?;
        let mut query = products::table
            .filter(products::is_active.eq(true))
            .select((products::id, products::name))
            .into_boxed();
        if let Some(text) = q.as_deref() {
            query = query
                .filter(products::name.ilike(like_pattern(text)))
                .order(word_similarity(text.to_owned(), products::name).desc());
        }
        query
            .then_order_by(products::name.asc())
            .limit(limit)
            .load(&mut conn)
            .await
            .map_err(|e| infra(e).into())
    }

    async fn create_category(
        &self,
        new: NewCategory,
        audit_entry: AuditEntry,
    ) -> Result<Category, CatalogError> {
        self.db
            .transaction(async |conn| {
                let row: CategoryRow = diesel::insert_into(categories::table)
                    .values((
                        categories::name.eq(&new.name),
                        categories::description.eq(&new.description),
                        categories::icon_slug.eq(&new.icon_slug),
                    ))
                    .returning(CategoryRow::as_returning())
                    .get_result(conn)
                    .await?;
                let c = Category::from(row);
                audit::created(conn, audit_entry, &c, c.id).await?;
                Ok::<_, Tx<CatalogError>>(c)
            })
            .await
    }

    async fn update_category(
        &self,
        id: i64,
        patch: CategoryPatch,
        audit_entry: AuditEntry,
    ) -> Result<Category, CatalogError> {
        self.db
            .transaction(async |conn| {
                let old: CategoryRow = rows::first(conn, categories::table.find(id).for_update())
                    .await?
                    .ok_or(CatalogError::CategoryNotFound)?;
                let row: CategoryRow = diesel::update(categories::table.find(id))
                    .set(CategoryChanges {
                        name: patch.name.clone(),
                        description: patch.description.clone(),
                        icon_slug: patch.icon_slug.clone(),
                        updated_at: Utc::now(),
                    })
                    .returning(CategoryRow::as_returning())
                    .get_result(conn)
                    .await?;
                let (old, new) = (Category::from(old), Category::from(row));
                audit::changed(conn, audit_entry, &old, &new).await?;
                Ok::<_, Tx<CatalogError>>(new)
            })
            .await
    }

    async fn set_category_active(
        &self,
        id: i64,
        active: bool,
        audit_entry: AuditEntry,
    ) -> Result<Category, CatalogError> {
        self.db
            .transaction(async |conn| {
                let row: Option<CategoryRow> =
                    rows::set_active(conn, Switchable::Categories, id, active, audit_entry).await?;
                row.map(Category::from)
                    .ok_or(Tx(CatalogError::CategoryNotFound))
            })
            .await
    }

    async fn create_product(
        &self,
        new: NewProduct,
        audit_entry: AuditEntry,
    ) -> Result<ProductView, CatalogError> {
        self.db
            .transaction(async |conn| {
                let id: i64 = diesel::insert_into(products::table)
                    .values((
                        products::name.eq(&new.name),
                        products::sku.eq(&new.sku),
                        products::category_id.eq(new.category_id),
                        products::price.eq(to_decimal(new.price)),
                        products::old_price.eq(new.old_price.map(to_decimal)),
                        products::unit.eq(&new.unit),
                        products::nutritional_info.eq(&new.nutritional_info),
                        products::is_organic.eq(new.is_organic),
                        products::description.eq(&new.description),
                        products::bin_location.eq(&new.bin_location),
                        products::image_url.eq(&new.image_url),
                    ))
                    .returning(products::id)
                    .get_result(conn)
                    .await?;
                let view = product_view(conn, id).await?;
                audit::created(conn, audit_entry, &view.product, id).await?;
                Ok::<_, Tx<CatalogError>>(view)
            })
            .await
    }

    async fn update_product(
        &self,
        id: i64,
        patch: ProductPatch,
        audit_entry: AuditEntry,
    ) -> Result<ProductView, CatalogError> {
        self.db
            .transaction(async |conn| {
                let old: ProductRow = rows::first(conn, products::table.find(id).for_update())
                    .await?
                    .ok_or(CatalogError::ProductNotFound)?;
                let old = Product::from(old);
                patch.check_prices(&old).map_err(CatalogError::invalid)?;
                diesel::update(products::table.find(id))
                    .set(ProductChanges::from(&patch))
                    .execute(conn)
                    .await?;
                let view = product_view(conn, id).await?;
                audit::changed(conn, audit_entry, &old, &view.product).await?;
                Ok::<_, Tx<CatalogError>>(view)
            })
            .await
    }

    async fn set_product_active(
        &self,
        id: i64,
        active: bool,
        audit_entry: AuditEntry,
    ) -> Result<ProductView, CatalogError> {
        self.db
            .transaction(async |conn| {
                let row: Option<ProductRow> =
                    rows::set_active(conn, Switchable::Products, id, active, audit_entry).await?;
                let row = row.ok_or(Tx(CatalogError::ProductNotFound))?;
                Ok(view(conn, row).await?)
            })
            .await
    }
}
