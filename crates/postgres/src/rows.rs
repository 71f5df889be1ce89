//! Row steps the adapters share: read (or lock) one row as a struct, and switch a row on or
//! off with its audit entry.

use chrono::Utc;
use diesel::dsl::{AsSelect, Limit, Select};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_dsl::methods::{LimitDsl, SelectDsl};
use diesel::sql_types::{BigInt, Bool, Timestamptz};
use diesel_async::methods::LoadQuery;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::audit::AuditEntry;
use serde_json::json;

use crate::audit;

/// The first row of `query` selected as `R`, or `None`. With `table.find(id).for_update()`,
/// the row stays locked until the transaction ends.
pub(crate) async fn first<Q, R>(conn: &mut AsyncPgConnection, query: Q) -> QueryResult<Option<R>>
where
    Q: SelectDsl<AsSelect<R, Pg>>,
    Select<Q, AsSelect<R, Pg>>: LimitDsl,
    Limit<Select<Q, AsSelect<R, Pg>>>: LoadQuery<'static, AsyncPgConnection, R> + Send + 'static,
    R: Selectable<Pg> + Send + 'static,
    R::SelectExpression: diesel::query_builder::QueryId,
{
    query.select(R::as_select()).first(conn).await.optional()
}

/// A table whose rows are switched on and off by their `is_active` column.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Switchable {
    Branches,
    DeliverySlots,
    Categories,
    Products,
}

impl Switchable {
    fn table(self) -> &'static str {
        match self {
            Switchable::Branches => "branches",
            Switchable::DeliverySlots => "delivery_slots",
            Switchable::Categories => "categories",
            Switchable::Products => "products",
        }
    }
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    is_active: bool,
}

/// Locks row `id` of `table`, sets its `is_active` and writes `entry` with the old and the
/// new value, in the caller's transaction. Returns the changed row, `None` when there is none.
pub(crate) async fn set_active<R>(
    conn: &mut AsyncPgConnection,
    table: Switchable,
    id: i64,
    active: bool,
    entry: AuditEntry,
) -> QueryResult<Option<R>>
where
    R: QueryableByName<Pg> + Send + 'static,
{
    // The table name comes from the closed set above, never from input.
    let name = table.table();
    let old: Option<Flag> = diesel::sql_query(format!(
        "SELECT is_active FROM {name} WHERE id = $1 FOR UPDATE"
    ))
    .bind::<BigInt, _>(id)
    .get_result(conn)
    .await
    .optional()?;
    let Some(old) = old else {
        return Ok(None);
    };
    let row: R = diesel::sql_query(format!(
        "UPDATE {name} SET is_active = $2, updated_at = $3 WHERE id = $1 RETURNING *"
    ))
    .bind::<BigInt, _>(id)
    .bind::<Bool, _>(active)
    .bind::<Timestamptz, _>(Utc::now())
    .get_result(conn)
    .await?;
    let entry = entry.with_change(
        Some(json!({"is_active": old.is_active})),
        Some(json!({"is_active": active})),
    );
    audit::insert(conn, &entry, None).await?;
    Ok(Some(row))
}
