//! The caller's profile: name and phone number.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tracing::instrument;

use super::models::{FullName, User, UserId};
use super::ports::IdentityStore;
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::{FieldError, InfraError};

/// A profile phone number: `^\+?\d{8,32}$`, as the reference's profile routes accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfilePhone(String);

impl ProfilePhone {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        let digits = value.strip_prefix('+').unwrap_or(value);
        if !(8..=32).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(
                &[field],
                "string_pattern_mismatch",
                "String should match pattern '^\\+?\\d{8,32}$'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The profile's longest name (the reference's profile rule; registration allows 50).
pub const PROFILE_NAME_MAX: usize = 128;

/// A change of the profile; `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfilePatch {
    pub full_name: Option<FullName>,
    pub phone: Option<ProfilePhone>,
}

impl ProfilePatch {
    /// The fields that `self` changes in `current`, as (old, new) audit values; `None` when it
    /// changes nothing.
    pub fn changes(&self, current: &User) -> Option<(Value, Value)> {
        let mut old = Map::new();
        let mut new = Map::new();
        if let Some(name) = &self.full_name
            && name.as_str() != current.full_name
        {
            old.insert("full_name".into(), json!(current.full_name));
            new.insert("full_name".into(), json!(name.as_str()));
        }
        if let Some(phone) = &self.phone
            && Some(phone.as_str()) != current.phone.as_deref()
        {
            old.insert("phone".into(), json!(current.phone));
            new.insert("phone".into(), json!(phone.as_str()));
        }
        (!new.is_empty()).then_some((Value::Object(old), Value::Object(new)))
    }
}

/// Writing profile changes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// Locks the user, applies `patch` where it changes something ([`ProfilePatch::changes`])
    /// and writes `audit` with the old and new values in the same transaction. Returns the
    /// user as it now is, `None` when there is none.
    async fn update_profile(
        &self,
        user: UserId,
        patch: ProfilePatch,
        audit: AuditEntry,
    ) -> Result<Option<User>, InfraError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("User not found")]
    UserNotFound,
    #[error(transparent)]
    Internal(#[from] InfraError),
}

/// Reading and changing the caller's profile.
pub struct ProfileService {
    users: Arc<dyn IdentityStore>,
    store: Arc<dyn ProfileStore>,
}

impl ProfileService {
    pub fn new(users: Arc<dyn IdentityStore>, store: Arc<dyn ProfileStore>) -> Self {
        Self { users, store }
    }

    pub async fn profile(&self, user: UserId) -> Result<User, ProfileError> {
        self.users
            .find_by_id(user)
            .await?
            .ok_or(ProfileError::UserNotFound)
    }

    /// `PATCH /me`: name and/or phone, audited as `user/UPDATE_PROFILE`.
    #[instrument(skip_all)]
    pub async fn update(
        &self,
        user: UserId,
        patch: ProfilePatch,
        ctx: &RequestContext,
    ) -> Result<User, ProfileError> {
        self.apply(user, patch, "UPDATE_PROFILE", ctx).await
    }

    /// `PATCH /me/phone`, audited as `user/UPDATE_PHONE`.
    #[instrument(skip_all)]
    pub async fn update_phone(
        &self,
        user: UserId,
        phone: ProfilePhone,
        ctx: &RequestContext,
    ) -> Result<User, ProfileError> {
        let patch = ProfilePatch {
            full_name: None,
            phone: Some(phone),
        };
        self.apply(user, patch, "UPDATE_PHONE", ctx).await
    }

    async fn apply(
        &self,
        user: UserId,
        patch: ProfilePatch,
        action: &'static str,
        ctx: &RequestContext,
    ) -> Result<User, ProfileError> {
        let audit = AuditEntry::new(ctx, "user", AuditTarget::Id(user.0), action);
        self.store
            .update_profile(user, patch, audit)
            .await?
            .ok_or(ProfileError::UserNotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::models::{PasswordHash, Role};
    use chrono::Utc;

    fn user() -> User {
        User {
            id: UserId(7),
            email: "dana@example.com".into(),
            full_name: "Dana Levi".into(),
            phone: Some("0501234567".into()),
            role: Role::Customer,
            is_active: true,
            password_hash: PasswordHash("h".into()),
            token_version: 0,
            default_branch_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn phone_rule() {
        for ok in ["0501234567", "+972501234567", "12345678"] {
            assert!(ProfilePhone::parse("phone", ok).is_ok(), "{ok}");
        }
        for bad in [
            "050-111-2233",
            "1234567",
            "+",
            "++12345678",
            &"1".repeat(33),
        ] {
            assert!(ProfilePhone::parse("phone", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_real_changes_are_recorded() -> Result<(), FieldError> {
        let u = user();
        assert_eq!(ProfilePatch::default().changes(&u), None);
        let same = ProfilePatch {
            full_name: Some(FullName::parse_up_to("full_name", "Dana Levi", 128)?),
            phone: Some(ProfilePhone::parse("phone", "0501234567")?),
        };
        assert_eq!(same.changes(&u), None);
        let phone = ProfilePatch {
            full_name: Some(FullName::parse_up_to("full_name", "Dana Levi", 128)?),
            phone: Some(ProfilePhone::parse("phone", "+972501234567")?),
        };
        assert_eq!(
            phone.changes(&u),
            Some((
                json!({"phone": "0501234567"}),
                json!({"phone": "+972501234567"})
            ))
        );
        Ok(())
    }
}
