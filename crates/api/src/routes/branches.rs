//! Public branches, delivery slots and the delivery source.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use mami_domain::branches::SlotFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::dto::{BranchDto, SlotDto};
use crate::http::envelope::{WithPagination, respond};
use crate::http::paging::Model;
use crate::http::params::{invalid, query_id};
use crate::http::{ApiError, Paging, ValidQuery, ok};
use crate::openapi::{Data, DataWithPagination, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(delivery_source)
        .service(list_branches)
        .service(list_slots);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BranchesQuery {
    /// 1..200, default 50.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// Active branches by name, with `pagination`.
#[utoipa::path(tag = "branches", params(BranchesQuery), responses((status = 200,
    body = inline(DataWithPagination<Vec<BranchDto>>)), (status = 400, body = ErrorEnvelope)))]
#[get("/branches")]
pub async fn list_branches(
    state: web::Data<AppState>,
    _q: ValidQuery<BranchesQuery>,
    paging: Paging<Model<200>>,
) -> Result<HttpResponse, ApiError> {
    let (rows, total) = state
        .branches
        .list(false, paging.limit, paging.offset)
        .await?;
    let data: Vec<BranchDto> = rows.into_iter().map(BranchDto::from).collect();
    let pagination = paging.page(total);
    Ok(respond(
        StatusCode::OK,
        &WithPagination { data, pagination },
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct SlotsQuery {
    /// 0 (Sunday) .. 6.
    pub dayOfWeek: Option<String>,
    pub branchId: Option<String>,
}

/// Active delivery slots by branch, day and time.
#[utoipa::path(tag = "branches", params(SlotsQuery), responses((status = 200,
    body = inline(Data<Vec<SlotDto>>)), (status = 400, body = ErrorEnvelope)))]
#[get("/delivery-slots")]
pub async fn list_slots(
    state: web::Data<AppState>,
    q: ValidQuery<SlotsQuery>,
) -> Result<HttpResponse, ApiError> {
    let day_of_week = match q.0.dayOfWeek.as_deref() {
        None => None,
        Some(s) => Some(
            s.trim()
                .parse::<i16>()
                .ok()
                .filter(|d| (0..=6).contains(d))
                .ok_or_else(|| invalid("dayOfWeek", "range", "Input should be 0 (Sunday) to 6"))?,
        ),
    };
    let filter = SlotFilter {
        branch_id: query_id("branchId", q.0.branchId.as_deref())?,
        day_of_week,
        include_inactive: false,
    };
    let rows = state.branches.slots(filter).await?;
    Ok(ok(rows.into_iter().map(SlotDto::from).collect::<Vec<_>>()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliverySourceDto {
    pub id: i64,
    pub name: String,
}

/// The warehouse that serves deliveries (`DELIVERY_SOURCE_BRANCH_ID`).
#[utoipa::path(tag = "branches", responses((status = 200, body = inline(Data<DeliverySourceDto>)),
    (status = 404, body = ErrorEnvelope, description = "CONFIG_ERROR")))]
#[get("/branches/delivery-source")]
pub async fn delivery_source(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let b = state.branches.delivery_source().await?;
    Ok(ok(DeliverySourceDto {
        id: b.id,
        name: b.name,
    }))
}
