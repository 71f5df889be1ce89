//! `/admin/users` (MANAGER, ADMIN): only an ADMIN grants or touches the ADMIN role; nobody
//! changes their own role or deactivates themselves.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, web};
use mami_domain::ValidationErrors;
use mami_domain::identity::{FullName, Phone, Role, User, UserFilter, UserId, UserPatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::rfc3339;
use super::dto::RoleName;
use crate::auth::Authenticated;
use crate::http::envelope::respond;
use crate::http::paging::Model;
use crate::http::params::{Active, YesOrNo, invalid, nullable, query_bool};
use crate::http::{ApiError, Paging, ValidJson, ValidQuery, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_users)
        .service(get_user)
        .service(update_user)
        .service(toggle_user);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserAdminDto {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub role: String,
    pub is_active: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Detail only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_branch_id: Option<Option<i64>>,
}

fn dto(u: User, detail: bool) -> UserAdminDto {
    UserAdminDto {
        id: u.id.0,
        email: u.email,
        full_name: u.full_name,
        phone: u.phone,
        role: u.role.as_str().to_owned(),
        is_active: u.is_active,
        created_at: rfc3339(u.created_at),
        updated_at: rfc3339(u.updated_at),
        default_branch_id: detail.then_some(u.default_branch_id),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case)]
pub struct UsersQuery {
    /// Substring of e-mail or name, any case.
    pub q: Option<String>,
    pub role: Option<String>,
    pub isActive: Option<String>,
    /// 1..200, default 50.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsersPage {
    pub data: Vec<UserAdminDto>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// Users, newest first: `{data, total, limit, offset}` at the top level.
#[utoipa::path(tag = "admin users", security(("bearer" = [])), params(UsersQuery),
    responses((status = 200, body = UsersPage), (status = 400, body = ErrorEnvelope)))]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    q: ValidQuery<UsersQuery>,
    paging: Paging<Model<200>>,
) -> Result<HttpResponse, ApiError> {
    let q = q.0;
    let Paging { limit, offset, .. } = paging;
    let role = q
        .role
        .as_deref()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                invalid(
                    "role",
                    "enum",
                    "Input should be CUSTOMER, EMPLOYEE, MANAGER or ADMIN",
                )
            })
        })
        .transpose()?;
    let filter = UserFilter {
        q: q.q
            .map(|s| s.trim().chars().take(100).collect::<String>())
            .filter(|s| !s.is_empty()),
        role,
        is_active: query_bool("isActive", q.isActive.as_deref())?,
    };
    let (rows, total) = state.users.list(filter, limit, offset).await?;
    let data = rows.into_iter().map(|u| dto(u, false)).collect();
    Ok(respond(
        StatusCode::OK,
        &UsersPage {
            data,
            total,
            limit,
            offset,
        },
    ))
}

/// One user; 404 `USER_NOT_FOUND`.
#[utoipa::path(tag = "admin users", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<UserAdminDto>)), (status = 404, body = ErrorEnvelope)))]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(dto(
        state.users.get(UserId(path.into_inner())).await?,
        true,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    pub role: Option<RoleName>,
    pub is_active: Option<bool>,
    #[schema(format = "full-name")]
    pub full_name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "phone")]
    pub phone: Option<Option<String>>,
}

/// Changes role, activity, name or phone.
#[utoipa::path(tag = "admin users", security(("bearer" = [])), request_body = UserPatchBody,
    responses((status = 200, body = inline(Data<UserAdminDto>)), (status = 400,
    body = ErrorEnvelope), (status = 403, body = ErrorEnvelope,
    description = "CANNOT_MODIFY_SELF_ROLE, CANNOT_DEACTIVATE_SELF, AUTHORIZATION_ERROR"),
    (status = 404, body = ErrorEnvelope)))]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    body: ValidJson<UserPatchBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut e = ValidationErrors::default();
    let role = b.role.map(Role::from);
    let full_name = b
        .full_name
        .as_deref()
        .and_then(|n| e.check(FullName::parse("full_name", n)))
        .map(|n| n.as_str().to_owned());
    let phone = b.phone.map(|p| {
        p.and_then(|p| {
            e.check(Phone::parse("phone", &p))
                .map(|p| p.as_str().to_owned())
        })
    });
    e.into_result()?;
    let patch = UserPatch {
        role,
        is_active: b.is_active,
        full_name,
        phone,
    };
    update(&state, &auth, path.into_inner(), patch, "USER_UPDATED").await
}

/// Applies `patch` to user `id` as the caller, audited as `action`; answers the user's detail.
async fn update(
    state: &AppState,
    auth: &Authenticated,
    id: i64,
    patch: UserPatch,
    action: &'static str,
) -> Result<HttpResponse, ApiError> {
    let ctx = auth.context();
    let user = state
        .users
        .update(&auth.principal, UserId(id), patch, &ctx, action)
        .await?;
    Ok(ok(dto(user, true)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserToggleQuery {
    /// `1/true/yes` or `0/false/no`; anything else is 400 `MISSING_ACTIVE_PARAM`.
    pub active: Option<String>,
}

/// Activates or deactivates a user.
#[utoipa::path(tag = "admin users", security(("bearer" = [])), params(UserToggleQuery),
    responses((status = 200, body = inline(Data<UserAdminDto>)), (status = 400,
    body = ErrorEnvelope, description = "MISSING_ACTIVE_PARAM"), (status = 403,
    body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
#[patch("/users/{id}/toggle")]
pub async fn toggle_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
    flag: Active<YesOrNo>,
) -> Result<HttpResponse, ApiError> {
    let patch = UserPatch {
        is_active: Some(flag.active),
        ..UserPatch::default()
    };
    update(&state, &auth, path.into_inner(), patch, "USER_TOGGLED").await
}
