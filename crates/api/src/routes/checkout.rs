//! `/checkout`: preview and confirm (three steps, idempotent per user and `Idempotency-Key`).

use actix_web::http::StatusCode;
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
use crate::http::{ApiError, FilledJson, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(preview).service(confirm);
}

/// How the order reaches the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum FulfillmentType {
    /// From the warehouse, in a delivery slot.
    Delivery,
    /// At `branch_id`.
    Pickup,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    #[schema(minimum = 1)]
    pub cart_id: i64,
    /// Required on confirm; ignored by preview.
    #[schema(minimum = 1)]
    pub payment_token_id: Option<i64>,
    pub fulfillment_type: FulfillmentType,
    #[schema(minimum = 1)]
    pub branch_id: Option<i64>,
    /// Required for delivery: a slot of the warehouse.
    #[schema(minimum = 1)]
    pub delivery_slot_id: Option<i64>,
    /// 5..200 characters when given.
    pub address: Option<String>,
    /// Confirm only: the card paid with becomes the caller's default.
    #[serde(default)]
    pub save_as_default: bool,
}

/// The request of a checkout body whose shape the extractor has checked (ids ≥ 1, the
/// fulfilment type), with the rules of the rest; on confirm, the payment token too. Every
/// broken rule is reported at once.
fn parse(
    body: &CheckoutBody,
    auth: &Authenticated,
    token_required: bool,
) -> Result<(CheckoutRequest, Option<i64>), ApiError> {
    let mut e = ValidationErrors::default();
    if token_required && body.payment_token_id.is_none() {
        e.push(FieldError::new(
            &["payment_token_id"],
            "missing",
            "Field required",
        ));
    }
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
    e.into_result()?;
    let fulfillment = match body.fulfillment_type {
        FulfillmentType::Delivery => Fulfillment::Delivery,
        FulfillmentType::Pickup => Fulfillment::Pickup,
    };
    let request = CheckoutRequest {
        user: auth.principal.user_id,
        cart_id: body.cart_id,
        fulfillment,
        branch_id: body.branch_id,
        delivery_slot_id: body.delivery_slot_id,
        address: address.map(str::to_owned),
    };
    Ok((request, body.payment_token_id))
}

/// Delivery pricing from the settings.
pub(crate) async fn pricing(state: &AppState) -> Result<DeliveryPricing, ApiError> {
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
    body: FilledJson<CheckoutBody>,
) -> Result<HttpResponse, ApiError> {
    let (request, _) = parse(&body.0, &auth, false)?;
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

/// The `Idempotency-Key` header: 400 `MISSING_IDEMPOTENCY_KEY` without one, 400
/// `VALIDATION_ERROR` over 128 characters.
fn idempotency_key(req: &HttpRequest) -> Result<String, ApiError> {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "MISSING_IDEMPOTENCY_KEY",
                "Idempotency-Key header is required",
            )
        })?;
    if key.chars().count() > 128 {
        return Err(ApiError::validation(vec![FieldError::new(
            &["header", "Idempotency-Key"],
            "string_too_long",
            "At most 128 characters",
        )]));
    }
    Ok(key.to_owned())
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
    body: Result<FilledJson<CheckoutBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    // The reference's order: the key, then the body.
    let key = idempotency_key(&req)?;
    let body = body?;
    let (request, token) = parse(&body.0, &auth, true)?;
    // `parse` refused a confirm without a token.
    let token = token.unwrap_or_default();
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
        .await;
    crate::metrics::checkout(&outcome);
    let (status, receipt) = confirm_outcome(outcome?)?;
    Ok(respond(
        status,
        &Envelope {
            data: ConfirmDto::from(receipt),
        },
    ))
}
