//! Ports of the identity module: user storage with session revocation, and password hashing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::models::{Email, PasswordHash, Role, TokenKind, User, UserId};
use crate::InfraError;
use crate::audit::AuditEntry;

/// A user to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub email: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub password_hash: PasswordHash,
}

/// Why a store write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Another user already has this e-mail (case-insensitively).
    #[error("e-mail already registered")]
    EmailTaken,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<crate::Violation> for StoreError {
    fn from(v: crate::Violation) -> Self {
        match v {
            crate::Violation::DuplicateEmail => StoreError::EmailTaken,
            other => StoreError::Infra(InfraError::new(format!("unexpected violation: {other:?}"))),
        }
    }
}

/// What the store knows about a token's user and session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    pub user: User,
    /// True when any of the asked token ids (the token's `jti` or its session's `sid`) is revoked.
    pub revoked: bool,
}

/// Users, their credentials and revoked sessions.
///
/// Every method is one transaction. Methods taking an [`AuditEntry`] write it in that same
/// transaction, so the change and its audit row commit or roll back together.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// The user with this e-mail, compared case-insensitively.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, InfraError>;

    /// The user with this id, active or not.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, InfraError>;

    /// Inserts the user and the audit entry (whose `AuditTarget::Created` becomes the new id).
    /// Errors: [`StoreError::EmailTaken`] on a case-insensitive e-mail clash, even under a race.
    async fn create_user(&self, user: NewUser, audit: AuditEntry) -> Result<User, StoreError>;

    /// The user behind a token and whether any of `token_ids` has been revoked; `None` when the
    /// user no longer exists. One round trip: it runs on every authenticated request.
    async fn session_state(
        &self,
        user: UserId,
        token_ids: Vec<String>,
    ) -> Result<Option<SessionState>, InfraError>;

    /// Replaces the password hash and bumps the token version (revoking every earlier token).
    /// Returns the new token version, or `None` when the user does not exist.
    async fn update_password(
        &self,
        user: UserId,
        hash: PasswordHash,
        audit: AuditEntry,
    ) -> Result<Option<i32>, InfraError>;

    /// Records `token_id` as revoked until `until`. Returns `false` when it already was
    /// (a replayed refresh token), in which case the audit entry is not written.
    async fn revoke_token(
        &self,
        token_id: String,
        user: UserId,
        kind: TokenKind,
        until: DateTime<Utc>,
        audit: AuditEntry,
    ) -> Result<bool, InfraError>;

    /// Appends an audit entry that has no other change attached (for example a failed login).
    async fn append_audit(&self, audit: AuditEntry) -> Result<(), InfraError>;
}

/// Password hashing (argon2id in production). Slow by design: adapters must not block the
/// async runtime.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: String) -> Result<PasswordHash, InfraError>;

    /// `Ok(false)` for a wrong password or an unreadable stored hash.
    async fn verify(&self, password: String, hash: PasswordHash) -> Result<bool, InfraError>;

    /// Spends the same time as a real verification, so that an unknown e-mail cannot be told
    /// from a wrong password by timing.
    async fn verify_dummy(&self, password: String) -> Result<(), InfraError>;
}
