//! Global settings: delivery fee and free-delivery threshold (used by checkout).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tracing::instrument;

use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::identity::UserId;
use crate::{DomainError, Money};

/// Largest amount a setting may hold (₪100,000).
pub const MAX_SETTING: Money = Money(10_000_000);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Free-delivery threshold: a cart below it pays `delivery_fee`.
    pub delivery_min: Money,
    pub delivery_fee: Money,
    /// Kept for compatibility; it has no effect.
    pub free_threshold: Money,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SettingsPatch {
    pub delivery_min: Option<Money>,
    pub delivery_fee: Option<Money>,
    pub free_threshold: Option<Money>,
}

/// Defaults for the settings row when none exists yet (from the environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingsDefaults {
    pub delivery_min: Money,
    pub delivery_fee: Money,
    pub free_threshold: Money,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The settings row, created from `defaults` if missing.
    async fn get(&self, defaults: SettingsDefaults) -> Result<Settings, DomainError>;
    /// Locks the row, applies the patch, stamps the actor, audits old and new values.
    async fn update(
        &self,
        defaults: SettingsDefaults,
        patch: SettingsPatch,
        audit: AuditEntry,
    ) -> Result<Settings, DomainError>;
}

pub struct SettingsService {
    store: Arc<dyn SettingsStore>,
    defaults: SettingsDefaults,
}

impl SettingsService {
    pub fn new(store: Arc<dyn SettingsStore>, defaults: SettingsDefaults) -> Self {
        Self { store, defaults }
    }

    pub async fn get(&self) -> Result<Settings, DomainError> {
        self.store.get(self.defaults).await
    }

    #[instrument(skip_all)]
    pub async fn update(
        &self,
        patch: SettingsPatch,
        ctx: &RequestContext,
    ) -> Result<Settings, DomainError> {
        let audit = AuditEntry::new(ctx, "global_settings", AuditTarget::Id(1), "UPDATE");
        self.store.update(self.defaults, patch, audit).await
    }
}
