//! Stored e-mail addresses put into their identity form ([`normalize_email`]: NFKC, then
//! Unicode case folding), run by [`Database::migrate`] after the SQL migrations. The rule
//! lives in the domain, in Rust, so this data migration is Rust too rather than an SQL
//! approximation of it. It is idempotent, and reads only the addresses that can change (those
//! that are not plain lower-case ASCII).

use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::{AuditEntry, AuditTarget};
use mami_domain::identity::normalize_email;
use mami_domain::{DomainError, InfraError, RequestContext};
use serde_json::json;

use crate::error::Tx;
use crate::schema::users;
use crate::sql::lower;
use crate::{Database, audit};

/// What normalising the stored addresses did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailNormalization {
    /// Users whose address was rewritten into its normal form (each audited).
    pub changed: Vec<i64>,
    /// Users whose normal form another account already has (look-alike accounts registered
    /// before addresses were normalised): left as stored. Signing in by typing the address
    /// reaches the other account; these need an administrator.
    pub clashing: Vec<i64>,
}

/// Rewrites user `id`'s address `stored` into `normal` unless another account has it.
async fn normalize_one(
    conn: &mut AsyncPgConnection,
    id: i64,
    stored: &str,
    normal: &str,
) -> QueryResult<bool> {
    let taken: Option<i64> = users::table
        .filter(lower(users::email).eq(lower(normal)))
        .filter(users::id.ne(id))
        .select(users::id)
        .first(conn)
        .await
        .optional()?;
    if taken.is_some() {
        return Ok(false);
    }
    diesel::update(users::table.find(id))
        .set(users::email.eq(normal))
        .execute(conn)
        .await?;
    let entry = AuditEntry::new(
        &RequestContext::anonymous(None),
        "user",
        AuditTarget::Id(id),
        "EMAIL_NORMALIZED",
    )
    .old(json!({ "email": stored }))
    .new_value(json!({ "email": normal }));
    audit::insert(conn, &entry, None).await?;
    Ok(true)
}

impl Database {
    /// Puts every stored address into its normal form, in one transaction, oldest user first.
    pub async fn normalize_stored_emails(&self) -> Result<EmailNormalization, InfraError> {
        let outcome = self
            .transaction(async |conn| {
                let candidates: Vec<(i64, String)> = users::table
                    .filter(diesel::dsl::sql::<Bool>(
                        "email <> lower(email) OR email !~ '^[ -~]*$'",
                    ))
                    .select((users::id, users::email))
                    .order(users::id)
                    .for_update()
                    .load(conn)
                    .await?;
                let mut out = EmailNormalization::default();
                for (id, stored) in candidates {
                    let normal = normalize_email(&stored);
                    if normal == stored {
                        continue;
                    }
                    if normalize_one(conn, id, &stored, &normal).await? {
                        out.changed.push(id);
                    } else {
                        out.clashing.push(id);
                    }
                }
                Ok::<_, Tx<DomainError>>(out)
            })
            .await;
        outcome.map_err(|e| match e {
            DomainError::Internal(e) => e,
            other => InfraError::new(other.to_string()),
        })
    }
}
