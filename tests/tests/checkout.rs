//! Checkout against real PostgreSQL and paysim: the happy paths, declines, idempotency,
//! faults, no oversell and no deadlock.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use futures_util::future::join_all;
use mami_domain::identity::Role;
use mami_tests::demo::{
    AVOCADO, BANANAS, CARROTS, COTTAGE_CHEESE, CUCUMBERS, DECLINED, INSUFFICIENT_FUNDS, MILK,
    RED_APPLES, TEL_AVIV, TOMATOES, VISA, WAREHOUSE,
};
use mami_tests::reqwest::Method;
use mami_tests::{Reply, Rows, TestApp, confirm_all, delivery, demo_email, pickup};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

#[tokio::test]
async fn delivery_and_pickup_orders_with_replay() -> R {
    let app = TestApp::spawn().await?;
    for product in [TOMATOES, CUCUMBERS] {
        app.stock_everywhere(product).set(20).await?;
    }
    let slot = app.slot().create().await?;
    let t = app
        .shopper(&[(TOMATOES, 2), (CUCUMBERS, 1)])
        .card(VISA)
        .create()
        .await?;

    let preview = t
        .post("/api/v1/checkout/preview", &t.delivery(slot))
        .await?;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let p = &preview.body["data"];
    assert_eq!(p["cart_total"], "22.70");
    assert_eq!(p["delivery_fee"], "30.00", "below the 150.00 threshold");
    assert_eq!(p["missing_items"], json!([]));

    let paid = t.confirm("key-1", &t.delivery(slot)).await?;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(paid.body["data"]["total_paid"], "52.70");
    assert!(
        paid.body["data"]["payment_reference"]
            .as_str()
            .is_some_and(|r| r.starts_with("pi_"))
    );
    assert_eq!(app.stock_of(TOMATOES, WAREHOUSE).await?, 18);
    assert_eq!(app.stock_of(CUCUMBERS, WAREHOUSE).await?, 19);
    let cart = t.get("/api/v1/cart").await?;
    assert_eq!(
        cart.body["data"]["items"],
        json!([]),
        "the cart is empty once the order is paid"
    );

    let replay = t.confirm("key-1", &t.delivery(slot)).await?;
    assert_eq!(
        (replay.status, &replay.body),
        (200, &paid.body),
        "a replay returns the stored answer"
    );
    let mismatch = t.confirm("key-1", &t.pickup(TEL_AVIV)).await?;
    assert_eq!(
        (mismatch.status, mismatch.code().as_str()),
        (409, "IDEMPOTENCY_KEY_REUSE_MISMATCH")
    );
    assert_eq!(app.paysim.intents().await?.len(), 1);

    // Pickup from a store draws that store's stock; the empty cart is refused first.
    let empty = t.confirm("key-2", &t.pickup(TEL_AVIV)).await?;
    assert_eq!((empty.status, empty.code().as_str()), (400, "CART_EMPTY"));
    app.put_in_cart(t.cart_id, &[(BANANAS, 1)]).await?;
    let before = app.stock_of(BANANAS, TEL_AVIV).await?;
    let picked = t.confirm("key-3", &t.pickup(TEL_AVIV)).await?;
    assert_eq!(
        (picked.status, picked.body["data"]["total_paid"].as_str()),
        (201, Some("9.90")),
        "no delivery fee for pickup: {}",
        picked.body
    );
    assert_eq!(app.stock_of(BANANAS, TEL_AVIV).await?, before - 1);
    assert_eq!(app.count(Rows::Pickups).await?, 1);
    assert_eq!(
        app.count(Rows::ScheduledDeliveries).await?,
        1,
        "the slot's concrete date is recorded"
    );
    assert_eq!(app.audit_count("order", "CREATE").await?, 2);
    assert_eq!(app.audit_count("inventory", "DECREMENT").await?, 3);
    Ok(())
}

/// Order numbers carry 32 random bits a day, so two can collide (the benchmark met one, and
/// confirm answered 500). A trigger makes the second order's first draw repeat the first
/// order's number: confirm draws again and the order is placed under a number of its own.
#[tokio::test]
async fn a_taken_order_number_is_drawn_again() -> R {
    let app = TestApp::spawn().await?;
    app.stock_everywhere(TOMATOES).set(20).await?;
    let t = app.shopper(&[(TOMATOES, 1)]).card(VISA).create().await?;
    let first = t.confirm("key-1", &t.pickup(TEL_AVIV)).await?;
    assert_eq!(first.status, 201, "{}", first.body);
    let taken = first.body["data"]["order_number"].clone();

    let mut c = app.conn().await?;
    c.batch_execute(
        "CREATE TABLE collided (at timestamptz NOT NULL DEFAULT now());
         CREATE FUNCTION collide_once() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NOT EXISTS (SELECT 1 FROM collided) THEN
             INSERT INTO collided DEFAULT VALUES;
             NEW.order_number := (SELECT order_number FROM orders ORDER BY id LIMIT 1);
           END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER collide_once BEFORE INSERT ON orders
           FOR EACH ROW EXECUTE FUNCTION collide_once();",
    )
    .await?;

    app.put_in_cart(t.cart_id, &[(TOMATOES, 1)]).await?;
    let second = t.confirm("key-2", &t.pickup(TEL_AVIV)).await?;
    assert_eq!(second.status, 201, "{}", second.body);
    let number = second.body["data"]["order_number"].as_str().unwrap_or("");
    assert_ne!(json!(number), taken);
    assert!(number.starts_with("ORD-") && number.len() == 21, "{number}");
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let collided: Count = diesel::sql_query("SELECT count(*) AS n FROM collided")
        .get_result(&mut c)
        .await?;
    assert_eq!(collided.n, 1, "the first draw did collide");
    assert_eq!(app.orders().await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_declined_card_gives_the_stock_back_and_keeps_the_cart() -> R {
    let app = TestApp::spawn().await?;
    app.stock(RED_APPLES, WAREHOUSE).set(5).await?;
    let slot = app.slot().create().await?;
    let t = app
        .shopper(&[(RED_APPLES, 2)])
        .card(INSUFFICIENT_FUNDS)
        .create()
        .await?;
    let declined = t.confirm("d-1", &t.delivery(slot)).await?;
    assert_eq!(
        (declined.status, declined.code().as_str()),
        (402, "PAYMENT_DECLINED")
    );
    assert_eq!(
        declined.body["error"]["details"]["decline_code"],
        "insufficient_funds"
    );
    assert_eq!(
        app.stock_of(RED_APPLES, WAREHOUSE).await?,
        5,
        "stock is back"
    );
    let cart = t.get("/api/v1/cart").await?;
    assert_eq!(
        cart.body["data"]["items"][0]["quantity"], 2,
        "the cart is intact"
    );
    assert_eq!(
        app.count_orders(|o| o.status == "CANCELED" && o.payment_status == "DECLINED")
            .await?,
        1
    );
    let again = t.confirm("d-1", &t.delivery(slot)).await?;
    assert_eq!(
        (again.status, again.body),
        (402, declined.body),
        "the key replays the decline"
    );
    Ok(())
}

#[tokio::test]
async fn ownership_and_bad_input() -> R {
    // Someone else's card is 404 when the fallback to the caller's own default card is off
    // (issue 8, point 9: with it on, the caller's card pays; see issue8_cards.rs).
    let app = TestApp::spawn_with(&[("PAYMENT_TOKEN_FALLBACK", "false")]).await?;
    let slot = app.slot().create().await?;
    let store_slot = app.slot().at(TEL_AVIV).create().await?;
    let s = app
        .shopper(&[(TOMATOES, 1)])
        .card(VISA)
        .create_many(2)
        .await?;
    let (t, other) = (&s[0], &s[1]);
    let (cart, card) = (t.cart_id, t.card_id);
    let long_key = "k".repeat(129);
    let cases: Vec<(Value, Option<&str>, u16, &str)> = vec![
        (
            delivery(other.cart_id, card, slot),
            Some("o1"),
            404,
            "NOT_FOUND",
        ),
        (
            delivery(cart, other.card_id, slot),
            Some("o2"),
            404,
            "PAYMENT_TOKEN_NOT_FOUND",
        ),
        (t.delivery(slot), None, 400, "MISSING_IDEMPOTENCY_KEY"),
        (
            json!({"cart_id": cart, "payment_token_id": card, "fulfillment_type": "DELIVERY"}),
            Some("o3"),
            400,
            "BAD_REQUEST",
        ),
        (delivery(cart, card, 9999), Some("o4"), 404, "NOT_FOUND"),
        (
            delivery(cart, card, store_slot),
            Some("o5"),
            400,
            "INVALID_SLOT",
        ),
        (
            json!({"cart_id": cart, "payment_token_id": card, "fulfillment_type": "PICKUP"}),
            Some("o6"),
            400,
            "BAD_REQUEST",
        ),
        (pickup(cart, card, 999), Some("o7"), 404, "NOT_FOUND"),
        (
            json!({"cart_id": cart, "payment_token_id": card, "fulfillment_type": "BOAT"}),
            Some("o8"),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"cart_id": -1, "payment_token_id": card, "fulfillment_type": "DELIVERY"}),
            Some("o9"),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json!({"cart_id": cart, "fulfillment_type": "DELIVERY", "delivery_slot_id": slot}),
            Some("o10"),
            400,
            "VALIDATION_ERROR",
        ),
        (
            t.delivery(slot),
            Some(long_key.as_str()),
            400,
            "VALIDATION_ERROR",
        ),
    ];
    for (body, key, status, code) in cases {
        let mut req = t
            .request(Method::POST, "/api/v1/checkout/confirm")
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = Reply::of(req).await?;
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{body} {key:?}: {}",
            r.body
        );
    }
    app.deactivate_product(TOMATOES).await?;
    let r = t.confirm("o11", &t.delivery(slot)).await?;
    assert_eq!((r.status, r.code().as_str()), (409, "PRODUCT_INACTIVE"));
    assert_eq!(r.body["error"]["details"]["product_ids"], json!([TOMATOES]));
    assert_eq!(
        app.count(Rows::Orders).await?,
        0,
        "nothing was half-written"
    );
    assert_eq!(
        app.count(Rows::IdempotencyKeys).await?,
        0,
        "failed requests released their keys"
    );
    Ok(())
}

#[tokio::test]
async fn fifty_customers_ten_units_no_oversell() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "60")]).await?;
    let buyers = app
        .shopper(&[(CARROTS, 1)])
        .card(VISA)
        .create_many(50)
        .await?;
    let race = app.race_for(CARROTS, 10, &buyers, &[&app.address]).await?;
    assert_eq!(race.created, 10);
    assert_eq!(race.stock_left, 0);
    assert_eq!(
        app.paysim.intents().await?.len(),
        10,
        "one authorization per order"
    );
    Ok(())
}

#[tokio::test]
async fn one_key_twenty_times_at_once_is_one_order() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "30")]).await?;
    let slot = app.slot().create().await?;
    let t = app.shopper(&[(TOMATOES, 1)]).card(VISA).create().await?;
    let body = t.delivery(slot);
    let calls = (0..20).map(|_| t.confirm("same-key", &body));
    let mut orders = HashSet::new();
    for r in join_all(calls).await {
        let r = r?;
        match r.status {
            200 | 201 => {
                orders.insert(r.body["data"]["order_id"].as_i64());
            }
            409 => assert_eq!(
                r.body["error"]["code"], "IDEMPOTENCY_IN_PROGRESS",
                "{}",
                r.body
            ),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert!(orders.len() <= 1);
    assert_eq!(app.count(Rows::Orders).await?, 1);
    assert_eq!(app.paysim.intents().await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn unknown_outcomes_are_settled_by_retrying_the_key() -> R {
    let app = TestApp::spawn().await?;
    let slot = app.slot().create().await?;
    let s = app
        .shopper(&[(TOMATOES, 1)])
        .card(VISA)
        .create_many(2)
        .await?;

    // A 5xx before any effect.
    let t = &s[0];
    app.paysim.fault(json!({"fail_next": 1})).await?;
    let r = t.confirm("f-1", &t.delivery(slot)).await?;
    assert_eq!((r.status, r.code().as_str()), (503, "PAYMENT_UNAVAILABLE"));
    assert_eq!(
        app.count_orders(|o| o.payment_status == "PENDING").await?,
        1
    );
    let r = t.confirm("f-1", &t.delivery(slot)).await?;
    assert_eq!(
        r.status, 201,
        "the retry authorizes the same order: {}",
        r.body
    );

    // Charged, then the answer never came.
    let t = &s[1];
    app.paysim
        .fault(json!({"hang_after_effect_next": 1, "hang_ms": 4000}))
        .await?;
    let r = t.confirm("f-2", &t.delivery(slot)).await?;
    assert_eq!(r.status, 503);
    let r = t.confirm("f-2", &t.delivery(slot)).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(app.count(Rows::Orders).await?, 2);
    assert_eq!(
        app.count_orders(|o| o.payment_status == "AUTHORIZED")
            .await?,
        2
    );
    assert_eq!(
        app.paysim.intents().await?.len(),
        2,
        "every provider authorization belongs to exactly one order"
    );
    Ok(())
}

#[tokio::test]
async fn overlapping_carts_in_opposite_orders_do_not_deadlock() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "30")]).await?;
    for product in [AVOCADO, MILK, COTTAGE_CHEESE] {
        app.stock(product, WAREHOUSE).set(100).await?;
    }
    let slot = app.slot().create().await?;
    let shoppers = app
        .shopper(&[(AVOCADO, 1), (MILK, 1), (COTTAGE_CHEESE, 1)])
        .card(VISA)
        .create_many(10)
        .await?;
    for r in confirm_all(&shoppers, slot, "dl", &[&app.address]).await {
        let r = r?;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    assert_eq!(app.stock_of(MILK, WAREHOUSE).await?, 90);
    Ok(())
}

#[tokio::test]
async fn orders_list_detail_and_cancel_with_void() -> R {
    let app = TestApp::spawn().await?;
    for product in [TOMATOES, CUCUMBERS] {
        app.stock(product, WAREHOUSE).set(10).await?;
    }
    let slot = app.slot().create().await?;
    let s = app
        .shopper(&[(TOMATOES, 2), (CUCUMBERS, 1)])
        .card(VISA)
        .create_many(2)
        .await?;
    let (t, other) = (&s[0], &s[1]);
    let first = t.confirm("ord-1", &t.delivery(slot)).await?;
    assert_eq!(first.status, 201);
    app.put_in_cart(t.cart_id, &[(TOMATOES, 1)]).await?;
    let second = t.confirm("ord-2", &t.delivery(slot)).await?;
    assert_eq!(second.status, 201, "{}", second.body);
    let id = first.body["data"]["order_id"].as_i64().unwrap_or_default();
    let order = format!("/api/v1/orders/{id}");
    let cancel = format!("{order}/cancel");

    let list = t.get("/api/v1/orders?limit=10").await?;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body["meta"],
        json!({"total": 2, "limit": 10, "offset": 0})
    );
    assert_eq!(
        list.body["data"][0]["id"], second.body["data"]["order_id"],
        "newest first"
    );
    let detail = t.get(&order).await?;
    let o = &detail.body["data"];
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

    let r = other.get(&order).await?;
    assert_eq!((r.status, r.code().as_str()), (404, "NOT_FOUND"));
    let admin = app.session(Role::Admin).await?;
    assert_eq!(
        admin.get(&order).await?.status,
        404,
        "no staff bypass on customer routes"
    );
    let r = other.call(Method::POST, &cancel).await?;
    assert_eq!((r.status, r.code().as_str()), (404, "NOT_FOUND"));

    let before = app.stock_of(TOMATOES, WAREHOUSE).await?;
    let r = t.call(Method::POST, &cancel).await?;
    assert_eq!(
        (r.status, r.body["data"]["status"].as_str()),
        (200, Some("CANCELED")),
        "{}",
        r.body
    );
    assert_eq!(
        app.stock_of(TOMATOES, WAREHOUSE).await?,
        before + 2,
        "stock is back"
    );
    let detail = t.get(&order).await?;
    assert_eq!(detail.body["data"]["payment_status"], "VOIDED");
    let reference = first.body["data"]["payment_reference"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let voided = app
        .paysim
        .intents()
        .await?
        .into_iter()
        .find(|i| i["id"] == reference.as_str());
    assert_eq!(
        voided.map(|i| i["status"].clone()),
        Some(json!("canceled")),
        "no money held"
    );
    let r = t.call(Method::POST, &cancel).await?;
    assert_eq!((r.status, r.code().as_str()), (409, "INVALID_STATUS"));
    for bad in ["limit=abc", "offset=-1"] {
        let r = t.get(&format!("/api/v1/orders?{bad}")).await?;
        assert_eq!((r.status, r.code().as_str()), (400, "BAD_REQUEST"), "{bad}");
    }
    assert_eq!(app.audit_count("payment", "VOIDED").await?, 1);
    Ok(())
}

#[tokio::test]
async fn the_reconciler_settles_every_unknown_outcome() -> R {
    // The smallest minimum age the test's 2 s provider timeout allows.
    let app = TestApp::spawn_with(&[("RECONCILE_MIN_AGE_SECONDS", "2")]).await?;
    app.stock(TOMATOES, WAREHOUSE).set(10).await?;
    let slot = app.slot().create().await?;
    let approved = app
        .shopper(&[(TOMATOES, 2)])
        .card(VISA)
        .create_many(2)
        .await?;
    let declined = app
        .shopper(&[(TOMATOES, 1)])
        .card(DECLINED)
        .create()
        .await?;
    let pending = |o: &mami_tests::OrderRow| o.payment_status == "PENDING";

    // Three orders left PENDING: one charged-then-timed-out, one 5xx, one declined-then-5xx.
    app.paysim
        .fault(json!({"hang_after_effect_next": 1, "hang_ms": 4000}))
        .await?;
    let (a, b) = (&approved[0], &approved[1]);
    assert_eq!(a.confirm("r-1", &a.delivery(slot)).await?.status, 503);
    app.paysim.fault(json!({"fail_next": 2})).await?;
    assert_eq!(b.confirm("r-2", &b.delivery(slot)).await?.status, 503);
    let r = declined.confirm("r-3", &declined.delivery(slot)).await?;
    assert_eq!(r.status, 503);
    assert_eq!(app.count_orders(pending).await?, 3);
    assert_eq!(app.stock_of(TOMATOES, WAREHOUSE).await?, 5);

    // As if the minimum age had passed for every order above.
    let later = Utc::now() + chrono::Duration::seconds(3);
    let report = app.state.reconciler.run_once(later).await?;
    assert!(report.led);
    assert_eq!(
        (report.authorized, report.declined, report.still_unknown),
        (2, 1, 0),
        "{report:?}"
    );
    assert_eq!(app.count_orders(pending).await?, 0, "nothing left pending");
    assert_eq!(
        app.stock_of(TOMATOES, WAREHOUSE).await?,
        6,
        "the declined order's unit is back"
    );
    let list = app.paysim.intents().await?;
    let authorized: Vec<&Value> = list
        .iter()
        .filter(|i| i["status"] == "requires_capture")
        .collect();
    assert_eq!(
        authorized.len(),
        2,
        "exactly one authorization per authorized order"
    );
    let provider_ids: HashSet<String> = app
        .payments()
        .await?
        .into_iter()
        .filter(|p| p.status == "AUTHORIZED")
        .filter_map(|p| p.provider_payment_id)
        .collect();
    assert_eq!(provider_ids.len(), 2);
    let by_reconciler = app
        .audit_rows()
        .await?
        .into_iter()
        .filter(|a| a.entity_type == "payment")
        .filter(|a| {
            a.request_id
                .as_deref()
                .is_some_and(|r| r.starts_with("reconciler-"))
        })
        .count();
    assert!(by_reconciler >= 3, "decisions audited");
    // The customer's retry now just replays the settled answer.
    assert_eq!(a.confirm("r-1", &a.delivery(slot)).await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn two_api_instances_on_one_database_never_oversell() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "30")]).await?;
    let other = app.another_instance().await?;
    let buyers = app
        .shopper(&[(CARROTS, 1)])
        .card(VISA)
        .create_many(40)
        .await?;
    let race = app
        .race_for(CARROTS, 10, &buyers, &[&app.address, &other])
        .await?;
    assert_eq!(race.created, 10);
    assert_eq!(race.stock_left, 0);
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
    let user = app.user_id(demo_email(Role::Customer)).await?;
    let now = Utc::now();
    app.idempotency_key(user, "old", now - Duration::hours(1))
        .await?;
    app.idempotency_key(user, "fresh", now + Duration::hours(1))
        .await?;
    app.revoked_refresh_token(user, now - Duration::days(1))
        .await?;
    app.revoked_refresh_token(user, now + Duration::days(1))
        .await?;
    let report = app.state.reconciler.run_once(Utc::now()).await?;
    assert_eq!(report.purged, 2);
    assert_eq!(app.count(Rows::IdempotencyKeys).await?, 1);
    assert_eq!(app.count(Rows::RevokedTokens).await?, 1);
    Ok(())
}
