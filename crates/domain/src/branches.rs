//! Branches (stores and the warehouse) and their weekly delivery slots.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveTime;
use serde::Serialize;
use tracing::instrument;

use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::validation::{FieldError, ValidationErrors};
use crate::{DomainError, catalog::models::parse_name};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Branch {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub is_active: bool,
}

/// A weekly delivery window: `day_of_week` 0 = Sunday .. 6 = Saturday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliverySlot {
    pub id: i64,
    pub branch_id: i64,
    pub day_of_week: i16,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
    pub is_active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchInput {
    pub name: String,
    pub address: String,
}

impl BranchInput {
    /// `name` 2..100, `address` 5..200 characters.
    pub fn parse(name: &str, address: &str) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = errors.check(parse_name("name", name, 100));
        let address = address.trim();
        let n = address.chars().count();
        if !(5..=200).contains(&n) {
            errors.push(FieldError::new(
                &["address"],
                "string_length",
                "Address should have 5 to 200 characters",
            ));
        }
        errors.clone().into_result()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            address: address.to_owned(),
        })
    }
}

/// A slot's day and window, checked: an exact two-hour window between 06:00 and 22:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotWindow {
    pub day_of_week: i16,
    pub start_time: NaiveTime,
    pub end_time: NaiveTime,
}

fn parse_time(field: &str, raw: &str) -> Result<NaiveTime, FieldError> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(raw.trim(), "%H:%M"))
        .map_err(|_| {
            FieldError::new(
                &[field],
                "time_parsing",
                "Input should be a time as HH:MM or HH:MM:SS",
            )
        })
}

impl SlotWindow {
    pub fn parse(day_of_week: i64, start: &str, end: &str) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if !(0..=6).contains(&day_of_week) {
            errors.push(FieldError::new(
                &["day_of_week"],
                "range",
                "day_of_week should be 0 (Sunday) to 6 (Saturday)",
            ));
        }
        let start_time = errors.check(parse_time("start_time", start));
        let end_time = errors.check(parse_time("end_time", end));
        if let (Some(s), Some(e)) = (start_time, end_time) {
            let six = NaiveTime::from_hms_opt(6, 0, 0).unwrap_or(s);
            let ten_pm = NaiveTime::from_hms_opt(22, 0, 0).unwrap_or(e);
            if s < six || e > ten_pm {
                errors.push(FieldError::new(
                    &["start_time"],
                    "value_error",
                    "A slot must lie between 06:00 and 22:00",
                ));
            } else if e - s != chrono::Duration::hours(2) {
                errors.push(FieldError::new(
                    &["end_time"],
                    "value_error",
                    "A slot must be exactly two hours long",
                ));
            }
        }
        errors.clone().into_result()?;
        match (i16::try_from(day_of_week), start_time, end_time) {
            (Ok(day_of_week), Some(start_time), Some(end_time)) => Ok(Self {
                day_of_week,
                start_time,
                end_time,
            }),
            _ => Err(errors),
        }
    }
}

/// Which slots to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlotFilter {
    pub branch_id: Option<i64>,
    pub day_of_week: Option<i16>,
    pub include_inactive: bool,
}

/// Branches and slots. Every write is one transaction with its audit entry (completed with the
/// values before and after).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BranchStore: Send + Sync {
    /// Branches by name (only active ones unless `include_inactive`), and the total.
    async fn list_branches(
        &self,
        include_inactive: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Branch>, i64), DomainError>;
    async fn branch(&self, id: i64) -> Result<Option<Branch>, DomainError>;
    /// Errors: `Conflict(DUPLICATE_BRANCH)`.
    async fn create_branch(
        &self,
        input: BranchInput,
        audit: AuditEntry,
    ) -> Result<Branch, DomainError>;
    /// Errors: `NotFound`, `Conflict(DUPLICATE_BRANCH)`.
    async fn update_branch(
        &self,
        id: i64,
        input: BranchInput,
        audit: AuditEntry,
    ) -> Result<Branch, DomainError>;
    /// Errors: `NotFound`.
    async fn set_branch_active(
        &self,
        id: i64,
        active: bool,
        audit: AuditEntry,
    ) -> Result<Branch, DomainError>;
    /// Slots by branch, day and start time.
    async fn list_slots(&self, filter: SlotFilter) -> Result<Vec<DeliverySlot>, DomainError>;
    /// Errors: `NotFound` (branch), `Conflict(DUPLICATE_SLOT)`.
    async fn create_slot(
        &self,
        branch_id: i64,
        window: SlotWindow,
        audit: AuditEntry,
    ) -> Result<DeliverySlot, DomainError>;
    /// Errors: `NotFound`, `Conflict(DUPLICATE_SLOT)`.
    async fn update_slot(
        &self,
        id: i64,
        window: SlotWindow,
        audit: AuditEntry,
    ) -> Result<DeliverySlot, DomainError>;
    /// Errors: `NotFound`.
    async fn set_slot_active(
        &self,
        id: i64,
        active: bool,
        audit: AuditEntry,
    ) -> Result<DeliverySlot, DomainError>;
}

/// Branch and slot use cases.
pub struct BranchService {
    store: Arc<dyn BranchStore>,
    /// The warehouse (`DELIVERY_SOURCE_BRANCH_ID`): it cannot be deactivated.
    delivery_source: i64,
}

impl BranchService {
    pub fn new(store: Arc<dyn BranchStore>, delivery_source: i64) -> Self {
        Self {
            store,
            delivery_source,
        }
    }

    pub fn delivery_source_id(&self) -> i64 {
        self.delivery_source
    }

    pub async fn list(
        &self,
        include_inactive: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Branch>, i64), DomainError> {
        self.store
            .list_branches(include_inactive, limit, offset)
            .await
    }

    /// The warehouse that serves deliveries.
    pub async fn delivery_source(&self) -> Result<Branch, DomainError> {
        self.store
            .branch(self.delivery_source)
            .await?
            .ok_or_else(|| {
                DomainError::not_found("CONFIG_ERROR", "The delivery source branch does not exist")
            })
    }

    pub async fn slots(&self, filter: SlotFilter) -> Result<Vec<DeliverySlot>, DomainError> {
        self.store.list_slots(filter).await
    }

    #[instrument(skip_all)]
    pub async fn create(
        &self,
        input: BranchInput,
        ctx: &RequestContext,
    ) -> Result<Branch, DomainError> {
        self.store
            .create_branch(
                input,
                AuditEntry::new(ctx, "branch", AuditTarget::Created, "CREATE"),
            )
            .await
    }

    #[instrument(skip_all)]
    pub async fn update(
        &self,
        id: i64,
        input: BranchInput,
        ctx: &RequestContext,
    ) -> Result<Branch, DomainError> {
        self.store
            .update_branch(
                id,
                input,
                AuditEntry::new(ctx, "branch", AuditTarget::Id(id), "UPDATE"),
            )
            .await
    }

    /// Deactivating the warehouse is refused: deliveries would have no source.
    #[instrument(skip_all)]
    pub async fn set_active(
        &self,
        id: i64,
        active: bool,
        ctx: &RequestContext,
    ) -> Result<Branch, DomainError> {
        if !active && id == self.delivery_source {
            return Err(DomainError::conflict(
                "CANNOT_DEACTIVATE_DELIVERY_SOURCE",
                "The delivery source branch cannot be deactivated",
            ));
        }
        let action = if active { "ACTIVATE" } else { "DEACTIVATE" };
        self.store
            .set_branch_active(
                id,
                active,
                AuditEntry::new(ctx, "branch", AuditTarget::Id(id), action),
            )
            .await
    }

    #[instrument(skip_all)]
    pub async fn create_slot(
        &self,
        branch_id: i64,
        window: SlotWindow,
        ctx: &RequestContext,
    ) -> Result<DeliverySlot, DomainError> {
        self.store
            .create_slot(
                branch_id,
                window,
                AuditEntry::new(ctx, "delivery_slot", AuditTarget::Created, "CREATE"),
            )
            .await
    }

    #[instrument(skip_all)]
    pub async fn update_slot(
        &self,
        id: i64,
        window: SlotWindow,
        ctx: &RequestContext,
    ) -> Result<DeliverySlot, DomainError> {
        self.store
            .update_slot(
                id,
                window,
                AuditEntry::new(ctx, "delivery_slot", AuditTarget::Id(id), "UPDATE"),
            )
            .await
    }

    #[instrument(skip_all)]
    pub async fn set_slot_active(
        &self,
        id: i64,
        active: bool,
        ctx: &RequestContext,
    ) -> Result<DeliverySlot, DomainError> {
        let action = if active { "ACTIVATE" } else { "DEACTIVATE" };
        self.store
            .set_slot_active(
                id,
                active,
                AuditEntry::new(ctx, "delivery_slot", AuditTarget::Id(id), action),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_exact_two_hour_windows_between_six_and_ten() {
        assert!(SlotWindow::parse(0, "06:00", "08:00").is_ok());
        assert!(SlotWindow::parse(6, "20:00:00", "22:00:00").is_ok());
        for (day, s, e) in [
            (1, "06:30", "08:00"),
            (1, "05:00", "07:00"),
            (1, "21:00", "23:00"),
            (7, "08:00", "10:00"),
            (1, "10:00", "08:00"),
            (1, "8am", "10:00"),
        ] {
            assert!(SlotWindow::parse(day, s, e).is_err(), "{day} {s}-{e}");
        }
    }

    #[tokio::test]
    async fn the_warehouse_cannot_be_deactivated() {
        let svc = BranchService::new(Arc::new(MockBranchStore::new()), 1);
        let err = svc.set_active(1, false, &RequestContext::default()).await;
        assert!(matches!(
            err,
            Err(DomainError::Conflict {
                code: "CANNOT_DEACTIVATE_DELIVERY_SOURCE",
                ..
            })
        ));
    }

    #[test]
    fn branch_input_rules() {
        assert!(BranchInput::parse("Mami Haifa", "1 Herzl St, Haifa").is_ok());
        assert!(BranchInput::parse("M", "1 Herzl St").is_err());
        assert!(BranchInput::parse("Mami Haifa", "Addr").is_err());
    }
}
