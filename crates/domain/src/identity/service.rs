//! Identity use cases: register, log in, authenticate a token, refresh, log out, change the
//! password.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use tracing::instrument;

use super::models::{
    Email, FullName, LoginPassword, NewPassword, Phone, Principal, Role, TokenKind, User, UserId,
};
use super::ports::{IdentityStore, NewUser, PasswordHasher, StoreError};
use crate::InfraError;
use crate::audit::{AuditEntry, AuditTarget, RequestContext};

/// What the edge learned from a token whose signature and expiry it already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFacts {
    pub user_id: UserId,
    pub kind: TokenKind,
    /// This token's id.
    pub jti: String,
    /// The login session the token belongs to (shared by its access and refresh tokens).
    pub sid: String,
    /// The user's token version when the token was issued.
    pub version: i32,
    pub expires_at: DateTime<Utc>,
}

/// A registration request whose fields are already parsed.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: Email,
    pub password: NewPassword,
    pub full_name: FullName,
    pub phone: Option<Phone>,
    /// The role the caller asked for, if any. Only `CUSTOMER` may be asked for.
    pub requested_role: Option<Role>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("registration can only create customers")]
    PrivilegedRole,
    #[error("User already exists")]
    UserExists,
    #[error(transparent)]
    Internal(#[from] InfraError),
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("Invalid email or password")]
    InvalidCredentials,
    #[error("User account is inactive")]
    AccountInactive,
    #[error(transparent)]
    Internal(#[from] InfraError),
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable identity: the user is gone or inactive.
    #[error("User account is inactive")]
    AuthRequired,
    /// The token is of the wrong kind for this use (a refresh token on an access route…).
    #[error("Token is not valid for this request")]
    WrongTokenKind,
    #[error("Token has been revoked")]
    Revoked,
    #[error(transparent)]
    Internal(#[from] InfraError),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    #[error("Current password is incorrect")]
    InvalidCredentials,
    #[error("Authenticated user not found")]
    UserNotFound,
    #[error(transparent)]
    Internal(#[from] InfraError),
}

/// The identity use cases, over a store and a password hasher.
pub struct IdentityService {
    store: Arc<dyn IdentityStore>,
    hasher: Arc<dyn PasswordHasher>,
}

impl IdentityService {
    pub fn new(store: Arc<dyn IdentityStore>, hasher: Arc<dyn PasswordHasher>) -> Self {
        Self { store, hasher }
    }

    /// Creates a customer account. A privileged `role` in the request is refused, never granted.
    #[instrument(skip_all)]
    pub async fn register(
        &self,
        reg: Registration,
        ctx: &RequestContext,
    ) -> Result<User, RegisterError> {
        if reg.requested_role.is_some_and(|r| r != Role::Customer) {
            return Err(RegisterError::PrivilegedRole);
        }
        if self.store.find_by_email(&reg.email).await?.is_some() {
            return Err(RegisterError::UserExists);
        }
        let password_hash = self.hasher.hash(reg.password.expose().to_owned()).await?;
        let new_user = NewUser {
            email: reg.email.as_str().to_owned(),
            full_name: reg.full_name.as_str().to_owned(),
            phone: reg.phone.map(|p| p.as_str().to_owned()),
            role: Role::Customer,
            password_hash,
        };
        let audit =
            AuditEntry::new(ctx, "user", AuditTarget::Created, "REGISTER").new_value(json!({
                "email": new_user.email,
                "full_name": new_user.full_name,
                "role": Role::Customer.as_str(),
            }));
        match self.store.create_user(new_user, audit).await {
            Ok(user) => Ok(user),
            Err(StoreError::EmailTaken) => Err(RegisterError::UserExists),
            Err(StoreError::Infra(e)) => Err(e.into()),
        }
    }

    /// Checks the credentials. Unknown e-mail and wrong password are indistinguishable, in
    /// answer and in timing; both are audited as `LOGIN_FAILURE`.
    #[instrument(skip_all)]
    pub async fn login(
        &self,
        email: &Email,
        password: &LoginPassword,
        ctx: &RequestContext,
    ) -> Result<User, LoginError> {
        let user = self.store.find_by_email(email).await?;
        let Some(user) = user else {
            self.hasher
                .verify_dummy(password.expose().to_owned())
                .await?;
            self.audit_login_failure(email, None, ctx).await?;
            return Err(LoginError::InvalidCredentials);
        };
        if !self
            .hasher
            .verify(password.expose().to_owned(), user.password_hash.clone())
            .await?
        {
            self.audit_login_failure(email, Some(user.id), ctx).await?;
            return Err(LoginError::InvalidCredentials);
        }
        if !user.is_active {
            self.audit_login_failure(email, Some(user.id), ctx).await?;
            return Err(LoginError::AccountInactive);
        }
        let audit = AuditEntry::new(
            ctx,
            "user_login",
            AuditTarget::Id(user.id.0),
            "LOGIN_SUCCESS",
        )
        .actor(Some(user.id))
        .context(json!({ "email": user.email }));
        self.store.append_audit(audit).await?;
        Ok(user)
    }

    async fn audit_login_failure(
        &self,
        email: &Email,
        user: Option<UserId>,
        ctx: &RequestContext,
    ) -> Result<(), InfraError> {
        let target = user.map_or(AuditTarget::None, |u| AuditTarget::Id(u.0));
        let audit = AuditEntry::new(ctx, "user_login", target, "LOGIN_FAILURE")
            .context(json!({ "email": email.as_str(), "reason": "AUTH_FAILED" }));
        self.store.append_audit(audit).await
    }

    /// Turns a verified token into the caller, checking the database: the user must exist and
    /// be active, the token must be of the expected kind, not revoked and of the current
    /// token version.
    #[instrument(skip_all)]
    pub async fn authenticate(
        &self,
        token: &TokenFacts,
        expected: TokenKind,
    ) -> Result<User, AuthError> {
        if token.kind != expected {
            return Err(AuthError::WrongTokenKind);
        }
        let state = self
            .store
            .session_state(token.user_id, vec![token.jti.clone(), token.sid.clone()])
            .await?
            .ok_or(AuthError::AuthRequired)?;
        if !state.user.is_active {
            return Err(AuthError::AuthRequired);
        }
        if state.revoked || state.user.token_version != token.version {
            return Err(AuthError::Revoked);
        }
        Ok(state.user)
    }

    /// Spends a refresh token: it is revoked, and the caller may issue a new pair for the same
    /// session. A refresh token can be spent once; a second use is `Revoked`.
    #[instrument(skip_all)]
    pub async fn refresh(
        &self,
        token: &TokenFacts,
        ctx: &RequestContext,
    ) -> Result<User, AuthError> {
        let user = self.authenticate(token, TokenKind::Refresh).await?;
        let audit = AuditEntry::new(
            ctx,
            "user_session",
            AuditTarget::Id(user.id.0),
            "TOKEN_REFRESH",
        )
        .actor(Some(user.id))
        .context(json!({ "sid": token.sid }));
        let fresh = self
            .store
            .revoke_token(
                token.jti.clone(),
                user.id,
                TokenKind::Refresh,
                token.expires_at,
                audit,
            )
            .await?;
        if !fresh {
            return Err(AuthError::Revoked);
        }
        Ok(user)
    }

    /// Ends the caller's session: its access and refresh tokens stop working. `until` must be at
    /// least the expiry of the longest-lived token of the session.
    #[instrument(skip_all)]
    pub async fn logout(
        &self,
        principal: &Principal,
        token: &TokenFacts,
        until: DateTime<Utc>,
        ctx: &RequestContext,
    ) -> Result<(), AuthError> {
        let audit = AuditEntry::new(
            ctx,
            "user_session",
            AuditTarget::Id(principal.user_id.0),
            "LOGOUT",
        )
        .context(json!({ "sid": token.sid }));
        // Already revoked means a concurrent logout won; the session is closed either way.
        self.store
            .revoke_token(
                token.sid.clone(),
                principal.user_id,
                token.kind,
                until,
                audit,
            )
            .await?;
        Ok(())
    }

    /// Changes the caller's password after checking the current one; every token issued
    /// before, the caller's included, stops working.
    #[instrument(skip_all)]
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &LoginPassword,
        new: &NewPassword,
        ctx: &RequestContext,
    ) -> Result<(), ChangePasswordError> {
        let user = self
            .store
            .find_by_id(principal.user_id)
            .await?
            .ok_or(ChangePasswordError::UserNotFound)?;
        if !self
            .hasher
            .verify(current.expose().to_owned(), user.password_hash.clone())
            .await?
        {
            return Err(ChangePasswordError::InvalidCredentials);
        }
        let hash = self.hasher.hash(new.expose().to_owned()).await?;
        let audit = AuditEntry::new(ctx, "user", AuditTarget::Id(user.id.0), "CHANGE_PASSWORD")
            .old(json!({ "token_version": user.token_version }))
            .new_value(json!({ "token_version": user.token_version + 1 }));
        self.store
            .update_password(user.id, hash, audit)
            .await?
            .ok_or(ChangePasswordError::UserNotFound)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::models::PasswordHash;
    use crate::identity::ports::{MockIdentityStore, MockPasswordHasher, SessionState};

    fn user(id: i64, role: Role, active: bool) -> User {
        User {
            id: UserId(id),
            email: "dana@example.com".into(),
            full_name: "Dana Levi".into(),
            phone: None,
            role,
            is_active: active,
            password_hash: PasswordHash("$argon2id$stored".into()),
            token_version: 3,
            default_branch_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn registration(role: Option<Role>) -> Result<Registration, crate::FieldError> {
        Ok(Registration {
            email: Email::parse("email", "Dana@Example.com")?,
            password: NewPassword::parse("password", "Secret123")?,
            full_name: FullName::parse("full_name", "Dana Levi")?,
            phone: None,
            requested_role: role,
        })
    }

    fn ctx() -> RequestContext {
        RequestContext::anonymous(Some("req-1".into()))
    }

    fn facts(kind: TokenKind, version: i32) -> TokenFacts {
        TokenFacts {
            user_id: UserId(7),
            kind,
            jti: "jti-1".into(),
            sid: "sid-1".into(),
            version,
            expires_at: Utc::now(),
        }
    }

    fn service(store: MockIdentityStore, hasher: MockPasswordHasher) -> IdentityService {
        IdentityService::new(Arc::new(store), Arc::new(hasher))
    }

    #[tokio::test]
    async fn register_refuses_privileged_role_without_touching_the_store()
    -> Result<(), Box<dyn std::error::Error>> {
        let svc = service(MockIdentityStore::new(), MockPasswordHasher::new());
        for role in [Role::Employee, Role::Manager, Role::Admin] {
            let err = svc.register(registration(Some(role))?, &ctx()).await;
            assert!(matches!(err, Err(RegisterError::PrivilegedRole)), "{role}");
        }
        Ok(())
    }

    #[tokio::test]
    async fn register_creates_a_customer_with_hashed_password_and_audit()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut store = MockIdentityStore::new();
        store.expect_find_by_email().returning(|_| Ok(None));
        store
            .expect_create_user()
            .withf(|u, a| {
                u.role == Role::Customer
                    && u.password_hash.0 == "hashed"
                    && a.action == "REGISTER"
                    && a.target == AuditTarget::Created
                    && a.request_id.as_deref() == Some("req-1")
                    && !a
                        .new_value
                        .as_ref()
                        .is_some_and(|v| v.to_string().contains("Secret123"))
            })
            .times(1)
            .returning(|_, _| Ok(user(1, Role::Customer, true)));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .withf(|p| p == "Secret123")
            .returning(|_| Ok(PasswordHash("hashed".into())));
        let created = service(store, hasher)
            .register(registration(Some(Role::Customer))?, &ctx())
            .await?;
        assert_eq!(created.role, Role::Customer);
        Ok(())
    }

    #[tokio::test]
    async fn register_maps_a_lost_insert_race_to_user_exists()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut store = MockIdentityStore::new();
        store.expect_find_by_email().returning(|_| Ok(None));
        store
            .expect_create_user()
            .returning(|_, _| Err(StoreError::EmailTaken));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash("h".into())));
        let err = service(store, hasher)
            .register(registration(None)?, &ctx())
            .await;
        assert!(matches!(err, Err(RegisterError::UserExists)));
        Ok(())
    }

    #[tokio::test]
    async fn login_with_unknown_email_burns_a_hash_and_audits_failure()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut store = MockIdentityStore::new();
        store.expect_find_by_email().returning(|_| Ok(None));
        store
            .expect_append_audit()
            .withf(|a| {
                a.action == "LOGIN_FAILURE" && a.target == AuditTarget::None && a.actor.is_none()
            })
            .times(1)
            .returning(|_| Ok(()));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify_dummy().times(1).returning(|_| Ok(()));
        let err = service(store, hasher)
            .login(
                &Email::parse("email", "nobody@example.com")?,
                &LoginPassword::parse("password", "whatever1")?,
                &ctx(),
            )
            .await;
        assert!(matches!(err, Err(LoginError::InvalidCredentials)));
        Ok(())
    }

    #[tokio::test]
    async fn login_of_inactive_user_with_right_password_is_refused()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut store = MockIdentityStore::new();
        store
            .expect_find_by_email()
            .returning(|_| Ok(Some(user(7, Role::Customer, false))));
        store.expect_append_audit().times(1).returning(|_| Ok(()));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().returning(|_, _| Ok(true));
        let err = service(store, hasher)
            .login(
                &Email::parse("email", "dana@example.com")?,
                &LoginPassword::parse("password", "Secret123")?,
                &ctx(),
            )
            .await;
        assert!(matches!(err, Err(LoginError::AccountInactive)));
        Ok(())
    }

    #[tokio::test]
    async fn login_success_is_audited_with_the_user_as_actor()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut store = MockIdentityStore::new();
        store
            .expect_find_by_email()
            .returning(|_| Ok(Some(user(7, Role::Manager, true))));
        store
            .expect_append_audit()
            .withf(|a| a.action == "LOGIN_SUCCESS" && a.actor == Some(UserId(7)))
            .times(1)
            .returning(|_| Ok(()));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().returning(|_, _| Ok(true));
        let u = service(store, hasher)
            .login(
                &Email::parse("email", "dana@example.com")?,
                &LoginPassword::parse("password", "Secret123")?,
                &ctx(),
            )
            .await?;
        assert_eq!(u.role, Role::Manager);
        Ok(())
    }

    #[tokio::test]
    async fn authenticate_checks_kind_user_revocation_and_version() {
        let state = |active: bool, revoked: bool| {
            move |_: UserId, ids: Vec<String>| {
                assert_eq!(ids, vec!["jti-1".to_owned(), "sid-1".to_owned()]);
                Ok(Some(SessionState {
                    user: user(7, Role::Admin, active),
                    revoked,
                }))
            }
        };
        // (token, stored state as (active, revoked), expected outcome)
        type Case = (TokenFacts, Option<(bool, bool)>, &'static str);
        let cases: Vec<Case> = vec![
            (facts(TokenKind::Refresh, 3), None, "wrong-kind"),
            (facts(TokenKind::Access, 3), Some((true, false)), "ok"),
            (
                facts(TokenKind::Access, 3),
                Some((false, false)),
                "auth-required",
            ),
            (facts(TokenKind::Access, 3), Some((true, true)), "revoked"),
            (facts(TokenKind::Access, 2), Some((true, false)), "revoked"),
        ];
        for (token, st, expected) in cases {
            let mut store = MockIdentityStore::new();
            if let Some((active, revoked)) = st {
                store
                    .expect_session_state()
                    .returning(state(active, revoked));
            }
            let got = service(store, MockPasswordHasher::new())
                .authenticate(&token, TokenKind::Access)
                .await;
            let label = match got {
                Ok(_) => "ok",
                Err(AuthError::WrongTokenKind) => "wrong-kind",
                Err(AuthError::AuthRequired) => "auth-required",
                Err(AuthError::Revoked) => "revoked",
                Err(AuthError::Internal(_)) => "internal",
            };
            assert_eq!(label, expected);
        }
    }

    #[tokio::test]
    async fn a_refresh_token_is_spent_once() {
        let mut store = MockIdentityStore::new();
        store.expect_session_state().returning(|_, _| {
            Ok(Some(SessionState {
                user: user(7, Role::Customer, true),
                revoked: false,
            }))
        });
        let mut first = true;
        store
            .expect_revoke_token()
            .times(2)
            .returning(move |_, _, _, _, _| {
                let fresh = first;
                first = false;
                Ok(fresh)
            });
        let svc = service(store, MockPasswordHasher::new());
        assert!(
            svc.refresh(&facts(TokenKind::Refresh, 3), &ctx())
                .await
                .is_ok()
        );
        assert!(matches!(
            svc.refresh(&facts(TokenKind::Refresh, 3), &ctx()).await,
            Err(AuthError::Revoked)
        ));
    }

    #[tokio::test]
    async fn change_password_checks_current_and_bumps_version()
    -> Result<(), Box<dyn std::error::Error>> {
        let principal = Principal::from(&user(7, Role::Customer, true));
        let current = LoginPassword::parse("current_password", "Secret123")?;
        let new = NewPassword::parse("new_password", "Better456")?;

        let mut store = MockIdentityStore::new();
        store
            .expect_find_by_id()
            .returning(|_| Ok(Some(user(7, Role::Customer, true))));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().returning(|_, _| Ok(false));
        let err = service(store, hasher)
            .change_password(&principal, &current, &new, &ctx())
            .await;
        assert!(matches!(err, Err(ChangePasswordError::InvalidCredentials)));

        let mut store = MockIdentityStore::new();
        store
            .expect_find_by_id()
            .returning(|_| Ok(Some(user(7, Role::Customer, true))));
        store
            .expect_update_password()
            .withf(|id, h, a| {
                *id == UserId(7) && h.0 == "new-hash" && a.action == "CHANGE_PASSWORD"
            })
            .times(1)
            .returning(|_, _, _| Ok(Some(4)));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().returning(|_, _| Ok(true));
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash("new-hash".into())));
        service(store, hasher)
            .change_password(&principal, &current, &new, &ctx())
            .await?;
        Ok(())
    }
}
