//! `/auth`: forgotten passwords and registration codes. The mail these routes send goes
//! through the outbox: the answer never waits for (or depends on) the mail provider.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::Utc;
use mami_domain::identity::{Email, NewPassword};
use mami_domain::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::MessageDto;
use crate::auth::extractor::request_context;
use crate::http::{ApiError, ValidJson, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(forgot_password)
        .service(reset_password)
        .service(send_registration_code)
        .service(verify_registration_code);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    pub email: String,
    /// The token of the reset link, 8..128 characters.
    pub token: String,
    /// 8..64 of `A-Z a-z 0-9 !@#$%^&*()_+=-`, with a letter and a digit.
    pub new_password: String,
}

impl std::fmt::Debug for ResetBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetBody")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyCodeBody {
    pub email: String,
    /// Exactly four digits.
    pub code: String,
}

/// `{message: "OTP sent"}`, and the code itself outside production.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSentDto {
    pub message: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The e-mail of a body, or 400 `BAD_REQUEST` "Email is required" when absent or blank.
fn required_email(body: &EmailBody) -> Result<&str, ApiError> {
    body.email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::bad_request("Email is required"))
}

/// Mails a reset link (valid 30 minutes, once) if an active account has this e-mail. The
/// answer is the same whether or not one does.
#[utoipa::path(tag = "auth", request_body = EmailBody, responses(
    (status = 200, body = inline(Data<MessageDto>)),
    (status = 400, body = ErrorEnvelope, description = "BAD_REQUEST \"Email is required\"")))]
#[post("/forgot-password")]
pub async fn forgot_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    // Not an address: no account can have it, and the answer must not say so.
    if let Ok(email) = Email::parse("email", required_email(&body.0)?) {
        state
            .accounts
            .recovery
            .forgot_password(&email, Utc::now(), &request_context(&req))
            .await?;
        state.accounts.mail_wake.notify_one();
    }
    Ok(ok(MessageDto {
        message: "Password reset link sent",
    }))
}

/// Sets a new password with the token of a reset link. Every reset link of the account and
/// every token issued before (access and refresh) stop working.
#[utoipa::path(tag = "auth", request_body = ResetBody, responses(
    (status = 200, body = inline(Data<MessageDto>)),
    (status = 400, body = ErrorEnvelope,
        description = "VALIDATION_ERROR, INVALID_OR_EXPIRED_TOKEN (an unknown e-mail too)")))]
#[post("/reset-password")]
pub async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<ResetBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut errors = ValidationErrors::default();
    let email = errors.check(Email::parse("email", &b.email));
    match b.token.chars().count() {
        n if n < 8 => errors.push(FieldError::new(
            &["token"],
            "string_too_short",
            "String should have at least 8 characters",
        )),
        n if n > 128 => errors.push(FieldError::new(
            &["token"],
            "string_too_long",
            "String should have at most 128 characters",
        )),
        _ => {}
    }
    let password = errors.check(NewPassword::parse("new_password", &b.new_password));
    let (Some(email), Some(password)) = (email, password) else {
        return Err(errors.into());
    };
    errors.into_result()?;
    state
        .accounts
        .recovery
        .reset_password(
            &email,
            &b.token,
            &password,
            Utc::now(),
            &request_context(&req),
        )
        .await?;
    Ok(ok(MessageDto {
        message: "Password has been reset",
    }))
}

/// Mails a four-digit registration code (valid 10 minutes, once, five wrong guesses). Only
/// where `ENABLE_REGISTRATION_OTP` is set or outside production; the code is in the answer
/// only outside production.
#[utoipa::path(tag = "auth", request_body = EmailBody, responses(
    (status = 200, body = inline(Data<CodeSentDto>)),
    (status = 400, body = ErrorEnvelope, description = "BAD_REQUEST, VALIDATION_ERROR"),
    (status = 403, body = ErrorEnvelope, description = "OTP_NOT_ENVIRONMENT"),
    (status = 409, body = ErrorEnvelope, description = "USER_ALREADY_EXISTS"),
    (status = 429, body = ErrorEnvelope, description = "HTTP_429 (3 per minute)")))]
#[post("/register/send-otp")]
pub async fn send_registration_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<EmailBody>,
) -> Result<HttpResponse, ApiError> {
    let recovery = &state.accounts.recovery;
    recovery.registration_codes()?;
    let email = Email::parse("email", required_email(&body.0)?)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let code = recovery
        .send_registration_code(&email, Utc::now(), &request_context(&req))
        .await?;
    state.accounts.mail_wake.notify_one();
    Ok(ok(CodeSentDto {
        message: "OTP sent",
        code: (!state.config.app_env.is_production()).then_some(code),
    }))
}

/// Checks a registration code; a right one is spent.
#[utoipa::path(tag = "auth", request_body = VerifyCodeBody, responses(
    (status = 200, body = inline(Data<MessageDto>)),
    (status = 400, body = ErrorEnvelope,
        description = "VALIDATION_ERROR, INVALID_REGISTRATION_OTP (wrong, expired, used, or \
        after five wrong guesses)"),
    (status = 403, body = ErrorEnvelope, description = "OTP_NOT_ENVIRONMENT"),
    (status = 429, body = ErrorEnvelope, description = "HTTP_429 (10 per minute)")))]
#[post("/register/verify-otp")]
pub async fn verify_registration_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ValidJson<VerifyCodeBody>,
) -> Result<HttpResponse, ApiError> {
    let recovery = &state.accounts.recovery;
    recovery.registration_codes()?;
    let mut errors = ValidationErrors::default();
    let email = errors.check(Email::parse("email", &body.0.email));
    let code = body.0.code.trim();
    if code.len() != 4 || !code.chars().all(|c| c.is_ascii_digit()) {
        errors.push(FieldError::new(
            &["code"],
            "string_pattern_mismatch",
            "String should match pattern '^\\d{4}$'",
        ));
    }
    let Some(email) = email else {
        return Err(errors.into());
    };
    errors.into_result()?;
    recovery
        .verify_registration_code(&email, code, Utc::now(), &request_context(&req))
        .await?;
    Ok(ok(MessageDto {
        message: "OTP verified",
    }))
}
