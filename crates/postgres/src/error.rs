//! Translation of diesel errors into the domain's error types, and the transaction helper
//! that every adapter uses.

use std::future::Future;

use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};
use mami_domain::{InfraError, Violation};

use crate::Database;

/// A driver error the business cannot act on. A lost connection is `Unavailable` (the edge
/// answers 503, retryable); anything else is a `Failure`.
pub(crate) fn infra(e: Error) -> InfraError {
    match &e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | Error::BrokenTransactionManager => InfraError::unavailable(format!("database: {e}")),
        _ => InfraError::new(format!("database error: {e}")),
    }
}

/// The business rule a constraint violation stands for, by constraint name.
pub(crate) fn violation(e: &Error) -> Option<Violation> {
    let Error::DatabaseError(kind, info) = e else {
        return None;
    };
    let constraint = info.constraint_name().unwrap_or("");
    Some(match (kind, constraint) {
        (DatabaseErrorKind::UniqueViolation, "categories_name_key") => Violation::DuplicateCategory,
        (DatabaseErrorKind::UniqueViolation, "ix_products_sku") => Violation::DuplicateSku,
        (DatabaseErrorKind::UniqueViolation, "branches_name_key") => Violation::DuplicateBranch,
        (DatabaseErrorKind::UniqueViolation, "uq_inventory_product_branch") => {
            Violation::DuplicateInventory
        }
        (DatabaseErrorKind::UniqueViolation, "uq_delivery_slot") => Violation::DuplicateSlot,
        (DatabaseErrorKind::UniqueViolation, "ux_users_email_lower") => Violation::DuplicateEmail,
        (DatabaseErrorKind::ForeignKeyViolation, c) if c.contains("category_id") => {
            Violation::UnknownCategory
        }
        (DatabaseErrorKind::ForeignKeyViolation, c) if c.contains("branch_id") => {
            Violation::UnknownBranch
        }
        (DatabaseErrorKind::ForeignKeyViolation, c) if c.contains("product_id") => {
            Violation::UnknownProduct
        }
        (DatabaseErrorKind::CheckViolation, c) if c.starts_with("inventory_") => {
            Violation::NegativeStock
        }
        _ => return None,
    })
}

/// An error type a diesel error can become: a named [`Violation`] when the error is one,
/// else an [`InfraError`].
pub(crate) trait FromDb: Sized {
    fn from_db(e: Error) -> Self;
}

impl<E: From<InfraError> + From<Violation>> FromDb for E {
    fn from_db(e: Error) -> Self {
        match violation(&e) {
            Some(v) => E::from(v),
            None => E::from(infra(e)),
        }
    }
}

/// The error of a transaction body: the use case's own error type `E`, into which `?` converts
/// diesel errors (through [`FromDb`]), infrastructure errors and `E` itself.
#[derive(Debug)]
pub(crate) struct Tx<E>(pub E);

impl<E: FromDb> From<Error> for Tx<E> {
    fn from(e: Error) -> Self {
        Tx(E::from_db(e))
    }
}

impl<E: From<InfraError>> From<InfraError> for Tx<E> {
    fn from(e: InfraError) -> Self {
        Tx(E::from(e))
    }
}

/// `?` on the use case's own error type inside a transaction body.
macro_rules! tx_error {
    ($($t:ty),* $(,)?) => {
        $(impl From<$t> for Tx<$t> {
            fn from(e: $t) -> Self {
                Tx(e)
            }
        })*
    };
}

tx_error!(
    mami_domain::DomainError,
    mami_domain::identity::StoreError,
    mami_domain::checkout::CheckoutError,
    mami_domain::orders::OrderError,
    mami_domain::catalog::CatalogError,
    mami_domain::stock_requests::StockRequestError,
    mami_domain::ops::OpsError,
    mami_domain::identity::ResetPasswordError,
);

/// A transaction body: an async closure over the connection. Naming its future lets the
/// helper require it to be `Send`; the `AsyncFnOnce` bound beside it guides closure inference
/// (the shape diesel-async uses for its own callbacks).
pub(crate) trait TxBody<T, R>:
    AsyncFnOnce(T) -> R + FnOnce(T) -> <Self as TxBody<T, R>>::Fut
{
    type Fut: Future<Output = R>;
}

impl<F, T, Fut, R> TxBody<T, R> for F
where
    F: AsyncFnOnce(T) -> R + FnOnce(T) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

impl Database {
    /// Runs `body` in one transaction on a pooled connection: committed when it returns `Ok`,
    /// rolled back on any error. The error is the use case's own type.
    pub(crate) async fn transaction<R, E, F>(&self, body: F) -> Result<R, E>
    where
        for<'c> F: AsyncFnOnce(&'c mut AsyncPgConnection) -> Result<R, Tx<E>>
            + TxBody<&'c mut AsyncPgConnection, Result<R, Tx<E>>, Fut: Send>
            + Send,
        E: FromDb + From<InfraError> + Send,
        R: Send,
    {
        let mut conn = self.conn().await?;
        let conn: &mut AsyncPgConnection = &mut conn;
        AnsiTransactionManager::begin_transaction(conn)
            .await
            .map_err(|e| E::from(infra(e)))?;
        match body(conn).await {
            Ok(value) => {
                AnsiTransactionManager::commit_transaction(conn)
                    .await
                    .map_err(|e| E::from_db(e))?;
                Ok(value)
            }
            Err(Tx(e)) => {
                // A failed rollback leaves the connection broken; the pool discards it.
                let _ = AnsiTransactionManager::rollback_transaction(conn).await;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lost_connection_is_unavailable() {
        assert!(infra(Error::BrokenTransactionManager).is_unavailable());
        assert!(!infra(Error::NotFound).is_unavailable());
        assert!(!infra(Error::RollbackTransaction).is_unavailable());
    }
}
