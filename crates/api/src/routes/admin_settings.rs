//! `/admin/settings` (read: ADMIN; change: MANAGER, ADMIN) and `/admin/analytics/revenue`
//! (ADMIN).

use actix_web::{HttpResponse, get, put, web};
use chrono::Utc;
use mami_domain::analytics::RevenueQuery;
use mami_domain::identity::Role;
use mami_domain::settings::{MAX_SETTING, Settings, SettingsPatch};
use mami_domain::{Money, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::rfc3339;
use crate::auth::Authenticated;
use crate::http::{ApiError, ValidJson, ValidQuery, ok};
use crate::openapi::{Data, ErrorEnvelope, optional_amount};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_settings)
        .service(put_settings)
        .service(revenue);
}

fn require_admin(auth: &Authenticated) -> Result<(), ApiError> {
    if auth.principal.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// Amounts are JSON numbers here (the client computes with them).
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsDto {
    pub id: i64,
    /// Free-delivery threshold: carts below it pay `delivery_fee`.
    pub delivery_min: f64,
    pub delivery_fee: f64,
    /// Kept for compatibility; no effect.
    pub free_threshold: f64,
    pub updated_at: String,
    pub updated_by: Option<i64>,
}

impl From<Settings> for SettingsDto {
    fn from(s: Settings) -> Self {
        Self {
            id: 1,
            delivery_min: s.delivery_min.as_f64(),
            delivery_fee: s.delivery_fee.as_f64(),
            free_threshold: s.free_threshold.as_f64(),
            updated_at: rfc3339(s.updated_at),
            updated_by: s.updated_by.map(|u| u.0),
        }
    }
}

/// The global settings (created from `DELIVERY_MIN_TOTAL`/`DELIVERY_FEE_UNDER_MIN` on first read).
#[utoipa::path(tag = "admin settings", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<SettingsDto>)), (status = 403, body = ErrorEnvelope)))]
#[get("/settings")]
pub async fn get_settings(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    require_admin(&auth)?;
    Ok(ok(SettingsDto::from(state.settings.get().await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// 0..100000, a number or a numeric string.
    #[schema(schema_with = optional_amount)]
    pub delivery_min: Option<Value>,
    #[schema(schema_with = optional_amount)]
    pub delivery_fee: Option<Value>,
    #[schema(schema_with = optional_amount)]
    pub free_threshold: Option<Value>,
    /// The delivery hours the React client sends (e.g. `"06:00-22:00"`); accepted and
    /// ignored, as in the reference: slot windows are managed under `/admin/delivery-slots`.
    #[schema(max_length = 100)]
    pub slots: Option<String>,
}

/// Changes any of the three amounts.
#[utoipa::path(tag = "admin settings", security(("bearer" = [])), request_body = SettingsBody,
    responses((status = 200, body = inline(Data<SettingsDto>)), (status = 400,
    body = ErrorEnvelope)))]
#[put("/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<SettingsBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut e = ValidationErrors::default();
    let mut amount = |field: &str, v: Option<Value>| {
        v.and_then(|v| e.check(Money::parse_json(field, &v, Money::ZERO, MAX_SETTING)))
    };
    let patch = SettingsPatch {
        delivery_min: amount("delivery_min", b.delivery_min),
        delivery_fee: amount("delivery_fee", b.delivery_fee),
        free_threshold: amount("free_threshold", b.free_threshold),
    };
    e.into_result()?;
    if patch == SettingsPatch::default() {
        // `slots` alone changes nothing: the settings as they are.
        return match b.slots {
            Some(_) => Ok(ok(SettingsDto::from(state.settings.get().await?))),
            None => Err(ApiError::bad_request("Missing JSON body")),
        };
    }
    Ok(ok(SettingsDto::from(
        state.settings.update(patch, &auth.context()).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevenueParams {
    /// `N` + `d`/`m`/`y`, default `30d`.
    pub range: Option<String>,
    /// `day`, `month` or `year`; default day for day ranges, month otherwise.
    pub granularity: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevenueDto {
    pub labels: Vec<String>,
    pub values: Vec<f64>,
}

/// Revenue of delivered orders per bucket (only buckets with orders).
#[utoipa::path(tag = "admin settings", security(("bearer" = [])), params(RevenueParams),
    responses((status = 200, body = inline(Data<RevenueDto>)), (status = 400, body = ErrorEnvelope),
    (status = 403, body = ErrorEnvelope)))]
#[get("/analytics/revenue")]
pub async fn revenue(
    state: web::Data<AppState>,
    auth: Authenticated,
    q: ValidQuery<RevenueParams>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&auth)?;
    let query = RevenueQuery::parse(q.0.range.as_deref(), q.0.granularity.as_deref(), Utc::now())
        .map_err(|e| ApiError::validation(vec![e]))?;
    let rows = state.revenue.revenue(query).await?;
    let (labels, values) = rows.into_iter().map(|(l, m)| (l, m.as_f64())).unzip();
    Ok(ok(RevenueDto { labels, values }))
}
