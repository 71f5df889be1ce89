//! The error envelope `{"error": {code, message, status_code, details}}` and the mapping of
//! every domain error onto it.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use mami_domain::catalog::CatalogError;
use mami_domain::identity::{AuthError, ChangePasswordError, LoginError, RegisterError};
use mami_domain::{DomainError, FieldError, InfraError, ValidationErrors};
use serde::Serialize;
use serde_json::{Value, json};

mod accounts;
mod checkout;
mod ops;
mod stock_requests;
mod upload;

pub use checkout::confirm_outcome;
pub use stock_requests::bulk_failure;

/// Fixed messages for plain HTTP errors, as the reference words them.
pub fn http_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request was not formed correctly. Please review your input.",
        401 => "Authentication is required. Please sign in and try again.",
        403 => "You do not have permission to take that action.",
        404 => "We cannot find the requested resource.",
        405 => "The requested method is not supported for this endpoint.",
        409 => "There is a conflict with the current state of the resource.",
        410 => "The requested resource is no longer available.",
        422 => "Some of the submitted values were invalid.",
        _ => "The request could not be completed as submitted. Please try again.",
    }
}

pub const VALIDATION_MESSAGE: &str = "Please correct the highlighted input and submit again.";

/// An error as the client sees it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Seconds to wait, sent as `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorInner<'a>,
}

#[derive(Serialize)]
struct ErrorInner<'a> {
    code: &'a str,
    message: &'a str,
    status_code: u16,
    details: &'a Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: json!({}),
            retry_after: None,
        }
    }

    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// `HTTP_<status>` with the reference's fixed message.
    pub fn http(status: StatusCode) -> Self {
        let code = match status.as_u16() {
            400 => "HTTP_400",
            401 => "HTTP_401",
            403 => "HTTP_403",
            404 => "HTTP_404",
            405 => "HTTP_405",
            408 => "HTTP_408",
            409 => "HTTP_409",
            413 => "HTTP_413",
            414 => "HTTP_414",
            415 => "HTTP_415",
            429 => "HTTP_429",
            431 => "HTTP_431",
            503 => "HTTP_503",
            _ => "HTTP_500",
        };
        Self::new(status, code, http_message(status))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            VALIDATION_MESSAGE,
        )
        .with_details(json!({ "errors": errors }))
    }

    pub fn auth_required(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "AUTH_REQUIRED", message)
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AUTHORIZATION_ERROR",
            "Insufficient permissions",
        )
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// A failure the client cannot fix: logged here, once, and answered generically.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNEXPECTED_ERROR",
            "We could not complete your request at this time. Please try again shortly.",
        )
    }

    /// The body of the answer: `{"error": {code, message, status_code, details}}`.
    pub fn envelope(&self) -> impl Serialize + '_ {
        ErrorBody {
            error: ErrorInner {
                code: self.code,
                message: &self.message,
                status_code: self.status.as_u16(),
                details: &self.details,
            },
        }
    }

    /// The database or another dependency is unavailable: retryable.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "dependency unavailable");
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "The service is temporarily unavailable. Please try again shortly.",
        );
        e.retry_after = Some(1);
        e
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.insert_header((header::RETRY_AFTER, v));
        }
        resp.json(self.envelope())
    }
}

impl From<InfraError> for ApiError {
    fn from(e: InfraError) -> Self {
        match e {
            InfraError::Unavailable(_) => ApiError::unavailable(&e),
            InfraError::Failure(_) => ApiError::internal(&e),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::validation(e.0)
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        match e {
            RegisterError::PrivilegedRole => ApiError::new(
                StatusCode::FORBIDDEN,
                "AUTHORIZATION_ERROR",
                "Registration can only create customer accounts",
            ),
            RegisterError::UserExists => ApiError::new(
                StatusCode::BAD_REQUEST,
                "USER_EXISTS",
                "User already exists",
            ),
            RegisterError::Internal(e) => e.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_CREDENTIALS",
                "Invalid email or password",
            ),
            LoginError::AccountInactive => ApiError::new(
                StatusCode::FORBIDDEN,
                "ACCOUNT_INACTIVE",
                "User account is inactive",
            ),
            LoginError::Internal(e) => e.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::AuthRequired => ApiError::auth_required("User account is inactive"),
            AuthError::WrongTokenKind => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "TOKEN_INVALID",
                "Token is not valid for this request",
            ),
            AuthError::Revoked => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "TOKEN_REVOKED",
                "Token has been revoked",
            ),
            AuthError::Internal(e) => e.into(),
        }
    }
}

impl From<ChangePasswordError> for ApiError {
    fn from(e: ChangePasswordError) -> Self {
        match e {
            ChangePasswordError::InvalidCredentials => ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_CREDENTIALS",
                "Current password is incorrect",
            ),
            ChangePasswordError::UserNotFound => {
                ApiError::auth_required("Authenticated user not found")
            }
            ChangePasswordError::Internal(e) => e.into(),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound { code, message } => {
                ApiError::new(StatusCode::NOT_FOUND, code, message)
            }
            DomainError::Conflict {
                code,
                message,
                details,
            } => ApiError::new(StatusCode::CONFLICT, code, message).with_details(details),
            DomainError::Forbidden { code, message } => {
                ApiError::new(StatusCode::FORBIDDEN, code, message)
            }
            DomainError::Validation(errors) => errors.into(),
            DomainError::BadRequest { code, message } => {
                ApiError::new(StatusCode::BAD_REQUEST, code, message)
            }
            DomainError::PaymentDeclined {
                message,
                decline_code,
            } => ApiError::new(StatusCode::PAYMENT_REQUIRED, "PAYMENT_DECLINED", message)
                .with_details(json!({ "decline_code": decline_code })),
            DomainError::Unavailable { code, message } => {
                let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
                e.retry_after = Some(2);
                e
            }
            DomainError::Internal(e) => e.into(),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        let duplicate_sku = "A product with this SKU already exists.";
        match e {
            CatalogError::CategoryNotFound => {
                ApiError::not_found("NOT_FOUND", "Category not found")
            }
            CatalogError::ProductNotFound => ApiError::not_found("NOT_FOUND", "Product not found"),
            CatalogError::DuplicateCategory => ApiError::new(
                StatusCode::CONFLICT,
                "DUPLICATE_CATEGORY",
                "A category with this name already exists.",
            ),
            // The reference answered a duplicate SKU on create with 400 (kept); a changed SKU
            // that clashes is a 409 like every other duplicate.
            CatalogError::DuplicateSku { on_create: true } => {
                ApiError::new(StatusCode::BAD_REQUEST, "DUPLICATE_SKU", duplicate_sku)
            }
            CatalogError::DuplicateSku { on_create: false } => {
                ApiError::new(StatusCode::CONFLICT, "DUPLICATE_SKU", duplicate_sku)
            }
            CatalogError::Validation(errors) => errors.into(),
            CatalogError::Internal(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unavailable_dependency_is_503() {
        let down = ApiError::from(InfraError::unavailable("no database connection"));
        assert_eq!(
            (down.status.as_u16(), down.code),
            (503, "SERVICE_UNAVAILABLE")
        );
        assert!(down.retry_after.is_some());
        // A failure whose text mentions the connection is still a plain failure: the kind
        // decides, never the message.
        let broken = ApiError::from(InfraError::new("no database connection: syntax error"));
        assert_eq!(
            (broken.status.as_u16(), broken.code),
            (500, "UNEXPECTED_ERROR")
        );
        assert_eq!(broken.retry_after, None);
    }

    #[test]
    fn catalog_failures_are_mapped_by_kind() {
        let internal = ApiError::from(CatalogError::Internal(InfraError::new("boom")));
        assert_eq!(internal.status.as_u16(), 500);
        let down = ApiError::from(CatalogError::Internal(InfraError::unavailable("pool")));
        assert_eq!(down.status.as_u16(), 503);
        let created = ApiError::from(CatalogError::DuplicateSku { on_create: true });
        let changed = ApiError::from(CatalogError::DuplicateSku { on_create: false });
        assert_eq!(
            (created.status.as_u16(), created.code),
            (400, "DUPLICATE_SKU")
        );
        assert_eq!(
            (changed.status.as_u16(), changed.code),
            (409, "DUPLICATE_SKU")
        );
    }
}
