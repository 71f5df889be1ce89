//! [`AddressStore`] on PostgreSQL.
//!
//! Changes that move the default (create as default, set default) first lock the customer's
//! user row (`FOR NO KEY UPDATE`), so they run one at a time per customer: each sees the
//! default the previous one left, clears it and sets its own, and the partial unique index
//! (one default per user) is never tripped. Other changes lock only the address row.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::DomainError;
use mami_domain::addresses::{
    Address, AddressFields, AddressPatch, AddressStore, DefaultMove, decide_default, not_found,
};
use mami_domain::audit::AuditEntry;
use mami_domain::identity::UserId;
use serde_json::json;

use crate::error::{Tx, infra};
use crate::schema::{addresses as a, users};
use crate::{Database, audit};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = a)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct Row {
    id: i64,
    user_id: i64,
    address_line: String,
    city: String,
    country: String,
    postal_code: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    is_default: bool,
    created_at: DateTime<Utc>,
}

impl From<Row> for Address {
    fn from(r: Row) -> Self {
        Address {
            id: r.id,
            user_id: UserId(r.user_id),
            fields: AddressFields {
                address_line: r.address_line,
                city: r.city,
                postal_code: r.postal_code,
                country: r.country,
            },
            is_default: r.is_default,
            lat: r.latitude,
            lng: r.longitude,
            created_at: r.created_at,
        }
    }
}

/// Serialises the default-moving changes of one customer.
async fn lock_customer(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<()> {
    users::table
        .find(user.0)
        .select(users::id)
        .for_no_key_update()
        .first::<i64>(conn)
        .await
        .map(|_| ())
}

/// The customer's address `id`, locked; `None` for a missing one or someone else's.
async fn locked(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: i64,
) -> QueryResult<Option<Address>> {
    let row: Option<Row> = a::table
        .filter(a::id.eq(id))
        .filter(a::user_id.eq(user.0))
        .select(Row::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Address::from))
}

/// Clears the customer's default (under [`lock_customer`]); returns the address that was it.
async fn clear_default(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Option<i64>> {
    diesel::update(
        a::table
            .filter(a::user_id.eq(user.0))
            .filter(a::is_default.eq(true)),
    )
    .set((a::is_default.eq(false), a::updated_at.eq(Utc::now())))
    .returning(a::id)
    .get_result(conn)
    .await
    .optional()
}

/// The address book in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgAddressStore {
    db: Database,
}

impl PgAddressStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AddressStore for PgAddressStore {
    async fn list(&self, user: UserId) -> Result<Vec<Address>, DomainError> {
        let mut conn = self.db.conn().await?;
        let rows: Vec<Row> = a::table
            .filter(a::user_id.eq(user.0))
            .order((a::is_default.desc(), a::created_at.desc(), a::id.desc()))
            .select(Row::as_select())
            .load(&mut conn)
            .await
            .map_err(infra)?;
        Ok(rows.into_iter().map(Address::from).collect())
    }

    async fn create(
        &self,
        user: UserId,
        fields: AddressFields,
        is_default: bool,
        audit_entry: AuditEntry,
    ) -> Result<Address, DomainError> {
        self.db
            .transaction(async |conn| {
                let mut previous = None;
                if is_default {
                    lock_customer(conn, user).await?;
                    previous = clear_default(conn, user).await?;
                }
                let row: Row = diesel::insert_into(a::table)
                    .values((
                        a::user_id.eq(user.0),
                        a::address_line.eq(&fields.address_line),
                        a::city.eq(&fields.city),
                        a::postal_code.eq(&fields.postal_code),
                        a::country.eq(&fields.country),
                        a::is_default.eq(is_default),
                    ))
                    .returning(Row::as_returning())
                    .get_result(conn)
                    .await?;
                let address = Address::from(row);
                let mut entry = audit_entry.with_change(None, Some(address.snapshot()));
                if let Some(p) = previous {
                    entry = entry.context(json!({ "previous_default_id": p }));
                }
                audit::insert(conn, &entry, Some(address.id)).await?;
                Ok::<_, Tx<DomainError>>(address)
            })
            .await
    }

    async fn update(
        &self,
        user: UserId,
        id: i64,
        patch: AddressPatch,
        audit_entry: AuditEntry,
    ) -> Result<Address, DomainError> {
        self.db
            .transaction(async |conn| {
                let old = locked(conn, user, id).await?.ok_or_else(not_found)?;
                let fields = patch.apply(&old.fields);
                if fields == old.fields {
                    return Ok(old);
                }
                let row: Row = diesel::update(a::table.find(id))
                    .set((
                        a::address_line.eq(&fields.address_line),
                        a::city.eq(&fields.city),
                        a::postal_code.eq(&fields.postal_code),
                        a::country.eq(&fields.country),
                        a::updated_at.eq(Utc::now()),
                    ))
                    .returning(Row::as_returning())
                    .get_result(conn)
                    .await?;
                let new = Address::from(row);
                let entry = audit_entry.with_change(Some(old.snapshot()), Some(new.snapshot()));
                audit::insert(conn, &entry, None).await?;
                Ok::<_, Tx<DomainError>>(new)
            })
            .await
    }

    async fn delete(
        &self,
        user: UserId,
        id: i64,
        audit_entry: AuditEntry,
    ) -> Result<(), DomainError> {
        self.db
            .transaction(async |conn| {
                let row: Option<Row> =
                    diesel::delete(a::table.filter(a::id.eq(id)).filter(a::user_id.eq(user.0)))
                        .returning(Row::as_returning())
                        .get_result(conn)
                        .await
                        .optional()?;
                let old = row.map(Address::from).ok_or_else(not_found)?;
                let entry = audit_entry.with_change(Some(old.snapshot()), None);
                audit::insert(conn, &entry, None).await?;
                Ok::<_, Tx<DomainError>>(())
            })
            .await
    }

    async fn set_default(
        &self,
        user: UserId,
        id: i64,
        audit_entry: AuditEntry,
    ) -> Result<Address, DomainError> {
        self.db
            .transaction(async |conn| {
                lock_customer(conn, user).await?;
                let target = locked(conn, user, id).await?.ok_or_else(not_found)?;
                let current: Option<i64> = a::table
                    .filter(a::user_id.eq(user.0))
                    .filter(a::is_default.eq(true))
                    .select(a::id)
                    .first(conn)
                    .await
                    .optional()?;
                let DefaultMove::To { previous } = decide_default(target.id, current) else {
                    return Ok(target);
                };
                if previous.is_some() {
                    clear_default(conn, user).await?;
                }
                let row: Row = diesel::update(a::table.find(id))
                    .set((a::is_default.eq(true), a::updated_at.eq(Utc::now())))
                    .returning(Row::as_returning())
                    .get_result(conn)
                    .await?;
                let entry = audit_entry
                    .with_change(
                        Some(json!({ "is_default": false })),
                        Some(json!({ "is_default": true })),
                    )
                    .context(json!({ "previous_default_id": previous }));
                audit::insert(conn, &entry, None).await?;
                Ok::<_, Tx<DomainError>>(Address::from(row))
            })
            .await
    }
}
