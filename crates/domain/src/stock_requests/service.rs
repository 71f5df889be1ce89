//! The stock-request use cases: file, list, read, review one, review many.

use std::sync::Arc;

use serde_json::json;
use tracing::instrument;

use super::{
    BulkItem, BulkResult, NewStockRequest, Review, StockRequest, StockRequestError,
    StockRequestFilter, StockRequestStore,
};
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::identity::UserId;

pub struct StockRequestService {
    store: Arc<dyn StockRequestStore>,
}

impl StockRequestService {
    pub fn new(store: Arc<dyn StockRequestStore>) -> Self {
        Self { store }
    }

    /// Files a request for `requester` (audited `stock_request/CREATE`).
    #[instrument(skip_all)]
    pub async fn create(
        &self,
        new: NewStockRequest,
        requester: UserId,
        ctx: &RequestContext,
    ) -> Result<StockRequest, StockRequestError> {
        let audit = AuditEntry::new(ctx, "stock_request", AuditTarget::Created, "CREATE")
            .new_value(json!({
                "branch_id": new.branch_id,
                "product_id": new.product_id,
                "quantity": new.quantity,
                "request_type": new.request_type.as_str(),
            }));
        self.store.create(new, requester, audit).await
    }

    pub async fn list(
        &self,
        filter: StockRequestFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<StockRequest>, i64), StockRequestError> {
        self.store.list(filter, limit, offset).await
    }

    pub async fn get(&self, id: i64) -> Result<StockRequest, StockRequestError> {
        self.store.get(id).await?.ok_or(StockRequestError::NotFound)
    }

    /// Reviews one request in its own transaction.
    #[instrument(skip_all)]
    pub async fn review(
        &self,
        id: i64,
        review: Review,
        ctx: &RequestContext,
    ) -> Result<StockRequest, StockRequestError> {
        self.store.review(id, review, ctx.clone()).await
    }

    /// Reviews each item in its own transaction, one after the other, so a failing item
    /// rolls back only itself; the results come in input order.
    #[instrument(skip_all)]
    pub async fn bulk_review(&self, items: Vec<BulkItem>, ctx: &RequestContext) -> Vec<BulkResult> {
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            let outcome = self.review(item.request_id, item.review, ctx).await;
            results.push(BulkResult {
                request_id: item.request_id,
                outcome,
            });
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stock_requests::{MockStockRequestStore, RequestStatus, RequestType};

    fn request(id: i64, status: RequestStatus) -> StockRequest {
        StockRequest {
            id,
            branch_id: 1,
            branch_name: "Warehouse".into(),
            product_id: 3,
            product_name: "Cucumbers".into(),
            product_sku: "CUC-1".into(),
            quantity: 5,
            requested_quantity: 5,
            request_type: RequestType::AddQuantity,
            status,
            actor_user_id: 2,
            reviewed_by: None,
            reviewed_at: None,
            rejection_reason: None,
            created_at: chrono::Utc::now(),
        }
    }

    fn item(request_id: i64) -> BulkItem {
        BulkItem {
            request_id,
            review: Review {
                status: RequestStatus::Approved,
                approved_quantity: Some(5),
                rejection_reason: None,
            },
        }
    }

    #[tokio::test]
    async fn bulk_review_answers_every_item_in_input_order() {
        let mut store = MockStockRequestStore::new();
        store
            .expect_review()
            .times(3)
            .returning(|id, _, _| match id {
                2 => Err(StockRequestError::AlreadyReviewed),
                id => Ok(request(id, RequestStatus::Approved)),
            });
        let svc = StockRequestService::new(Arc::new(store));
        let results = svc
            .bulk_review(vec![item(3), item(2), item(1)], &RequestContext::default())
            .await;
        let got: Vec<(i64, bool)> = results
            .iter()
            .map(|r| (r.request_id, r.outcome.is_ok()))
            .collect();
        assert_eq!(
            got,
            [(3, true), (2, false), (1, true)],
            "a failure stops nothing"
        );
    }

    #[tokio::test]
    async fn a_new_request_is_audited_as_the_caller() {
        let mut store = MockStockRequestStore::new();
        store
            .expect_create()
            .withf(|new, requester, audit| {
                *requester == UserId(2)
                    && audit.action == "CREATE"
                    && audit.target == AuditTarget::Created
                    && audit.actor == Some(UserId(2))
                    && audit.new_value.as_ref().map(|v| v["quantity"].clone())
                        == Some(json!(new.quantity))
            })
            .times(1)
            .returning(|_, _, _| Ok(request(1, RequestStatus::Pending)));
        let svc = StockRequestService::new(Arc::new(store));
        let new = NewStockRequest {
            branch_id: 1,
            product_id: 3,
            quantity: 5,
            request_type: RequestType::AddQuantity,
        };
        let ctx = RequestContext::default().with_actor(UserId(2));
        assert!(svc.create(new, UserId(2), &ctx).await.is_ok());
    }

    #[tokio::test]
    async fn reading_a_missing_request_is_not_found() {
        let mut store = MockStockRequestStore::new();
        store.expect_get().returning(|_| Ok(None));
        let svc = StockRequestService::new(Arc::new(store));
        assert_eq!(svc.get(9).await.err(), Some(StockRequestError::NotFound));
    }
}
