//! `/ops`, the staff side of the store (EMPLOYEE, MANAGER, ADMIN by the scope's guard): the
//! order queue and detail, picking, status moves with the capture, void or refund they set in
//! motion, damage reports (ADMIN), alerts, performance (MANAGER, ADMIN) and picking batches.

use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::Utc;
use mami_domain::ops::{
    Alert, Batch, DamageInput, DamageReport, OpsOrder, PaymentRecord, Performance, QueueFilter,
    queue_view,
};
use mami_domain::orders::{OrderStatus, PickedStatus};
use mami_domain::{FieldError, ValidationErrors};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::BACK_OFFICE;
use super::audit::parse_instant;
use super::auth::rfc3339;
use super::checkout::pricing;
use super::dto::WithMeta;
use super::orders::OrderDto;
use crate::auth::{Authenticated, require_roles};
use crate::http::envelope::respond;
use crate::http::paging::Model;
use crate::http::{ApiError, Paging, ValidJson, ValidQuery, created, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

/// Damage reports: ADMIN only, as in the reference.
const ADMIN_ONLY: &[mami_domain::identity::Role] = &[mami_domain::identity::Role::Admin];

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_orders)
        .service(get_order)
        .service(move_order)
        .service(pick_item)
        .service(report_damage)
        .service(create_batch)
        .service(performance)
        .service(alerts);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentDto {
    /// `PENDING`, `AUTHORIZED`, `DECLINED`, `CAPTURE_PENDING`, `CAPTURED`, `REFUND_PENDING`,
    /// `PARTIALLY_REFUNDED`, `REFUNDED`, `VOIDED` or `FAILED`.
    pub status: String,
    pub provider_payment_id: Option<String>,
    pub amount_authorized: String,
    pub amount_captured: String,
    pub amount_refunded: String,
    /// The capture or refund waiting for the provider's answer.
    pub pending_amount: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub provider_refund_id: Option<String>,
    pub updated_at: String,
}

impl From<PaymentRecord> for PaymentDto {
    fn from(p: PaymentRecord) -> Self {
        Self {
            status: p.status.as_str().to_owned(),
            provider_payment_id: p.provider_payment_id,
            amount_authorized: p.amount_authorized.to_string(),
            amount_captured: p.amount_captured.to_string(),
            amount_refunded: p.amount_refunded.to_string(),
            pending_amount: p.pending_amount.map(|m| m.to_string()),
            failure_code: p.failure_code,
            failure_message: p.failure_message,
            provider_refund_id: p.provider_refund_id,
            updated_at: rfc3339(p.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DamageReportDto {
    pub id: i64,
    pub order_item_id: i64,
    pub reason: String,
    pub notes: Option<String>,
    pub reported_by: i64,
    pub created_at: String,
}

impl From<DamageReport> for DamageReportDto {
    fn from(d: DamageReport) -> Self {
        Self {
            id: d.id,
            order_item_id: d.order_item_id,
            reason: d.reason,
            notes: d.notes,
            reported_by: d.reported_by,
            created_at: rfc3339(d.created_at),
        }
    }
}

/// An order as staff see it: the order object (items with who picked them), the reference's
/// queue fields, what the React dashboard reads (`id`, `items[].picked_status`, `urgency`,
/// `delivery_slot`), the payment row and the damage reports. The queue and the detail answer
/// the same shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpsOrderDto {
    #[serde(flatten)]
    pub order: OrderDto,
    pub order_id: i64,
    pub user_id: i64,
    pub customer_name: String,
    /// `critical` (due within an hour or overdue), `dueSoon` (within three hours) or null.
    pub urgency: Option<&'static str>,
    /// The delivery slot's start in minutes after midnight; 1440 without one (pickup).
    pub urgency_rank: i64,
    /// Lines not PICKED (removed lines not counted).
    pub items_pending: i64,
    pub items_summary: String,
    /// When the order is due (slot or pickup window start).
    pub due_at: Option<String>,
    pub delivered_at: Option<String>,
    pub payment: Option<PaymentDto>,
    pub damage_reports: Vec<DamageReportDto>,
}

impl OpsOrderDto {
    fn new(o: OpsOrder) -> Self {
        let view = queue_view(&o.order, Utc::now());
        Self {
            order_id: o.order.id,
            order: OrderDto::for_staff(o.order),
            user_id: o.user_id,
            customer_name: o.customer_name,
            urgency: view.urgency.map(|u| u.as_str()),
            urgency_rank: view.urgency_rank,
            items_pending: view.items_pending,
            items_summary: view.items_summary,
            due_at: view.due.map(rfc3339),
            delivered_at: o.delivered_at.map(rfc3339),
            payment: o.payment.map(PaymentDto::from),
            damage_reports: o.damage_reports.into_iter().map(Into::into).collect(),
        }
    }
}

/// A wire enum value, or the `VALIDATION_ERROR` entry naming the field and the choices.
fn wire_enum<T: DeserializeOwned>(loc: &[&str], raw: &str, choices: &str) -> Result<T, FieldError> {
    serde_json::from_value(Value::String(raw.trim().to_owned()))
        .map_err(|_| FieldError::new(loc, "enum", format!("Input should be {choices}")))
}

const STATUSES: &str = "CREATED, IN_PROGRESS, READY, OUT_FOR_DELIVERY, DELIVERED, CANCELED, \
    DELAYED or MISSING";

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OpsOrdersQuery {
    /// An order status.
    pub status: Option<String>,
    /// Inclusive lower bound on `created_at`: ISO 8601 (a bare date is its midnight, UTC).
    pub date_from: Option<String>,
    /// Inclusive upper bound on `created_at`; a bare date covers the whole day.
    pub date_to: Option<String>,
    /// 1..200, default 50 (clamped to `MAX_LIMIT`).
    pub limit: Option<String>,
    pub offset: Option<String>,
}

impl OpsOrdersQuery {
    /// The filter, or every broken rule at once.
    fn filter(&self) -> Result<QueueFilter, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let status = self.status.as_deref().and_then(|s| {
            errors.check(wire_enum::<OrderStatus>(&["query", "status"], s, STATUSES))
        });
        let mut date = |name: &str, raw: Option<&str>, end_of_day: bool| {
            let parsed = raw.map(|r| {
                parse_instant(r, end_of_day).ok_or_else(|| {
                    let msg = "Input should be an ISO 8601 date or datetime";
                    FieldError::new(&["query", name], "datetime_parsing", msg)
                })
            });
            parsed.and_then(|p| errors.check(p))
        };
        let from = date("date_from", self.date_from.as_deref(), false);
        let to = date("date_to", self.date_to.as_deref(), true);
        errors.into_result()?;
        Ok(QueueFilter { status, from, to })
    }
}

/// The order queue: orders whose payment was authorized at checkout, open orders first, then
/// by due time, oldest first; with `meta`.
#[utoipa::path(tag = "ops", security(("bearer" = [])), params(OpsOrdersQuery),
    responses(
        (status = 200, description = "`{data: [OpsOrder], meta: {total, limit, offset}}`"),
        (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorEnvelope)))]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    q: ValidQuery<OpsOrdersQuery>,
    paging: Paging<Model<200>>,
) -> Result<HttpResponse, ApiError> {
    let filter = q.0.filter()?;
    let (rows, total) = state
        .fulfilment
        .queue(filter, paging.limit, paging.offset)
        .await?;
    let data: Vec<OpsOrderDto> = rows.into_iter().map(OpsOrderDto::new).collect();
    let meta = paging.page(total);
    Ok(respond(StatusCode::OK, &WithMeta { data, meta }))
}

/// One order with its items, payment and damage reports.
#[utoipa::path(tag = "ops", security(("bearer" = [])),
    responses(
        (status = 200, body = inline(Data<OpsOrderDto>)),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "NOT_FOUND: no such order, or \
            never paid (authorization unknown or declined)")))]
#[get("/orders/{order_id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let order = state.fulfilment.order(path.into_inner()).await?;
    Ok(ok(OpsOrderDto::new(order)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// The status to move to.
    pub status: String,
}

/// Moves the order (see docs/api.md for the table). READY captures the (re-priced) total;
/// MISSING → READY first removes the MISSING items, re-prices the order and returns their
/// stock; CANCELED (MANAGER, ADMIN) returns the stock and voids the authorization — or, from
/// READY, refunds the capture. Answers the order as it then is: a capture or refund whose
/// outcome is unknown shows `CAPTURE_PENDING`/`REFUND_PENDING` (the reconciler settles it), a
/// refused capture `FAILED`.
#[utoipa::path(tag = "ops", security(("bearer" = [])), request_body = StatusBody,
    responses(
        (status = 200, body = inline(Data<OpsOrderDto>)),
        (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorEnvelope, description = "AUTHORIZATION_ERROR (an EMPLOYEE \
            canceling)"),
        (status = 404, body = ErrorEnvelope, description = "NOT_FOUND"),
        (status = 409, body = ErrorEnvelope, description = "INVALID_STATUS_TRANSITION \
            (`details.allowed` names the moves allowed now), PAYMENT_PENDING")))]
#[patch("/orders/{order_id}/status")]
pub async fn move_order(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    body: ValidJson<StatusBody>,
) -> Result<HttpResponse, ApiError> {
    let to: OrderStatus = wire_enum(&["status"], &body.0.status, STATUSES)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let ctx = auth.context();
    let role = auth.principal.role;
    let pricing = pricing(&state).await?;
    let order = state
        .fulfilment
        .move_status(path.into_inner(), to, role, pricing, &ctx)
        .await?;
    Ok(ok(OpsOrderDto::new(order)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickBody {
    /// `PENDING`, `PICKED` or `MISSING`.
    pub picked_status: String,
}

/// Sets a line's picked status (while the order is IN_PROGRESS or MISSING); records who and
/// when. Answers the order.
#[utoipa::path(tag = "ops", security(("bearer" = [])), request_body = PickBody,
    responses(
        (status = 200, body = inline(Data<OpsOrderDto>)),
        (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "NOT_FOUND (order or item)"),
        (status = 409, body = ErrorEnvelope, description = "INVALID_STATUS (the order is not \
            being picked), ITEM_REMOVED")))]
#[patch("/orders/{order_id}/items/{item_id}/picked-status")]
pub async fn pick_item(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<(i64, i64)>,
    body: ValidJson<PickBody>,
) -> Result<HttpResponse, ApiError> {
    let choices = "PENDING, PICKED or MISSING";
    let status: PickedStatus = wire_enum(&["picked_status"], &body.0.picked_status, choices)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let (order_id, item_id) = path.into_inner();
    let order = state
        .fulfilment
        .pick(order_id, item_id, status, &auth.context())
        .await?;
    Ok(ok(OpsOrderDto::new(order)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DamageBody {
    /// 1..256 characters.
    pub reason: String,
    /// At most 512 characters.
    pub notes: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DamageReportedDto {
    pub reported: bool,
    pub id: i64,
}

/// Reports a damaged item (ADMIN, as in the reference): stored with the reporter, audited,
/// shown in the order and the alerts.
#[utoipa::path(tag = "ops", security(("bearer" = [])), request_body = DamageBody,
    responses(
        (status = 201, body = inline(Data<DamageReportedDto>)),
        (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "NOT_FOUND (order or item)")))]
#[post(
    "/orders/{order_id}/items/{item_id}/report-damage",
    wrap = "from_fn(require_roles(ADMIN_ONLY))"
)]
pub async fn report_damage(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<(i64, i64)>,
    body: ValidJson<DamageBody>,
) -> Result<HttpResponse, ApiError> {
    let input = DamageInput::parse(&body.0.reason, body.0.notes.as_deref())?;
    let (order_id, item_id) = path.into_inner();
    let id = state
        .fulfilment
        .report_damage(order_id, item_id, input, &auth.context())
        .await?;
    Ok(created(DamageReportedDto { reported: true, id }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// 1..100 order ids (duplicates count once).
    pub order_ids: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDto {
    pub id: i64,
    pub created_by: i64,
    pub created_at: String,
    pub order_ids: Vec<i64>,
    /// The body as sent.
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// Stores a picking batch (who, when, which orders).
#[utoipa::path(tag = "ops", security(("bearer" = [])), request_body = BatchBody,
    responses(
        (status = 201, body = inline(Data<BatchDto>)),
        (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR"),
        (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "NOT_FOUND (`details.order_ids`)"),
        (status = 409, body = ErrorEnvelope, description = "INVALID_STATUS: delivered or \
            canceled orders (`details.order_ids`)")))]
#[post("/batches")]
pub async fn create_batch(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<BatchBody>,
) -> Result<HttpResponse, ApiError> {
    let ids = body.0.order_ids;
    let mut errors = ValidationErrors::default();
    if !(1..=100).contains(&ids.len()) {
        let msg = "List should have 1 to 100 items";
        errors.push(FieldError::new(&["order_ids"], "list_length", msg));
    }
    for (i, id) in ids.iter().enumerate().filter(|(_, id)| **id < 1) {
        let msg = format!("Order id {id} should be a whole number ≥ 1");
        errors.push(FieldError::new(
            &["order_ids", &i.to_string()],
            "greater_than_equal",
            msg,
        ));
    }
    errors.into_result()?;
    let payload = serde_json::json!({ "order_ids": ids });
    let b: Batch = state.fulfilment.create_batch(ids, &auth.context()).await?;
    Ok(created(BatchDto {
        id: b.id,
        created_by: b.created_by,
        created_at: rfc3339(b.created_at),
        order_ids: b.order_ids,
        payload,
    }))
}

/// `/ops/performance` in the reference's shape (camelCase keys, as the client reads them).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceDto {
    /// Picked lines / all lines × 100, two decimals (the integer 0 when there are none).
    #[schema(value_type = f64)]
    pub batch_efficiency: Value,
    pub live_pickers: i64,
    pub active_orders: i64,
    pub total_orders: i64,
    pub picked_items: i64,
    pub total_items: i64,
    pub picker_window_minutes: i64,
    #[serde(rename = "user_id")]
    pub user_id: i64,
}

/// Picking figures from real orders and picks (MANAGER, ADMIN).
#[utoipa::path(tag = "ops", security(("bearer" = [])),
    responses(
        (status = 200, body = inline(Data<PerformanceDto>)),
        (status = 403, body = ErrorEnvelope)))]
#[get("/performance", wrap = "from_fn(require_roles(BACK_OFFICE))")]
pub async fn performance(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let Performance {
        batch_efficiency,
        counts: c,
        picker_window_minutes,
    } = state.fulfilment.performance(Utc::now()).await?;
    Ok(ok(PerformanceDto {
        batch_efficiency,
        live_pickers: c.live_pickers,
        active_orders: c.active_orders,
        total_orders: c.total_orders,
        picked_items: c.picked_items,
        total_items: c.total_items,
        picker_window_minutes,
        user_id: auth.principal.user_id.0,
    }))
}

/// An alert in the reference's shape (`createdAt` and `time` as the client reads them), plus
/// its `kind`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertDto {
    pub id: String,
    pub text: String,
    /// `alert` or `info`.
    #[serde(rename = "type")]
    pub kind_type: &'static str,
    /// `high`, `medium` or `low`.
    pub severity: &'static str,
    #[serde(rename = "createdAt")]
    pub created_at: String,
    pub time: String,
    /// `LOW_STOCK`, `LATE_ORDER`, `PAYMENT` or `DAMAGE`.
    pub kind: &'static str,
}

impl From<Alert> for AlertDto {
    fn from(a: Alert) -> Self {
        Self {
            id: a.id,
            text: a.text,
            kind_type: a.kind_type,
            severity: a.severity.as_str(),
            created_at: rfc3339(a.at),
            time: rfc3339(a.at),
            kind: a.kind,
        }
    }
}

/// Real conditions: low stock, orders late for their slot, payments waiting or refused,
/// recent damage reports.
#[utoipa::path(tag = "ops", security(("bearer" = [])),
    responses(
        (status = 200, body = inline(Data<Vec<AlertDto>>)),
        (status = 403, body = ErrorEnvelope)))]
#[get("/alerts")]
pub async fn alerts(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let list = state.fulfilment.alerts(Utc::now()).await?;
    Ok(ok(list.into_iter().map(AlertDto::from).collect::<Vec<_>>()))
}
