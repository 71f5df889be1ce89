//! `/auth`: register, login, refresh, logout, me, change password.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, SecondsFormat, Utc};
use mami_domain::ValidationErrors;
use mami_domain::identity::{
    Email, FullName, LoginPassword, NewPassword, Phone, Registration, Role, TokenKind, User,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::dto::RoleName;
use crate::auth::Authenticated;
use crate::auth::extractor::{authenticate, request_context};
use crate::http::{ApiError, ValidJson, created, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(register)
        .service(login)
        .service(refresh)
        .service(logout)
        .service(get_me)
        .service(change_password);
}

/// `{id, email, full_name, role}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    #[schema(example = "CUSTOMER")]
    pub role: String,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.0,
            email: u.email.clone(),
            full_name: u.full_name.clone(),
            role: u.role.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    pub user: UserDto,
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires (RFC 3339, UTC).
    pub expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPairDto {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDto {
    pub message: &'static str,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// 6..100 characters, `local@domain.tld`; unique regardless of case and of Unicode
    /// compatibility forms (stored NFKC-normalised and case-folded).
    #[schema(format = Email)]
    pub email: String,
    /// 8..64 of `A-Z a-z 0-9 !@#$%^&*()_+=-`, with a letter and a digit.
    #[schema(format = "new-password")]
    pub password: String,
    /// 2..50 English or Hebrew letters, spaces, `-`, `'`.
    #[schema(format = "full-name")]
    pub full_name: String,
    /// 9..13 characters.
    #[serde(default)]
    #[schema(format = "phone")]
    pub phone: Option<String>,
    /// Only `CUSTOMER` is accepted; any other role is 403.
    #[serde(default)]
    pub role: Option<RoleName>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[schema(format = Email)]
    pub email: String,
    #[schema(format = "login-password")]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    #[schema(format = "login-password")]
    pub current_password: String,
    #[schema(format = "new-password")]
    pub new_password: String,
}

pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A new token pair for `user`, in session `sid` (a new session when `None`).
fn token_pair(state: &AppState, user: &User, sid: Option<&str>) -> Result<TokenPairDto, ApiError> {
    let t = state
        .tokens
        .issue(user, sid)
        .map_err(|e| ApiError::internal(&e))?;
    Ok(TokenPairDto {
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        expires_at: rfc3339(t.access_expires_at),
    })
}

/// The user and a token pair of a new session.
fn auth_response(state: &AppState, user: &User) -> Result<AuthResponse, ApiError> {
    let t = token_pair(state, user, None)?;
    Ok(AuthResponse {
        user: UserDto::from(user),
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        expires_at: t.expires_at,
    })
}

/// Creates a customer account and signs it in. A privileged `role` is refused with 403. With
/// test cards on (`PAYMENT_TEST_CARDS`), the customer also gets the provider's test card.
#[utoipa::path(tag = "auth", request_body = RegisterBody, responses(
    (status = 201, body = inline(Data<AuthResponse>)),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR, USER_EXISTS"),
    (status = 403, body = ErrorEnvelope, description = "AUTHORIZATION_ERROR (privileged role)"),
    (status = 503, body = ErrorEnvelope,
        description = "SERVICE_UNAVAILABLE with Retry-After: every password-hashing lane busy")))]
#[post("/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut errors = ValidationErrors::default();
    let email = errors.check(Email::parse("email", &b.email));
    let password = errors.check(NewPassword::parse("password", &b.password));
    let full_name = errors.check(FullName::parse("full_name", &b.full_name));
    let phone = b
        .phone
        .as_deref()
        .map(|p| errors.check(Phone::parse("phone", p)));
    let requested_role = b.role.map(Role::from);
    let (Some(email), Some(password), Some(full_name)) = (email, password, full_name) else {
        return Err(errors.into());
    };
    errors.clone().into_result()?;
    let reg = Registration {
        email,
        password,
        full_name,
        phone: phone.flatten(),
        requested_role,
    };
    let ctx = request_context(&req);
    let user = state.identity.register(reg, &ctx).await?;
    state.welcome(&user, &ctx.with_actor(user.id)).await;
    Ok(created(auth_response(&state, &user)?))
}

/// Signs in with e-mail and password. Wrong e-mail and wrong password are the same 400.
#[utoipa::path(tag = "auth", request_body = LoginBody, responses(
    (status = 200, body = inline(Data<AuthResponse>)),
    (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR, INVALID_CREDENTIALS"),
    (status = 403, body = ErrorEnvelope, description = "ACCOUNT_INACTIVE"),
    (status = 429, body = ErrorEnvelope, description = "HTTP_429 (5 per minute)"),
    (status = 503, body = ErrorEnvelope,
        description = "SERVICE_UNAVAILABLE with Retry-After: every password-hashing lane busy")))]
#[post("/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::default();
    let email = errors.check(Email::parse("email", &body.0.email));
    let password = errors.check(LoginPassword::parse("password", &body.0.password));
    let (Some(email), Some(password)) = (email, password) else {
        return Err(errors.into());
    };
    let user = state
        .identity
        .login(&email, &password, &request_context(&req))
        .await?;
    Ok(ok(auth_response(&state, &user)?))
}

/// Spends the refresh token (sent as `Authorization: Bearer`) for a new token pair of the
/// same session. A refresh token works once.
#[utoipa::path(tag = "auth", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<TokenPairDto>)), (status = 401, body = ErrorEnvelope,
    description = "AUTH_REQUIRED, TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_REVOKED")))]
#[post("/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let facts = state
        .tokens
        .verify(crate::auth::extractor::bearer_token(&req)?)?;
    let user = state
        .identity
        .refresh(&facts, &request_context(&req))
        .await?;
    Ok(ok(token_pair(&state, &user, Some(&facts.sid))?))
}

/// Ends the session of the presented access token: it and its refresh token stop working.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = inline(Data<MessageDto>)))
)]
#[post("/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let until = Utc::now() + state.tokens.refresh_ttl;
    state
        .identity
        .logout(&auth.principal, &auth.token, until, &auth.context())
        .await?;
    Ok(ok(MessageDto {
        message: "Logged out",
    }))
}

/// The signed-in user.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = inline(Data<UserDto>)))
)]
#[get("/me")]
pub async fn get_me(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let auth = authenticate(&req, TokenKind::Access).await?;
    let p = &auth.principal;
    Ok(ok(UserDto {
        id: p.user_id.0,
        email: p.email.clone(),
        full_name: p.full_name.clone(),
        role: p.role.as_str().to_owned(),
    }))
}

/// Changes the password; every token issued before, this one included, stops working.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = ChangePasswordBody,
    responses(
        (status = 200, body = inline(Data<MessageDto>)),
        (status = 400, body = ErrorEnvelope, description = "VALIDATION_ERROR, INVALID_CREDENTIALS"),
        (status = 503, body = ErrorEnvelope,
            description = "SERVICE_UNAVAILABLE with Retry-After: every password-hashing lane busy")
    )
)]
#[post("/change-password")]
pub async fn change_password(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: ValidJson<ChangePasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = ValidationErrors::default();
    let current = errors.check(LoginPassword::parse(
        "current_password",
        &body.0.current_password,
    ));
    let new = errors.check(NewPassword::parse("new_password", &body.0.new_password));
    let (Some(current), Some(new)) = (current, new) else {
        return Err(errors.into());
    };
    state
        .identity
        .change_password(&auth.principal, &current, &new, &auth.context())
        .await?;
    Ok(ok(MessageDto {
        message: "Password updated",
    }))
}
