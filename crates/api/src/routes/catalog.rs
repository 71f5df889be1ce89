//! `/catalog`: public categories, products, search, featured, autocomplete, reviews.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use mami_domain::catalog::{ProductSearch, SearchSort};
use mami_domain::{FieldError, Money, ValidationErrors};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::dto::{CategoryDto, ProductDto, SearchMeta, WithMeta};
use crate::http::envelope::respond;
use crate::http::paging::{Lenient, Model, Top};
use crate::http::params::{invalid, lenient_id, query_bool, query_id};
use crate::http::{ApiError, Paging, ValidQuery, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    // Fixed paths before `/products/{id}`.
    cfg.service(list_categories)
        .service(category_products)
        .service(search_products)
        .service(featured_products)
        .service(autocomplete)
        .service(get_product)
        .service(product_reviews);
}

/// Paging of the lenient routes: invalid numbers fall back to the defaults.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct LenientQuery {
    /// Read by [`Paging`], as `offset`.
    pub limit: Option<String>,
    pub offset: Option<String>,
    /// Branch for `in_stock_for_branch` / `branch_available_quantity`.
    pub branchId: Option<String>,
    /// Autocomplete text.
    pub q: Option<String>,
}

/// Active categories by name, with `meta`.
#[utoipa::path(tag = "catalog", params(LenientQuery), responses((status = 200,
    description = "`{data: [Category], meta: {total, limit, offset}}`")))]
#[get("/categories")]
pub async fn list_categories(
    state: web::Data<AppState>,
    _q: ValidQuery<LenientQuery>,
    paging: Paging<Lenient>,
) -> Result<HttpResponse, ApiError> {
    let (rows, total) = state
        .catalog
        .categories(paging.limit, paging.offset)
        .await?;
    let data: Vec<CategoryDto> = rows.into_iter().map(CategoryDto::from).collect();
    let meta = paging.page(total);
    Ok(respond(StatusCode::OK, &WithMeta { data, meta }))
}

/// Active products of a category, by name, with `meta` (an unknown category gives an empty list).
#[utoipa::path(tag = "catalog", params(LenientQuery), responses((status = 200,
    description = "`{data: [Product], meta}`")))]
#[get("/categories/{category_id}/products")]
pub async fn category_products(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    q: ValidQuery<LenientQuery>,
    paging: Paging<Lenient>,
) -> Result<HttpResponse, ApiError> {
    let search = ProductSearch {
        category_id: Some(path.into_inner()),
        branch_id: lenient_id(q.0.branchId.as_deref()),
        ..ProductSearch::all(paging.limit, paging.offset)
    };
    let (rows, total) = state.catalog.search(search).await?;
    let data: Vec<ProductDto> = rows.into_iter().map(ProductDto::from).collect();
    let meta = paging.page(total);
    Ok(respond(StatusCode::OK, &WithMeta { data, meta }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct SearchQuery {
    /// Text matched (substring and fuzzy) against names and descriptions, Hebrew or English.
    pub q: Option<String>,
    /// Also `categoryId`.
    pub category_id: Option<String>,
    pub categoryId: Option<String>,
    /// Also `branchId`: the branch whose stock `in_stock` and the branch figures use.
    pub branch_id: Option<String>,
    pub branchId: Option<String>,
    /// Only products with stock (at `branch_id` when given).
    pub in_stock: Option<String>,
    pub organic_only: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    /// `price`, `price_desc`, `name`, `name_desc`, `date` (newest first), `relevance`.
    /// Default: relevance with `q`, else name.
    pub sort: Option<String>,
    /// 1..200, default 50 (clamped to `MAX_LIMIT`).
    pub limit: Option<String>,
    pub offset: Option<String>,
}

fn price_param(name: &str, v: Option<&str>, errors: &mut ValidationErrors) -> Option<Money> {
    let v = v?;
    match Money::parse_str(v.trim()) {
        Some(m) => Some(m),
        None => {
            errors.push(FieldError::new(
                &["query", name],
                "decimal_parsing",
                "Input should be a non-negative amount",
            ));
            None
        }
    }
}

/// Product search with `meta {total, limit, offset, has_next}`.
#[utoipa::path(tag = "catalog", params(SearchQuery), responses((status = 200,
    description = "`{data: [Product], meta: {total, limit, offset, has_next}}`"), (status = 400,
    body = ErrorEnvelope)))]
#[get("/products/search")]
pub async fn search_products(
    state: web::Data<AppState>,
    q: ValidQuery<SearchQuery>,
    paging: Paging<Model<200>>,
) -> Result<HttpResponse, ApiError> {
    let q = q.0;
    let Paging { limit, offset, .. } = paging;
    let mut errors = ValidationErrors::default();
    let min_price = price_param("min_price", q.min_price.as_deref(), &mut errors);
    let max_price = price_param("max_price", q.max_price.as_deref(), &mut errors);
    errors.into_result()?;
    let text = q.q.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > 100) {
        return Err(invalid(
            "q",
            "string_too_long",
            "String should have at most 100 characters",
        ));
    }
    let sort = match q.sort.as_deref() {
        None | Some("") => {
            if text.is_some() {
                SearchSort::Relevance
            } else {
                SearchSort::NameAsc
            }
        }
        Some(s) => SearchSort::parse("sort", s).map_err(|e| ApiError::validation(vec![e]))?,
    };
    let search = ProductSearch {
        q: text,
        category_id: query_id(
            "category_id",
            q.category_id.as_deref().or(q.categoryId.as_deref()),
        )?,
        branch_id: query_id(
            "branch_id",
            q.branch_id.as_deref().or(q.branchId.as_deref()),
        )?,
        in_stock: query_bool("in_stock", q.in_stock.as_deref())?.unwrap_or(false),
        organic_only: query_bool("organic_only", q.organic_only.as_deref())?.unwrap_or(false),
        min_price,
        max_price,
        sort,
        limit,
        offset,
    };
    let (rows, total) = state.catalog.search(search).await?;
    let data: Vec<ProductDto> = rows.into_iter().map(ProductDto::from).collect();
    let meta = SearchMeta {
        total,
        limit,
        offset,
        has_next: total > offset.saturating_add(limit),
    };
    Ok(respond(StatusCode::OK, &WithMeta { data, meta }))
}

/// Newest active products (no meta); `limit` default 10.
#[utoipa::path(tag = "catalog", params(LenientQuery), responses((status = 200,
    body = inline(Data<Vec<ProductDto>>))))]
#[get("/products/featured")]
pub async fn featured_products(
    state: web::Data<AppState>,
    q: ValidQuery<LenientQuery>,
    paging: Paging<Top<10>>,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .catalog
        .featured(paging.limit, lenient_id(q.0.branchId.as_deref()))
        .await?;
    Ok(ok(rows
        .into_iter()
        .map(ProductDto::from)
        .collect::<Vec<_>>()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AutocompleteItem {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AutocompleteDto {
    pub items: Vec<AutocompleteItem>,
    pub total: usize,
    pub limit: i64,
    pub offset: i64,
}

/// Active product names matching `q`, best first; `limit` default 10.
#[utoipa::path(tag = "catalog", params(LenientQuery), responses((status = 200,
    body = inline(Data<AutocompleteDto>))))]
#[get("/products/autocomplete")]
pub async fn autocomplete(
    state: web::Data<AppState>,
    q: ValidQuery<LenientQuery>,
    paging: Paging<Top<10>>,
) -> Result<HttpResponse, ApiError> {
    let limit = paging.limit;
    let text =
        q.0.q
            .map(|s| s.trim().chars().take(100).collect::<String>())
            .filter(|s| !s.is_empty());
    let items: Vec<AutocompleteItem> = state
        .catalog
        .autocomplete(text, limit)
        .await?
        .into_iter()
        .map(|(id, name)| AutocompleteItem { id, name })
        .collect();
    Ok(ok(AutocompleteDto {
        total: items.len(),
        items,
        limit,
        offset: 0,
    }))
}

/// One active product; 404 `NOT_FOUND` when missing or inactive.
#[utoipa::path(
    tag = "catalog",
    params(LenientQuery),
    responses((status = 200, body = inline(Data<ProductDto>)), (status = 404, body = ErrorEnvelope))
)]
#[get("/products/{product_id}")]
pub async fn get_product(
    state: web::Data<AppState>,
    path: web::Path<i64>,
    q: ValidQuery<LenientQuery>,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .catalog
        .product(path.into_inner(), lenient_id(q.0.branchId.as_deref()))
        .await?;
    Ok(ok(ProductDto::from(view)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewsDto {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
}

/// Product reviews (none are collected yet): `{items: []}`.
#[utoipa::path(tag = "catalog", responses((status = 200, body = inline(Data<ReviewsDto>))))]
#[get("/products/{product_id}/reviews")]
pub async fn product_reviews(path: web::Path<i64>) -> HttpResponse {
    let _ = path.into_inner();
    ok(ReviewsDto { items: Vec::new() })
}
