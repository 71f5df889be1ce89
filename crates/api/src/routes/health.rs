//! Liveness and readiness.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::{ApiError, ok};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_health).service(get_ready);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDto {
    /// Always `ok` while the process serves.
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyChecks {
    pub database: bool,
    pub migrations_current: bool,
    pub delivery_branch_present: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyDto {
    /// `ready`.
    pub status: &'static str,
    pub checks: ReadyChecks,
}

/// Liveness: the process serves. Never touches the database; not rate limited.
#[utoipa::path(tag = "health", responses((status = 200,
    body = inline(crate::openapi::Data<HealthDto>))))]
#[get("")]
pub async fn get_health() -> HttpResponse {
    ok(HealthDto { status: "ok" })
}

/// Readiness: database reachable, migrations current, delivery branch present (else 503
/// `NOT_READY` with the checks in `details`).
#[utoipa::path(
    tag = "health",
    path = "/ready",
    responses(
        (status = 200, body = inline(crate::openapi::Data<ReadyDto>)),
        (status = 503, body = crate::openapi::ErrorEnvelope, description = "NOT_READY")
    )
)]
#[get("/ready")]
pub async fn get_ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let r = state
        .db
        .readiness(state.config.delivery_source_branch_id)
        .await;
    let checks = ReadyChecks {
        database: r.database,
        migrations_current: r.migrations_current,
        delivery_branch_present: r.delivery_branch_present,
    };
    if r.is_ready() {
        Ok(ok(ReadyDto {
            status: "ready",
            checks,
        }))
    } else {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "NOT_READY",
            "The service is not ready",
        )
        .with_details(serde_json::json!({ "checks": checks }));
        e.retry_after = Some(5);
        Err(e)
    }
}
