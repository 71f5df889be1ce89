//! [`UserDirectory`] on PostgreSQL.

use async_trait::async_trait;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::DomainError;
use mami_domain::audit::AuditEntry;
use mami_domain::identity::{Role, User, UserDirectory, UserFilter, UserId, UserPatch};
use serde_json::json;

use crate::error::{Tx, infra};
use crate::identity::{DbRole, UserRow, user_by_id};
use crate::schema::users;
use crate::sql::{like_pattern, lower};
use crate::{Database, audit, rows};

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct UserChanges {
    role: Option<DbRole>,
    is_active: Option<bool>,
    full_name: Option<String>,
    phone: Option<Option<String>>,
    token_version: Option<i32>,
    updated_at: chrono::DateTime<Utc>,
}

fn visible(u: &User) -> serde_json::Value {
    json!({
        "role": u.role.as_str(),
        "is_active": u.is_active,
        "full_name": u.full_name,
        "phone": u.phone,
        "token_version": u.token_version,
    })
}

/// User administration in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgUserDirectory {
    db: Database,
}

impl PgUserDirectory {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl UserDirectory for PgUserDirectory {
    async fn list_users(
        &self,
        filter: UserFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64), DomainError> {
        let mut conn = self.db.conn().await?;
        macro_rules! filtered {
            ($q:expr) => {{
                let mut q = $q;
                if let Some(text) = &filter.q {
                    let pattern = like_pattern(&text.to_lowercase());
                    q = q.filter(
                        lower(users::email)
                            .like(pattern.clone())
                            .or(lower(users::full_name).like(pattern)),
                    );
                }
                if let Some(r) = filter.role {
                    q = q.filter(users::role.eq(DbRole::from(r)));
                }
                if let Some(a) = filter.is_active {
                    q = q.filter(users::is_active.eq(a));
                }
                q
            }};
        }
        let total: i64 = filtered!(users::table.count().into_boxed())
            .get_result(&mut conn)
            .await
            .map_err(infra)?;
        let rows: Vec<UserRow> = filtered!(users::table.select(UserRow::as_select()).into_boxed())
            .order((users::created_at.desc(), users::id.desc()))
            .limit(limit)
            .offset(offset)
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok((rows.into_iter().map(User::from).collect(), total))
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, DomainError> {
        let mut conn = self.db.conn().await?;
        Ok(user_by_id(&mut conn, id).await.map_err(infra)?)
    }

    async fn update_user(
        &self,
        id: UserId,
        expected_role: Role,
        expected_active: bool,
        patch: UserPatch,
        revoke_tokens: bool,
        audit_entry: AuditEntry,
    ) -> Result<User, DomainError> {
        self.db
            .transaction(async |conn| {
                let old: Option<UserRow> =
                    rows::first(conn, users::table.find(id.0).for_update()).await?;
                let old = old
                    .map(User::from)
                    .ok_or_else(|| DomainError::not_found("USER_NOT_FOUND", "User not found"))?;
                if old.role != expected_role || old.is_active != expected_active {
                    return Err(Tx(DomainError::conflict(
                        "USER_CHANGED",
                        "The user was changed meanwhile; reload and try again",
                    )));
                }
                let row: UserRow = diesel::update(users::table.find(id.0))
                    .set(UserChanges {
                        role: patch.role.map(DbRole::from),
                        is_active: patch.is_active,
                        full_name: patch.full_name.clone(),
                        phone: patch.phone.clone(),
                        // The row is locked: the version read is the one being replaced.
                        token_version: revoke_tokens.then_some(old.token_version + 1),
                        updated_at: Utc::now(),
                    })
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .await?;
                let new = User::from(row);
                audit::insert(
                    conn,
                    &audit_entry.with_change(Some(visible(&old)), Some(visible(&new))),
                    None,
                )
                .await?;
                Ok::<_, Tx<DomainError>>(new)
            })
            .await
    }
}
