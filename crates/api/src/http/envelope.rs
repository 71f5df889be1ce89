//! The success envelope: `{"data": …}`, plus the per-endpoint pagination shapes.

use std::cell::Cell;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::ApiError;

/// `200 {"data": data}`.
pub fn ok<T: Serialize>(data: T) -> HttpResponse {
    respond(StatusCode::OK, &Envelope { data })
}

/// `201 {"data": data}`.
pub fn created<T: Serialize>(data: T) -> HttpResponse {
    respond(StatusCode::CREATED, &Envelope { data })
}

/// The size of the buffer a body starts in: the last body this worker wrote, to the next power of
/// two, within these bounds. Growing an empty buffer to a catalog page's 9 kB reallocated and
/// copied it four times.
const BODY_BUFFER: (usize, usize) = (1 << 10, 1 << 16);

thread_local! {
    static LAST_BODY: Cell<usize> = const { Cell::new(BODY_BUFFER.0) };
}

/// Any serialisable body with the given status.
pub fn respond<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    let capacity = LAST_BODY
        .get()
        .checked_next_power_of_two()
        .unwrap_or(BODY_BUFFER.1)
        .clamp(BODY_BUFFER.0, BODY_BUFFER.1);
    let mut buf = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut buf, body) {
        Ok(()) => {
            LAST_BODY.set(buf.len());
            HttpResponse::build(status)
                .content_type(ContentType::json())
                .body(buf)
        }
        Err(e) => ApiError::internal(&e).error_response(),
    }
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
