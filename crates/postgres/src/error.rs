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
