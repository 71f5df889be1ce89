//! `/admin/categories`, `/admin/products`: catalog administration (MANAGER, ADMIN).

use actix_web::{HttpResponse, patch, post, web};
use mami_domain::catalog::{
    CategoryPatch, MAX_PRICE, NewCategory, NewProduct, ProductPatch, parse_name, parse_sku,
    parse_text,
};
use mami_domain::{FieldError, Money, ValidationErrors};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::dto::{CategoryDto, ProductDto};
use crate::auth::Authenticated;
use crate::http::params::{Active, RequiredBool, ToggleQuery, UnlessFalse, nullable};
use crate::http::{ApiError, ValidJson, created, ok};
use crate::openapi::{Data, ErrorEnvelope, amount, optional_amount};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_category)
        .service(update_category)
        .service(toggle_category)
        .service(create_product)
        .service(update_product)
        .service(toggle_product);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    /// 2..50 characters.
    pub name: String,
    /// At most 300 characters.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub icon_slug: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatchBody {
    pub name: Option<String>,
    /// `null` clears it; absent leaves it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub icon_slug: Option<Option<String>>,
}

// The rule of each field, written once for creating and for changing.

fn category_name(v: &str, errors: &mut ValidationErrors) -> Option<String> {
    errors.check(parse_name("name", v, 50))
}

fn category_description(v: Option<&str>, errors: &mut ValidationErrors) -> Option<String> {
    text("description", v, 300, errors)
}

fn text(field: &str, v: Option<&str>, max: usize, errors: &mut ValidationErrors) -> Option<String> {
    errors.check(parse_text(field, v, max)).flatten()
}

fn icon_slug(raw: Option<&str>, errors: &mut ValidationErrors) -> Option<String> {
    let field = "icon_slug";
    let v = text(field, raw, 64, errors)?;
    if v.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        Some(v)
    } else {
        errors.push(FieldError::new(
            &[field],
            "string_pattern_mismatch",
            "Use lower-case letters, digits, '_' and '-'",
        ));
        None
    }
}

/// Creates a category.
#[utoipa::path(tag = "admin catalog", security(("bearer" = [])), request_body = CategoryBody,
    responses((status = 201, body = inline(Data<CategoryDto>)), (status = 400,
    body = ErrorEnvelope), (status = 409, body = ErrorEnvelope,
    description = "DUPLICATE_CATEGORY")))]
#[post("/categories")]
pub async fn create_category(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<CategoryBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut errors = ValidationErrors::default();
    let name = category_name(&b.name, &mut errors);
    let description = category_description(b.description.as_deref(), &mut errors);
    let icon_slug = icon_slug(b.icon_slug.as_deref(), &mut errors);
    errors.clone().into_result()?;
    let new = NewCategory {
        name: name.unwrap_or_default(),
        description,
        icon_slug,
    };
    Ok(created(CategoryDto::from(
        state.catalog.create_category(new, &auth.context()).await?,
    )))
}

/// Changes a category; omitted fields stay as they are.
#[utoipa::path(tag = "admin catalog", security(("bearer" = [])), request_body = CategoryPatchBody,
    responses((status = 200, body = inline(Data<CategoryDto>)), (status = 404,
    body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
#[patch("/categories/{id}")]
pub async fn update_category(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    body: ValidJson<CategoryPatchBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut errors = ValidationErrors::default();
    let name = b.name.and_then(|n| category_name(&n, &mut errors));
    let description = b
        .description
        .map(|d| category_description(d.as_deref(), &mut errors));
    let icon_slug = b.icon_slug.map(|s| icon_slug(s.as_deref(), &mut errors));
    errors.into_result()?;
    let patch = CategoryPatch {
        name,
        description,
        icon_slug,
    };
    if patch == CategoryPatch::default() {
        return Err(ApiError::bad_request("Missing JSON body"));
    }
    Ok(ok(CategoryDto::from(
        state
            .catalog
            .update_category(path.into_inner(), patch, &auth.context())
            .await?,
    )))
}

/// Activates or deactivates a category (`?active=true|false`, required).
#[utoipa::path(tag = "admin catalog", security(("bearer" = [])), params(ToggleQuery),
    responses((status = 200, body = inline(Data<CategoryDto>)), (status = 400,
    body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
#[patch("/categories/{id}/toggle")]
pub async fn toggle_category(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    flag: Active<RequiredBool>,
) -> Result<HttpResponse, ApiError> {
    let category = state
        .catalog
        .set_category_active(path.into_inner(), flag.active, &auth.context())
        .await?;
    Ok(ok(CategoryDto::from(category)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    /// 2..100 characters.
    pub name: String,
    /// 2..32 of `A-Z a-z 0-9 -` (stored upper-case).
    pub sku: String,
    /// More than 0, at most 10000; a number or a string with two decimals.
    #[schema(schema_with = amount)]
    pub price: Value,
    pub category_id: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(schema_with = optional_amount)]
    pub old_price: Option<Value>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub nutritional_info: Option<Value>,
    #[serde(default)]
    pub is_organic: Option<bool>,
    #[serde(default)]
    pub bin_location: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchBody {
    pub name: Option<String>,
    pub sku: Option<String>,
    #[schema(schema_with = optional_amount)]
    pub price: Option<Value>,
    pub category_id: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = optional_amount)]
    pub old_price: Option<Option<Value>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub unit: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub nutritional_info: Option<Option<Value>>,
    pub is_organic: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub bin_location: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub image_url: Option<Option<String>>,
}

fn product_name(v: &str, errors: &mut ValidationErrors) -> Option<String> {
    errors.check(parse_name("name", v, 100))
}

fn sku(v: &str, errors: &mut ValidationErrors) -> Option<String> {
    errors.check(parse_sku("sku", v))
}

fn price(field: &str, v: &Value, errors: &mut ValidationErrors) -> Option<Money> {
    errors.check(Money::parse_json(field, v, Money(1), MAX_PRICE))
}

/// Absent or `null`: no old price.
fn old_price(v: Option<Value>, errors: &mut ValidationErrors) -> Option<Money> {
    match v {
        None | Some(Value::Null) => None,
        Some(v) => price("old_price", &v, errors),
    }
}

fn product_description(v: Option<&str>, errors: &mut ValidationErrors) -> Option<String> {
    text("description", v, 1000, errors)
}

fn unit(v: Option<&str>, errors: &mut ValidationErrors) -> Option<String> {
    text("unit", v, 24, errors)
}

fn bin_location(v: Option<&str>, errors: &mut ValidationErrors) -> Option<String> {
    text("bin_location", v, 64, errors)
}

fn category(v: i64, errors: &mut ValidationErrors) -> Option<i64> {
    if v < 1 {
        errors.push(FieldError::new(
            &["category_id"],
            "greater_than",
            "Input should be greater than 0",
        ));
        return None;
    }
    Some(v)
}

fn nutrition(v: Option<Value>, errors: &mut ValidationErrors) -> Option<Value> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => Some(Value::Object(o)),
        Some(_) => {
            errors.push(FieldError::new(
                &["nutritional_info"],
                "dict_type",
                "Input should be an object",
            ));
            None
        }
    }
}

fn image_url(v: Option<&str>, errors: &mut ValidationErrors) -> Option<String> {
    let field = "image_url";
    let v = text(field, v, 256, errors)?;
    if v.starts_with("https://") || v.starts_with("http://") || v.starts_with('/') {
        Some(v)
    } else {
        errors.push(FieldError::new(
            &[field],
            "url_parsing",
            "Input should be an http(s) URL or an absolute path",
        ));
        None
    }
}

/// Creates a product (inactive categories are accepted).
#[utoipa::path(tag = "admin catalog", security(("bearer" = [])), request_body = ProductBody,
    responses((status = 201, body = inline(Data<ProductDto>)), (status = 400, body = ErrorEnvelope),
    (status = 404, body = ErrorEnvelope, description = "Category not found"), (status = 409,
    body = ErrorEnvelope, description = "DUPLICATE_SKU")))]
#[post("/products")]
pub async fn create_product(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<ProductBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut e = ValidationErrors::default();
    let name = product_name(&b.name, &mut e);
    let sku = sku(&b.sku, &mut e);
    let price_v = price("price", &b.price, &mut e);
    let category_id = category(b.category_id, &mut e);
    let old_price = old_price(b.old_price, &mut e);
    let new_description = product_description(b.description.as_deref(), &mut e);
    let unit = unit(b.unit.as_deref(), &mut e);
    let bin_location = bin_location(b.bin_location.as_deref(), &mut e);
    let image_url = image_url(b.image_url.as_deref(), &mut e);
    let nutritional_info = nutrition(b.nutritional_info, &mut e);
    e.clone().into_result()?;
    let (Some(name), Some(sku), Some(price_v), Some(category_id)) =
        (name, sku, price_v, category_id)
    else {
        return Err(e.into());
    };
    let new = NewProduct {
        name,
        sku,
        category_id,
        price: price_v,
        old_price,
        unit,
        nutritional_info,
        is_organic: b.is_organic.unwrap_or(false),
        description: new_description,
        bin_location,
        image_url,
    };
    let view = state.catalog.create_product(new, &auth.context()).await?;
    Ok(created(ProductDto::from(view)))
}

/// Changes a product; omitted fields stay as they are, `null` clears an optional one.
#[utoipa::path(tag = "admin catalog", security(("bearer" = [])), request_body = ProductPatchBody,
    responses((status = 200, body = inline(Data<ProductDto>)), (status = 400, body = ErrorEnvelope),
    (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope,
    description = "DUPLICATE_SKU")))]
#[patch("/products/{id}")]
pub async fn update_product(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    body: ValidJson<ProductPatchBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut e = ValidationErrors::default();
    let patch = ProductPatch {
        name: b.name.and_then(|n| product_name(&n, &mut e)),
        sku: b.sku.and_then(|v| sku(&v, &mut e)),
        category_id: b.category_id.and_then(|c| category(c, &mut e)),
        price: b.price.as_ref().and_then(|p| price("price", p, &mut e)),
        old_price: b.old_price.map(|o| old_price(o, &mut e)),
        unit: b.unit.map(|u| unit(u.as_deref(), &mut e)),
        nutritional_info: b.nutritional_info.map(|n| nutrition(n, &mut e)),
        is_organic: b.is_organic,
        description: b
            .description
            .map(|d| product_description(d.as_deref(), &mut e)),
        bin_location: b.bin_location.map(|v| bin_location(v.as_deref(), &mut e)),
        image_url: b.image_url.map(|v| image_url(v.as_deref(), &mut e)),
    };
    e.into_result()?;
    if patch.is_empty() {
        return Err(ApiError::bad_request("Missing JSON body"));
    }
    Ok(ok(ProductDto::from(
        state
            .catalog
            .update_product(path.into_inner(), patch, &auth.context())
            .await?,
    )))
}

/// Activates or deactivates a product: only `?active=false` deactivates (reference semantics).
#[utoipa::path(tag = "admin catalog", security(("bearer" = [])), params(ToggleQuery),
    responses((status = 200, body = inline(Data<ProductDto>)), (status = 404,
    body = ErrorEnvelope)))]
#[patch("/products/{id}/toggle")]
pub async fn toggle_product(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    flag: Active<UnlessFalse>,
) -> Result<HttpResponse, ApiError> {
    let product = state
        .catalog
        .set_product_active(path.into_inner(), flag.active, &auth.context())
        .await?;
    Ok(ok(ProductDto::from(product)))
}
