//! Writing audit entries inside the caller's transaction.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::{AuditEntry, AuditTarget};
use serde::Serialize;

use crate::schema::audit;

/// Inserts `entry`; `created_id` resolves [`AuditTarget::Created`].
pub(crate) async fn insert(
    conn: &mut AsyncPgConnection,
    entry: &AuditEntry,
    created_id: Option<i64>,
) -> QueryResult<()> {
    let entity_id = match entry.target {
        AuditTarget::Id(id) => id,
        AuditTarget::Created => created_id.unwrap_or(0),
        AuditTarget::None => 0,
    };
    diesel::insert_into(audit::table)
        .values((
            audit::entity_type.eq(entry.entity_type),
            audit::entity_id.eq(entity_id),
            audit::action.eq(entry.action),
            audit::old_value.eq(&entry.old_value),
            audit::new_value.eq(&entry.new_value),
            audit::context.eq(&entry.context),
            audit::actor_user_id.eq(entry.actor.map(|a| a.0)),
            audit::request_id.eq(entry.request_id.as_deref()),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Writes `entry` for a row just created as `row`, whose id is `id`.
pub(crate) async fn created<T: Serialize>(
    conn: &mut AsyncPgConnection,
    entry: AuditEntry,
    row: &T,
    id: i64,
) -> QueryResult<()> {
    insert(conn, &entry.with_change(None, snapshot(row)), Some(id)).await
}

/// Writes `entry` for a row changed from `old` to `new`.
pub(crate) async fn changed<T: Serialize>(
    conn: &mut AsyncPgConnection,
    entry: AuditEntry,
    old: &T,
    new: &T,
) -> QueryResult<()> {
    let entry = entry.with_change(snapshot(old), snapshot(new));
    insert(conn, &entry, None).await
}

fn snapshot<T: Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}
