//! The success envelope: `{"data": …}`, plus the per-endpoint pagination shapes.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;

/// `200 {"data": data}`.
pub fn ok<T: Serialize>(data: T) -> HttpResponse {
    respond(StatusCode::OK, &Envelope { data })
}

/// `201 {"data": data}`.
pub fn created<T: Serialize>(data: T) -> HttpResponse {
    respond(StatusCode::CREATED, &Envelope { data })
}

/// Any serialisable body with the given status.
pub fn respond<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

#[derive(Debug, Serialize)]
pub struct Envelope<T> {
    pub data: T,
}

/// `{total, limit, offset}` as carried under `meta` or `pagination`.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Page {
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// `{"data": [...], "pagination": {total, limit, offset}}` (branches, audit).
#[derive(Debug, Serialize)]
pub struct WithPagination<T> {
    pub data: T,
    pub pagination: Page,
}
