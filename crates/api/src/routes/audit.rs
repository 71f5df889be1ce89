//! `GET /admin/audit`: the audit trail, newest first (MANAGER, ADMIN).

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use mami_domain::FieldError;
use mami_domain::audit::{AuditFilter, AuditRecord};
use mami_domain::identity::UserId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::envelope::{WithPagination, respond};
use crate::http::paging::Strict;
use crate::http::{ApiError, Paging, ValidQuery};
use crate::openapi::ErrorEnvelope;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_audit);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct AuditQuery {
    /// Exact entity type, e.g. `user`, `product`.
    pub entityType: Option<String>,
    /// Exact entity id.
    pub entityId: Option<String>,
    /// Exact action, e.g. `LOGIN_SUCCESS`.
    pub action: Option<String>,
    /// Id of the user who acted.
    pub actorId: Option<String>,
    /// Inclusive lower bound: RFC 3339, or an ISO date/datetime taken as UTC.
    pub dateFrom: Option<String>,
    /// Inclusive upper bound; a bare date means the whole day.
    pub dateTo: Option<String>,
    /// Default `DEFAULT_LIMIT`, clamped to `MAX_LIMIT`.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditDto {
    pub id: i64,
    pub entity_type: String,
    pub entity_id: i64,
    pub action: String,
    pub old_value: Option<serde_json::Value>,
    pub new_value: Option<serde_json::Value>,
    pub context: Option<serde_json::Value>,
    pub actor_user_id: Option<i64>,
    pub actor_email: Option<String>,
    pub request_id: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl From<AuditRecord> for AuditDto {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            action: r.action,
            old_value: r.old_value,
            new_value: r.new_value,
            context: r.context,
            actor_user_id: r.actor_user_id,
            actor_email: r.actor_email,
            request_id: r.request_id,
            created_at: rfc3339_micros(r.created_at),
        }
    }
}

fn rfc3339_micros(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Parses an ISO-8601 bound; `end_of_day` makes a bare date cover the whole day.
pub fn parse_instant(raw: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, fmt) {
            return Some(t.and_utc());
        }
    }
    let d = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    let t = if end_of_day {
        d.and_hms_micro_opt(23, 59, 59, 999_999)?
    } else {
        d.and_hms_opt(0, 0, 0)?
    };
    Some(t.and_utc())
}

/// The audit trail, newest first, with `pagination`.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = inline(crate::openapi::DataWithPagination<Vec<AuditDto>>)),
    (status = 400, body = ErrorEnvelope,
    description = "BAD_REQUEST (dates, paging), \
        VALIDATION_ERROR (unknown or malformed parameters)"),
    (status = 403, body = ErrorEnvelope)))]
#[get("/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    query: ValidQuery<AuditQuery>,
    paging: Paging<Strict>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let id_param = |name: &'static str, v: Option<&str>| -> Result<Option<i64>, ApiError> {
        v.map(|s| {
            s.trim().parse::<i64>().map_err(|_| {
                ApiError::validation(vec![FieldError::new(
                    &["query", name],
                    "int_parsing",
                    "Input should be a valid integer",
                )])
            })
        })
        .transpose()
    };
    let date = |v: Option<&str>, end: bool| -> Result<Option<DateTime<Utc>>, ApiError> {
        v.map(|s| {
            parse_instant(s, end)
                .ok_or_else(|| ApiError::bad_request("Invalid date format; use ISO 8601"))
        })
        .transpose()
    };
    let filter = AuditFilter {
        entity_type: q.entityType.filter(|s| !s.is_empty()),
        entity_id: id_param("entityId", q.entityId.as_deref())?,
        action: q.action.filter(|s| !s.is_empty()),
        actor: id_param("actorId", q.actorId.as_deref())?.map(UserId),
        from: date(q.dateFrom.as_deref(), false)?,
        to: date(q.dateTo.as_deref(), true)?,
    };
    let (rows, total) = state
        .audit
        .list(filter, paging.limit, paging.offset)
        .await?;
    let data: Vec<AuditDto> = rows.into_iter().map(AuditDto::from).collect();
    let pagination = paging.page(total);
    Ok(respond(
        actix_web::http::StatusCode::OK,
        &WithPagination { data, pagination },
    ))
}
