//! What `/ops/alerts` and `/ops/performance` are computed from: reports over several tables,
//! written as SQL (as the revenue report is).

use chrono::{DateTime, Duration, Utc};
use diesel::pg::Pg;
use diesel::sql_types::{BigInt, Integer, Nullable, Timestamptz, Varchar};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::ops::alerts::{DamageFact, LateOrder, LowStock, PaymentIssue};
use mami_domain::ops::{AlertFacts, AlertRules, PerformanceCounts};

use crate::enums::{DbOrderStatus, DbPaymentStatus};
use crate::schema::sql_types::{OrderStatus, PaymentStatus};

/// Orders in the queue: their authorization was not left unknown or declined.
const IN_QUEUE: &str = "o.payment_status NOT IN ('PENDING', 'DECLINED')";

#[derive(QueryableByName)]
struct LowRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Varchar)]
    branch_name: String,
    #[diesel(sql_type = Varchar)]
    product_name: String,
    #[diesel(sql_type = Integer)]
    available_quantity: i32,
    #[diesel(sql_type = Integer)]
    reorder_point: i32,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct LateRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Varchar)]
    order_number: String,
    #[diesel(sql_type = OrderStatus)]
    status: DbOrderStatus,
    #[diesel(sql_type = Timestamptz)]
    due: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct PaymentRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Varchar)]
    order_number: String,
    #[diesel(sql_type = OrderStatus)]
    status: DbOrderStatus,
    #[diesel(sql_type = PaymentStatus)]
    payment_status: DbPaymentStatus,
    #[diesel(sql_type = Nullable<Varchar>)]
    failure_code: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct DamageRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Varchar)]
    order_number: String,
    #[diesel(sql_type = Varchar)]
    item_name: String,
    #[diesel(sql_type = Varchar)]
    reason: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

/// The rows of `sql`, whose `$1` is a moment and `$2` a row limit.
async fn rows_at<T>(
    conn: &mut AsyncPgConnection,
    sql: &str,
    at: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<T>>
where
    T: QueryableByName<Pg> + Send + 'static,
{
    diesel::sql_query(sql)
        .bind::<Timestamptz, _>(at)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await
}

/// Inventory rows of open branches and products at or below their reorder point, the lowest
/// first, and how many there are.
async fn low_stock(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<(Vec<LowStock>, i64)> {
    const LOW: &str = "FROM inventory i JOIN branches b ON b.id = i.branch_id \
        JOIN products p ON p.id = i.product_id \
        WHERE i.available_quantity <= i.reorder_point AND b.is_active AND p.is_active";
    let rows: Vec<LowRow> = diesel::sql_query(format!(
        "SELECT i.id, b.name AS branch_name, p.name AS product_name, i.available_quantity, \
         i.reorder_point, i.updated_at {LOW} ORDER BY i.available_quantity, i.id LIMIT $1"
    ))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let total: Count = diesel::sql_query(format!("SELECT count(*) AS n {LOW}"))
        .get_result(conn)
        .await?;
    let low = |r: LowRow| LowStock {
        inventory_id: r.id,
        branch_name: r.branch_name,
        product_name: r.product_name,
        available: r.available_quantity,
        reorder_point: r.reorder_point,
        updated_at: r.updated_at,
    };
    Ok((rows.into_iter().map(low).collect(), total.n))
}

/// Orders of the queue not yet READY whose due time is before `due_before`, earliest first.
async fn late_orders(
    conn: &mut AsyncPgConnection,
    due_before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<LateOrder>> {
    let sql = format!(
        "SELECT o.id, o.order_number, o.status, \
         COALESCE(d.slot_start, p.pickup_window_start) AS due FROM orders o \
         LEFT JOIN order_delivery_details d ON d.order_id = o.id \
         LEFT JOIN order_pickup_details p ON p.order_id = o.id \
         WHERE o.status IN ('CREATED', 'IN_PROGRESS', 'MISSING') AND {IN_QUEUE} \
         AND COALESCE(d.slot_start, p.pickup_window_start) <= $1 \
         ORDER BY due, o.id LIMIT $2"
    );
    let rows: Vec<LateRow> = rows_at(conn, &sql, due_before, limit).await?;
    let late = |r: LateRow| LateOrder {
        order_id: r.id,
        order_number: r.order_number,
        status: r.status.into(),
        due: r.due,
    };
    Ok(rows.into_iter().map(late).collect())
}

/// Payments waiting for the provider since before `stuck_before`, refused captures of orders
/// not canceled, and money still held on canceled orders; newest first.
async fn payment_issues(
    conn: &mut AsyncPgConnection,
    stuck_before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<PaymentIssue>> {
    const SQL: &str = "SELECT o.id, o.order_number, o.status, o.payment_status, \
         pm.failure_code, \
         COALESCE(pm.updated_at, o.updated_at) AS updated_at \
         FROM orders o LEFT JOIN payments pm ON pm.order_id = o.id \
         WHERE (o.payment_status IN ('PENDING', 'CAPTURE_PENDING', 'REFUND_PENDING') \
                AND COALESCE(pm.updated_at, o.updated_at) < $1) \
            OR (o.payment_status = 'FAILED' AND o.status <> 'CANCELED') \
            OR (o.status = 'CANCELED' \
                AND o.payment_status IN ('AUTHORIZED', 'CAPTURED', 'PARTIALLY_REFUNDED') \
                AND COALESCE(pm.updated_at, o.updated_at) < $1) \
         ORDER BY updated_at DESC, o.id DESC LIMIT $2";
    let rows: Vec<PaymentRow> = rows_at(conn, SQL, stuck_before, limit).await?;
    let issue = |r: PaymentRow| PaymentIssue {
        order_id: r.id,
        order_number: r.order_number,
        order_status: r.status.into(),
        status: r.payment_status.into(),
        failure_code: r.failure_code,
        updated_at: r.updated_at,
    };
    Ok(rows.into_iter().map(issue).collect())
}

/// Damage reports since `since`, newest first.
async fn damage(
    conn: &mut AsyncPgConnection,
    since: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<DamageFact>> {
    const SQL: &str = "SELECT r.id, o.order_number, i.name AS item_name, r.reason, \
         r.created_at FROM order_item_damage_reports r JOIN orders o ON o.id = r.order_id \
         JOIN order_items i ON i.id = r.order_item_id \
         WHERE r.created_at >= $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2";
    let rows: Vec<DamageRow> = rows_at(conn, SQL, since, limit).await?;
    let fact = |r: DamageRow| DamageFact {
        id: r.id,
        order_number: r.order_number,
        item_name: r.item_name,
        reason: r.reason,
        created_at: r.created_at,
    };
    Ok(rows.into_iter().map(fact).collect())
}

/// Everything the alerts are made of.
pub(super) async fn alert_facts(
    conn: &mut AsyncPgConnection,
    rules: AlertRules,
    now: DateTime<Utc>,
) -> QueryResult<AlertFacts> {
    let limit = rules.per_kind;
    let (low_stock, low_stock_total) = low_stock(conn, limit).await?;
    Ok(AlertFacts {
        low_stock,
        low_stock_total,
        late_orders: late_orders(conn, now + rules.late_within, limit).await?,
        payments: payment_issues(conn, now - rules.payment_stuck_after, limit).await?,
        damage: damage(conn, now - rules.damage_since, limit).await?,
    })
}

#[derive(QueryableByName)]
struct Counts {
    #[diesel(sql_type = BigInt)]
    total_items: i64,
    #[diesel(sql_type = BigInt)]
    picked_items: i64,
    #[diesel(sql_type = BigInt)]
    live_pickers: i64,
    #[diesel(sql_type = BigInt)]
    active_orders: i64,
    #[diesel(sql_type = BigInt)]
    total_orders: i64,
}

/// Lines of the queue's orders that are not canceled (and still part of their order), those
/// PICKED, staff who set a line's status since `since`, open orders and all orders.
pub(super) async fn performance(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    window_minutes: i64,
) -> QueryResult<PerformanceCounts> {
    let since = now - Duration::minutes(window_minutes);
    let c: Counts = diesel::sql_query(format!(
        "WITH lines AS (SELECT i.picked_status FROM order_items i \
           JOIN orders o ON o.id = i.order_id \
           WHERE i.removed_at IS NULL AND o.status <> 'CANCELED' AND {IN_QUEUE}) \
         SELECT (SELECT count(*) FROM lines) AS total_items, \
           (SELECT count(*) FROM lines WHERE picked_status = 'PICKED') AS picked_items, \
           (SELECT count(DISTINCT picked_by) FROM order_items \
              WHERE picked_at >= $1 AND picked_at <= $2) AS live_pickers, \
           (SELECT count(*) FROM orders o \
              WHERE o.status IN ('CREATED', 'IN_PROGRESS') AND {IN_QUEUE}) AS active_orders, \
           (SELECT count(*) FROM orders o WHERE {IN_QUEUE}) AS total_orders"
    ))
    .bind::<Timestamptz, _>(since)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    Ok(PerformanceCounts {
        total_items: c.total_items,
        picked_items: c.picked_items,
        live_pickers: c.live_pickers,
        active_orders: c.active_orders,
        total_orders: c.total_orders,
    })
}
