//! Stock-request errors as HTTP answers, and as the failure entries of a bulk review: the one
//! place that gives them their status, code and message (the reference's, which differ
//! between reading and reviewing a missing request).

use actix_web::http::StatusCode;
use mami_domain::stock_requests::StockRequestError;

use super::ApiError;

impl From<StockRequestError> for ApiError {
    fn from(e: StockRequestError) -> Self {
        use StatusCode as S;
        let (status, code, message) = match e {
            StockRequestError::NotFound => (
                S::NOT_FOUND,
                "STOCK_REQUEST_NOT_FOUND",
                "Stock request not found",
            ),
            StockRequestError::NotFoundForReview => {
                (S::NOT_FOUND, "NOT_FOUND", "Stock request not found")
            }
            StockRequestError::NoInventoryRow => (
                S::NOT_FOUND,
                "NOT_FOUND",
                "Inventory row not found for branch/product",
            ),
            StockRequestError::InventoryGone => (
                S::NOT_FOUND,
                "NOT_FOUND",
                "Inventory not found for branch/product",
            ),
            StockRequestError::AlreadyReviewed => (
                S::CONFLICT,
                "INVALID_STATUS",
                "Stock request already reviewed",
            ),
            StockRequestError::QuantityRequired => (
                S::BAD_REQUEST,
                "INVALID_QUANTITY",
                "Approved quantity must be positive",
            ),
            StockRequestError::ReasonRequired => (
                S::BAD_REQUEST,
                "INVALID_REJECTION",
                "Rejection reason is required",
            ),
            StockRequestError::Validation(errors) => return errors.into(),
            StockRequestError::Internal(e) => return e.into(),
        };
        ApiError::new(status, code, message)
    }
}

/// The `error_code` and `message` of a failed bulk-review item: the code and message the
/// single review would answer, except that an unexpected failure is `INTERNAL_ERROR` (as in
/// the reference) with the generic message — its cause is logged, never sent.
pub fn bulk_failure(e: StockRequestError) -> (&'static str, String) {
    let e = ApiError::from(e);
    let code = if e.status == StatusCode::INTERNAL_SERVER_ERROR {
        "INTERNAL_ERROR"
    } else {
        e.code
    };
    (code, e.message)
}
