//! User administration (back office): list, read, change role, activity, name and phone.
//!
//! Rules: only an ADMIN may make someone an ADMIN or change an ADMIN; nobody changes their own
//! role or deactivates themselves; deactivating a user revokes every token issued before, so
//! that reactivating them later does not bring those tokens back.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use tracing::instrument;

use super::models::{Principal, Role, User, UserId};
use crate::DomainError;
use crate::audit::{AuditEntry, AuditTarget, RequestContext};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserFilter {
    /// Case-insensitive substring of the e-mail or the full name.
    pub q: Option<String>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserPatch {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    pub full_name: Option<String>,
    pub phone: Option<Option<String>>,
}

impl UserPatch {
    pub fn is_empty(&self) -> bool {
        *self == UserPatch::default()
    }

    /// Whether applying the patch to `current` revokes the user's tokens: it deactivates an
    /// active user.
    pub fn revokes_tokens(&self, current: &User) -> bool {
        current.is_active && self.is_active == Some(false)
    }
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// Users matching the filter, newest first, and the total.
    async fn list_users(
        &self,
        filter: UserFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64), DomainError>;

    async fn user(&self, id: UserId) -> Result<Option<User>, DomainError>;

    /// Applies `patch` only if the user still has `expected_role` and `expected_active` (the
    /// state the rules were checked against), with the audit entry, in one transaction; with
    /// `revoke_tokens`, the same `UPDATE` bumps the user's token version, so every token issued
    /// before stops working.
    /// Errors: `NotFound`, `Conflict(USER_CHANGED)` when the user changed meanwhile.
    async fn update_user(
        &self,
        id: UserId,
        expected_role: Role,
        expected_active: bool,
        patch: UserPatch,
        revoke_tokens: bool,
        audit: AuditEntry,
    ) -> Result<User, DomainError>;
}

pub struct UserAdminService {
    store: Arc<dyn UserDirectory>,
}

fn not_found() -> DomainError {
    DomainError::not_found("USER_NOT_FOUND", "User not found")
}

impl UserAdminService {
    pub fn new(store: Arc<dyn UserDirectory>) -> Self {
        Self { store }
    }

    pub async fn list(
        &self,
        filter: UserFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64), DomainError> {
        self.store.list_users(filter, limit, offset).await
    }

    pub async fn get(&self, id: UserId) -> Result<User, DomainError> {
        self.store.user(id).await?.ok_or_else(not_found)
    }

    /// Changes a user, enforcing the rules above.
    #[instrument(skip_all)]
    pub async fn update(
        &self,
        actor: &Principal,
        id: UserId,
        patch: UserPatch,
        ctx: &RequestContext,
        action: &'static str,
    ) -> Result<User, DomainError> {
        if patch.is_empty() {
            return Err(DomainError::BadRequest {
                code: "BAD_REQUEST",
                message: "Missing JSON body".into(),
            });
        }
        let target = self.get(id).await?;
        if id == actor.user_id {
            if patch.role.is_some() {
                return Err(DomainError::forbidden(
                    "CANNOT_MODIFY_SELF_ROLE",
                    "You cannot change your own role",
                ));
            }
            if patch.is_active == Some(false) {
                return Err(DomainError::forbidden(
                    "CANNOT_DEACTIVATE_SELF",
                    "You cannot deactivate yourself",
                ));
            }
        }
        if actor.role != Role::Admin
            && (target.role == Role::Admin || patch.role == Some(Role::Admin))
        {
            return Err(DomainError::forbidden(
                "AUTHORIZATION_ERROR",
                "Only an ADMIN may grant the ADMIN role or change an ADMIN",
            ));
        }
        let revoke = patch.revokes_tokens(&target);
        let audit = AuditEntry::new(ctx, "user", AuditTarget::Id(id.0), action).context(json!({
            "target_email": target.email,
            "tokens_revoked": revoke,
        }));
        self.store
            .update_user(id, target.role, target.is_active, patch, revoke, audit)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::models::PasswordHash;
    use chrono::Utc;

    fn user(id: i64, role: Role) -> User {
        User {
            id: UserId(id),
            email: format!("u{id}@x.co"),
            full_name: "U".into(),
            phone: None,
            role,
            is_active: true,
            password_hash: PasswordHash(String::new()),
            token_version: 0,
            default_branch_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn principal(id: i64, role: Role) -> Principal {
        Principal::from(&user(id, role))
    }

    fn svc(target: User, expect_update: bool) -> UserAdminService {
        let mut store = MockUserDirectory::new();
        store
            .expect_user()
            .returning(move |_| Ok(Some(target.clone())));
        if expect_update {
            store
                .expect_update_user()
                .times(1)
                .returning(|id, _, _, _, _, _| Ok(user(id.0, Role::Employee)));
        }
        UserAdminService::new(Arc::new(store))
    }

    #[tokio::test]
    async fn deactivating_an_active_user_revokes_their_tokens() {
        let ctx = RequestContext::default();
        let admin = principal(1, Role::Admin);
        for (active, patch, revoke) in [
            (true, Some(false), true),
            (false, Some(false), false),
            (false, Some(true), false),
            (true, None, false),
        ] {
            let mut target = user(5, Role::Customer);
            target.is_active = active;
            let mut store = MockUserDirectory::new();
            store
                .expect_user()
                .returning(move |_| Ok(Some(target.clone())));
            store
                .expect_update_user()
                .withf(move |_, _, _, _, r, audit| {
                    *r == revoke
                        && audit.context.as_ref().map(|c| c["tokens_revoked"].clone())
                            == Some(json!(revoke))
                })
                .times(1)
                .returning(|id, _, _, _, _, _| Ok(user(id.0, Role::Customer)));
            let patch = UserPatch {
                is_active: patch,
                full_name: Some("Dana".into()),
                ..UserPatch::default()
            };
            let r = UserAdminService::new(Arc::new(store))
                .update(&admin, UserId(5), patch, &ctx, "USER_UPDATED")
                .await;
            assert!(r.is_ok(), "{active} {revoke}");
        }
    }

    fn code(r: Result<User, DomainError>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(
                DomainError::Forbidden { code, .. }
                | DomainError::BadRequest { code, .. }
                | DomainError::NotFound { code, .. },
            ) => code,
            Err(_) => "other",
        }
    }

    #[tokio::test]
    async fn admin_rules() {
        let ctx = RequestContext::default();
        let promote = UserPatch {
            role: Some(Role::Admin),
            ..UserPatch::default()
        };
        let deactivate = UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        };
        let demote = UserPatch {
            role: Some(Role::Employee),
            ..UserPatch::default()
        };
        let manager = principal(2, Role::Manager);
        let admin = principal(1, Role::Admin);

        assert_eq!(
            code(
                svc(user(5, Role::Customer), false)
                    .update(&manager, UserId(5), promote.clone(), &ctx, "U")
                    .await
            ),
            "AUTHORIZATION_ERROR"
        );
        assert_eq!(
            code(
                svc(user(1, Role::Admin), false)
                    .update(&manager, UserId(1), deactivate.clone(), &ctx, "U")
                    .await
            ),
            "AUTHORIZATION_ERROR"
        );
        assert_eq!(
            code(
                svc(user(1, Role::Admin), false)
                    .update(&admin, UserId(1), demote.clone(), &ctx, "U")
                    .await
            ),
            "CANNOT_MODIFY_SELF_ROLE"
        );
        assert_eq!(
            code(
                svc(user(2, Role::Manager), false)
                    .update(&manager, UserId(2), deactivate.clone(), &ctx, "U")
                    .await
            ),
            "CANNOT_DEACTIVATE_SELF"
        );
        assert_eq!(
            code(
                svc(user(5, Role::Customer), false)
                    .update(&admin, UserId(5), UserPatch::default(), &ctx, "U")
                    .await
            ),
            "BAD_REQUEST"
        );
        assert_eq!(
            code(
                svc(user(5, Role::Customer), true)
                    .update(&admin, UserId(5), promote, &ctx, "U")
                    .await
            ),
            "ok"
        );
        assert_eq!(
            code(
                svc(user(5, Role::Customer), true)
                    .update(&manager, UserId(5), demote, &ctx, "U")
                    .await
            ),
            "ok"
        );
    }
}
