//! `/checkout`: preview and confirm (three steps, idempotent per user and `Idempotency-Key`).

use actix_web::{HttpRequest, HttpResponse, post, web};
use mami_domain::checkout::{
    CheckoutRequest, DeliveryPricing, IdempotencyClaim, PaymentChoice, Receipt,
};
use mami_domain::orders::Fulfillment;
use mami_domain::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::http::envelope::{Envelope, respond};
use crate::http::error::confirm_outcome;
use crate::http::{ApiError, ValidJson, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(preview).service(confirm);
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    pub cart_id: i64,
    /// Confirm only.
    pub payment_token_id: Option<i64>,
    /// `DELIVERY` (from the warehouse) or `PICKUP` (from `branch_id`).
    pub fulfillment_type: String,
    pub branch_id: Option<i64>,
    /// Required for delivery: a slot of the warehouse.
    pub delivery_slot_id: Option<i64>,
    pub address: Option<String>,
    /// Confirm only: the card paid with becomes the caller's default.
    #[serde(default)]
    pub save_as_default: bool,
}

fn positive(field: &str, v: Option<i64>, e: &mut ValidationErrors) -> Option<i64> {
    match v {
        Some(n) if n >= 1 => Some(n),
        Some(_) => {
            e.push(FieldError::new(
                &[field],
                "greater_than",
                "Input should be greater than 0",
            ));
            None
        }
        None => None,
    }
}

fn parse(body: &CheckoutBody, auth: &Authenticated) -> Result<CheckoutRequest, ApiError> {
    let mut e = ValidationErrors::default();
    let cart_id = positive("cart_id", Some(body.cart_id), &mut e);
    let fulfillment = match body.fulfillment_type.as_str() {
        "DELIVERY" => Some(Fulfillment::Delivery),
        "PICKUP" => Some(Fulfillment::Pickup),
        _ => {
            e.push(FieldError::new(
                &["fulfillment_type"],
                "enum",
                "Input should be 'DELIVERY' or 'PICKUP'",
            ));
            None
        }
    };
    let branch_id = positive("branch_id", body.branch_id, &mut e);
    let delivery_slot_id = positive("delivery_slot_id", body.delivery_slot_id, &mut e);
    let address = body
        .address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    if address.is_some_and(|a| !(5..=200).contains(&a.chars().count())) {
        e.push(FieldError::new(
            &["address"],
            "string_length",
            "Address should have 5 to 200 characters",
        ));
    }
    e.clone().into_result()?;
    match (cart_id, fulfillment) {
        (Some(cart_id), Some(fulfillment)) => Ok(CheckoutRequest {
            user: auth.principal.user_id,
            cart_id,
            fulfillment,
            branch_id,
            delivery_slot_id,
            address: address.map(str::to_owned),
        }),
        _ => Err(e.into()),
    }
}

/// Delivery pricing from the settings.
async fn pricing(state: &AppState) -> Result<DeliveryPricing, ApiError> {
    let settings = state.settings.get().await?;
    Ok(DeliveryPricing {
        delivery_min: settings.delivery_min,
        delivery_fee: settings.delivery_fee,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MissingDto {
    pub product_id: i64,
    pub requested_quantity: i64,
    pub available_quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewDto {
    pub cart_total: String,
    /// `null` for pickup.
    pub delivery_fee: Option<String>,
    pub missing_items: Vec<MissingDto>,
    pub fulfillment_type: String,
}

/// Totals, delivery fee (from the settings) and shortages at the fulfilling branch; writes nothing.
#[utoipa::path(tag = "checkout", security(("bearer" = [])), request_body = CheckoutBody,
    responses(
        (status = 200, body = inline(Data<PreviewDto>)),
        (status = 400, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
#[post("/preview")]
pub async fn preview(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<CheckoutBody>,
) -> Result<HttpResponse, ApiError> {
    let request = parse(&body.0, &auth)?;
    let p = state
        .checkout
        .preview(request, pricing(&state).await?)
        .await?;
    Ok(ok(PreviewDto {
        cart_total: p.cart_total.to_string(),
        delivery_fee: p.delivery_fee.map(|f| f.to_string()),
        missing_items: p
            .missing_items
            .into_iter()
            .map(|m| MissingDto {
                product_id: m.product_id,
                requested_quantity: m.requested_quantity,
                available_quantity: m.available_quantity,
            })
            .collect(),
        fulfillment_type: p.fulfillment.as_str().to_owned(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmDto {
    pub order_id: i64,
    pub order_number: String,
    pub total_paid: String,
    /// The provider's payment id.
    pub payment_reference: String,
}

impl From<Receipt> for ConfirmDto {
    fn from(r: Receipt) -> Self {
        Self {
            order_id: r.order_id,
            order_number: r.order_number,
            total_paid: r.total_paid.to_string(),
            payment_reference: r.payment_reference,
        }
    }
}

/// Creates the order and authorizes the payment. 201 new order, 200 replay of the same key;
/// 402 `PAYMENT_DECLINED` (stock back, order canceled, cart intact); 503 `PAYMENT_UNAVAILABLE`
/// (retry with the same key). A `payment_token_id` that is not the caller's pays with the
/// caller's default card (audited; `PAYMENT_TOKEN_FALLBACK=false` makes it 404).
#[utoipa::path(tag = "checkout", security(("bearer" = [])), request_body = CheckoutBody,
    params(("Idempotency-Key" = String, Header, description = "Required; at most 128 characters")),
    responses(
        (status = 201, body = inline(Data<ConfirmDto>)),
        (status = 200, body = inline(Data<ConfirmDto>), description = "replay"),
        (status = 400, body = ErrorEnvelope,
            description = "MISSING_IDEMPOTENCY_KEY, VALIDATION_ERROR, CART_EMPTY, INVALID_SLOT"),
        (status = 402, body = ErrorEnvelope, description = "PAYMENT_DECLINED"),
        (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "INSUFFICIENT_STOCK, PRODUCT_INACTIVE, \
            IDEMPOTENCY_IN_PROGRESS, IDEMPOTENCY_KEY_REUSE_MISMATCH"),
        (status = 503, body = ErrorEnvelope, description = "PAYMENT_UNAVAILABLE")))]
#[post("/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: ValidJson<CheckoutBody>,
) -> Result<HttpResponse, ApiError> {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bad_request("Idempotency-Key header is required"))
        .map_err(|mut e| {
            e.code = "MISSING_IDEMPOTENCY_KEY";
            e
        })?
        .to_owned();
    if key.chars().count() > 128 {
        return Err(ApiError::validation(vec![FieldError::new(
            &["header", "Idempotency-Key"],
            "string_too_long",
            "At most 128 characters",
        )]));
    }
    let request = parse(&body.0, &auth)?;
    let token = body.0.payment_token_id.filter(|t| *t >= 1).ok_or_else(|| {
        ApiError::validation(vec![FieldError::new(
            &["payment_token_id"],
            "missing",
            "A payment token id ≥ 1 is required",
        )])
    })?;
    let canonical = json!({
        "cart_id": body.0.cart_id,
        "payment_token_id": token,
        "fulfillment_type": body.0.fulfillment_type,
        "branch_id": body.0.branch_id,
        "delivery_slot_id": body.0.delivery_slot_id,
        "address": body.0.address,
        "save_as_default": body.0.save_as_default,
    });
    let request_hash = format!("{:x}", Sha256::digest(canonical.to_string().as_bytes()));
    let outcome = state
        .checkout
        .confirm(
            request,
            PaymentChoice {
                token_id: token,
                save_as_default: body.0.save_as_default,
                fallback_to_default: state.config.payment_token_fallback,
            },
            IdempotencyClaim { key, request_hash },
            pricing(&state).await?,
            &auth.context(),
        )
        .await?;
    let (status, receipt) = confirm_outcome(outcome)?;
    Ok(respond(
        status,
        &Envelope {
            data: ConfirmDto::from(receipt),
        },
    ))
}
