//! Fulfilment errors as HTTP answers: the one place that gives them their status, code,
//! message and details.

use actix_web::http::StatusCode;
use mami_domain::ops::OpsError;
use mami_domain::orders::OrderStatus;
use serde_json::json;

use super::ApiError;

fn names(statuses: &[OrderStatus]) -> Vec<&'static str> {
    statuses.iter().map(|s| s.as_str()).collect()
}

/// 409 `INVALID_STATUS_TRANSITION`, naming the moves allowed from the current status.
fn invalid_transition(
    from: OrderStatus,
    to: OrderStatus,
    allowed: &[OrderStatus],
    reason: &str,
) -> ApiError {
    let allowed = names(allowed);
    let listed = if allowed.is_empty() {
        "none".to_owned()
    } else {
        allowed.join(", ")
    };
    let message = format!(
        "Status transition not allowed: {} → {} ({reason}). Allowed from {}: {listed}",
        from.as_str(),
        to.as_str(),
        from.as_str()
    );
    ApiError::new(StatusCode::CONFLICT, "INVALID_STATUS_TRANSITION", message).with_details(json!({
        "from": from.as_str(), "to": to.as_str(), "allowed": allowed, "reason": reason,
    }))
}

impl From<OpsError> for ApiError {
    fn from(e: OpsError) -> Self {
        let conflict = |code, message: &str| ApiError::new(StatusCode::CONFLICT, code, message);
        match e {
            OpsError::OrderNotFound => ApiError::not_found("NOT_FOUND", "Order not found"),
            OpsError::ItemNotFound => ApiError::not_found("NOT_FOUND", "Order item not found"),
            OpsError::InvalidTransition {
                from,
                to,
                allowed,
                reason,
            } => invalid_transition(from, to, &allowed, &reason),
            OpsError::CancelForbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                "AUTHORIZATION_ERROR",
                "Only a manager or an admin can cancel an order",
            ),
            OpsError::PaymentPending => conflict(
                "PAYMENT_PENDING",
                "The order's payment is still being settled with the provider; try again shortly",
            ),
            OpsError::NotPickable(status) => conflict(
                "INVALID_STATUS",
                "Items can only be picked while the order is IN_PROGRESS or MISSING",
            )
            .with_details(json!({"status": status.as_str(),
                "allowed_statuses": ["IN_PROGRESS", "MISSING"]})),
            OpsError::ItemRemoved => conflict(
                "ITEM_REMOVED",
                "This item was removed from the order when it was made READY",
            ),
            OpsError::BatchOrdersNotFound(ids) => {
                ApiError::not_found("NOT_FOUND", "Order not found")
                    .with_details(json!({"order_ids": ids}))
            }
            OpsError::BatchOrdersClosed(ids) => conflict(
                "INVALID_STATUS",
                "Delivered or canceled orders cannot be batched",
            )
            .with_details(json!({"order_ids": ids})),
            OpsError::Validation(errors) => errors.into(),
            OpsError::Internal(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_move_names_the_allowed_ones() {
        let e = ApiError::from(OpsError::InvalidTransition {
            from: OrderStatus::Ready,
            to: OrderStatus::OutForDelivery,
            allowed: vec![OrderStatus::Delivered, OrderStatus::Canceled],
            reason: "READY → OUT_FOR_DELIVERY is not a move of a pickup order".into(),
        });
        assert_eq!(
            (e.status.as_u16(), e.code),
            (409, "INVALID_STATUS_TRANSITION")
        );
        assert!(e.message.starts_with("Status transition not allowed"));
        assert!(
            e.message
                .ends_with("Allowed from READY: DELIVERED, CANCELED")
        );
        assert_eq!(e.details["allowed"], json!(["DELIVERED", "CANCELED"]));
        let none = ApiError::from(OpsError::InvalidTransition {
            from: OrderStatus::Delivered,
            to: OrderStatus::Canceled,
            allowed: vec![],
            reason: "x".into(),
        });
        assert!(none.message.ends_with("Allowed from DELIVERED: none"));
    }

    #[test]
    fn an_employee_cancel_is_forbidden_and_a_waiting_payment_conflicts() {
        let e = ApiError::from(OpsError::CancelForbidden);
        assert_eq!((e.status.as_u16(), e.code), (403, "AUTHORIZATION_ERROR"));
        let e = ApiError::from(OpsError::PaymentPending);
        assert_eq!((e.status.as_u16(), e.code), (409, "PAYMENT_PENDING"));
    }
}
