//! Checkout and order outcomes and errors as HTTP answers: the one place that gives them their
//! status, code, message and details.

use actix_web::http::StatusCode;
use mami_domain::checkout::{CheckoutError, ConfirmOutcome, Decline, Receipt, Settled};
use mami_domain::orders::OrderError;
use serde_json::json;

use super::ApiError;

/// 409 with what the client must change.
fn conflict(code: &'static str, message: &str, details: serde_json::Value) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message).with_details(details)
}

impl From<CheckoutError> for ApiError {
    fn from(e: CheckoutError) -> Self {
        use StatusCode as S;
        let (status, code, message) = match e {
            CheckoutError::IdempotencyInProgress => (
                S::CONFLICT,
                "IDEMPOTENCY_IN_PROGRESS",
                "This request is already being processed",
            ),
            CheckoutError::IdempotencyKeyMismatch => (
                S::CONFLICT,
                "IDEMPOTENCY_KEY_REUSE_MISMATCH",
                "Same Idempotency-Key used with different request payload",
            ),
            CheckoutError::DeliveryBranchMissing => (
                S::NOT_FOUND,
                "CONFIG_ERROR",
                "The delivery source branch does not exist",
            ),
            CheckoutError::BranchRequired => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "Branch is required for pickup",
            ),
            CheckoutError::BranchNotFound => (S::NOT_FOUND, "NOT_FOUND", "Branch not found"),
            CheckoutError::CartNotFound => (S::NOT_FOUND, "NOT_FOUND", "Cart not found"),
            CheckoutError::SlotRequired => (
                S::BAD_REQUEST,
                "BAD_REQUEST",
                "Delivery slot is required for delivery",
            ),
            CheckoutError::SlotNotFound => (S::NOT_FOUND, "NOT_FOUND", "Delivery slot not found"),
            CheckoutError::SlotOfAnotherBranch => (
                S::BAD_REQUEST,
                "INVALID_SLOT",
                "Delivery slot does not belong to delivery branch",
            ),
            CheckoutError::PaymentTokenNotFound => (
                S::NOT_FOUND,
                "PAYMENT_TOKEN_NOT_FOUND",
                "Payment token not found",
            ),
            CheckoutError::NoSavedCard => (
                S::NOT_FOUND,
                "PAYMENT_TOKEN_NOT_FOUND",
                "You have no saved card to pay with: add a card \
                 (POST /api/v1/me/payment-tokens), then confirm again",
            ),
            CheckoutError::PaymentTokenInactive => (
                S::BAD_REQUEST,
                "PAYMENT_TOKEN_INACTIVE",
                "Payment token is inactive",
            ),
            CheckoutError::CartEmpty => (S::BAD_REQUEST, "CART_EMPTY", "The cart is empty"),
            CheckoutError::ProductsInactive(product_ids) => {
                let message = "Some products are no longer sold";
                return conflict(
                    "PRODUCT_INACTIVE",
                    message,
                    json!({ "product_ids": product_ids }),
                );
            }
            CheckoutError::InsufficientStock(missing) => {
                let message = "Insufficient stock for items";
                return conflict("INSUFFICIENT_STOCK", message, json!({ "missing": missing }));
            }
            CheckoutError::Internal(e) => return e.into(),
        };
        ApiError::new(status, code, message)
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::NotFound => ApiError::not_found("NOT_FOUND", "Order not found"),
            OrderError::InvalidStatus => ApiError::new(
                StatusCode::CONFLICT,
                "INVALID_STATUS",
                "Order cannot be canceled in its current status",
            ),
            OrderError::PaymentPending => ApiError::new(
                StatusCode::CONFLICT,
                "PAYMENT_PENDING",
                "The payment is still being confirmed; try again shortly",
            ),
            OrderError::Internal(e) => e.into(),
        }
    }
}

/// 402 `PAYMENT_DECLINED`: the order is canceled and the cart kept for another card.
fn declined(d: Decline) -> ApiError {
    let message = if d.message.is_empty() {
        "The card was declined".to_owned()
    } else {
        d.message
    };
    ApiError::new(StatusCode::PAYMENT_REQUIRED, "PAYMENT_DECLINED", message)
        .with_details(json!({"decline_code": d.decline_code, "order_id": d.order_id}))
}

/// A confirm's answer: the receipt with 201 (new order) or 200 (replay), else the error
/// envelope — a decline (new or replayed) is 402, an unknown authorization outcome 503 with
/// `Retry-After`.
pub fn confirm_outcome(outcome: ConfirmOutcome) -> Result<(StatusCode, Receipt), ApiError> {
    match outcome {
        ConfirmOutcome::Created(receipt) => Ok((StatusCode::CREATED, receipt)),
        ConfirmOutcome::Replayed(Settled::Created(receipt)) => Ok((StatusCode::OK, receipt)),
        ConfirmOutcome::Declined(d) | ConfirmOutcome::Replayed(Settled::Declined(d)) => {
            Err(declined(d))
        }
        ConfirmOutcome::PaymentUnavailable { order_id } => {
            let mut e = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "PAYMENT_UNAVAILABLE",
                "The payment could not be confirmed; retry with the same Idempotency-Key",
            )
            .with_details(json!({ "order_id": order_id }));
            e.retry_after = Some(2);
            Err(e)
        }
    }
}
