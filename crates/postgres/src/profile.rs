//! [`ProfileStore`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::InfraError;
use mami_domain::audit::AuditEntry;
use mami_domain::identity::{ProfilePatch, ProfileStore, User, UserId};

use crate::error::Tx;
use crate::identity::UserRow;
use crate::schema::users;
use crate::{Database, audit};

/// The columns a profile change sets; `None` leaves a column alone.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct ProfileColumns<'a> {
    full_name: Option<&'a str>,
    phone: Option<&'a str>,
    updated_at: DateTime<Utc>,
}

/// Profile changes in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgProfileStore {
    db: Database,
}

impl PgProfileStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ProfileStore for PgProfileStore {
    async fn update_profile(
        &self,
        user: UserId,
        patch: ProfilePatch,
        audit_entry: AuditEntry,
    ) -> Result<Option<User>, InfraError> {
        self.db
            .transaction(async |conn| {
                // No key update: rows referring to the user (orders, carts) are not blocked.
                let current: Option<UserRow> = users::table
                    .find(user.0)
                    .select(UserRow::as_select())
                    .for_no_key_update()
                    .first(conn)
                    .await
                    .optional()?;
                let Some(current) = current.map(User::from) else {
                    return Ok(None);
                };
                let Some((old, new)) = patch.changes(&current) else {
                    return Ok(Some(current));
                };
                let columns = ProfileColumns {
                    full_name: patch.full_name.as_ref().map(|n| n.as_str()),
                    phone: patch.phone.as_ref().map(|p| p.as_str()),
                    updated_at: Utc::now(),
                };
                let row: UserRow = diesel::update(users::table.find(user.0))
                    .set(&columns)
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .await?;
                audit::insert(conn, &audit_entry.old(old).new_value(new), None).await?;
                Ok::<_, Tx<InfraError>>(Some(User::from(row)))
            })
            .await
    }
}
