//! Why a catalog operation did not happen, in the catalog's own terms.

use crate::validation::{FieldError, ValidationErrors};
use crate::{InfraError, Violation};

/// The failures of the catalog's use cases; the edge maps each variant to its answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// The category (or the one a product names) does not exist.
    #[error("category not found")]
    CategoryNotFound,
    /// The product does not exist (or, publicly, is inactive).
    #[error("product not found")]
    ProductNotFound,
    /// Another category has this name.
    #[error("a category with this name already exists")]
    DuplicateCategory,
    /// Another product has this SKU. `on_create` tells a new product's clash (which the
    /// contract keeps as the reference answered it) from a changed SKU's.
    #[error("a product with this SKU already exists")]
    DuplicateSku { on_create: bool },
    /// Input that breaks a rule.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error(transparent)]
    Internal(#[from] InfraError),
}

impl CatalogError {
    pub fn invalid(error: FieldError) -> Self {
        Self::Validation(ValidationErrors(vec![error]))
    }
}

impl From<Violation> for CatalogError {
    fn from(v: Violation) -> Self {
        match v {
            Violation::DuplicateCategory => Self::DuplicateCategory,
            Violation::DuplicateSku => Self::DuplicateSku { on_create: false },
            Violation::UnknownCategory => Self::CategoryNotFound,
            Violation::UnknownProduct => Self::ProductNotFound,
            other => Self::Internal(other.into()),
        }
    }
}
