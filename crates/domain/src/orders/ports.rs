//! The orders port.

use async_trait::async_trait;

use super::{Canceled, Order, OrderError};
use crate::audit::RequestContext;
use crate::identity::UserId;

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// The user's orders, newest first, and the total.
    async fn list(
        &self,
        user: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Order>, i64), OrderError>;
    /// The user's order; `None` for another user's.
    async fn get(&self, user: UserId, id: i64) -> Result<Option<Order>, OrderError>;
    /// One transaction: locks the user's order, runs [`super::decide_cancel`] on it, gives the
    /// stock back (rows locked in id order), sets CANCELED and writes the audit entry; returns
    /// the authorization to void. Errors: whatever `decide_cancel` refuses.
    async fn cancel(
        &self,
        user: UserId,
        id: i64,
        ctx: RequestContext,
    ) -> Result<Canceled, OrderError>;
}
