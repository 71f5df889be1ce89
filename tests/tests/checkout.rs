//! Checkout against real PostgreSQL and paysim: the happy paths, declines, idempotency,
//! faults, no oversell and no deadlock.

use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use mami_tests::{DEMO_PASSWORD, TestApp, error_code, send};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn scalar(app: &TestApp, sql: &str) -> anyhow::Result<i64> {
    let mut c = app.conn().await?;
    Ok(diesel::sql_query(sql).get_result::<N>(&mut c).await?.n)
}

async fn exec(app: &TestApp, sql: &str) -> anyhow::Result<()> {
    let mut c = app.conn().await?;
    diesel::sql_query(sql).execute(&mut c).await?;
    Ok(())
}

/// `n` customers `shopper{i}@mami.local`, each with a saved `pm` card and `lines` in the cart.
/// Returns `(token, cart_id, payment_token_id)` per customer.
async fn shoppers(
    app: &TestApp,
    n: usize,
    pm: &str,
    lines: &[(i64, i32)],
) -> anyhow::Result<Vec<(String, i64, i64)>> {
    let hash: String = {
        #[derive(diesel::QueryableByName)]
        struct H {
            #[diesel(sql_type = diesel::sql_types::Text)]
            h: String,
        }
        let mut c = app.conn().await?;
        diesel::sql_query(
            "SELECT password_hash AS h FROM users WHERE email = 'customer@mami.local'",
        )
        .get_result::<H>(&mut c)
        .await?
        .h
    };
    let mut out = Vec::new();
    for i in 0..n {
        let email = format!(
            "shopper{i}-{}@mami.local",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        exec(app, &format!("INSERT INTO users (email, full_name, password_hash) VALUES ('{email}', 'Shopper', '{hash}')")).await?;
        let user = scalar(
            app,
            &format!("SELECT id AS n FROM users WHERE email = '{email}'"),
        )
        .await?;
        exec(app, &format!("INSERT INTO carts (user_id) VALUES ({user})")).await?;
        let cart = scalar(
            app,
            &format!("SELECT id AS n FROM carts WHERE user_id = {user}"),
        )
        .await?;
        for (product, qty) in lines {
            exec(app, &format!("INSERT INTO cart_items (cart_id, product_id, quantity, unit_price) SELECT {cart}, id, {qty}, price FROM products WHERE id = {product}")).await?;
        }
        exec(app, &format!("INSERT INTO payment_tokens (user_id, provider, provider_token, brand, last4, is_default) VALUES ({user}, 'stripe', '{pm}', 'visa', '4242', true)")).await?;
        let token = scalar(
            app,
            &format!("SELECT id AS n FROM payment_tokens WHERE user_id = {user}"),
        )
        .await?;
        let resp = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": DEMO_PASSWORD}))
            .send()
            .await?;
        let body: Value = resp.json().await?;
        out.push((
            body["data"]["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            cart,
            token,
        ));
    }
    Ok(out)
}

fn delivery(cart: i64, token: i64) -> Value {
    json!({"cart_id": cart, "payment_token_id": token, "fulfillment_type": "DELIVERY", "delivery_slot_id": 1})
}

async fn confirm(
    app: &TestApp,
    token: &str,
    key: &str,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    let (s, _, b) = send(
        app.client
            .post(app.url("/api/v1/checkout/confirm"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await?;
    Ok((s, b))
}

async fn stock(app: &TestApp, product: i64, branch: i64) -> anyhow::Result<i64> {
    scalar(app, &format!("SELECT available_quantity::bigint AS n FROM inventory WHERE product_id = {product} AND branch_id = {branch}")).await
}

async fn intents(app: &TestApp) -> anyhow::Result<Vec<Value>> {
    Ok(app
        .client
        .get(format!("{}/__paysim/intents", app.paysim))
        .send()
        .await?
        .json()
        .await?)
}

#[tokio::test]
async fn delivery_and_pickup_orders_with_replay() -> R {
    let app = TestApp::spawn().await?;
    exec(
        &app,
        "UPDATE inventory SET available_quantity = 20 WHERE product_id IN (1, 3)",
    )
    .await?;
    let s = shoppers(&app, 1, "pm_card_visa", &[(1, 2), (3, 1)]).await?;
    let (t, cart, token) = s[0].clone();

    let (st, _, p) = send(
        app.client
            .post(app.url("/api/v1/checkout/preview"))
            .bearer_auth(&t)
            .json(&delivery(cart, token)),
    )
    .await?;
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["data"]["cart_total"], "22.70");
    assert_eq!(
        p["data"]["delivery_fee"], "30.00",
        "below the 150.00 threshold"
    );
    assert_eq!(p["data"]["missing_items"], json!([]));

    let (st, b) = confirm(&app, &t, "key-1", &delivery(cart, token)).await?;
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["data"]["total_paid"], "52.70");
    assert!(
        b["data"]["payment_reference"]
            .as_str()
            .is_some_and(|r| r.starts_with("pi_"))
    );
    assert_eq!(stock(&app, 1, 1).await?, 18);
    assert_eq!(stock(&app, 3, 1).await?, 19);
    let (_, _, c) = send(app.client.get(app.url("/api/v1/cart")).bearer_auth(&t)).await?;
    assert_eq!(
        c["data"]["items"],
        json!([]),
        "the cart is empty once the order is paid"
    );

    let (st, replay) = confirm(&app, &t, "key-1", &delivery(cart, token)).await?;
    assert_eq!(
        (st, &replay),
        (200, &b),
        "a replay returns the stored answer"
    );
    let (st, mismatch) = confirm(&app, &t, "key-1", &json!({"cart_id": cart, "payment_token_id": token, "fulfillment_type": "PICKUP", "branch_id": 2})).await?;
    assert_eq!(
        (st, error_code(st, &mismatch).as_str()),
        (409, "IDEMPOTENCY_KEY_REUSE_MISMATCH")
    );
    assert_eq!(intents(&app).await?.len(), 1);

    // Pickup from a store draws that store's stock; the empty cart is refused first.
    let (st, e) = confirm(&app, &t, "key-2", &json!({"cart_id": cart, "payment_token_id": token, "fulfillment_type": "PICKUP", "branch_id": 2})).await?;
    assert_eq!((st, error_code(st, &e).as_str()), (400, "CART_EMPTY"));
    exec(&app, &format!("INSERT INTO cart_items (cart_id, product_id, quantity, unit_price) VALUES ({cart}, 5, 1, 9.90)")).await?;
    let before = stock(&app, 5, 2).await?;
    let (st, b) = confirm(&app, &t, "key-3", &json!({"cart_id": cart, "payment_token_id": token, "fulfillment_type": "PICKUP", "branch_id": 2})).await?;
    assert_eq!(
        (st, b["data"]["total_paid"].as_str()),
        (201, Some("9.90")),
        "no delivery fee for pickup: {b}"
    );
    assert_eq!(stock(&app, 5, 2).await?, before - 1);
    assert_eq!(
        scalar(&app, "SELECT count(*) AS n FROM order_pickup_details").await?,
        1
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM order_delivery_details WHERE slot_start IS NOT NULL"
        )
        .await?,
        1,
        "the slot's concrete date is recorded"
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM audit WHERE entity_type = 'order' AND action = 'CREATE'"
        )
        .await?,
        2
    );
    assert_eq!(scalar(&app, "SELECT count(*) AS n FROM audit WHERE entity_type = 'inventory' AND action = 'DECREMENT'").await?, 3);
    Ok(())
}

#[tokio::test]
async fn a_declined_card_gives_the_stock_back_and_keeps_the_cart() -> R {
    let app = TestApp::spawn().await?;
    exec(
        &app,
        "UPDATE inventory SET available_quantity = 5 WHERE product_id = 7 AND branch_id = 1",
    )
    .await?;
    let s = shoppers(
        &app,
        1,
        "pm_card_chargeDeclinedInsufficientFunds",
        &[(7, 2)],
    )
    .await?;
    let (t, cart, token) = s[0].clone();
    let (st, b) = confirm(&app, &t, "d-1", &delivery(cart, token)).await?;
    assert_eq!((st, error_code(st, &b).as_str()), (402, "PAYMENT_DECLINED"));
    assert_eq!(b["error"]["details"]["decline_code"], "insufficient_funds");
    assert_eq!(stock(&app, 7, 1).await?, 5, "stock is back");
    let (_, _, c) = send(app.client.get(app.url("/api/v1/cart")).bearer_auth(&t)).await?;
    assert_eq!(c["data"]["items"][0]["quantity"], 2, "the cart is intact");
    assert_eq!(scalar(&app, "SELECT count(*) AS n FROM orders WHERE status = 'CANCELED' AND payment_status = 'DECLINED'").await?, 1);
    let (st, again) = confirm(&app, &t, "d-1", &delivery(cart, token)).await?;
    assert_eq!((st, again), (402, b), "the key replays the decline");
    Ok(())
}

#[tokio::test]
async fn ownership_and_bad_input() -> R {
    let app = TestApp::spawn().await?;
    let s = shoppers(&app, 2, "pm_card_visa", &[(1, 1)]).await?;
    let (t, cart, token) = s[0].clone();
    let (_, other_cart, other_token) = s[1].clone();
    let long_key = "k".repeat(129);
    let cases: Vec<(Value, Option<&str>, u16, &str)> = vec![
        (delivery(other_cart, token), Some("o1"), 404, "NOT_FOUND"),
        (
            delivery(cart, other_token),
            Some("o2"),
            404,
            "PAYMENT_TOKEN_NOT_FOUND",
        ),
        (delivery(cart, token), None, 400, "MISSING_IDEMPOTENCY_KEY"),
        (
            json!({"cart_id": cart, "payment_token_id": token, "fulfillment_type": "DELIVERY"}),
            Some("o3"),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"cart_id": cart, "payment_token_id": token, "fulfillment_type": "DELIVERY", "delivery_slot_id": 9999}),
            Some("o4"),
            404,
            "NOT_FOUND",
        ),
        (
            json!({"cart_id": cart, "payment_token_id": token, "fulfillment_type": "DELIVERY", "delivery_slot_id": 100}),
            Some("o5"),
            400,
            "INVALID_SLOT",
        ),
        (
            json!({"cart_id": cart, "payment_token_id": token, "fulfillment_type": "PICKUP"}),
            Some("o6"),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"cart_id": cart, "payment_token_id": token, "fulfillment_type": "PICKUP", "branch_id": 999}),
            Some("o7"),
            404,
            "NOT_FOUND",
        ),
        (
            json!({"cart_id": cart, "payment_token_id": token, "fulfillment_type": "BOAT"}),
            Some("o8"),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"cart_id": -1, "payment_token_id": token, "fulfillment_type": "DELIVERY"}),
            Some("o9"),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"cart_id": cart, "fulfillment_type": "DELIVERY", "delivery_slot_id": 1}),
            Some("o10"),
            400,
            "VALIDATION_ERROR",
        ),
        (
            delivery(cart, token),
            Some(long_key.as_str()),
            400,
            "VALIDATION_ERROR",
        ),
    ];
    for (body, key, status, code) in cases {
        let mut req = app
            .client
            .post(app.url("/api/v1/checkout/confirm"))
            .bearer_auth(&t)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let (st, _, b) = send(req).await?;
        assert_eq!(
            (st, error_code(st, &b).as_str()),
            (status, code),
            "{body} {key:?}: {b}"
        );
    }
    exec(&app, "UPDATE products SET is_active = false WHERE id = 1").await?;
    let (st, b) = confirm(&app, &t, "o11", &delivery(cart, token)).await?;
    assert_eq!((st, error_code(st, &b).as_str()), (409, "PRODUCT_INACTIVE"));
    assert_eq!(b["error"]["details"]["product_ids"], json!([1]));
    assert_eq!(
        scalar(&app, "SELECT count(*) AS n FROM orders").await?,
        0,
        "nothing was half-written"
    );
    assert_eq!(
        scalar(&app, "SELECT count(*) AS n FROM idempotency_keys").await?,
        0,
        "failed requests released their keys"
    );
    Ok(())
}

#[tokio::test]
async fn fifty_customers_ten_units_no_oversell() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "60")]).await?;
    exec(
        &app,
        "UPDATE inventory SET available_quantity = 10 WHERE product_id = 9 AND branch_id = 1",
    )
    .await?;
    let s = shoppers(&app, 50, "pm_card_visa", &[(9, 1)]).await?;
    let calls = s.iter().enumerate().map(|(i, (t, cart, token))| {
        let body = delivery(*cart, *token);
        let key = format!("oversell-{i}");
        let app = &app;
        async move { confirm(app, t, &key, &body).await }
    });
    let mut created = 0;
    for r in join_all(calls).await {
        let (st, b) = r?;
        match st {
            201 => created += 1,
            409 => assert_eq!(b["error"]["code"], "INSUFFICIENT_STOCK", "{b}"),
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert_eq!(created, 10);
    assert_eq!(stock(&app, 9, 1).await?, 0);
    assert_eq!(
        intents(&app).await?.len(),
        10,
        "one authorization per order"
    );
    Ok(())
}

#[tokio::test]
async fn one_key_twenty_times_at_once_is_one_order() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "30")]).await?;
    let s = shoppers(&app, 1, "pm_card_visa", &[(1, 1)]).await?;
    let (t, cart, token) = s[0].clone();
    let body = delivery(cart, token);
    let calls = (0..20).map(|_| confirm(&app, &t, "same-key", &body));
    let mut orders = std::collections::HashSet::new();
    for r in join_all(calls).await {
        let (st, b) = r?;
        match st {
            200 | 201 => {
                orders.insert(b["data"]["order_id"].as_i64());
            }
            409 => assert_eq!(b["error"]["code"], "IDEMPOTENCY_IN_PROGRESS", "{b}"),
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert!(orders.len() <= 1);
    assert_eq!(scalar(&app, "SELECT count(*) AS n FROM orders").await?, 1);
    assert_eq!(intents(&app).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn unknown_outcomes_are_settled_by_retrying_the_key() -> R {
    let app = TestApp::spawn().await?;
    let s = shoppers(&app, 2, "pm_card_visa", &[(1, 1)]).await?;
    let faults = |f: Value| {
        app.client
            .post(format!("{}/__paysim/faults", app.paysim))
            .json(&f)
            .send()
    };

    // A 5xx before any effect.
    let (t, cart, token) = s[0].clone();
    faults(json!({"fail_next": 1})).await?;
    let (st, b) = confirm(&app, &t, "f-1", &delivery(cart, token)).await?;
    assert_eq!(
        (st, error_code(st, &b).as_str()),
        (503, "PAYMENT_UNAVAILABLE")
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM orders WHERE payment_status = 'PENDING'"
        )
        .await?,
        1
    );
    let (st, b) = confirm(&app, &t, "f-1", &delivery(cart, token)).await?;
    assert_eq!(st, 201, "the retry authorizes the same order: {b}");

    // Charged, then the answer never came.
    let (t, cart, token) = s[1].clone();
    faults(json!({"hang_after_effect_next": 1, "hang_ms": 4000})).await?;
    let (st, _) = confirm(&app, &t, "f-2", &delivery(cart, token)).await?;
    assert_eq!(st, 503);
    let (st, b) = confirm(&app, &t, "f-2", &delivery(cart, token)).await?;
    assert_eq!(st, 201, "{b}");
    assert_eq!(scalar(&app, "SELECT count(*) AS n FROM orders").await?, 2);
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM orders WHERE payment_status = 'AUTHORIZED'"
        )
        .await?,
        2
    );
    let list = intents(&app).await?;
    assert_eq!(
        list.len(),
        2,
        "every provider authorization belongs to exactly one order"
    );
    Ok(())
}

#[tokio::test]
async fn overlapping_carts_in_opposite_orders_do_not_deadlock() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "30")]).await?;
    exec(&app, "UPDATE inventory SET available_quantity = 100 WHERE product_id IN (11, 13, 15) AND branch_id = 1").await?;
    let a = shoppers(&app, 10, "pm_card_visa", &[(11, 1), (13, 1), (15, 1)]).await?;
    let calls = a.iter().enumerate().map(|(i, (t, cart, token))| {
        let app = &app;
        let body = delivery(*cart, *token);
        async move { confirm(app, t, &format!("dl-{i}"), &body).await }
    });
    for r in join_all(calls).await {
        let (st, b) = r?;
        assert_eq!(st, 201, "{b}");
    }
    assert_eq!(stock(&app, 13, 1).await?, 90);
    Ok(())
}

#[tokio::test]
async fn orders_list_detail_and_cancel_with_void() -> R {
    let app = TestApp::spawn().await?;
    exec(
        &app,
        "UPDATE inventory SET available_quantity = 10 WHERE product_id IN (1, 3) AND branch_id = 1",
    )
    .await?;
    let s = shoppers(&app, 2, "pm_card_visa", &[(1, 2), (3, 1)]).await?;
    let (t, cart, token) = s[0].clone();
    let (st, first) = confirm(&app, &t, "ord-1", &delivery(cart, token)).await?;
    assert_eq!(st, 201);
    exec(&app, &format!("INSERT INTO cart_items (cart_id, product_id, quantity, unit_price) VALUES ({cart}, 1, 1, 7.90)")).await?;
    let (st, second) = confirm(&app, &t, "ord-2", &delivery(cart, token)).await?;
    assert_eq!(st, 201, "{second}");
    let id = first["data"]["order_id"].as_i64().unwrap_or_default();

    let (st, _, list) = send(
        app.client
            .get(app.url("/api/v1/orders?limit=10"))
            .bearer_auth(&t),
    )
    .await?;
    assert_eq!(st, 200);
    assert_eq!(list["meta"], json!({"total": 2, "limit": 10, "offset": 0}));
    assert_eq!(
        list["data"][0]["id"], second["data"]["order_id"],
        "newest first"
    );
    let (_, _, detail) = send(
        app.client
            .get(app.url(&format!("/api/v1/orders/{id}")))
            .bearer_auth(&t),
    )
    .await?;
    let o = &detail["data"];
    assert_eq!(
        (
            o["status"].as_str(),
            o["payment_status"].as_str(),
            o["fulfillment_type"].as_str()
        ),
        (Some("CREATED"), Some("AUTHORIZED"), Some("DELIVERY"))
    );
    assert_eq!(o["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(o["items"][0]["picked_status"], "PENDING");
    assert!(
        o["delivery"]["slot_start"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(o["total_amount"], "52.70");

    let (other, _, _) = s[1].clone();
    let (st, _, b) = send(
        app.client
            .get(app.url(&format!("/api/v1/orders/{id}")))
            .bearer_auth(&other),
    )
    .await?;
    assert_eq!((st, error_code(st, &b).as_str()), (404, "NOT_FOUND"));
    let admin = app.token(mami_domain::identity::Role::Admin).await?;
    let (st, _, _) = send(
        app.client
            .get(app.url(&format!("/api/v1/orders/{id}")))
            .bearer_auth(&admin),
    )
    .await?;
    assert_eq!(st, 404, "no staff bypass on customer routes");
    let (st, _, b) = send(
        app.client
            .post(app.url(&format!("/api/v1/orders/{id}/cancel")))
            .bearer_auth(&other),
    )
    .await?;
    assert_eq!((st, error_code(st, &b).as_str()), (404, "NOT_FOUND"));

    let before = stock(&app, 1, 1).await?;
    let (st, _, b) = send(
        app.client
            .post(app.url(&format!("/api/v1/orders/{id}/cancel")))
            .bearer_auth(&t),
    )
    .await?;
    assert_eq!(
        (st, b["data"]["status"].as_str()),
        (200, Some("CANCELED")),
        "{b}"
    );
    assert_eq!(stock(&app, 1, 1).await?, before + 2, "stock is back");
    let (_, _, detail) = send(
        app.client
            .get(app.url(&format!("/api/v1/orders/{id}")))
            .bearer_auth(&t),
    )
    .await?;
    assert_eq!(detail["data"]["payment_status"], "VOIDED");
    let reference = first["data"]["payment_reference"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let voided = intents(&app)
        .await?
        .into_iter()
        .find(|i| i["id"] == reference.as_str());
    assert_eq!(
        voided.map(|i| i["status"].clone()),
        Some(json!("canceled")),
        "no money held"
    );
    let (st, _, b) = send(
        app.client
            .post(app.url(&format!("/api/v1/orders/{id}/cancel")))
            .bearer_auth(&t),
    )
    .await?;
    assert_eq!((st, error_code(st, &b).as_str()), (409, "INVALID_STATUS"));
    for bad in ["limit=abc", "offset=-1"] {
        let (st, _, b) = send(
            app.client
                .get(app.url(&format!("/api/v1/orders?{bad}")))
                .bearer_auth(&t),
        )
        .await?;
        assert_eq!(
            (st, error_code(st, &b).as_str()),
            (400, "BAD_REQUEST"),
            "{bad}"
        );
    }
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM audit WHERE entity_type = 'payment' AND action = 'VOIDED'"
        )
        .await?,
        1
    );
    Ok(())
}

#[tokio::test]
async fn the_reconciler_settles_every_unknown_outcome() -> R {
    // The smallest minimum age the test's 2 s provider timeout allows.
    let app = TestApp::spawn_with(&[("RECONCILE_MIN_AGE_SECONDS", "2")]).await?;
    exec(
        &app,
        "UPDATE inventory SET available_quantity = 10 WHERE product_id = 1 AND branch_id = 1",
    )
    .await?;
    let approved = shoppers(&app, 2, "pm_card_visa", &[(1, 2)]).await?;
    let declined = shoppers(&app, 1, "pm_card_chargeDeclined", &[(1, 1)]).await?;
    let faults = |f: Value| {
        app.client
            .post(format!("{}/__paysim/faults", app.paysim))
            .json(&f)
            .send()
    };

    // Three orders left PENDING: one charged-then-timed-out, one 5xx, one declined-then-5xx.
    faults(json!({"hang_after_effect_next": 1, "hang_ms": 4000})).await?;
    let (st, _) = confirm(
        &app,
        &approved[0].0,
        "r-1",
        &delivery(approved[0].1, approved[0].2),
    )
    .await?;
    assert_eq!(st, 503);
    faults(json!({"fail_next": 2})).await?;
    let (st, _) = confirm(
        &app,
        &approved[1].0,
        "r-2",
        &delivery(approved[1].1, approved[1].2),
    )
    .await?;
    assert_eq!(st, 503);
    let (st, _) = confirm(
        &app,
        &declined[0].0,
        "r-3",
        &delivery(declined[0].1, declined[0].2),
    )
    .await?;
    assert_eq!(st, 503);
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM orders WHERE payment_status = 'PENDING'"
        )
        .await?,
        3
    );
    assert_eq!(stock(&app, 1, 1).await?, 5);

    // As if the minimum age had passed for every order above.
    let later = chrono::Utc::now() + chrono::Duration::seconds(3);
    let report = app.state.reconciler.run_once(later).await?;
    assert!(report.led);
    assert_eq!(
        (report.authorized, report.declined, report.still_unknown),
        (2, 1, 0),
        "{report:?}"
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT count(*) AS n FROM orders WHERE payment_status = 'PENDING'"
        )
        .await?,
        0,
        "nothing left pending"
    );
    assert_eq!(
        stock(&app, 1, 1).await?,
        6,
        "the declined order's unit is back"
    );
    let list = intents(&app).await?;
    let authorized: Vec<&Value> = list
        .iter()
        .filter(|i| i["status"] == "requires_capture")
        .collect();
    assert_eq!(
        authorized.len(),
        2,
        "exactly one authorization per authorized order"
    );
    assert_eq!(scalar(&app, "SELECT count(DISTINCT provider_payment_id) AS n FROM payments WHERE status = 'AUTHORIZED'").await?, 2);
    assert!(scalar(&app, "SELECT count(*) AS n FROM audit WHERE entity_type = 'payment' AND request_id LIKE 'reconciler-%'").await? >= 3, "decisions audited");
    // The customer's retry now just replays the settled answer.
    let (st, _) = confirm(
        &app,
        &approved[0].0,
        "r-1",
        &delivery(approved[0].1, approved[0].2),
    )
    .await?;
    assert_eq!(st, 200);
    Ok(())
}

#[tokio::test]
async fn two_api_instances_on_one_database_never_oversell() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "30")]).await?;
    let other = app.another_instance().await?;
    exec(
        &app,
        "UPDATE inventory SET available_quantity = 10 WHERE product_id = 9 AND branch_id = 1",
    )
    .await?;
    let s = shoppers(&app, 40, "pm_card_visa", &[(9, 1)]).await?;
    let calls = s.iter().enumerate().map(|(i, (t, cart, token))| {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            other.clone()
        };
        let body = delivery(*cart, *token);
        let client = app.client.clone();
        let t = t.clone();
        async move {
            let (s, _, b) = send(
                client
                    .post(format!("{base}/api/v1/checkout/confirm"))
                    .bearer_auth(&t)
                    .header("Idempotency-Key", format!("two-{i}"))
                    .json(&body),
            )
            .await?;
            anyhow::Ok((s, b))
        }
    });
    let mut created = 0;
    for r in join_all(calls).await {
        let (st, b) = r?;
        match st {
            201 => created += 1,
            409 => assert_eq!(b["error"]["code"], "INSUFFICIENT_STOCK"),
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert_eq!(created, 10);
    assert_eq!(stock(&app, 9, 1).await?, 0);
    Ok(())
}

#[tokio::test]
async fn only_one_process_leads_the_reconciler_at_a_time() -> R {
    use mami_domain::reconciler::ReconcileStore;
    let app = TestApp::spawn().await?;
    let connect =
        || mami_postgres::Database::connect(&app.test_db.url, 2, std::time::Duration::from_secs(5));
    let (a, b) = (
        mami_postgres::PgReconcileStore::new(connect()?),
        mami_postgres::PgReconcileStore::new(connect()?),
    );
    assert!(a.try_lead().await?);
    assert!(!b.try_lead().await?, "the advisory lock is taken");
    a.release().await?;
    assert!(b.try_lead().await?);
    b.release().await?;
    Ok(())
}

#[tokio::test]
async fn expired_keys_and_revocations_are_cleaned_up() -> R {
    let app = TestApp::spawn().await?;
    exec(&app, "INSERT INTO idempotency_keys (user_id, key, request_hash, status, expires_at) VALUES (1, 'old', 'h', 'SUCCEEDED', now() - interval '1 hour'), (1, 'fresh', 'h', 'SUCCEEDED', now() + interval '1 hour')").await?;
    exec(&app, "INSERT INTO revoked_tokens (jti, user_id, token_type, expires_at) VALUES (gen_random_uuid(), 1, 'REFRESH', now() - interval '1 day'), (gen_random_uuid(), 1, 'REFRESH', now() + interval '1 day')").await?;
    let report = app.state.reconciler.run_once(chrono::Utc::now()).await?;
    assert_eq!(report.purged, 2);
    assert_eq!(
        scalar(&app, "SELECT count(*) AS n FROM idempotency_keys").await?,
        1
    );
    assert_eq!(
        scalar(&app, "SELECT count(*) AS n FROM revoked_tokens").await?,
        1
    );
    Ok(())
}
