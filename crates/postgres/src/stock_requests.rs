//! [`StockRequestStore`] on PostgreSQL. A review locks the request, then, for an approval,
//! the branch's inventory row through `stock::lock` (the lock checkout takes), and writes
//! what `decide_review` decided — request, stock and audit rows — in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::{AuditEntry, RequestContext};
use mami_domain::identity::UserId;
use mami_domain::inventory::StockLevel;
use mami_domain::stock_requests::{
    NewStockRequest, Review, ReviewFacts, ReviewPlan, StockRequest, StockRequestError,
    StockRequestFilter, StockRequestStore, decide_review,
};

use crate::enums::{DbRequestStatus, DbRequestType};
use crate::error::{Tx, infra};
use crate::schema::{branches, inventory, products, stock_requests as sr};
use crate::{Database, audit, stock};

/// A request joined with its branch's and product's names, in [`columns!`] order.
#[derive(Queryable)]
struct Row {
    id: i64,
    branch_id: i64,
    branch_name: String,
    product_id: i64,
    product_name: String,
    product_sku: String,
    quantity: i32,
    requested_quantity: i32,
    request_type: DbRequestType,
    status: DbRequestStatus,
    actor_user_id: i64,
    reviewed_by: Option<i64>,
    reviewed_at: Option<DateTime<Utc>>,
    rejection_reason: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<Row> for StockRequest {
    fn from(r: Row) -> Self {
        Self {
            id: r.id,
            branch_id: r.branch_id,
            branch_name: r.branch_name,
            product_id: r.product_id,
            product_name: r.product_name,
            product_sku: r.product_sku,
            quantity: r.quantity,
            requested_quantity: r.requested_quantity,
            request_type: r.request_type.into(),
            status: r.status.into(),
            actor_user_id: r.actor_user_id,
            reviewed_by: r.reviewed_by,
            reviewed_at: r.reviewed_at,
            rejection_reason: r.rejection_reason,
            created_at: r.created_at,
        }
    }
}

macro_rules! joined {
    () => {
        sr::table
            .inner_join(branches::table)
            .inner_join(products::table)
    };
}

macro_rules! columns {
    () => {
        (
            sr::id,
            sr::branch_id,
            branches::name,
            sr::product_id,
            products::name,
            products::sku,
            sr::quantity,
            sr::requested_quantity,
            sr::request_type,
            sr::status,
            sr::actor_user_id,
            sr::reviewed_by,
            sr::reviewed_at,
            sr::rejection_reason,
            sr::created_at,
        )
    };
}

async fn load(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<StockRequest>> {
    let row: Option<Row> = joined!()
        .filter(sr::id.eq(id))
        .select(columns!())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(StockRequest::from))
}

/// The request as one that was just written: it exists.
async fn reload(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<StockRequest, Tx<StockRequestError>> {
    load(conn, id)
        .await?
        .ok_or_else(|| Tx(mami_domain::InfraError::new("a written stock request vanished").into()))
}

/// Locks request `id` and, when `review` approves it, its branch's inventory row of the
/// product; returns them as the decision's facts.
async fn lock_facts(
    conn: &mut AsyncPgConnection,
    id: i64,
    review: &Review,
) -> QueryResult<(Option<ReviewFacts>, Option<StockLevel>)> {
    let row: Option<(i64, i64, DbRequestStatus, DbRequestType, i32)> = sr::table
        .find(id)
        .select((
            sr::branch_id,
            sr::product_id,
            sr::status,
            sr::request_type,
            sr::requested_quantity,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some((branch, product, status, request_type, requested_quantity)) = row else {
        return Ok((None, None));
    };
    let level = if review.needs_stock() {
        stock::lock(conn, branch, &[product])
            .await?
            .into_iter()
            .next()
    } else {
        None
    };
    let facts = ReviewFacts {
        request_id: id,
        status: status.into(),
        request_type: request_type.into(),
        requested_quantity,
    };
    Ok((Some(facts), level))
}

/// Writes the decided review: the request, the stock figure, then both audit entries.
async fn write_plan(conn: &mut AsyncPgConnection, plan: &ReviewPlan) -> QueryResult<()> {
    let Some(update) = &plan.update else {
        return Ok(());
    };
    diesel::update(sr::table.find(plan.request_id))
        .set((
            sr::status.eq(DbRequestStatus::from(update.status)),
            update.quantity.map(|q| sr::quantity.eq(q)),
            sr::rejection_reason.eq(update.rejection_reason.as_deref()),
            sr::reviewed_by.eq(update.reviewed_by.map(|u| u.0)),
            sr::reviewed_at.eq(update.reviewed_at),
            sr::updated_at.eq(update.reviewed_at),
        ))
        .execute(conn)
        .await?;
    stock::apply(conn, plan.stock.as_slice(), &[]).await?;
    audit::insert_all(conn, &plan.audit).await
}

/// Stock requests in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStockRequestStore {
    db: Database,
}

impl PgStockRequestStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl StockRequestStore for PgStockRequestStore {
    async fn create(
        &self,
        new: NewStockRequest,
        requester: UserId,
        entry: AuditEntry,
    ) -> Result<StockRequest, StockRequestError> {
        self.db
            .transaction(async |conn| {
                let row: Option<i64> = inventory::table
                    .filter(inventory::branch_id.eq(new.branch_id))
                    .filter(inventory::product_id.eq(new.product_id))
                    .select(inventory::id)
                    .first(conn)
                    .await
                    .optional()?;
                if row.is_none() {
                    return Err(Tx(StockRequestError::NoInventoryRow));
                }
                let id: i64 = diesel::insert_into(sr::table)
                    .values((
                        sr::branch_id.eq(new.branch_id),
                        sr::product_id.eq(new.product_id),
                        sr::quantity.eq(new.quantity),
                        sr::requested_quantity.eq(new.quantity),
                        sr::request_type.eq(DbRequestType::from(new.request_type)),
                        sr::actor_user_id.eq(requester.0),
                    ))
                    .returning(sr::id)
                    .get_result(conn)
                    .await?;
                audit::insert(conn, &entry, Some(id)).await?;
                reload(conn, id).await
            })
            .await
    }

    async fn list(
        &self,
        filter: StockRequestFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<StockRequest>, i64), StockRequestError> {
        let mut conn = self.db.conn().await?;
        let mut count = sr::table.count().into_boxed();
        let mut rows = joined!().select(columns!()).into_boxed();
        if let Some(user) = filter.requested_by {
            count = count.filter(sr::actor_user_id.eq(user.0));
            rows = rows.filter(sr::actor_user_id.eq(user.0));
        }
        if let Some(branch) = filter.branch_id {
            count = count.filter(sr::branch_id.eq(branch));
            rows = rows.filter(sr::branch_id.eq(branch));
        }
        if let Some(status) = filter.status {
            count = count.filter(sr::status.eq(DbRequestStatus::from(status)));
            rows = rows.filter(sr::status.eq(DbRequestStatus::from(status)));
        }
        let total: i64 = count.get_result(&mut conn).await.map_err(infra)?;
        let rows: Vec<Row> = rows
            .order((sr::created_at.desc(), sr::id.desc()))
            .limit(limit)
            .offset(offset)
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok((rows.into_iter().map(StockRequest::from).collect(), total))
    }

    async fn get(&self, id: i64) -> Result<Option<StockRequest>, StockRequestError> {
        let mut conn = self.db.conn().await?;
        Ok(load(&mut conn, id).await.map_err(infra)?)
    }

    async fn review(
        &self,
        id: i64,
        review: Review,
        ctx: RequestContext,
    ) -> Result<StockRequest, StockRequestError> {
        self.db
            .transaction(async |conn| {
                let (facts, level) = lock_facts(conn, id, &review).await?;
                let plan = decide_review(facts, level, &review, &ctx, Utc::now())?;
                write_plan(conn, &plan).await?;
                reload(conn, id).await
            })
            .await
    }
}
