//! `/me/addresses`: the caller's address book. Another customer's address is 404
//! `ADDRESS_NOT_FOUND`; every change is audited.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use mami_domain::addresses::{Address, AddressInput, AddressPatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::MessageDto;
use crate::auth::Authenticated;
use crate::http::{ApiError, ValidJson, created, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_addresses)
        .service(create_address)
        .service(update_address)
        .service(delete_address)
        .service(set_default_address);
}

/// `{id, user_id, address_line, city, postal_code, country, is_default, lat, lng}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressDto {
    pub id: i64,
    pub user_id: i64,
    pub address_line: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub is_default: bool,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

impl From<Address> for AddressDto {
    fn from(a: Address) -> Self {
        Self {
            id: a.id,
            user_id: a.user_id.0,
            address_line: a.fields.address_line,
            city: a.fields.city,
            postal_code: a.fields.postal_code,
            country: a.fields.country,
            is_default: a.is_default,
            lat: a.lat,
            lng: a.lng,
        }
    }
}

/// A new address: every field but `is_default` is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddressBody {
    /// 5..256 characters.
    pub address_line: Option<String>,
    /// 2..64 characters.
    pub city: Option<String>,
    /// 4..16 digits.
    pub postal_code: Option<String>,
    /// 2..64 characters.
    pub country: Option<String>,
    /// Makes it the default (the previous default stops being one). Default `false`.
    #[serde(default)]
    pub is_default: Option<bool>,
}

/// Any subset of the fields; omitted or `null` fields are kept. `is_default` is refused (use
/// `PATCH …/default`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressChangeBody {
    pub address_line: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// The caller's addresses: the default first, then the newest first.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses(
    (status = 200, body = inline(Data<Vec<AddressDto>>))))]
#[get("/addresses")]
pub async fn list_addresses(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let list = state
        .accounts
        .addresses
        .list(auth.principal.user_id)
        .await?;
    Ok(ok(list
        .into_iter()
        .map(AddressDto::from)
        .collect::<Vec<_>>()))
}

/// Adds an address (audited `address/CREATE`).
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = NewAddressBody, responses(
    (status = 201, body = inline(Data<AddressDto>)),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR (every broken field)")))]
#[post("/addresses")]
pub async fn create_address(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<NewAddressBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let fields = AddressPatch::parse(AddressInput {
        address_line: b.address_line,
        city: b.city,
        postal_code: b.postal_code,
        country: b.country,
    })?
    .complete()?;
    let address = state
        .accounts
        .addresses
        .create(
            auth.principal.user_id,
            fields,
            b.is_default.unwrap_or(false),
            &auth.context(),
        )
        .await?;
    Ok(created(AddressDto::from(address)))
}

/// Changes an address (audited `address/UPDATE` with the changed fields).
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = AddressChangeBody,
    responses((status = 200, body = inline(Data<AddressDto>)),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR"),
    (status = 404, body = ErrorEnvelope, description = "ADDRESS_NOT_FOUND")))]
#[put("/addresses/{address_id}")]
pub async fn update_address(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    body: ValidJson<AddressChangeBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let patch = AddressPatch::parse(AddressInput {
        address_line: b.address_line,
        city: b.city,
        postal_code: b.postal_code,
        country: b.country,
    })?;
    let address = state
        .accounts
        .addresses
        .update(
            auth.principal.user_id,
            path.into_inner(),
            patch,
            &auth.context(),
        )
        .await?;
    Ok(ok(AddressDto::from(address)))
}

/// Deletes an address (audited `address/DELETE`); deleting the default leaves none.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses(
    (status = 200, body = inline(Data<MessageDto>)),
    (status = 404, body = ErrorEnvelope, description = "ADDRESS_NOT_FOUND")))]
#[delete("/addresses/{address_id}")]
pub async fn delete_address(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .accounts
        .addresses
        .delete(auth.principal.user_id, path.into_inner(), &auth.context())
        .await?;
    Ok(ok(MessageDto {
        message: "Address deleted successfully",
    }))
}

/// Makes an address the default (audited `address/SET_DEFAULT`); idempotent. No body needed.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses(
    (status = 200, body = inline(Data<AddressDto>)),
    (status = 404, body = ErrorEnvelope, description = "ADDRESS_NOT_FOUND")))]
#[patch("/addresses/{address_id}/default")]
pub async fn set_default_address(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let address = state
        .accounts
        .addresses
        .set_default(auth.principal.user_id, path.into_inner(), &auth.context())
        .await?;
    Ok(ok(AddressDto::from(address)))
}
