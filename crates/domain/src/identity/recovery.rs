//! Password reset by e-mailed link, and e-mailed registration codes.
//!
//! Secrets (reset tokens, codes) are stored only as keyed digests and travel to their owner
//! through the mail outbox, written in the same transaction as the digest. A reset token works
//! once, for 30 minutes, and a reset revokes every session of the account; a registration code
//! works once, for 10 minutes, and only [`MAX_CODE_ATTEMPTS`] wrong guesses are allowed.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tracing::instrument;

use super::models::{Email, NewPassword, PasswordHash, UserId};
use super::ports::{IdentityStore, PasswordHasher};
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::mail::{MailMessage, OutboxMail};
use crate::{InfraError, Violation};

/// How long a reset link works.
pub fn reset_token_ttl() -> Duration {
    Duration::minutes(30)
}

/// How long a registration code works.
pub fn registration_code_ttl() -> Duration {
    Duration::minutes(10)
}

/// Wrong guesses a registration code survives; then it is dead and a new one must be asked for.
pub const MAX_CODE_ATTEMPTS: i32 = 5;

/// Randomness and the keyed digest that stands in for a secret in storage. The adapter holds
/// the random source and the key, so the domain stays deterministic under test.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretSource: Send + Sync {
    /// A reset token: at least 256 random bits, URL-safe.
    fn reset_token(&self) -> String;
    /// A registration code: four digits, 1000..=9999 (the reference's format).
    fn registration_code(&self) -> String;
    /// The keyed digest stored instead of `secret`: 64 hex characters.
    fn digest(&self, secret: &str) -> String;
}

/// `{frontend}/reset-password?token={token}`, the token percent-encoded.
pub fn reset_link(frontend_base_url: &str, token: &str) -> String {
    let mut encoded = String::with_capacity(token.len());
    for b in token.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!(
        "{}/reset-password?token={encoded}",
        frontend_base_url.trim_end_matches('/')
    )
}

/// Digests compared in time independent of where they differ.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// What the store knows of a reset token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetTokenFacts {
    pub user: UserId,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResetPasswordError {
    /// No unused, unexpired token with this digest for this e-mail (an unknown e-mail included).
    #[error("Invalid or expired token")]
    InvalidOrExpiredToken,
    #[error(transparent)]
    Internal(#[from] InfraError),
}

impl From<Violation> for ResetPasswordError {
    fn from(v: Violation) -> Self {
        ResetPasswordError::Internal(v.into())
    }
}

/// Whether a reset token may be spent at `now`: it exists for this e-mail, is unused and has
/// not expired. Returns its user.
pub fn check_reset_token(
    facts: Option<&ResetTokenFacts>,
    now: DateTime<Utc>,
) -> Result<UserId, ResetPasswordError> {
    match facts {
        Some(f) if !f.used && f.expires_at > now => Ok(f.user),
        _ => Err(ResetPasswordError::InvalidOrExpiredToken),
    }
}

/// What the store knows of the latest registration code of an e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFacts {
    pub id: i64,
    pub digest: String,
    pub attempts: i32,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

/// The judgement of one guess at a registration code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeVerdict {
    /// Right: the code is spent.
    Accepted,
    /// Wrong: the code has now seen `attempts` wrong guesses.
    Wrong { attempts: i32 },
    /// The code has seen too many wrong guesses; this one is not even compared.
    Exhausted,
    /// No live code: none was sent, it was used, or it expired.
    Invalid,
}

impl CodeVerdict {
    /// The audit row of this verdict, from the use case's `base` entry, about code `id`.
    pub fn audit(self, mut base: AuditEntry, id: Option<i64>) -> AuditEntry {
        base.target = id.map_or(AuditTarget::None, AuditTarget::Id);
        let (action, result, attempts) = match self {
            CodeVerdict::Accepted => ("VERIFY_CODE", "accepted", None),
            CodeVerdict::Wrong { attempts } => ("VERIFY_CODE_FAILED", "wrong", Some(attempts)),
            CodeVerdict::Exhausted => ("VERIFY_CODE_FAILED", "too_many_attempts", None),
            CodeVerdict::Invalid => ("VERIFY_CODE_FAILED", "no_live_code", None),
        };
        base.action = action;
        let mut context = base.context.take().unwrap_or_else(|| json!({}));
        context["result"] = json!(result);
        if let Some(n) = attempts {
            context["attempts"] = json!(n);
        }
        base.context(context)
    }
}

/// Judges a guess (its digest) against the e-mail's latest code at `now`.
pub fn judge_code(facts: Option<&CodeFacts>, digest: &str, now: DateTime<Utc>) -> CodeVerdict {
    let Some(code) = facts else {
        return CodeVerdict::Invalid;
    };
    if code.used || code.expires_at <= now {
        CodeVerdict::Invalid
    } else if code.attempts >= MAX_CODE_ATTEMPTS {
        CodeVerdict::Exhausted
    } else if same_digest(&code.digest, digest) {
        CodeVerdict::Accepted
    } else {
        CodeVerdict::Wrong {
            attempts: code.attempts + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationCodeError {
    /// Codes are switched off in this environment.
    #[error("Registration codes are not available in this environment")]
    NotEnabled,
    #[error("User already exists")]
    UserExists,
    #[error("Invalid or expired OTP code")]
    InvalidCode,
    #[error("Too many wrong codes; ask for a new code")]
    TooManyAttempts,
    #[error(transparent)]
    Internal(#[from] InfraError),
}

/// Reset tokens and registration codes, with the mail that carries them.
///
/// Every method is one transaction; the outbox message and the audit row are written in it.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RecoveryStore: Send + Sync {
    /// Stores a reset token's digest for `user` until `expires_at` and queues `mail`.
    async fn issue_reset_token(
        &self,
        user: UserId,
        digest: String,
        expires_at: DateTime<Utc>,
        mail: OutboxMail,
        audit: AuditEntry,
    ) -> Result<(), InfraError>;

    /// The reset token with `digest`, when it belongs to the user with `email`.
    async fn reset_token(
        &self,
        email: &Email,
        digest: String,
    ) -> Result<Option<ResetTokenFacts>, InfraError>;

    /// Under the token's lock, [`check_reset_token`] at `now`; then spends every unused reset
    /// token of the user, stores `hash` and bumps the user's token version (revoking every
    /// token issued before).
    async fn reset_password(
        &self,
        email: &Email,
        digest: String,
        hash: PasswordHash,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> Result<(), ResetPasswordError>;

    /// Replaces the e-mail's registration codes with this one and queues `mail` (which
    /// replaces an unsent mail of an earlier code).
    async fn issue_registration_code(
        &self,
        email: &Email,
        digest: String,
        expires_at: DateTime<Utc>,
        mail: OutboxMail,
        audit: AuditEntry,
    ) -> Result<(), InfraError>;

    /// Under the lock of the e-mail's latest code, [`judge_code`] at `now`; records a wrong
    /// guess or spends the code, and writes `verdict.audit(audit, …)`.
    async fn verify_registration_code(
        &self,
        email: &Email,
        digest: String,
        now: DateTime<Utc>,
        audit: AuditEntry,
    ) -> Result<CodeVerdict, InfraError>;
}

/// What recovery needs to know of its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoverySettings {
    /// Where the client runs: reset links point at its `/reset-password` page.
    pub frontend_base_url: String,
    /// Whether the registration-code routes work here (the reference's gate).
    pub registration_codes: bool,
}

pub struct RecoveryService {
    users: Arc<dyn IdentityStore>,
    store: Arc<dyn RecoveryStore>,
    hasher: Arc<dyn PasswordHasher>,
    secrets: Arc<dyn SecretSource>,
    settings: RecoverySettings,
}

impl RecoveryService {
    pub fn new(
        users: Arc<dyn IdentityStore>,
        store: Arc<dyn RecoveryStore>,
        hasher: Arc<dyn PasswordHasher>,
        secrets: Arc<dyn SecretSource>,
        settings: RecoverySettings,
    ) -> Self {
        Self {
            users,
            store,
            hasher,
            secrets,
            settings,
        }
    }

    /// Mails a reset link to an active account with this e-mail. The caller learns nothing:
    /// known, unknown and inactive addresses get the same answer (each is audited).
    #[instrument(skip_all)]
    pub async fn forgot_password(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        ctx: &RequestContext,
    ) -> Result<(), InfraError> {
        let entry = |target, result: &str| {
            AuditEntry::new(
                ctx,
                "user_password_reset",
                target,
                "FORGOT_PASSWORD_REQUEST",
            )
            .context(json!({ "email": email.as_str(), "result": result }))
        };
        let user = match self.users.find_by_email(email).await? {
            Some(u) if u.is_active => u,
            Some(u) => {
                return self
                    .users
                    .append_audit(entry(AuditTarget::Id(u.id.0), "inactive"))
                    .await;
            }
            None => {
                return self
                    .users
                    .append_audit(entry(AuditTarget::None, "unknown_email"))
                    .await;
            }
        };
        let token = self.secrets.reset_token();
        let expires_at = now + reset_token_ttl();
        let mail = OutboxMail {
            message: MailMessage::password_reset(
                user.email.clone(),
                reset_link(&self.settings.frontend_base_url, &token),
            ),
            expires_at,
            replaces: None,
        };
        let audit = entry(AuditTarget::Id(user.id.0), "sent");
        self.store
            .issue_reset_token(
                user.id,
                self.secrets.digest(&token),
                expires_at,
                mail,
                audit,
            )
            .await
    }

    /// Sets a new password with a reset token. The token is checked before the (slow) hashing
    /// and again, under its lock, when it is spent.
    #[instrument(skip_all)]
    pub async fn reset_password(
        &self,
        email: &Email,
        token: &str,
        password: &NewPassword,
        now: DateTime<Utc>,
        ctx: &RequestContext,
    ) -> Result<(), ResetPasswordError> {
        let digest = self.secrets.digest(token);
        let facts = self.store.reset_token(email, digest.clone()).await?;
        let user = check_reset_token(facts.as_ref(), now)?;
        let hash = self.hasher.hash(password.expose().to_owned()).await?;
        let audit = AuditEntry::new(
            ctx,
            "user_password_reset",
            AuditTarget::Id(user.0),
            "RESET_PASSWORD",
        )
        .actor(Some(user))
        .context(json!({ "email": email.as_str() }));
        self.store
            .reset_password(email, digest, hash, now, audit)
            .await
    }

    /// The reference's gate: registration codes work only where they are enabled.
    pub fn registration_codes(&self) -> Result<(), RegistrationCodeError> {
        if self.settings.registration_codes {
            Ok(())
        } else {
            Err(RegistrationCodeError::NotEnabled)
        }
    }

    fn code_digest(&self, email: &Email, code: &str) -> String {
        self.secrets
            .digest(&format!("{}:{code}", email.normalized()))
    }

    /// Mails a new registration code to an address no account uses; returns the code (the edge
    /// shows it only outside production).
    #[instrument(skip_all)]
    pub async fn send_registration_code(
        &self,
        email: &Email,
        now: DateTime<Utc>,
        ctx: &RequestContext,
    ) -> Result<String, RegistrationCodeError> {
        self.registration_codes()?;
        if self.users.find_by_email(email).await?.is_some() {
            return Err(RegistrationCodeError::UserExists);
        }
        let code = self.secrets.registration_code();
        let expires_at = now + registration_code_ttl();
        let mail = OutboxMail {
            message: MailMessage::registration_code(email.as_str(), &code),
            expires_at,
            replaces: Some(format!("registration_code:{}", email.normalized())),
        };
        let audit = AuditEntry::new(ctx, "registration_otp", AuditTarget::Created, "SEND_CODE")
            .context(json!({ "email": email.as_str() }));
        self.store
            .issue_registration_code(
                email,
                self.code_digest(email, &code),
                expires_at,
                mail,
                audit,
            )
            .await?;
        Ok(code)
    }

    /// Checks a registration code; a right one is spent, a wrong one counted.
    #[instrument(skip_all)]
    pub async fn verify_registration_code(
        &self,
        email: &Email,
        code: &str,
        now: DateTime<Utc>,
        ctx: &RequestContext,
    ) -> Result<(), RegistrationCodeError> {
        self.registration_codes()?;
        let audit = AuditEntry::new(ctx, "registration_otp", AuditTarget::None, "VERIFY_CODE")
            .context(json!({ "email": email.as_str() }));
        let verdict = self
            .store
            .verify_registration_code(email, self.code_digest(email, code), now, audit)
            .await?;
        match verdict {
            CodeVerdict::Accepted => Ok(()),
            CodeVerdict::Exhausted => Err(RegistrationCodeError::TooManyAttempts),
            CodeVerdict::Wrong { .. } | CodeVerdict::Invalid => {
                Err(RegistrationCodeError::InvalidCode)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::models::{Role, User};
    use crate::identity::ports::{MockIdentityStore, MockPasswordHasher};

    fn user(active: bool) -> User {
        User {
            id: UserId(7),
            email: "Dana@Example.com".into(),
            full_name: "Dana Levi".into(),
            phone: None,
            role: Role::Customer,
            is_active: active,
            password_hash: PasswordHash("h".into()),
            token_version: 0,
            default_branch_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn secrets() -> MockSecretSource {
        let mut s = MockSecretSource::new();
        s.expect_reset_token().returning(|| "tok+en/1".into());
        s.expect_registration_code().returning(|| "4821".into());
        s.expect_digest().returning(|v| format!("d({v})"));
        s
    }

    fn service(users: MockIdentityStore, store: MockRecoveryStore) -> RecoveryService {
        RecoveryService::new(
            Arc::new(users),
            Arc::new(store),
            Arc::new(MockPasswordHasher::new()),
            Arc::new(secrets()),
            RecoverySettings {
                frontend_base_url: "https://shop.example/".into(),
                registration_codes: true,
            },
        )
    }

    fn email() -> Email {
        Email::parse("email", "dana@example.com").unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn the_link_points_at_the_client_with_the_token_encoded() {
        assert_eq!(
            reset_link("https://shop.example/", "a+b/c=_-"),
            "https://shop.example/reset-password?token=a%2Bb%2Fc%3D_-"
        );
    }

    #[test]
    fn a_reset_token_is_spendable_once_and_in_time() {
        let now = Utc::now();
        let live = ResetTokenFacts {
            user: UserId(7),
            expires_at: now + Duration::minutes(1),
            used: false,
        };
        assert_eq!(check_reset_token(Some(&live), now), Ok(UserId(7)));
        let used = ResetTokenFacts {
            used: true,
            ..live.clone()
        };
        let late = ResetTokenFacts {
            expires_at: now,
            ..live
        };
        for facts in [Some(&used), Some(&late), None] {
            assert_eq!(
                check_reset_token(facts, now),
                Err(ResetPasswordError::InvalidOrExpiredToken)
            );
        }
    }

    #[test]
    fn a_code_allows_a_few_wrong_guesses() {
        let now = Utc::now();
        let code = |attempts, used, minutes| CodeFacts {
            id: 1,
            digest: "right".into(),
            attempts,
            expires_at: now + Duration::minutes(minutes),
            used,
        };
        let judge = |f: CodeFacts, d: &str| judge_code(Some(&f), d, now);
        assert_eq!(judge(code(0, false, 5), "right"), CodeVerdict::Accepted);
        assert_eq!(
            judge(code(0, false, 5), "wrong"),
            CodeVerdict::Wrong { attempts: 1 }
        );
        let last = MAX_CODE_ATTEMPTS - 1;
        assert_eq!(
            judge(code(last, false, 5), "wrong"),
            CodeVerdict::Wrong {
                attempts: MAX_CODE_ATTEMPTS
            }
        );
        // Once exhausted, not even the right code works.
        assert_eq!(
            judge(code(MAX_CODE_ATTEMPTS, false, 5), "right"),
            CodeVerdict::Exhausted
        );
        assert_eq!(judge(code(0, true, 5), "right"), CodeVerdict::Invalid);
        assert_eq!(judge(code(0, false, 0), "right"), CodeVerdict::Invalid);
        assert_eq!(judge_code(None, "right", now), CodeVerdict::Invalid);
    }

    #[tokio::test]
    async fn forgot_password_mails_a_link_only_to_an_active_account() {
        let mut users = MockIdentityStore::new();
        let mut found = vec![Some(user(true)), Some(user(false)), None];
        users
            .expect_find_by_email()
            .times(3)
            .returning(move |_| Ok(found.remove(0)));
        users
            .expect_append_audit()
            .withf(|a| a.action == "FORGOT_PASSWORD_REQUEST")
            .times(2)
            .returning(|_| Ok(()));
        let mut store = MockRecoveryStore::new();
        store
            .expect_issue_reset_token()
            .withf(|user, digest, _, mail, audit| {
                *user == UserId(7)
                    && digest == "d(tok+en/1)"
                    && mail.message.to == "Dana@Example.com"
                    && mail.message.params["reset_url"]
                        == "https://shop.example/reset-password?token=tok%2Ben%2F1"
                    && !format!("{audit:?}").contains("tok+en")
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(()));
        let svc = service(users, store);
        let ctx = RequestContext::default();
        for _ in 0..3 {
            assert_eq!(
                svc.forgot_password(&email(), Utc::now(), &ctx).await,
                Ok(())
            );
        }
    }

    #[tokio::test]
    async fn a_registration_code_is_refused_for_a_taken_address_or_when_disabled() {
        let mut users = MockIdentityStore::new();
        users
            .expect_find_by_email()
            .returning(|_| Ok(Some(user(true))));
        let svc = service(users, MockRecoveryStore::new());
        let r = svc
            .send_registration_code(&email(), Utc::now(), &RequestContext::default())
            .await;
        assert_eq!(r, Err(RegistrationCodeError::UserExists));
        let mut off = service(MockIdentityStore::new(), MockRecoveryStore::new());
        off.settings.registration_codes = false;
        let r = off
            .verify_registration_code(&email(), "1234", Utc::now(), &RequestContext::default())
            .await;
        assert_eq!(r, Err(RegistrationCodeError::NotEnabled));
    }

    #[tokio::test]
    async fn a_registration_code_is_stored_as_a_digest_bound_to_the_address() {
        let mut users = MockIdentityStore::new();
        users.expect_find_by_email().returning(|_| Ok(None));
        let mut store = MockRecoveryStore::new();
        store
            .expect_issue_registration_code()
            .withf(|_, digest, _, mail, _| {
                digest == "d(dana@example.com:4821)"
                    && mail.message.params["code"] == "4821"
                    && mail.replaces.as_deref() == Some("registration_code:dana@example.com")
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(()));
        let code = service(users, store)
            .send_registration_code(&email(), Utc::now(), &RequestContext::default())
            .await;
        assert_eq!(code, Ok("4821".into()));
    }
}
