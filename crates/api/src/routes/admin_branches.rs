//! `/admin/branches`, `/admin/delivery-slots`, `/admin/inventory` (MANAGER, ADMIN).

use actix_web::{HttpResponse, get, patch, post, web};
use mami_domain::branches::{BranchInput, SlotFilter, SlotWindow};
use mami_domain::inventory::{
    InventoryChange, InventoryFilter, InventoryItem, NewInventory, StockChange, parse_quantity,
};
use mami_domain::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::dto::{BranchDto, SlotDto};
use crate::auth::Authenticated;
use crate::http::envelope::Page;
use crate::http::paging::Lenient;
use crate::http::params::{
    Active, RequiredBool, ToggleQuery, UnlessFalse, lenient_id, query_bool, query_id,
};
use crate::http::{ApiError, Paging, ValidJson, ValidQuery, created, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_branch)
        .service(update_branch)
        .service(toggle_branch)
        .service(list_slots)
        .service(create_slot)
        .service(update_slot)
        .service(toggle_slot)
        .service(list_inventory)
        .service(create_inventory)
        .service(update_inventory);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchBody {
    /// 2..100 characters, unique.
    pub name: String,
    /// 5..200 characters.
    pub address: String,
}

/// Creates a branch.
#[utoipa::path(tag = "admin branches", security(("bearer" = [])), request_body = BranchBody,
    responses((status = 201, body = inline(Data<BranchDto>)), (status = 400, body = ErrorEnvelope),
    (status = 409, body = ErrorEnvelope, description = "DUPLICATE_BRANCH")))]
#[post("/branches")]
pub async fn create_branch(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<BranchBody>,
) -> Result<HttpResponse, ApiError> {
    let input = BranchInput::parse(&body.0.name, &body.0.address)?;
    Ok(created(BranchDto::from(
        state.branches.create(input, &auth.context()).await?,
    )))
}

/// Renames or moves a branch (both fields required).
#[utoipa::path(tag = "admin branches", security(("bearer" = [])), request_body = BranchBody,
    responses((status = 200, body = inline(Data<BranchDto>)), (status = 404, body = ErrorEnvelope),
    (status = 409, body = ErrorEnvelope)))]
#[patch("/branches/{id}")]
pub async fn update_branch(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    body: ValidJson<BranchBody>,
) -> Result<HttpResponse, ApiError> {
    let input = BranchInput::parse(&body.0.name, &body.0.address)?;
    Ok(ok(BranchDto::from(
        state
            .branches
            .update(path.into_inner(), input, &auth.context())
            .await?,
    )))
}

/// `?active=true|false` (required). The delivery source cannot be deactivated (409).
#[utoipa::path(tag = "admin branches", security(("bearer" = [])), params(ToggleQuery),
    responses((status = 200, body = inline(Data<BranchDto>)), (status = 400, body = ErrorEnvelope),
    (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope,
    description = "CANNOT_DEACTIVATE_DELIVERY_SOURCE")))]
#[patch("/branches/{id}/toggle")]
pub async fn toggle_branch(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    flag: Active<RequiredBool>,
) -> Result<HttpResponse, ApiError> {
    let branch = state
        .branches
        .set_active(path.into_inner(), flag.active, &auth.context())
        .await?;
    Ok(ok(BranchDto::from(branch)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct AdminSlotsQuery {
    pub branchId: Option<String>,
    /// `true` lists inactive slots too (to re-enable one); default: active slots only.
    pub include_inactive: Option<String>,
    /// Only slots of this activity (`active=false`: the inactive ones); overrides
    /// `include_inactive`.
    pub active: Option<String>,
}

/// Active slots, as in the reference (the React slot editor does not read `is_active`);
/// `include_inactive=true` or `active=false` shows the others.
#[utoipa::path(tag = "admin branches", security(("bearer" = [])), params(AdminSlotsQuery),
    responses((status = 200, body = inline(Data<Vec<SlotDto>>)),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR")))]
#[get("/delivery-slots")]
pub async fn list_slots(
    state: web::Data<AppState>,
    q: ValidQuery<AdminSlotsQuery>,
) -> Result<HttpResponse, ApiError> {
    let active = query_bool("active", q.0.active.as_deref())?;
    let everything = query_bool("include_inactive", q.0.include_inactive.as_deref())?;
    let active = match (active, everything) {
        (Some(a), _) => Some(a),
        (None, Some(true)) => None,
        (None, _) => Some(true),
    };
    let filter = SlotFilter {
        branch_id: query_id("branchId", q.0.branchId.as_deref())?,
        day_of_week: None,
        include_inactive: active != Some(true),
    };
    let rows = state.branches.slots(filter).await?;
    let data: Vec<SlotDto> = rows
        .into_iter()
        .filter(|s| active.is_none_or(|a| s.is_active == a))
        .map(SlotDto::from)
        .collect();
    Ok(ok(data))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotBody {
    /// Required on create; ignored on update.
    pub branch_id: Option<i64>,
    /// 0 (Sunday) .. 6.
    pub day_of_week: i64,
    /// `HH:MM` or `HH:MM:SS`; the window is exactly two hours between 06:00 and 22:00.
    pub start_time: String,
    pub end_time: String,
}

/// Creates a weekly slot.
#[utoipa::path(tag = "admin branches", security(("bearer" = [])), request_body = SlotBody,
    responses((status = 201, body = inline(Data<SlotDto>)), (status = 400, body = ErrorEnvelope),
    (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope,
    description = "DUPLICATE_SLOT")))]
#[post("/delivery-slots")]
pub async fn create_slot(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<SlotBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let window = SlotWindow::parse(b.day_of_week, &b.start_time, &b.end_time);
    let branch_id = b.branch_id.filter(|id| *id >= 1);
    let mut errors = match &window {
        Ok(_) => ValidationErrors::default(),
        Err(e) => e.clone(),
    };
    if branch_id.is_none() {
        errors.push(FieldError::new(
            &["branch_id"],
            "missing",
            "A branch id ≥ 1 is required",
        ));
    }
    errors.into_result()?;
    let (Some(branch_id), Ok(window)) = (branch_id, window) else {
        return Err(ApiError::bad_request("Invalid slot"));
    };
    Ok(created(SlotDto::from(
        state
            .branches
            .create_slot(branch_id, window, &auth.context())
            .await?,
    )))
}

/// Replaces a slot's day and window.
#[utoipa::path(tag = "admin branches", security(("bearer" = [])), request_body = SlotBody,
    responses((status = 200, body = inline(Data<SlotDto>)), (status = 400, body = ErrorEnvelope),
    (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope,
    description = "DUPLICATE_SLOT (another active slot of the branch starts then)")))]
#[patch("/delivery-slots/{id}")]
pub async fn update_slot(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    body: ValidJson<SlotBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let window = SlotWindow::parse(b.day_of_week, &b.start_time, &b.end_time)?;
    Ok(ok(SlotDto::from(
        state
            .branches
            .update_slot(path.into_inner(), window, &auth.context())
            .await?,
    )))
}

/// Only `?active=false` deactivates (reference semantics). Reactivating a slot while another
/// active slot of the branch starts at the same time is 409 `DUPLICATE_SLOT`.
#[utoipa::path(tag = "admin branches", security(("bearer" = [])), params(ToggleQuery),
    responses((status = 200, body = inline(Data<SlotDto>)), (status = 404, body = ErrorEnvelope),
    (status = 409, body = ErrorEnvelope, description = "DUPLICATE_SLOT")))]
#[patch("/delivery-slots/{id}/toggle")]
pub async fn toggle_slot(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    flag: Active<UnlessFalse>,
) -> Result<HttpResponse, ApiError> {
    let slot = state
        .branches
        .set_slot_active(path.into_inner(), flag.active, &auth.context())
        .await?;
    Ok(ok(SlotDto::from(slot)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct InventoryQuery {
    pub limit: Option<String>,
    pub offset: Option<String>,
    pub branchId: Option<String>,
    pub productId: Option<String>,
}

/// An inventory row; `limit`, `offset`, `total` repeat the page (reference shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryDto {
    pub id: i64,
    pub branch_id: i64,
    pub branch_name: String,
    pub product_id: i64,
    pub product_name: String,
    pub product_sku: String,
    pub available_quantity: i32,
    pub reserved_quantity: i32,
    pub reorder_point: i32,
    pub limit: i64,
    pub offset: i64,
    pub total: i64,
}

fn inventory_dto(i: InventoryItem, page: Page) -> InventoryDto {
    InventoryDto {
        id: i.id,
        branch_id: i.branch_id,
        branch_name: i.branch_name,
        product_id: i.product_id,
        product_name: i.product_name,
        product_sku: i.product_sku,
        available_quantity: i.available_quantity,
        reserved_quantity: i.reserved_quantity,
        reorder_point: i.reorder_point,
        limit: page.limit,
        offset: page.offset,
        total: page.total,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryPageDto {
    pub items: Vec<InventoryDto>,
    pub pagination: Page,
}

/// Inventory rows by branch and product name: `data = {items, pagination}`.
#[utoipa::path(tag = "admin branches", security(("bearer" = [])), params(InventoryQuery),
    responses((status = 200, body = inline(Data<InventoryPageDto>))))]
#[get("/inventory")]
pub async fn list_inventory(
    state: web::Data<AppState>,
    q: ValidQuery<InventoryQuery>,
    paging: Paging<Lenient>,
) -> Result<HttpResponse, ApiError> {
    let q = q.0;
    let filter = InventoryFilter {
        branch_id: lenient_id(q.branchId.as_deref()),
        product_id: lenient_id(q.productId.as_deref()),
    };
    let (rows, total) = state
        .inventory
        .list(filter, paging.limit, paging.offset)
        .await?;
    let page = paging.page(total);
    Ok(ok(InventoryPageDto {
        items: rows.into_iter().map(|i| inventory_dto(i, page)).collect(),
        pagination: page,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryBody {
    pub product_id: i64,
    pub branch_id: i64,
    pub available_quantity: i64,
    #[serde(default)]
    pub reserved_quantity: i64,
    #[serde(default)]
    pub reorder_point: i64,
}

const ZERO_PAGE: Page = Page {
    total: 0,
    limit: 0,
    offset: 0,
};

/// Creates the inventory row of a product at a branch.
#[utoipa::path(tag = "admin branches", security(("bearer" = [])), request_body = InventoryBody,
    responses((status = 201, body = inline(Data<InventoryDto>)), (status = 400,
    body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409,
    body = ErrorEnvelope, description = "DUPLICATE_INVENTORY")))]
#[post("/inventory")]
pub async fn create_inventory(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<InventoryBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut e = ValidationErrors::default();
    for (field, v) in [("product_id", b.product_id), ("branch_id", b.branch_id)] {
        if v < 1 {
            e.push(FieldError::new(
                &[field],
                "greater_than",
                "Input should be greater than 0",
            ));
        }
    }
    let available = e.check(parse_quantity("available_quantity", b.available_quantity));
    let reserved = e.check(parse_quantity("reserved_quantity", b.reserved_quantity));
    let reorder = e.check(parse_quantity("reorder_point", b.reorder_point));
    e.clone().into_result()?;
    let new = NewInventory {
        product_id: b.product_id,
        branch_id: b.branch_id,
        available_quantity: available.unwrap_or(0),
        reserved_quantity: reserved.unwrap_or(0),
        reorder_point: reorder.unwrap_or(0),
    };
    Ok(created(inventory_dto(
        state.inventory.create(new, &auth.context()).await?,
        ZERO_PAGE,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InventoryPatchBody {
    /// Set the stock to this.
    pub available_quantity: Option<i64>,
    /// Or move it by this much (received goods, a count correction); never below zero (409).
    pub available_delta: Option<i64>,
    pub reserved_quantity: Option<i64>,
    pub reorder_point: Option<i64>,
}

/// Changes a row under a row lock: concurrent changes serialise and none is lost.
#[utoipa::path(tag = "admin branches", security(("bearer" = [])), request_body = InventoryPatchBody,
    responses((status = 200, body = inline(Data<InventoryDto>)), (status = 400,
    body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409,
    body = ErrorEnvelope, description = "INSUFFICIENT_STOCK")))]
#[patch("/inventory/{id}")]
pub async fn update_inventory(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    body: ValidJson<InventoryPatchBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut e = ValidationErrors::default();
    let available = match (b.available_quantity, b.available_delta) {
        (Some(_), Some(_)) => {
            e.push(FieldError::new(
                &["available_delta"],
                "value_error",
                "Give available_quantity or available_delta, not both",
            ));
            None
        }
        (Some(q), None) => e
            .check(parse_quantity("available_quantity", q))
            .map(StockChange::Set),
        (None, Some(d)) => match i32::try_from(d) {
            Ok(d) if d != 0 && d.unsigned_abs() <= 1_000_000 => Some(StockChange::Adjust(d)),
            _ => {
                e.push(FieldError::new(
                    &["available_delta"],
                    "value_error",
                    "Input should be a non-zero whole number within ±1000000",
                ));
                None
            }
        },
        (None, None) => None,
    };
    let reserved = b
        .reserved_quantity
        .and_then(|r| e.check(parse_quantity("reserved_quantity", r)));
    let reorder_point = b
        .reorder_point
        .and_then(|r| e.check(parse_quantity("reorder_point", r)));
    e.into_result()?;
    let change = InventoryChange {
        available,
        reserved,
        reorder_point,
    };
    let item = state
        .inventory
        .change(path.into_inner(), change, &auth.context())
        .await?;
    Ok(ok(inventory_dto(item, ZERO_PAGE)))
}
