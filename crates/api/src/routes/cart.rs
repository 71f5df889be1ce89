//! `/cart`: the caller's cart (one per customer; lines are atomic upserts under a row lock).

use actix_web::{HttpResponse, delete, get, post, put, web};
use mami_domain::cart::{Cart, parse_quantity};
use mami_domain::{Money, ValidationErrors};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::http::{ApiError, ValidJson, created, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_cart)
        .service(add_item)
        .service(update_item)
        .service(remove_item)
        .service(clear_cart);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartItemDto {
    pub id: i64,
    pub product_id: i64,
    pub quantity: i32,
    /// Two decimals.
    #[schema(value_type = String)]
    pub unit_price: Money,
    pub product_name: Option<String>,
    pub product_image: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartDto {
    pub id: i64,
    pub user_id: i64,
    /// Σ unit_price × quantity, two decimals.
    #[schema(value_type = String)]
    pub total_amount: Money,
    pub items: Vec<CartItemDto>,
}

impl From<Cart> for CartDto {
    fn from(c: Cart) -> Self {
        Self {
            id: c.id,
            user_id: c.user_id.0,
            total_amount: c.total(),
            items: c
                .items
                .into_iter()
                .map(|l| CartItemDto {
                    id: l.id,
                    product_id: l.product_id,
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    product_name: l.product_name,
                    product_image: l.product_image,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartItemBody {
    /// Required when adding; accepted and ignored when updating (as the reference).
    pub product_id: Option<i64>,
    /// 1..10000.
    pub quantity: i64,
}

/// The caller's cart (created on first access).
#[utoipa::path(tag = "cart", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<CartDto>))))]
#[get("")]
pub async fn get_cart(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(CartDto::from(
        state.cart.cart(auth.principal.user_id).await?,
    )))
}

/// Adds to the product's line (concurrent adds all count); the line's price is refreshed.
#[utoipa::path(tag = "cart", security(("bearer" = [])), request_body = CartItemBody,
    responses((status = 201, body = inline(Data<CartDto>)), (status = 400, body = ErrorEnvelope,
    description = "VALIDATION_ERROR, OUT_OF_STOCK_ANYWHERE"), (status = 404, body = ErrorEnvelope,
    description = "PRODUCT_INACTIVE"), (status = 409, body = ErrorEnvelope,
    description = "OUT_OF_STOCK_DELIVERY_BRANCH")))]
#[post("/items")]
pub async fn add_item(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<CartItemBody>,
) -> Result<HttpResponse, ApiError> {
    let mut e = ValidationErrors::default();
    let quantity = e.check(parse_quantity(body.0.quantity));
    let product_id = match body.0.product_id {
        Some(id) if id >= 1 => Some(id),
        Some(_) => {
            e.push(mami_domain::FieldError::new(
                &["product_id"],
                "greater_than",
                "Input should be greater than 0",
            ));
            None
        }
        None => {
            e.push(mami_domain::FieldError::new(
                &["product_id"],
                "missing",
                "Field required",
            ));
            None
        }
    };
    let (Some(product_id), Some(quantity)) = (product_id, quantity) else {
        return Err(e.into());
    };
    let cart = state
        .cart
        .add(
            auth.principal.user_id,
            product_id,
            quantity,
            &auth.context(),
        )
        .await?;
    Ok(created(CartDto::from(cart)))
}

/// Sets a line's quantity; 404 `NOT_FOUND` "Cart item not found" for a line of another cart.
#[utoipa::path(tag = "cart", security(("bearer" = [])), request_body = CartItemBody,
    responses((status = 200, body = inline(Data<CartDto>)), (status = 404, body = ErrorEnvelope),
    (status = 409, body = ErrorEnvelope)))]
#[put("/items/{item_id}")]
pub async fn update_item(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    body: ValidJson<CartItemBody>,
) -> Result<HttpResponse, ApiError> {
    let quantity = parse_quantity(body.0.quantity).map_err(|e| ApiError::validation(vec![e]))?;
    let cart = state
        .cart
        .set(
            auth.principal.user_id,
            path.into_inner(),
            quantity,
            &auth.context(),
        )
        .await?;
    Ok(ok(CartDto::from(cart)))
}

/// Removes a line.
#[utoipa::path(tag = "cart", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<CartDto>)), (status = 404, body = ErrorEnvelope)))]
#[delete("/items/{item_id}")]
pub async fn remove_item(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(CartDto::from(
        state
            .cart
            .remove(auth.principal.user_id, path.into_inner(), &auth.context())
            .await?,
    )))
}

/// Empties the cart.
#[utoipa::path(tag = "cart", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<CartDto>))))]
#[delete("")]
pub async fn clear_cart(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(CartDto::from(
        state
            .cart
            .clear(auth.principal.user_id, &auth.context())
            .await?,
    )))
}
