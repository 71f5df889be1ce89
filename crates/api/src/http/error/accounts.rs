//! Profile, password reset and registration-code errors as HTTP answers (the address book
//! answers through `DomainError`).

use actix_web::http::StatusCode;
use mami_domain::identity::{ProfileError, RegistrationCodeError, ResetPasswordError};

use super::ApiError;

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> Self {
        match e {
            ProfileError::UserNotFound => ApiError::not_found("USER_NOT_FOUND", "User not found"),
            ProfileError::Internal(e) => e.into(),
        }
    }
}

impl From<ResetPasswordError> for ApiError {
    fn from(e: ResetPasswordError) -> Self {
        match e {
            ResetPasswordError::InvalidOrExpiredToken => ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_OR_EXPIRED_TOKEN",
                "Invalid or expired token",
            ),
            ResetPasswordError::Internal(e) => e.into(),
        }
    }
}

impl From<RegistrationCodeError> for ApiError {
    fn from(e: RegistrationCodeError) -> Self {
        let message = e.to_string();
        match e {
            RegistrationCodeError::NotEnabled => {
                ApiError::new(StatusCode::FORBIDDEN, "OTP_NOT_ENVIRONMENT", message)
            }
            RegistrationCodeError::UserExists => {
                ApiError::new(StatusCode::CONFLICT, "USER_ALREADY_EXISTS", message)
            }
            RegistrationCodeError::InvalidCode | RegistrationCodeError::TooManyAttempts => {
                ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REGISTRATION_OTP", message)
            }
            RegistrationCodeError::Internal(e) => e.into(),
        }
    }
}
