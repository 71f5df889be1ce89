//! [`BranchStore`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{NaiveTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::DomainError;
use mami_domain::audit::AuditEntry;
use mami_domain::branches::{
    Branch, BranchInput, BranchStore, DeliverySlot, SlotFilter, SlotWindow,
};

use crate::error::{Tx, infra};
use crate::rows::{self, Switchable};
use crate::schema::{branches, delivery_slots};
use crate::{Database, audit};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = branches)]
#[diesel(check_for_backend(Pg))]
struct BranchRow {
    id: i64,
    name: String,
    address: String,
    is_active: bool,
}

impl From<BranchRow> for Branch {
    fn from(r: BranchRow) -> Self {
        Branch {
            id: r.id,
            name: r.name,
            address: r.address,
            is_active: r.is_active,
        }
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = delivery_slots)]
#[diesel(check_for_backend(Pg))]
struct SlotRow {
    id: i64,
    branch_id: i64,
    day_of_week: i16,
    start_time: NaiveTime,
    end_time: NaiveTime,
    is_active: bool,
}

impl From<SlotRow> for DeliverySlot {
    fn from(r: SlotRow) -> Self {
        DeliverySlot {
            id: r.id,
            branch_id: r.branch_id,
            day_of_week: r.day_of_week,
            start_time: r.start_time,
            end_time: r.end_time,
            is_active: r.is_active,
        }
    }
}

fn branch_not_found() -> DomainError {
    DomainError::not_found("NOT_FOUND", "Branch not found")
}

fn slot_not_found() -> DomainError {
    DomainError::not_found("NOT_FOUND", "Delivery slot not found")
}

/// Branches and delivery slots in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgBranchStore {
    db: Database,
}

impl PgBranchStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl BranchStore for PgBranchStore {
    async fn list_branches(
        &self,
        include_inactive: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Branch>, i64), DomainError> {
        let mut conn = self.db.conn().await?;
        let mut count = branches::table.count().into_boxed();
        let mut rows = branches::table.select(BranchRow::as_select()).into_boxed();
        if !include_inactive {
            count = count.filter(branches::is_active.eq(true));
            rows = rows.filter(branches::is_active.eq(true));
        }
        let total: i64 = count.get_result(&mut conn).await.map_err(infra)?;
        let rows: Vec<BranchRow> = rows
            .order((branches::name.asc(), branches::id.asc()))
            .limit(limit)
            .offset(offset)
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok((rows.into_iter().map(Branch::from).collect(), total))
    }

    async fn branch(&self, id: i64) -> Result<Option<Branch>, DomainError> {
        let mut conn = self.db.conn().await?;
        branches::table
            .find(id)
            .select(BranchRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map(|r| r.map(Branch::from))
            .map_err(|e| infra(e).into())
    }

    async fn create_branch(
        &self,
        input: BranchInput,
        audit_entry: AuditEntry,
    ) -> Result<Branch, DomainError> {
        self.db
            .transaction(async |conn| {
                let row: BranchRow = diesel::insert_into(branches::table)
                    .values((
                        branches::name.eq(&input.name),
                        branches::address.eq(&input.address),
                    ))
                    .returning(BranchRow::as_returning())
                    .get_result(conn)
                    .await?;
                let b = Branch::from(row);
                audit::created(conn, audit_entry, &b, b.id).await?;
                Ok::<_, Tx<DomainError>>(b)
            })
            .await
    }

    async fn update_branch(
        &self,
        id: i64,
        input: BranchInput,
        audit_entry: AuditEntry,
    ) -> Result<Branch, DomainError> {
        self.db
            .transaction(async |conn| {
                let old: BranchRow = rows::first(conn, branches::table.find(id).for_update())
                    .await?
                    .ok_or_else(branch_not_found)?;
                let row: BranchRow = diesel::update(branches::table.find(id))
                    .set((
                        branches::name.eq(&input.name),
                        branches::address.eq(&input.address),
                        branches::updated_at.eq(Utc::now()),
                    ))
                    .returning(BranchRow::as_returning())
                    .get_result(conn)
                    .await?;
                let (old, new) = (Branch::from(old), Branch::from(row));
                audit::changed(conn, audit_entry, &old, &new).await?;
                Ok::<_, Tx<DomainError>>(new)
            })
            .await
    }

    async fn set_branch_active(
        &self,
        id: i64,
        active: bool,
        audit_entry: AuditEntry,
    ) -> Result<Branch, DomainError> {
        self.db
            .transaction(async |conn| {
                let row: Option<BranchRow> =
                    rows::set_active(conn, Switchable::Branches, id, active, audit_entry).await?;
                row.map(Branch::from).ok_or_else(|| Tx(branch_not_found()))
            })
            .await
    }

    async fn list_slots(&self, filter: SlotFilter) -> Result<Vec<DeliverySlot>, DomainError> {
        let mut conn = self.db.conn().await?;
        let mut q = delivery_slots::table
            .select(SlotRow::as_select())
            .into_boxed();
        if !filter.include_inactive {
            q = q.filter(delivery_slots::is_active.eq(true));
        }
        if let Some(b) = filter.branch_id {
            q = q.filter(delivery_slots::branch_id.eq(b));
        }
        if let Some(d) = filter.day_of_week {
            q = q.filter(delivery_slots::day_of_week.eq(d));
        }
        let rows: Vec<SlotRow> = q
            .order((
                delivery_slots::branch_id,
                delivery_slots::day_of_week,
                delivery_slots::start_time,
            ))
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok(rows.into_iter().map(DeliverySlot::from).collect())
    }

    async fn create_slot(
        &self,
        branch_id: i64,
        window: SlotWindow,
        audit_entry: AuditEntry,
    ) -> Result<DeliverySlot, DomainError> {
        self.db
            .transaction(async |conn| {
                let row: SlotRow = diesel::insert_into(delivery_slots::table)
                    .values((
                        delivery_slots::branch_id.eq(branch_id),
                        delivery_slots::day_of_week.eq(window.day_of_week),
                        delivery_slots::start_time.eq(window.start_time),
                        delivery_slots::end_time.eq(window.end_time),
                    ))
                    .returning(SlotRow::as_returning())
                    .get_result(conn)
                    .await?;
                let s = DeliverySlot::from(row);
                audit::created(conn, audit_entry, &s, s.id).await?;
                Ok::<_, Tx<DomainError>>(s)
            })
            .await
    }

    async fn update_slot(
        &self,
        id: i64,
        window: SlotWindow,
        audit_entry: AuditEntry,
    ) -> Result<DeliverySlot, DomainError> {
        self.db
            .transaction(async |conn| {
                let old: SlotRow = rows::first(conn, delivery_slots::table.find(id).for_update())
                    .await?
                    .ok_or_else(slot_not_found)?;
                let row: SlotRow = diesel::update(delivery_slots::table.find(id))
                    .set((
                        delivery_slots::day_of_week.eq(window.day_of_week),
                        delivery_slots::start_time.eq(window.start_time),
                        delivery_slots::end_time.eq(window.end_time),
                        delivery_slots::updated_at.eq(Utc::now()),
                    ))
                    .returning(SlotRow::as_returning())
                    .get_result(conn)
                    .await?;
                let (old, new) = (DeliverySlot::from(old), DeliverySlot::from(row));
                audit::changed(conn, audit_entry, &old, &new).await?;
                Ok::<_, Tx<DomainError>>(new)
            })
            .await
    }

    async fn set_slot_active(
        &self,
        id: i64,
        active: bool,
        audit_entry: AuditEntry,
    ) -> Result<DeliverySlot, DomainError> {
        self.db
            .transaction(async |conn| {
                let row: Option<SlotRow> =
                    rows::set_active(conn, Switchable::DeliverySlots, id, active, audit_entry)
                        .await?;
                row.map(DeliverySlot::from)
                    .ok_or_else(|| Tx(slot_not_found()))
            })
            .await
    }
}
