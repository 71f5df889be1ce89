//! `/stock-requests` and the `/ops/stock-requests` aliases: staff (EMPLOYEE, MANAGER, ADMIN)
//! file requests and read their own; managers and admins list, read and review them, one at a
//! time or in bulk (each item on its own transaction).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};
use mami_domain::stock_requests::{
    BulkItem, NewStockRequest, RequestStatus, Review, StockRequest, StockRequestFilter,
};
use mami_domain::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use super::BACK_OFFICE;
use super::auth::rfc3339;
use crate::auth::{Authenticated, require_roles};
use crate::http::envelope::{Page, respond};
use crate::http::error::bulk_failure;
use crate::http::paging::{Model, Strict};
use crate::http::params::{invalid, query_id};
use crate::http::{ApiError, JsonOrEmpty, Paging, ValidJson, ValidQuery, created, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

/// Most items one bulk review may carry.
pub const MAX_BULK_ITEMS: usize = 200;

/// The routes under `/stock-requests` (the scope admits staff; `/admin` only MANAGER, ADMIN).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_stock_request)
        .service(list_my_stock_requests)
        .service(
            scope("/admin")
                .wrap(actix_web::middleware::from_fn(require_roles(BACK_OFFICE)))
                .service(list_stock_requests)
                .service(bulk_review_stock_requests)
                .service(get_stock_request)
                .service(resolve_stock_request),
        );
}

/// The stock-request routes of the `/ops` scope (staff).
pub fn configure_ops(cfg: &mut ServiceConfig) {
    cfg.service(list_ops_stock_requests)
        .service(create_ops_stock_request);
}

/// A stock request: the reference's fields plus what was asked and the review.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockRequestDto {
    pub id: i64,
    pub branch_id: i64,
    pub branch_name: String,
    pub product_id: i64,
    pub product_name: String,
    pub product_sku: String,
    /// The approved amount once approved, else the requested one.
    pub quantity: i32,
    /// What was asked.
    pub requested_quantity: i32,
    /// `SET_QUANTITY` or `ADD_QUANTITY`.
    pub request_type: String,
    /// `PENDING`, `APPROVED` or `REJECTED`.
    pub status: String,
    /// Who filed it.
    pub actor_user_id: i64,
    /// Who reviewed it.
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<String>,
    pub rejection_reason: Option<String>,
    pub created_at: String,
}

impl From<StockRequest> for StockRequestDto {
    fn from(r: StockRequest) -> Self {
        Self {
            id: r.id,
            branch_id: r.branch_id,
            branch_name: r.branch_name,
            product_id: r.product_id,
            product_name: r.product_name,
            product_sku: r.product_sku,
            quantity: r.quantity,
            requested_quantity: r.requested_quantity,
            request_type: r.request_type.as_str().to_owned(),
            status: r.status.as_str().to_owned(),
            actor_user_id: r.actor_user_id,
            reviewed_by: r.reviewed_by,
            reviewed_at: r.reviewed_at.map(rfc3339),
            rejection_reason: r.rejection_reason,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// `{data: [StockRequest], meta: {total, limit, offset}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockRequestPage {
    pub data: Vec<StockRequestDto>,
    pub meta: Page,
}

/// One page of `filter`'s requests, newest first.
async fn page<S>(
    state: &AppState,
    filter: StockRequestFilter,
    paging: Paging<S>,
) -> Result<HttpResponse, ApiError> {
    let (rows, total) = state
        .stock_requests
        .list(filter, paging.limit, paging.offset)
        .await?;
    let data = rows.into_iter().map(StockRequestDto::from).collect();
    let meta = paging.page(total);
    Ok(respond(StatusCode::OK, &StockRequestPage { data, meta }))
}

/// An optional `status` filter: `PENDING`, `APPROVED` or `REJECTED`.
fn query_status(v: Option<&str>) -> Result<Option<RequestStatus>, ApiError> {
    v.map(|s| {
        RequestStatus::parse(s).ok_or_else(|| {
            let msg = "Input should be 'PENDING', 'APPROVED' or 'REJECTED'";
            invalid("status", "enum", msg)
        })
    })
    .transpose()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockRequestBody {
    /// A branch holding an inventory row of the product.
    pub branch_id: i64,
    pub product_id: i64,
    /// 1..10000.
    pub quantity: i64,
    /// `SET_QUANTITY` or `ADD_QUANTITY`.
    pub request_type: String,
}

/// Files `body` as the caller: 201 with the request.
async fn create(
    state: &AppState,
    auth: &Authenticated,
    body: StockRequestBody,
) -> Result<HttpResponse, ApiError> {
    let b = body;
    let new = NewStockRequest::parse(b.branch_id, b.product_id, b.quantity, &b.request_type)?;
    let request = state
        .stock_requests
        .create(new, auth.principal.user_id, &auth.context())
        .await?;
    Ok(created(StockRequestDto::from(request)))
}

/// Files a request (PENDING) for the branch's stock of a product.
#[utoipa::path(tag = "stock requests", security(("bearer" = [])),
    request_body = StockRequestBody, responses(
        (status = 201, body = inline(Data<StockRequestDto>)),
        (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR, BAD_REQUEST (null)"),
        (status = 404, body = ErrorEnvelope,
            description = "NOT_FOUND: Inventory row not found for branch/product")))]
#[post("")]
pub async fn create_stock_request(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<StockRequestBody>,
) -> Result<HttpResponse, ApiError> {
    create(&state, &auth, body.0).await
}

/// The same as `POST /stock-requests`, except that a `null` body reads as `{}`.
#[utoipa::path(tag = "stock requests", security(("bearer" = [])),
    request_body = StockRequestBody, responses(
        (status = 201, body = inline(Data<StockRequestDto>)),
        (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR"),
        (status = 404, body = ErrorEnvelope,
            description = "NOT_FOUND: Inventory row not found for branch/product")))]
#[post("/stock-requests")]
pub async fn create_ops_stock_request(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: JsonOrEmpty<StockRequestBody>,
) -> Result<HttpResponse, ApiError> {
    create(&state, &auth, body.0).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyStockRequestsQuery {
    /// Strict: a whole number ≥ 0 (clamped to `MAX_LIMIT`), default 50.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// The caller's requests, newest first, with `meta`.
#[utoipa::path(tag = "stock requests", security(("bearer" = [])),
    params(MyStockRequestsQuery), responses((status = 200, body = StockRequestPage),
    (status = 400, body = ErrorEnvelope,
        description = "BAD_REQUEST: Invalid pagination parameters")))]
#[get("/my")]
pub async fn list_my_stock_requests(
    state: web::Data<AppState>,
    auth: Authenticated,
    _q: ValidQuery<MyStockRequestsQuery>,
    paging: Paging<Strict>,
) -> Result<HttpResponse, ApiError> {
    let filter = StockRequestFilter {
        requested_by: Some(auth.principal.user_id),
        ..StockRequestFilter::default()
    };
    page(&state, filter, paging).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StockRequestsQuery {
    /// `PENDING`, `APPROVED` or `REJECTED`.
    pub status: Option<String>,
    /// 1..200 (clamped to `MAX_LIMIT`), default 50.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// Every request, newest first, with `meta`.
#[utoipa::path(tag = "stock requests", security(("bearer" = [])), params(StockRequestsQuery),
    responses((status = 200, body = StockRequestPage),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR")))]
#[get("")]
pub async fn list_stock_requests(
    state: web::Data<AppState>,
    q: ValidQuery<StockRequestsQuery>,
    paging: Paging<Model<200>>,
) -> Result<HttpResponse, ApiError> {
    let filter = StockRequestFilter {
        status: query_status(q.0.status.as_deref())?,
        ..StockRequestFilter::default()
    };
    page(&state, filter, paging).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OpsStockRequestsQuery {
    /// Only this branch's requests.
    pub branch_id: Option<String>,
    /// `PENDING`, `APPROVED` or `REJECTED`.
    pub status: Option<String>,
    /// 1..200 (clamped to `MAX_LIMIT`), default 50.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// Every request, by branch and status, newest first, with `meta`.
#[utoipa::path(tag = "stock requests", security(("bearer" = [])), params(OpsStockRequestsQuery),
    responses((status = 200, body = StockRequestPage),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR")))]
#[get("/stock-requests")]
pub async fn list_ops_stock_requests(
    state: web::Data<AppState>,
    q: ValidQuery<OpsStockRequestsQuery>,
    paging: Paging<Model<200>>,
) -> Result<HttpResponse, ApiError> {
    let filter = StockRequestFilter {
        branch_id: query_id("branch_id", q.0.branch_id.as_deref())?,
        status: query_status(q.0.status.as_deref())?,
        requested_by: None,
    };
    page(&state, filter, paging).await
}

/// One request; 404 `STOCK_REQUEST_NOT_FOUND`.
#[utoipa::path(tag = "stock requests", security(("bearer" = [])), responses(
    (status = 200, body = inline(Data<StockRequestDto>)),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR (a non-numeric id)"),
    (status = 404, body = ErrorEnvelope, description = "STOCK_REQUEST_NOT_FOUND")))]
#[get("/{id}")]
pub async fn get_stock_request(
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let request = state.stock_requests.get(path.into_inner()).await?;
    Ok(ok(StockRequestDto::from(request)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `APPROVED`, `REJECTED`, or `PENDING` (changes nothing).
    pub status: String,
    /// 1..10000; required to approve.
    pub approved_quantity: Option<i64>,
    /// 2..200 characters; required to reject.
    pub rejection_reason: Option<String>,
}

/// Reviews a PENDING request: an approval sets (`SET_QUANTITY`) or adds (`ADD_QUANTITY`) the
/// approved quantity to the branch's stock under the row lock; a rejection stores its reason.
#[utoipa::path(tag = "stock requests", security(("bearer" = [])), request_body = ResolveBody,
    responses((status = 200, body = inline(Data<StockRequestDto>)),
    (status = 400, body = ErrorEnvelope,
        description = "INVALID_QUANTITY, INVALID_REJECTION, VALIDATION_ERROR, BAD_REQUEST"),
    (status = 404, body = ErrorEnvelope,
        description = "NOT_FOUND: the request, or the inventory row at approval"),
    (status = 409, body = ErrorEnvelope, description = "INVALID_STATUS: already reviewed")))]
#[patch("/{id}/resolve")]
pub async fn resolve_stock_request(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    body: ValidJson<ResolveBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let review = Review::parse(
        &[],
        &b.status,
        b.approved_quantity,
        b.rejection_reason.as_deref(),
    )?;
    let request = state
        .stock_requests
        .review(path.into_inner(), review, &auth.context())
        .await?;
    Ok(ok(StockRequestDto::from(request)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkReviewItemBody {
    pub request_id: i64,
    pub status: String,
    pub approved_quantity: Option<i64>,
    pub rejection_reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkReviewBody {
    /// At most 200.
    pub items: Vec<BulkReviewItemBody>,
}

/// One item's result: `{request_id, status, result: "ok"}` or
/// `{request_id, status: null, result: "error", error_code, message}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResultDto {
    pub request_id: i64,
    pub status: Option<String>,
    /// `ok` or `error`.
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkReviewDto {
    pub results: Vec<BulkResultDto>,
}

/// Every item parsed (any bad one refuses the whole body, as the reference's model did).
fn bulk_items(items: Vec<BulkReviewItemBody>) -> Result<Vec<BulkItem>, ApiError> {
    if items.len() > MAX_BULK_ITEMS {
        let msg = format!("List should have at most {MAX_BULK_ITEMS} items");
        return Err(ApiError::validation(vec![FieldError::new(
            &["items"],
            "too_long",
            msg,
        )]));
    }
    let mut e = ValidationErrors::default();
    let parsed: Vec<BulkItem> = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, it)| {
            let item = BulkItem::parse(
                i,
                it.request_id,
                &it.status,
                it.approved_quantity,
                it.rejection_reason.as_deref(),
            );
            item.map_err(|v| e.0.extend(v.0)).ok()
        })
        .collect();
    e.into_result()?;
    Ok(parsed)
}

/// Reviews each item on its own transaction; always 200 with one result per item, in input
/// order (partial success).
#[utoipa::path(tag = "stock requests", security(("bearer" = [])), request_body = BulkReviewBody,
    responses((status = 200, body = inline(Data<BulkReviewDto>)),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR, BAD_REQUEST")))]
#[patch("/bulk-review")]
pub async fn bulk_review_stock_requests(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<BulkReviewBody>,
) -> Result<HttpResponse, ApiError> {
    let items = bulk_items(body.0.items)?;
    let results = state
        .stock_requests
        .bulk_review(items, &auth.context())
        .await
        .into_iter()
        .map(|r| match r.outcome {
            Ok(request) => BulkResultDto {
                request_id: r.request_id,
                status: Some(request.status.as_str().to_owned()),
                result: "ok",
                error_code: None,
                message: None,
            },
            Err(e) => {
                let (code, message) = bulk_failure(e);
                BulkResultDto {
                    request_id: r.request_id,
                    status: None,
                    result: "error",
                    error_code: Some(code),
                    message: Some(message),
                }
            }
        })
        .collect();
    Ok(ok(BulkReviewDto { results }))
}
