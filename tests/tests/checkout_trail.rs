//! The exact answers and audit rows of checkout and cancel: what each step writes to the trail,
//! the 402 and 503 envelopes, and replays of outcomes stored by the previous version.

use diesel_async::RunQueryDsl;
use mami_domain::identity::Role;
use mami_tests::{TestApp, demo_email, send};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

/// The first column of the first row of `sql`, as text.
async fn text(app: &TestApp, sql: &str) -> anyhow::Result<String> {
    let mut c = app.conn().await?;
    Ok(diesel::sql_query(sql).get_result::<Text>(&mut c).await?.t)
}

async fn exec(app: &TestApp, sql: &str) -> anyhow::Result<()> {
    let mut c = app.conn().await?;
    diesel::sql_query(sql).execute(&mut c).await?;
    Ok(())
}

/// The demo customer with `pm` saved, products 1 (×2) and 3 (×1) in the cart and 10 of each at
/// the warehouse. Returns the access token, the cart id and the saved card's id.
async fn shopper(app: &TestApp, pm: &str) -> anyhow::Result<(String, i64, i64)> {
    let email = demo_email(Role::Customer);
    let user = format!("(SELECT id FROM users WHERE email = '{email}')");
    exec(
        app,
        &format!("INSERT INTO carts (user_id) SELECT {user} ON CONFLICT DO NOTHING"),
    )
    .await?;
    let cart: i64 = text(
        app,
        &format!("SELECT id::text AS t FROM carts WHERE user_id = {user}"),
    )
    .await?
    .parse()?;
    exec(
        app,
        &format!("DELETE FROM cart_items WHERE cart_id = {cart}"),
    )
    .await?;
    exec(
        app,
        &format!(
            "INSERT INTO cart_items (cart_id, product_id, quantity, unit_price) \
             SELECT {cart}, id, CASE id WHEN 1 THEN 2 ELSE 1 END, price FROM products \
             WHERE id IN (1, 3)"
        ),
    )
    .await?;
    exec(
        app,
        "UPDATE inventory SET available_quantity = 10 WHERE product_id IN (1, 3) AND branch_id = 1",
    )
    .await?;
    exec(app, "UPDATE payment_tokens SET is_default = false").await?;
    let token: i64 = text(
        app,
        &format!(
            "INSERT INTO payment_tokens (user_id, provider, provider_token, brand, last4, \
             is_default) VALUES ({user}, 'stripe', '{pm}', 'visa', '4242', true) \
             RETURNING id::text AS t"
        ),
    )
    .await?
    .parse()?;
    Ok((app.token(Role::Customer).await?, cart, token))
}

async fn confirm(
    app: &TestApp,
    (token, cart, card): &(String, i64, i64),
    key: &str,
) -> anyhow::Result<(u16, reqwest::header::HeaderMap, Value)> {
    let body = json!({"cart_id": cart, "payment_token_id": card, "fulfillment_type": "DELIVERY",
        "delivery_slot_id": 1});
    send(
        app.client
            .post(app.url("/api/v1/checkout/confirm"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&body),
    )
    .await
}

/// The audit rows after row `after`, oldest first, without their time and request id.
async fn trail(app: &TestApp, after: i64) -> anyhow::Result<Value> {
    let sql = format!(
        "SELECT coalesce(json_agg(json_build_object('entity', entity_type, 'id', entity_id, \
         'action', action, 'old', old_value, 'new', new_value, 'context', context) \
         ORDER BY id), '[]')::text AS t FROM audit WHERE id > {after} \
         AND entity_type IN ('inventory', 'order', 'payment')"
    );
    Ok(serde_json::from_str(&text(app, &sql).await?)?)
}

async fn last_audit(app: &TestApp) -> anyhow::Result<i64> {
    Ok(
        text(app, "SELECT coalesce(max(id), 0)::text AS t FROM audit")
            .await?
            .parse()?,
    )
}

async fn row_id(app: &TestApp, product: i64) -> anyhow::Result<i64> {
    let sql = format!(
        "SELECT id::text AS t FROM inventory WHERE product_id = {product} AND branch_id = 1"
    );
    Ok(text(app, &sql).await?.parse()?)
}

fn stock_row(id: i64, action: &str, before: i64, after: i64, context: Value) -> Value {
    json!({"entity": "inventory", "id": id, "action": action,
        "old": {"available_quantity": before}, "new": {"available_quantity": after},
        "context": context})
}

#[tokio::test]
async fn an_order_and_its_cancel_leave_this_trail() -> R {
    let app = TestApp::spawn().await?;
    let s = shopper(&app, "pm_card_visa").await?;
    let (row1, row3) = (row_id(&app, 1).await?, row_id(&app, 3).await?);
    let mark = last_audit(&app).await?;
    let (st, _, b) = confirm(&app, &s, "trail-1").await?;
    assert_eq!(st, 201, "{b}");
    let order = b["data"]["order_id"].as_i64().unwrap_or_default();
    let reference = b["data"]["payment_reference"].clone();
    assert_eq!(
        b,
        json!({"data": {"order_id": order, "order_number": b["data"]["order_number"],
            "total_paid": "52.70", "payment_reference": reference}})
    );
    let at = |product| json!({"order_id": order, "branch_id": 1, "product_id": product});
    assert_eq!(
        trail(&app, mark).await?,
        json!([
            stock_row(row1, "DECREMENT", 10, 8, at(1)),
            stock_row(row3, "DECREMENT", 10, 9, at(3)),
            {"entity": "order", "id": order, "action": "CREATE", "old": null,
             "new": {"order_number": b["data"]["order_number"], "total_amount": "52.70",
                "fulfillment_type": "DELIVERY", "branch_id": 1, "items": 2,
                "payment_status": "PENDING"},
             "context": null},
            {"entity": "payment", "id": order, "action": "AUTHORIZED",
             "old": {"payment_status": "PENDING", "amount": null, "provider_payment_id": null},
             "new": {"payment_status": "AUTHORIZED", "amount": "52.70",
                "provider_payment_id": reference},
             "context": null},
        ])
    );

    let mark = last_audit(&app).await?;
    let (st, _, c) = send(
        app.client
            .post(app.url(&format!("/api/v1/orders/{order}/cancel")))
            .bearer_auth(&s.0),
    )
    .await?;
    assert_eq!(st, 200, "{c}");
    let canceled_at = c["data"]["canceled_at"].as_str().unwrap_or_default();
    let stored_at = text(
        &app,
        &format!(
            "SELECT context->>'canceled_at' AS t FROM audit WHERE entity_type = 'order' \
             AND action = 'CANCEL' AND entity_id = {order}"
        ),
    )
    .await?;
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(&stored_at)?.timestamp(),
        chrono::DateTime::parse_from_rfc3339(canceled_at)?.timestamp()
    );
    let restored = json!({"order_id": order, "reason": "ORDER_CANCELED"});
    assert_eq!(
        trail(&app, mark).await?,
        json!([
            stock_row(row1, "RESTORE", 8, 10, restored.clone()),
            stock_row(row3, "RESTORE", 9, 10, restored),
            {"entity": "order", "id": order, "action": "CANCEL",
             "old": {"status": "CREATED"}, "new": {"status": "CANCELED"},
             "context": {"canceled_at": stored_at}},
            {"entity": "payment", "id": order, "action": "VOIDED",
             "old": {"payment_status": "AUTHORIZED"}, "new": {"payment_status": "VOIDED"},
             "context": null},
        ])
    );
    Ok(())
}

#[tokio::test]
async fn a_decline_answers_402_and_leaves_this_trail() -> R {
    let app = TestApp::spawn().await?;
    let s = shopper(&app, "pm_card_chargeDeclined").await?;
    let (row1, row3) = (row_id(&app, 1).await?, row_id(&app, 3).await?);
    let mark = last_audit(&app).await?;
    let (st, headers, b) = confirm(&app, &s, "decline-1").await?;
    assert_eq!(st, 402, "{b}");
    assert!(headers.get("retry-after").is_none());
    let order = b["error"]["details"]["order_id"]
        .as_i64()
        .unwrap_or_default();
    let code = b["error"]["details"]["decline_code"].clone();
    assert_eq!(
        b,
        json!({"error": {"code": "PAYMENT_DECLINED", "message": b["error"]["message"],
            "status_code": 402, "details": {"decline_code": code, "order_id": order}}})
    );
    assert!(
        b["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let at = |product| json!({"order_id": order, "branch_id": 1, "product_id": product});
    let restored = json!({"order_id": order, "reason": "PAYMENT_DECLINED"});
    let trail = trail(&app, mark).await?;
    assert_eq!(
        trail.as_array().map(|rows| rows[3..].to_vec()),
        Some(vec![
            stock_row(row1, "RESTORE", 8, 10, restored.clone()),
            stock_row(row3, "RESTORE", 9, 10, restored),
            json!({"entity": "payment", "id": order, "action": "DECLINED",
             "old": {"payment_status": "PENDING", "status": "CREATED"},
             "new": {"payment_status": "DECLINED", "status": "CANCELED"},
             "context": {"decline_code": code}}),
        ])
    );
    assert_eq!(trail[0], stock_row(row1, "DECREMENT", 10, 8, at(1)));
    let (st, _, again) = confirm(&app, &s, "decline-1").await?;
    assert_eq!((st, again), (402, b), "replayed as it was");
    Ok(())
}

#[tokio::test]
async fn an_unknown_outcome_answers_503_with_retry_after() -> R {
    let app = TestApp::spawn().await?;
    let s = shopper(&app, "pm_card_visa").await?;
    // The provider's address from the app's configuration: the simulator's.
    app.client
        .post(format!(
            "{}/__paysim/faults",
            app.config.payment_provider_url
        ))
        .json(&json!({"fail_next": 1}))
        .send()
        .await?;
    let mark = last_audit(&app).await?;
    let (st, headers, b) = confirm(&app, &s, "unknown-1").await?;
    assert_eq!(st, 503, "{b}");
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let order = b["error"]["details"]["order_id"]
        .as_i64()
        .unwrap_or_default();
    assert_eq!(
        b,
        json!({"error": {"code": "PAYMENT_UNAVAILABLE",
            "message": "The payment could not be confirmed; retry with the same Idempotency-Key",
            "status_code": 503, "details": {"order_id": order}}})
    );
    let last = trail(&app, mark)
        .await?
        .as_array()
        .and_then(|r| r.last().cloned());
    assert_eq!(
        last.map(|row| (row["action"].clone(), row["context"]["reason"].is_string())),
        Some((json!("AUTHORIZATION_UNKNOWN"), true))
    );
    Ok(())
}

/// Confirms with `key`, stores the answer as the previous version did (the HTTP body and its
/// status) and checks that a repeat answers it unchanged (a success as 200).
async fn replayed_from_previous_format(
    app: &TestApp,
    shopper: &(String, i64, i64),
    key: &str,
    status: u16,
) -> R {
    let (st, _, first) = confirm(app, shopper, key).await?;
    assert_eq!(st, status, "{first}");
    let body = first.to_string().replace('\'', "''");
    let sql = format!(
        "UPDATE idempotency_keys SET response_payload = '{body}'::jsonb, \
         status_code = {status} WHERE key = '{key}'"
    );
    exec(app, &sql).await?;
    let (st, _, replay) = confirm(app, shopper, key).await?;
    let replayed = if status == 201 { 200 } else { status };
    assert_eq!((st, replay), (replayed, first));
    Ok(())
}

#[tokio::test]
async fn outcomes_stored_in_the_previous_format_are_replayed_unchanged() -> R {
    let app = TestApp::spawn().await?;
    let paid = shopper(&app, "pm_card_visa").await?;
    replayed_from_previous_format(&app, &paid, "legacy-1", 201).await?;
    let declined = shopper(&app, "pm_card_chargeDeclined").await?;
    replayed_from_previous_format(&app, &declined, "legacy-2", 402).await
}

#[derive(diesel::QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// Settling a checkout updates its idempotency key by the order's id (paid, declined, voided):
/// an index does it, not a scan of every key kept (the benchmark's database held 120,000, and
/// each confirm read them all). With sequential scans disabled, a plan still scans only where
/// no index serves.
#[tokio::test]
async fn settling_a_key_by_its_order_uses_an_index() -> R {
    let app = TestApp::spawn().await?;
    let mut c = app.conn().await?;
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut c)
        .await?;
    let plan: Vec<PlanLine> = diesel::sql_query(
        "EXPLAIN UPDATE idempotency_keys SET status = 'SUCCEEDED', updated_at = now() \
         WHERE order_id = 1",
    )
    .load(&mut c)
    .await?;
    let plan: Vec<&str> = plan.iter().map(|p| p.line.as_str()).collect();
    assert!(
        plan.iter().any(|l| l.contains("ix_idempotency_order")),
        "{plan:#?}"
    );
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct ParameterTypes {
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    types: Vec<String>,
}

/// Every pass (every 30 s by default), the reconciler looks for captures and refunds whose
/// outcome is unknown and for authorizations of canceled orders still to void. Over a shop's
/// history, as the benchmark leaves it (5,000 orders, each authorized, none waiting), that
/// search is found by indexes: it read every order and every payment on each pass (83 ms on the
/// benchmark's 200,000 orders). The statement is the one the adapter sends, planned by
/// PostgreSQL with the values a pass gives it.
#[tokio::test]
async fn the_reconcilers_money_search_reads_no_whole_table() -> R {
    use mami_domain::reconciler::ReconcileStore;
    let app = TestApp::spawn().await?;
    let email = demo_email(Role::Customer);
    exec(
        &app,
        &format!(
            "INSERT INTO orders (order_number, user_id, total_amount, fulfillment_type, \
             payment_status, created_at, updated_at) \
             SELECT 'HIST-' || g, (SELECT id FROM users WHERE email = '{email}'), 10, \
             'DELIVERY', 'AUTHORIZED', now() - interval '1 day', now() - interval '1 day' \
             FROM generate_series(1, 5000) g"
        ),
    )
    .await?;
    exec(
        &app,
        "INSERT INTO payments (order_id, provider, provider_payment_id, \
         provider_idempotency_key, status, amount_authorized, created_at, updated_at) \
         SELECT id, 'paysim', 'pi-hist-' || id, 'mami-hist-' || id, 'AUTHORIZED', 10, \
         created_at, updated_at FROM orders WHERE order_number LIKE 'HIST-%'",
    )
    .await?;
    exec(&app, "ANALYZE orders, payments").await?;

    let db =
        mami_postgres::Database::connect(&app.test_db.url, 1, std::time::Duration::from_secs(5))?;
    let store = mami_postgres::PgReconcileStore::new(db.clone());
    db.statements().record();
    assert!(store.pending_money(chrono::Utc::now()).await?.is_empty());
    let sql = db
        .statements()
        .take_recorded()
        .into_iter()
        .find(|sql| sql.contains("pending_amount"))
        .ok_or_else(|| anyhow::anyhow!("the search was not sent"))?;

    let mut c = app.conn().await?;
    diesel::sql_query(format!("PREPARE money_search AS {sql}"))
        .execute(&mut c)
        .await?;
    let types = diesel::sql_query(
        "SELECT parameter_types::text[] AS types FROM pg_prepared_statements \
         WHERE name = 'money_search'",
    )
    .get_result::<ParameterTypes>(&mut c)
    .await?
    .types;
    let args = types
        .iter()
        .map(|t| match t.as_str() {
            "timestamp with time zone" => Ok("now()"),
            "payment_status[]" => Ok("'{CAPTURE_PENDING,REFUND_PENDING}'"),
            "payment_status" => Ok("'AUTHORIZED'"),
            "order_status" => Ok("'CANCELED'"),
            other => Err(anyhow::anyhow!("a parameter of type {other} in {sql}")),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let plan: Vec<PlanLine> =
        diesel::sql_query(format!("EXPLAIN EXECUTE money_search({})", args.join(", ")))
            .load(&mut c)
            .await?;
    let plan: Vec<&str> = plan.iter().map(|p| p.line.as_str()).collect();
    assert!(!plan.iter().any(|l| l.contains("Seq Scan")), "{plan:#?}");
    Ok(())
}
