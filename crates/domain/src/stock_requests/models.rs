//! Stock requests as staff file and managers read them: their types and statuses (each
//! serialised as the string the wire and the database use), the parsed inputs of filing and
//! reviewing one, and the list filter.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::identity::UserId;
use crate::validation::{FieldError, ValidationErrors};

/// Most units one request (or one approval) may name.
pub const MAX_REQUEST_QUANTITY: i32 = 10_000;

/// Shortest and longest rejection reason, in characters.
pub const REJECTION_REASON_CHARS: (usize, usize) = (2, 200);

/// What an approval does to the branch's available stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestType {
    /// The stock becomes the approved quantity (a count).
    SetQuantity,
    /// The approved quantity is added (goods received).
    AddQuantity,
}

impl RequestType {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::SetQuantity => "SET_QUANTITY",
            RequestType::AddQuantity => "ADD_QUANTITY",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [RequestType::SetQuantity, RequestType::AddQuantity]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Where a request is in its life: filed, then reviewed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "PENDING",
            RequestStatus::Approved => "APPROVED",
            RequestStatus::Rejected => "REJECTED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            RequestStatus::Pending,
            RequestStatus::Approved,
            RequestStatus::Rejected,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// A stock request with the names of its branch and product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRequest {
    pub id: i64,
    pub branch_id: i64,
    pub branch_name: String,
    pub product_id: i64,
    pub product_name: String,
    pub product_sku: String,
    /// The approved amount once approved (what the client reads), else the requested one.
    pub quantity: i32,
    /// What was asked, kept when an approval grants another amount.
    pub requested_quantity: i32,
    pub request_type: RequestType,
    pub status: RequestStatus,
    /// Who filed it.
    pub actor_user_id: i64,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A request to file, as parsed from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewStockRequest {
    pub branch_id: i64,
    pub product_id: i64,
    pub quantity: i32,
    pub request_type: RequestType,
}

/// `at` followed by `field`, as a location.
fn loc<'a>(at: &[&'a str], field: &'a str) -> Vec<&'a str> {
    at.iter().copied().chain([field]).collect()
}

/// An id field: a whole number ≥ 1.
fn parse_id(at: &[&str], field: &str, value: i64) -> Result<i64, FieldError> {
    (value >= 1).then_some(value).ok_or_else(|| {
        FieldError::new(
            &loc(at, field),
            "greater_than",
            "Input should be greater than 0",
        )
    })
}

/// A quantity field: `1..=MAX_REQUEST_QUANTITY`.
fn parse_quantity(at: &[&str], field: &str, value: i64) -> Result<i32, FieldError> {
    i32::try_from(value)
        .ok()
        .filter(|q| (1..=MAX_REQUEST_QUANTITY).contains(q))
        .ok_or_else(|| {
            FieldError::new(
                &loc(at, field),
                "range",
                format!("Input should be from 1 to {MAX_REQUEST_QUANTITY}"),
            )
        })
}

impl NewStockRequest {
    /// Every field checked, every failure reported at once.
    pub fn parse(
        branch_id: i64,
        product_id: i64,
        quantity: i64,
        request_type: &str,
    ) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let branch_id = e.check(parse_id(&[], "branch_id", branch_id));
        let product_id = e.check(parse_id(&[], "product_id", product_id));
        let quantity = e.check(parse_quantity(&[], "quantity", quantity));
        let request_type = e.check(RequestType::parse(request_type).ok_or_else(|| {
            FieldError::new(
                &["request_type"],
                "enum",
                "Input should be 'SET_QUANTITY' or 'ADD_QUANTITY'",
            )
        }));
        match (branch_id, product_id, quantity, request_type) {
            (Some(branch_id), Some(product_id), Some(quantity), Some(request_type)) => Ok(Self {
                branch_id,
                product_id,
                quantity,
                request_type,
            }),
            _ => Err(e),
        }
    }
}

/// A manager's review of one request, as parsed from the body. Whether the fields the status
/// needs are present is the review's decision ([`crate::stock_requests::decide_review`]), as
/// in the reference: a missing quantity or reason has its own code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub status: RequestStatus,
    pub approved_quantity: Option<i32>,
    pub rejection_reason: Option<String>,
}

impl Review {
    /// Every field checked, every failure reported at once; field locations start with `at`
    /// (`["items", "3"]` in a bulk review).
    pub fn parse(
        at: &[&str],
        status: &str,
        approved_quantity: Option<i64>,
        rejection_reason: Option<&str>,
    ) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let status = e.check(RequestStatus::parse(status).ok_or_else(|| {
            FieldError::new(
                &loc(at, "status"),
                "enum",
                "Input should be 'PENDING', 'APPROVED' or 'REJECTED'",
            )
        }));
        let approved_quantity = approved_quantity
            .map(|q| e.check(parse_quantity(at, "approved_quantity", q)))
            .unwrap_or_default();
        let (min, max) = REJECTION_REASON_CHARS;
        let rejection_reason = rejection_reason
            .map(|r| {
                let r = r.trim();
                let chars = r.chars().count();
                e.check(if (min..=max).contains(&chars) {
                    Ok(r.to_owned())
                } else {
                    Err(FieldError::new(
                        &loc(at, "rejection_reason"),
                        "string_length",
                        format!("Input should have {min} to {max} characters"),
                    ))
                })
            })
            .unwrap_or_default();
        match status {
            Some(status) if e.is_empty() => Ok(Self {
                status,
                approved_quantity,
                rejection_reason,
            }),
            _ => Err(e),
        }
    }

    /// An approval changes the stock: the adapter locks the inventory row for it.
    pub fn needs_stock(&self) -> bool {
        self.status == RequestStatus::Approved
    }
}

/// One item of a bulk review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkItem {
    pub request_id: i64,
    pub review: Review,
}

impl BulkItem {
    /// The item at index `i` of `items`, every field checked.
    pub fn parse(
        i: usize,
        request_id: i64,
        status: &str,
        approved_quantity: Option<i64>,
        rejection_reason: Option<&str>,
    ) -> Result<Self, ValidationErrors> {
        let index = i.to_string();
        let at = ["items", index.as_str()];
        let mut e = ValidationErrors::default();
        let request_id = e.check(parse_id(&at, "request_id", request_id));
        let review = Review::parse(&at, status, approved_quantity, rejection_reason);
        match (request_id, review) {
            (Some(request_id), Ok(review)) => Ok(Self { request_id, review }),
            (_, review) => {
                e.0.extend(review.err().map(|r| r.0).unwrap_or_default());
                Err(e)
            }
        }
    }
}

/// How one item of a bulk review ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkResult {
    pub request_id: i64,
    pub outcome: Result<StockRequest, super::StockRequestError>,
}

/// Filters of a request list; every field narrows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockRequestFilter {
    /// Only the requests this user filed.
    pub requested_by: Option<UserId>,
    pub branch_id: Option<i64>,
    pub status: Option<RequestStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locs(e: &ValidationErrors) -> Vec<String> {
        e.0.iter().map(|f| f.loc.join(".")).collect()
    }

    #[test]
    fn wire_strings_round_trip() {
        for t in [RequestType::SetQuantity, RequestType::AddQuantity] {
            assert_eq!(RequestType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).ok(), Some(t.as_str().into()));
        }
        for s in [
            RequestStatus::Pending,
            RequestStatus::Approved,
            RequestStatus::Rejected,
        ] {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(s.as_str().into()));
        }
        assert_eq!(RequestStatus::parse("approved"), None, "case matters");
    }

    #[test]
    fn a_new_request_reports_every_bad_field() {
        let ok = NewStockRequest::parse(1, 2, 10_000, "ADD_QUANTITY");
        assert_eq!(ok.map(|n| n.quantity).ok(), Some(10_000));
        let bad = NewStockRequest::parse(0, -1, 10_001, "MORE");
        assert_eq!(
            bad.err().map(|e| locs(&e)),
            Some(vec![
                "branch_id".into(),
                "product_id".into(),
                "quantity".into(),
                "request_type".into()
            ])
        );
        assert!(NewStockRequest::parse(1, 1, 0, "SET_QUANTITY").is_err());
    }

    #[test]
    fn a_review_checks_ranges_but_not_presence() {
        let r = Review::parse(&[], "APPROVED", None, None);
        assert_eq!(
            r.ok().map(|r| (r.approved_quantity, r.needs_stock())),
            Some((None, true)),
            "a missing quantity is the decision's INVALID_QUANTITY, not a validation error"
        );
        let r = Review::parse(&[], "REJECTED", None, Some("  Damaged  "));
        assert_eq!(
            r.ok().and_then(|r| r.rejection_reason),
            Some("Damaged".into())
        );
        let bad = Review::parse(&[], "DONE", Some(0), Some(" x "));
        assert_eq!(
            bad.err().map(|e| locs(&e)),
            Some(vec![
                "status".into(),
                "approved_quantity".into(),
                "rejection_reason".into()
            ])
        );
        let long = "x".repeat(201);
        assert!(Review::parse(&[], "REJECTED", None, Some(&long)).is_err());
    }

    #[test]
    fn bulk_items_are_located_by_index() {
        let bad = BulkItem::parse(3, 0, "APPROVED", Some(10_001), None);
        assert_eq!(
            bad.err().map(|e| locs(&e)),
            Some(vec![
                "items.3.request_id".into(),
                "items.3.approved_quantity".into()
            ])
        );
        let ok = BulkItem::parse(0, 7, "REJECTED", None, Some("No room"));
        assert_eq!(ok.map(|i| i.request_id).ok(), Some(7));
    }
}
