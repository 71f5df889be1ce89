//! A customer's wishlist.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::DomainError;
use crate::audit::AuditEntry;
use crate::identity::UserId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WishlistEntry {
    pub product_id: i64,
    pub created_at: DateTime<Utc>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WishlistStore: Send + Sync {
    /// Newest first.
    async fn list(&self, user: UserId) -> Result<Vec<WishlistEntry>, DomainError>;
    /// Idempotent: an existing entry is returned unchanged (and not audited again).
    /// Errors: `NotFound(PRODUCT_NOT_FOUND)`.
    async fn add(
        &self,
        user: UserId,
        product_id: i64,
        audit: AuditEntry,
    ) -> Result<WishlistEntry, DomainError>;
    /// Whether an entry was removed (audited only then).
    async fn remove(
        &self,
        user: UserId,
        product_id: i64,
        audit: AuditEntry,
    ) -> Result<bool, DomainError>;
}
