//! `/store`: shipping information, notifications and the wishlist.

use actix_web::{HttpResponse, delete, get, post, web};
use mami_domain::audit::{AuditEntry, AuditTarget};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::rfc3339;
use crate::auth::Authenticated;
use crate::http::{ApiError, ValidJson, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(shipping_info)
        .service(notifications)
        .service(list_wishlist)
        .service(add_wishlist)
        .service(remove_wishlist);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Policy {
    pub key: &'static str,
    pub title: &'static str,
    pub body: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingInfoDto {
    pub policies: Vec<Policy>,
}

/// Delivery, pickup and returns policies.
#[utoipa::path(tag = "store", responses((status = 200, body = inline(Data<ShippingInfoDto>))))]
#[get("/shipping-info")]
pub async fn shipping_info() -> HttpResponse {
    ok(ShippingInfoDto {
        policies: vec![
            Policy {
                key: "delivery",
                title: "Local delivery",
                body: "Orders are delivered within 2 business days, \
                       subject to branch availability.",
            },
            Policy {
                key: "pickup",
                title: "Pickup",
                body: "Reserve your order online and pick it up from any open branch \
                       within 24 hours.",
            },
            Policy {
                key: "returns",
                title: "Returns",
                body: "Return or exchange any item within 7 days with a receipt.",
            },
        ],
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsDto {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    pub unread_count: i64,
}

/// The caller's notifications (none are produced yet).
#[utoipa::path(tag = "store", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<NotificationsDto>))))]
#[get("/notifications")]
pub async fn notifications(_auth: Authenticated) -> HttpResponse {
    ok(NotificationsDto {
        items: Vec::new(),
        unread_count: 0,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WishlistItemDto {
    pub product_id: i64,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WishlistDto {
    pub items: Vec<WishlistItemDto>,
}

/// The caller's wishlist, newest first.
#[utoipa::path(tag = "store", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<WishlistDto>))))]
#[get("/wishlist")]
pub async fn list_wishlist(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let items = state
        .wishlist
        .list(auth.principal.user_id)
        .await?
        .into_iter()
        .map(|e| WishlistItemDto {
            product_id: e.product_id,
            created_at: rfc3339(e.created_at),
        })
        .collect();
    Ok(ok(WishlistDto { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WishlistBody {
    pub product_id: i64,
}

/// Adds a product (idempotent); 200 with the entry, as the reference does.
#[utoipa::path(tag = "store", security(("bearer" = [])), request_body = WishlistBody,
    responses((status = 200, body = inline(Data<WishlistItemDto>)), (status = 404,
    body = ErrorEnvelope, description = "PRODUCT_NOT_FOUND")))]
#[post("/wishlist")]
pub async fn add_wishlist(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<WishlistBody>,
) -> Result<HttpResponse, ApiError> {
    let product_id = body.0.product_id;
    if product_id < 1 {
        return Err(ApiError::validation(vec![mami_domain::FieldError::new(
            &["product_id"],
            "greater_than",
            "Input should be greater than 0",
        )]));
    }
    let audit = AuditEntry::new(
        &auth.context(),
        "wishlist_item",
        AuditTarget::Created,
        "ADD",
    );
    let e = state
        .wishlist
        .add(auth.principal.user_id, product_id, audit)
        .await?;
    Ok(ok(WishlistItemDto {
        product_id: e.product_id,
        created_at: rfc3339(e.created_at),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RemovedDto {
    pub removed: bool,
}

/// Removes a product: `{removed: false}` when it was not there.
#[utoipa::path(tag = "store", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<RemovedDto>))))]
#[delete("/wishlist/{product_id}")]
pub async fn remove_wishlist(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let audit = AuditEntry::new(
        &auth.context(),
        "wishlist_item",
        AuditTarget::None,
        "REMOVE",
    );
    let removed = state
        .wishlist
        .remove(auth.principal.user_id, path.into_inner(), audit)
        .await?;
    Ok(ok(RemovedDto { removed }))
}
