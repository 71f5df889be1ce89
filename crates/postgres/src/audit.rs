//! Writing audit entries inside the caller's transaction.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::{AuditEntry, AuditTarget};
use serde::Serialize;
use serde_json::Value;

use crate::schema::audit;
use crate::sql::prepared_rows;

/// An audit row to insert (`None` is NULL, as with one row at a time).
#[derive(Insertable)]
#[diesel(table_name = audit, treat_none_as_default_value = false)]
struct NewRow<'a> {
    entity_type: &'a str,
    entity_id: i64,
    action: &'a str,
    old_value: Option<&'a Value>,
    new_value: Option<&'a Value>,
    context: Option<&'a Value>,
    actor_user_id: Option<i64>,
    request_id: Option<&'a str>,
}

/// `created_id` resolves [`AuditTarget::Created`].
fn row(entry: &AuditEntry, created_id: Option<i64>) -> NewRow<'_> {
    let entity_id = match entry.target {
        AuditTarget::Id(id) => id,
        AuditTarget::Created => created_id.unwrap_or(0),
        AuditTarget::None => 0,
    };
    NewRow {
        entity_type: entry.entity_type,
        entity_id,
        action: entry.action,
        old_value: entry.old_value.as_ref(),
        new_value: entry.new_value.as_ref(),
        context: entry.context.as_ref(),
        actor_user_id: entry.actor.map(|a| a.0),
        request_id: entry.request_id.as_deref(),
    }
}

/// Inserts `entry`; `created_id` resolves [`AuditTarget::Created`].
pub(crate) async fn insert(
    conn: &AsyncPgConnection,
    entry: &AuditEntry,
    created_id: Option<i64>,
) -> QueryResult<()> {
    insert_rows(conn, vec![row(entry, created_id)]).await
}

/// Inserts `entries` of existing entities with one statement, in their order.
pub(crate) async fn insert_all(
    conn: &AsyncPgConnection,
    entries: &[AuditEntry],
) -> QueryResult<()> {
    insert_rows(conn, entries.iter().map(|e| row(e, None)).collect()).await
}

/// Takes the connection shared, so that a caller may send it beside other statements
/// (pipelined, see `checkout::place`).
async fn insert_rows(mut conn: &AsyncPgConnection, rows: Vec<NewRow<'_>>) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let count = rows.len();
    prepared_rows(diesel::insert_into(audit::table).values(&rows), count)
        .execute(&mut conn)
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
