//! [`IdentityStore`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::InfraError;
use mami_domain::audit::AuditEntry;
use mami_domain::identity::{
    Email, IdentityStore, NewUser, PasswordHash, Role, SessionState, StoreError, TokenKind, User,
    UserId,
};
use uuid::Uuid;

use crate::error::Tx;
use crate::schema::{revoked_tokens, users};
use crate::sql::lower;
use crate::{Database, audit, error, rows};

/// The `role_enum` PostgreSQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::RoleEnum"]
#[DbValueStyle = "UPPERCASE"]
pub enum DbRole {
    Customer,
    Employee,
    Manager,
    Admin,
}

impl From<Role> for DbRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Customer => DbRole::Customer,
            Role::Employee => DbRole::Employee,
            Role::Manager => DbRole::Manager,
            Role::Admin => DbRole::Admin,
        }
    }
}

impl From<DbRole> for Role {
    fn from(r: DbRole) -> Self {
        match r {
            DbRole::Customer => Role::Customer,
            DbRole::Employee => Role::Employee,
            DbRole::Manager => Role::Manager,
            DbRole::Admin => Role::Admin,
        }
    }
}

/// The `token_type` PostgreSQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel_derive_enum::DbEnum)]
#[ExistingTypePath = "crate::schema::sql_types::TokenType"]
#[DbValueStyle = "UPPERCASE"]
pub enum DbTokenType {
    Access,
    Refresh,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserRow {
    id: i64,
    email: String,
    full_name: String,
    phone: Option<String>,
    password_hash: String,
    role: DbRole,
    is_active: bool,
    token_version: i32,
    default_branch_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            email: r.email,
            full_name: r.full_name,
            phone: r.phone,
            role: r.role.into(),
            is_active: r.is_active,
            password_hash: PasswordHash(r.password_hash),
            token_version: r.token_version,
            default_branch_id: r.default_branch_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The user with this id, active or not.
pub(crate) async fn user_by_id(
    conn: &mut AsyncPgConnection,
    id: UserId,
) -> QueryResult<Option<User>> {
    let row: Option<UserRow> = rows::first(conn, users::table.find(id.0)).await?;
    Ok(row.map(User::from))
}

/// Stores a new password hash and bumps the token version in the same `UPDATE`, which revokes
/// every token issued before. Returns the new version, `None` when there is no such user.
pub(crate) async fn store_password(
    conn: &mut AsyncPgConnection,
    user: UserId,
    hash: &PasswordHash,
) -> QueryResult<Option<i32>> {
    diesel::update(users::table.find(user.0))
        .set((
            users::password_hash.eq(&hash.0),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(users::token_version)
        .get_result(conn)
        .await
        .optional()
}

/// Users, credentials and revoked sessions in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgIdentityStore {
    db: Database,
}

impl PgIdentityStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl IdentityStore for PgIdentityStore {
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, InfraError> {
        let mut conn = self.db.conn().await?;
        // Stored addresses are in their normal form (`normalize_stored_emails`); comparing
        // through lower() also finds one stored before that, and uses the unique index.
        let query = users::table.filter(lower(users::email).eq(lower(email.as_str().to_owned())));
        let row: Option<UserRow> = rows::first(&mut conn, query).await.map_err(error::infra)?;
        Ok(row.map(User::from))
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, InfraError> {
        let mut conn = self.db.conn().await?;
        user_by_id(&mut conn, id).await.map_err(error::infra)
    }

    async fn create_user(
        &self,
        user: NewUser,
        audit_entry: AuditEntry,
    ) -> Result<User, StoreError> {
        self.db
            .transaction(async |conn| {
                let row: UserRow = diesel::insert_into(users::table)
                    .values((
                        users::email.eq(&user.email),
                        users::full_name.eq(&user.full_name),
                        users::phone.eq(&user.phone),
                        users::password_hash.eq(&user.password_hash.0),
                        users::role.eq(DbRole::from(user.role)),
                    ))
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .await?;
                audit::insert(conn, &audit_entry, Some(row.id)).await?;
                Ok::<_, Tx<StoreError>>(User::from(row))
            })
            .await
    }

    async fn session_state(
        &self,
        user: UserId,
        token_ids: Vec<String>,
    ) -> Result<Option<SessionState>, InfraError> {
        let mut ids = Vec::with_capacity(token_ids.len());
        for id in &token_ids {
            match Uuid::parse_str(id) {
                Ok(u) => ids.push(u),
                // A token we signed always carries uuids; anything else is treated as revoked.
                Err(_) => {
                    return self.find_by_id(user).await.map(|u| {
                        u.map(|user| SessionState {
                            user,
                            revoked: true,
                        })
                    });
                }
            }
        }
        let mut conn = self.db.conn().await?;
        let revoked_exists =
            diesel::dsl::exists(revoked_tokens::table.filter(revoked_tokens::jti.eq_any(ids)));
        let row: Option<(UserRow, bool)> = users::table
            .find(user.0)
            .select((UserRow::as_select(), revoked_exists))
            .first(&mut conn)
            .await
            .optional()
            .map_err(error::infra)?;
        Ok(row.map(|(u, revoked)| SessionState {
            user: u.into(),
            revoked,
        }))
    }

    async fn update_password(
        &self,
        user: UserId,
        hash: PasswordHash,
        audit_entry: AuditEntry,
    ) -> Result<Option<i32>, InfraError> {
        self.db
            .transaction(async |conn| {
                let version = store_password(conn, user, &hash).await?;
                if version.is_some() {
                    audit::insert(conn, &audit_entry, None).await?;
                }
                Ok::<_, Tx<InfraError>>(version)
            })
            .await
    }

    async fn revoke_token(
        &self,
        token_id: String,
        user: UserId,
        kind: TokenKind,
        until: DateTime<Utc>,
        audit_entry: AuditEntry,
    ) -> Result<bool, InfraError> {
        let Ok(jti) = Uuid::parse_str(&token_id) else {
            return Ok(false);
        };
        let kind = match kind {
            TokenKind::Access => DbTokenType::Access,
            TokenKind::Refresh => DbTokenType::Refresh,
        };
        self.db
            .transaction(async |conn| {
                let inserted = diesel::insert_into(revoked_tokens::table)
                    .values((
                        revoked_tokens::jti.eq(jti),
                        revoked_tokens::user_id.eq(user.0),
                        revoked_tokens::token_type.eq(kind),
                        revoked_tokens::expires_at.eq(until),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
                if inserted == 1 {
                    audit::insert(conn, &audit_entry, None).await?;
                }
                Ok::<_, Tx<InfraError>>(inserted == 1)
            })
            .await
    }

    async fn append_audit(&self, audit_entry: AuditEntry) -> Result<(), InfraError> {
        let conn = self.db.conn().await?;
        audit::insert(&conn, &audit_entry, None)
            .await
            .map_err(error::infra)
    }
}
