//! Translation of diesel errors into the domain's error types.

use diesel::result::{DatabaseErrorKind, Error};
use mami_domain::InfraError;

pub(crate) fn infra(e: Error) -> InfraError {
    InfraError::new(format!("database error: {e}"))
}

/// The constraint a unique violation names, if this is one.
pub(crate) fn unique_violation(e: &Error) -> Option<&str> {
    match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            Some(info.constraint_name().unwrap_or(""))
        }
        _ => None,
    }
}

/// A domain error raised inside a transaction (diesel's `transaction` needs
/// `From<diesel::result::Error>`, which the domain type cannot implement here).
#[derive(Debug)]
pub(crate) struct TxErr(pub mami_domain::DomainError);

impl From<Error> for TxErr {
    fn from(e: Error) -> Self {
        TxErr(classify(&e).unwrap_or_else(|| mami_domain::DomainError::Internal(infra(e))))
    }
}

impl From<mami_domain::DomainError> for TxErr {
    fn from(e: mami_domain::DomainError) -> Self {
        TxErr(e)
    }
}

/// Constraint violations the client caused, as domain errors (by constraint name).
pub(crate) fn classify(e: &Error) -> Option<mami_domain::DomainError> {
    use mami_domain::DomainError as D;
    let Error::DatabaseError(kind, info) = e else {
        return None;
    };
    let constraint = info.constraint_name().unwrap_or("");
    Some(match (kind, constraint) {
        (DatabaseErrorKind::UniqueViolation, "categories_name_key") => D::conflict(
            "DUPLICATE_CATEGORY",
            "A category with this name already exists.",
        ),
        (DatabaseErrorKind::UniqueViolation, "ix_products_sku") => {
            D::conflict("DUPLICATE_SKU", "A product with this SKU already exists.")
        }
        (DatabaseErrorKind::UniqueViolation, "branches_name_key") => D::conflict(
            "DUPLICATE_BRANCH",
            "A branch with this name already exists.",
        ),
        (DatabaseErrorKind::UniqueViolation, "uq_inventory_product_branch") => D::conflict(
            "DUPLICATE_INVENTORY",
            "This branch already has an inventory row for this product.",
        ),
        (DatabaseErrorKind::UniqueViolation, "uq_delivery_slot") => D::conflict(
            "DUPLICATE_SLOT",
            "This branch already has a slot starting then on that day.",
        ),
        (DatabaseErrorKind::ForeignKeyViolation, c) if c.contains("category_id") => {
            D::not_found("NOT_FOUND", "Category not found")
        }
        (DatabaseErrorKind::ForeignKeyViolation, c) if c.contains("branch_id") => {
            D::not_found("NOT_FOUND", "Branch not found")
        }
        (DatabaseErrorKind::ForeignKeyViolation, c) if c.contains("product_id") => {
            D::not_found("NOT_FOUND", "Product not found")
        }
        (DatabaseErrorKind::CheckViolation, c) if c.starts_with("inventory_") => {
            D::conflict("INSUFFICIENT_STOCK", "Stock cannot go below zero")
        }
        _ => return None,
    })
}

/// Maps an error outside a transaction.
pub(crate) fn domain(e: Error) -> mami_domain::DomainError {
    TxErr::from(e).0
}
