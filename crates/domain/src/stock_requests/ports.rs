//! The stock-requests port.

use async_trait::async_trait;

use super::{NewStockRequest, Review, StockRequest, StockRequestError, StockRequestFilter};
use crate::audit::{AuditEntry, RequestContext};
use crate::identity::UserId;

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StockRequestStore: Send + Sync {
    /// One transaction: checks that the branch holds an inventory row of the product, files
    /// the request (PENDING, `requested_quantity` = `quantity`, filed by `requester`) and
    /// writes `audit` (its target is the new request).
    /// Errors: `NoInventoryRow`.
    async fn create(
        &self,
        new: NewStockRequest,
        requester: UserId,
        audit: AuditEntry,
    ) -> Result<StockRequest, StockRequestError>;

    /// Requests matching `filter`, newest first, and how many match in all.
    async fn list(
        &self,
        filter: StockRequestFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<StockRequest>, i64), StockRequestError>;

    async fn get(&self, id: i64) -> Result<Option<StockRequest>, StockRequestError>;

    /// One transaction: locks the request (`FOR UPDATE`) and, for an approval, the branch's
    /// inventory row of the product (with the lock checkout uses), runs
    /// [`super::decide_review`], writes the request, the stock figure and the audit entries,
    /// and returns the request as it is then. Concurrent reviews of one request serialise on
    /// its lock, so exactly one applies; approvals and purchases serialise on the row.
    /// Errors: whatever `decide_review` refuses.
    async fn review(
        &self,
        id: i64,
        review: Review,
        ctx: RequestContext,
    ) -> Result<StockRequest, StockRequestError>;
}
