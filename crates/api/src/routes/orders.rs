//! `/orders`: the caller's orders (another customer's order is 404, for staff too).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use mami_domain::orders::{Order, OrderStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::rfc3339;
use super::dto::WithMeta;
use crate::auth::Authenticated;
use crate::http::envelope::respond;
use crate::http::paging::Strict;
use crate::http::{ApiError, Paging, ValidQuery, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_orders)
        .service(get_order)
        .service(cancel_order);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemDto {
    pub id: i64,
    pub product_id: i64,
    pub name: String,
    pub sku: String,
    pub unit_price: String,
    pub quantity: i32,
    pub picked_status: String,
    /// Removed from the order (missing when it was made READY): kept for history, not part of
    /// its totals.
    pub removed: bool,
    /// Staff only: who last set the picked status, and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picked_by: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picked_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub delivery_slot_id: Option<i64>,
    pub address: String,
    pub slot_start: Option<String>,
    pub slot_end: Option<String>,
}

/// When the order is due, as the React client reads it: the delivery slot (with its id), or
/// the pickup window (`id` null). Times `HH:MM:SS`, date `YYYY-MM-DD`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueWindowDto {
    pub id: Option<i64>,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
}

impl DueWindowDto {
    fn of(o: &Order) -> Option<Self> {
        let window = |id, start: DateTime<Utc>, end: DateTime<Utc>| Self {
            id,
            date: start.format("%Y-%m-%d").to_string(),
            start_time: start.format("%H:%M:%S").to_string(),
            end_time: end.format("%H:%M:%S").to_string(),
        };
        match (&o.delivery, &o.pickup) {
            (Some(d), _) => Some(window(d.delivery_slot_id, d.slot_start?, d.slot_end?)),
            (None, Some(p)) => Some(window(None, p.window_start, p.window_end)),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PickupDto {
    pub branch_id: i64,
    pub pickup_window_start: String,
    pub pickup_window_end: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    pub id: i64,
    pub order_number: String,
    pub total_amount: String,
    pub subtotal_amount: String,
    pub delivery_fee: String,
    pub status: String,
    pub payment_status: String,
    pub fulfillment_type: String,
    pub branch_id: Option<i64>,
    pub created_at: String,
    pub items: Vec<OrderItemDto>,
    pub delivery: Option<DeliveryDto>,
    pub pickup: Option<PickupDto>,
    pub delivery_slot: Option<DueWindowDto>,
}

impl From<Order> for OrderDto {
    fn from(o: Order) -> Self {
        Self::build(o, false)
    }
}

impl OrderDto {
    /// The order as staff see it: each line with who picked it and when.
    pub fn for_staff(o: Order) -> Self {
        Self::build(o, true)
    }

    fn build(o: Order, staff: bool) -> Self {
        Self {
            delivery_slot: DueWindowDto::of(&o),
            id: o.id,
            order_number: o.order_number,
            total_amount: o.total_amount.to_string(),
            subtotal_amount: o.subtotal_amount.to_string(),
            delivery_fee: o.delivery_fee.to_string(),
            status: o.status.as_str().to_owned(),
            payment_status: o.payment_status.as_str().to_owned(),
            fulfillment_type: o.fulfillment_type.as_str().to_owned(),
            branch_id: o.branch_id,
            created_at: rfc3339(o.created_at),
            items: o
                .items
                .into_iter()
                .map(|i| OrderItemDto {
                    id: i.id,
                    product_id: i.product_id,
                    name: i.name,
                    sku: i.sku,
                    unit_price: i.unit_price.to_string(),
                    quantity: i.quantity,
                    picked_status: i.picked_status.as_str().to_owned(),
                    removed: i.removed,
                    picked_by: i.picked_by.filter(|_| staff),
                    picked_at: i.picked_at.filter(|_| staff).map(rfc3339),
                })
                .collect(),
            delivery: o.delivery.map(|d| DeliveryDto {
                delivery_slot_id: d.delivery_slot_id,
                address: d.address,
                slot_start: d.slot_start.map(rfc3339),
                slot_end: d.slot_end.map(rfc3339),
            }),
            pickup: o.pickup.map(|p| PickupDto {
                branch_id: p.branch_id,
                pickup_window_start: rfc3339(p.window_start),
                pickup_window_end: rfc3339(p.window_end),
            }),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// The caller's orders, newest first, with `meta`.
#[utoipa::path(tag = "orders", security(("bearer" = [])), params(OrdersQuery),
    responses(
        (status = 200, description = "`{data: [Order], meta: {total, limit, offset}}`"),
        (status = 400, body = ErrorEnvelope)))]
#[get("")]
pub async fn list_orders(
    state: web::Data<AppState>,
    auth: Authenticated,
    _q: ValidQuery<OrdersQuery>,
    // A `Result`, so that authentication (an extractor here) answers first.
    paging: Result<Paging<Strict>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let paging = paging?;
    let (rows, total) = state
        .orders
        .list(auth.principal.user_id, paging.limit, paging.offset)
        .await?;
    let data: Vec<OrderDto> = rows.into_iter().map(OrderDto::from).collect();
    let meta = paging.page(total);
    Ok(respond(StatusCode::OK, &WithMeta { data, meta }))
}

/// One of the caller's orders with items, fulfilment details and payment status.
#[utoipa::path(tag = "orders", security(("bearer" = [])),
    responses(
        (status = 200, body = inline(Data<OrderDto>)),
        (status = 404, body = ErrorEnvelope)))]
#[get("/{order_id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(OrderDto::from(
        state
            .orders
            .get(auth.principal.user_id, path.into_inner())
            .await?,
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancelDto {
    pub order_id: i64,
    pub canceled_at: String,
    pub status: &'static str,
}

/// Cancels a CREATED order: stock back, authorization voided.
#[utoipa::path(tag = "orders", security(("bearer" = [])),
    responses(
        (status = 200, body = inline(Data<CancelDto>)),
        (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "INVALID_STATUS, PAYMENT_PENDING")))]
#[post("/{order_id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let c = state
        .orders
        .cancel(auth.principal.user_id, path.into_inner(), &auth.context())
        .await?;
    Ok(ok(CancelDto {
        order_id: c.order_id,
        canceled_at: rfc3339(c.canceled_at),
        status: OrderStatus::Canceled.as_str(),
    }))
}
