//! [`RecoveryStore`] on PostgreSQL: reset tokens and registration codes (as digests), each
//! written with its outbox message and audit row in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::InfraError;
use mami_domain::audit::AuditEntry;
use mami_domain::identity::recovery::{
    CodeFacts, CodeVerdict, RecoveryStore, ResetPasswordError, ResetTokenFacts, check_reset_token,
    judge_code,
};
use mami_domain::identity::{Email, PasswordHash, UserId};
use mami_domain::mail::OutboxMail;

use crate::error::{Tx, infra};
use crate::identity::store_password;
use crate::schema::{password_reset_tokens as prt, registration_otps as otp, users};
use crate::sql::lower;
use crate::{Database, audit, outbox};

/// The reset token with `digest` of the user with `email`: its user, expiry and whether it was
/// used; locked when `lock`.
async fn reset_facts(
    conn: &mut AsyncPgConnection,
    email: &Email,
    digest: &str,
    lock: bool,
) -> QueryResult<Option<ResetTokenFacts>> {
    // A sub-select rather than a join, so that the lock takes the token row only.
    let owner = users::table
        .filter(lower(users::email).eq(email.normalized()))
        .select(users::id);
    let query = prt::table
        .filter(prt::token_hash.eq(digest))
        .filter(prt::user_id.eq_any(owner))
        .select((prt::user_id, prt::expires_at, prt::used_at.is_not_null()));
    let row: Option<(i64, DateTime<Utc>, bool)> = if lock {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    Ok(row.map(|(user, expires_at, used)| ResetTokenFacts {
        user: UserId(user),
        expires_at,
        used,
    }))
}

/// The latest registration code of `email`, locked.
async fn latest_code(
    conn: &mut AsyncPgConnection,
    email: &Email,
) -> QueryResult<Option<CodeFacts>> {
    let row: Option<(i64, String, i32, DateTime<Utc>, bool)> = otp::table
        .filter(lower(otp::email).eq(email.normalized()))
        .order((otp::created_at.desc(), otp::id.desc()))
        .select((
            otp::id,
            otp::code_hash,
            otp::attempts,
            otp::expires_at,
            otp::is_used,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(
        row.map(|(id, digest, attempts, expires_at, used)| CodeFacts {
            id,
            digest,
            attempts,
            expires_at,
            used,
        }),
    )
}

/// Reset tokens and registration codes in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgRecoveryStore {
    db: Database,
}

impl PgRecoveryStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl RecoveryStore for PgRecoveryStore {
    async fn issue_reset_token(
        &self,
        user: UserId,
        digest: String,
        expires_at: DateTime<Utc>,
        mail: OutboxMail,
        audit_entry: AuditEntry,
    ) -> Result<(), InfraError> {
        self.db
            .transaction(async |conn| {
                diesel::insert_into(prt::table)
                    .values((
                        prt::user_id.eq(user.0),
                        prt::token_hash.eq(&digest),
                        prt::expires_at.eq(expires_at),
                    ))
                    .execute(conn)
                    .await?;
                outbox::enqueue(conn, &mail).await?;
                audit::insert(conn, &audit_entry, None).await?;
                Ok::<_, Tx<InfraError>>(())
            })
            .await
    }

    async fn reset_token(
        &self,
        email: &Email,
        digest: String,
    ) -> Result<Option<ResetTokenFacts>, InfraError> {
        let mut conn = self.db.conn().await?;
        reset_facts(&mut conn, email, &digest, false)
            .await
            .map_err(infra)
    }

    async fn reset_password(
        &self,
        email: &Email,
        digest: String,
        hash: PasswordHash,
        now: DateTime<Utc>,
        audit_entry: AuditEntry,
    ) -> Result<(), ResetPasswordError> {
        self.db
            .transaction(async |conn| {
                let facts = reset_facts(conn, email, &digest, true).await?;
                let user = check_reset_token(facts.as_ref(), now)?;
                // Every outstanding link of the account dies with the reset, not only this one.
                diesel::update(
                    prt::table
                        .filter(prt::user_id.eq(user.0))
                        .filter(prt::used_at.is_null()),
                )
                .set(prt::used_at.eq(now))
                .execute(conn)
                .await?;
                if store_password(conn, user, &hash).await?.is_none() {
                    return Err(Tx(ResetPasswordError::InvalidOrExpiredToken));
                }
                audit::insert(conn, &audit_entry, None).await?;
                Ok::<_, Tx<ResetPasswordError>>(())
            })
            .await
    }

    async fn issue_registration_code(
        &self,
        email: &Email,
        digest: String,
        expires_at: DateTime<Utc>,
        mail: OutboxMail,
        audit_entry: AuditEntry,
    ) -> Result<(), InfraError> {
        let normalized = email.normalized();
        self.db
            .transaction(async |conn| {
                diesel::delete(otp::table.filter(lower(otp::email).eq(&normalized)))
                    .execute(conn)
                    .await?;
                let id: i64 = diesel::insert_into(otp::table)
                    .values((
                        otp::email.eq(&normalized),
                        otp::code_hash.eq(&digest),
                        otp::expires_at.eq(expires_at),
                    ))
                    .returning(otp::id)
                    .get_result(conn)
                    .await?;
                outbox::enqueue(conn, &mail).await?;
                audit::insert(conn, &audit_entry, Some(id)).await?;
                Ok::<_, Tx<InfraError>>(())
            })
            .await
    }

    async fn verify_registration_code(
        &self,
        email: &Email,
        digest: String,
        now: DateTime<Utc>,
        audit_entry: AuditEntry,
    ) -> Result<CodeVerdict, InfraError> {
        self.db
            .transaction(async |conn| {
                let facts = latest_code(conn, email).await?;
                let verdict = judge_code(facts.as_ref(), &digest, now);
                let id = facts.as_ref().map(|f| f.id);
                let row = otp::table.filter(otp::id.eq(id.unwrap_or_default()));
                match verdict {
                    CodeVerdict::Accepted => {
                        diesel::update(row)
                            .set((otp::is_used.eq(true), otp::updated_at.eq(now)))
                            .execute(conn)
                            .await?;
                    }
                    CodeVerdict::Wrong { attempts } => {
                        diesel::update(row)
                            .set((otp::attempts.eq(attempts), otp::updated_at.eq(now)))
                            .execute(conn)
                            .await?;
                    }
                    CodeVerdict::Exhausted | CodeVerdict::Invalid => {}
                }
                audit::insert(conn, &verdict.audit(audit_entry, id), None).await?;
                Ok::<_, Tx<InfraError>>(verdict)
            })
            .await
    }
}
