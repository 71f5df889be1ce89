//! The inventory upload's refusals as HTTP answers (a bad row is not one: it is reported in the
//! 202 answer).

use actix_web::http::StatusCode;
use mami_domain::stock_upload::UploadError;

use super::ApiError;

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        let message = e.to_string();
        match e {
            // The reference's code and wording for a form without a file.
            UploadError::NoFile => ApiError::new(StatusCode::BAD_REQUEST, "NO_FILE", message),
            UploadError::Malformed(_) => ApiError::bad_request(message),
            UploadError::TooLarge => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "HTTP_413", message)
            }
            UploadError::TooManyRows | UploadError::BadHeader(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "INVALID_CSV", message)
            }
        }
    }
}
