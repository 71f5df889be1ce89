//! `/me`: the caller's profile (name and phone).

use actix_web::{HttpResponse, get, patch, web};
use mami_domain::ValidationErrors;
use mami_domain::identity::profile::PROFILE_NAME_MAX;
use mami_domain::identity::{FullName, ProfilePatch, ProfilePhone, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authenticated;
use crate::http::{ApiError, ValidJson, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_profile)
        .service(update_profile)
        .service(update_phone);
}

/// `{id, email, full_name, phone, role}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileDto {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub phone: Option<String>,
    #[schema(example = "CUSTOMER")]
    pub role: String,
}

impl From<User> for ProfileDto {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            email: u.email,
            full_name: u.full_name,
            phone: u.phone,
            role: u.role.as_str().to_owned(),
        }
    }
}

/// Omitted or `null` fields are kept.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// 2..128 English or Hebrew letters, spaces, `-`, `'`.
    #[serde(default)]
    pub full_name: Option<String>,
    /// `^\+?\d{8,32}$`.
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneBody {
    /// `^\+?\d{8,32}$`.
    pub phone: String,
}

/// The caller's profile.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses(
    (status = 200, body = inline(Data<ProfileDto>)),
    (status = 404, body = ErrorEnvelope, description = "USER_NOT_FOUND")))]
#[get("")]
pub async fn get_profile(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .accounts
        .profile
        .profile(auth.principal.user_id)
        .await?;
    Ok(ok(ProfileDto::from(user)))
}

/// Changes the name and/or the phone; `{}` answers the profile unchanged. Audited as
/// `user/UPDATE_PROFILE` with the old and new values of what changed.
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = ProfileBody, responses(
    (status = 200, body = inline(Data<ProfileDto>)),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR"),
    (status = 404, body = ErrorEnvelope, description = "USER_NOT_FOUND")))]
#[patch("")]
pub async fn update_profile(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<ProfileBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::default();
    let full_name = body
        .0
        .full_name
        .as_deref()
        .and_then(|n| errors.check(FullName::parse_up_to("full_name", n, PROFILE_NAME_MAX)));
    let phone = body
        .0
        .phone
        .as_deref()
        .and_then(|p| errors.check(ProfilePhone::parse("phone", p)));
    errors.into_result()?;
    let patch = ProfilePatch { full_name, phone };
    let user = state
        .accounts
        .profile
        .update(auth.principal.user_id, patch, &auth.context())
        .await?;
    Ok(ok(ProfileDto::from(user)))
}

/// Changes the phone number. Audited as `user/UPDATE_PHONE` (old and new number).
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = PhoneBody, responses(
    (status = 200, body = inline(Data<ProfileDto>)),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR"),
    (status = 404, body = ErrorEnvelope, description = "USER_NOT_FOUND")))]
#[patch("/phone")]
pub async fn update_phone(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<PhoneBody>,
) -> Result<HttpResponse, ApiError> {
    let phone =
        ProfilePhone::parse("phone", &body.0.phone).map_err(|e| ApiError::validation(vec![e]))?;
    let user = state
        .accounts
        .profile
        .update_phone(auth.principal.user_id, phone, &auth.context())
        .await?;
    Ok(ok(ProfileDto::from(user)))
}
