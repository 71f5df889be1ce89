//! Fulfilment over real PostgreSQL and mami-paysim: orders walked from checkout to DELIVERED
//! by staff, missing items removed and re-priced, picking, the status machine's refusals,
//! damage reports, the queue, alerts, performance and batches.

use mami_domain::identity::Role;
use mami_tests::demo::{CARROTS, CUCUMBERS, MILK, TEL_AVIV, TOMATOES, WAREHOUSE};
use mami_tests::{Fulfil, OpsCalls, Session, TestApp, each};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

fn item_id(order: &Value, product: i64) -> i64 {
    each(&order["items"])
        .find(|i| i["product_id"] == product)
        .and_then(|i| i["id"].as_i64())
        .unwrap_or_default()
}

/// Asserts a 409 `INVALID_STATUS_TRANSITION` naming exactly `allowed`.
fn refused(r: &mami_tests::Reply, allowed: &[&str]) {
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "INVALID_STATUS_TRANSITION"),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["error"]["details"]["allowed"],
        json!(allowed),
        "{}",
        r.body
    );
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Status transition not allowed"),
        "{message}"
    );
}

async fn moved(staff: &Session, id: i64, to: &str) -> anyhow::Result<Value> {
    let r = staff.move_order(id, to).await?;
    assert_eq!(r.status, 200, "{to}: {}", r.body);
    assert_eq!(r.body["data"]["status"], to);
    Ok(r.body["data"].clone())
}

#[tokio::test]
async fn a_delivery_order_goes_from_checkout_to_delivered_with_the_picked_total_captured() -> R {
    let app = TestApp::spawn().await?;
    let order = app
        .paid_order(&[(TOMATOES, 2), (CUCUMBERS, 1)], Fulfil::Delivery)
        .await?;
    assert_eq!(order.total, "52.70");
    let employee = app.session(Role::Employee).await?;
    let employee_id = app.user_id("employee@mami.local").await?;

    // The dashboard's list has what it needs to offer moves.
    let list = employee.get("/api/v1/ops/orders?limit=50&offset=0").await?;
    assert_eq!(list.status, 200, "{}", list.body);
    let row = each(&list.body["data"])
        .find(|o| o["id"] == order.id)
        .cloned()
        .unwrap_or_default();
    assert_eq!(row["order_id"], order.id);
    assert_eq!(row["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(row["items_pending"], 2);
    assert_eq!(row["delivery_slot"]["start_time"], "20:00:00");
    assert_eq!(row["urgency_rank"], 1200);
    assert!(row.get("urgency").is_some() && row["customer_name"] == "Shopper");
    assert!(list.body["meta"]["total"].as_i64() >= Some(1));

    moved(&employee, order.id, "IN_PROGRESS").await?;
    employee.pick_all(order.id, "PICKED").await?;
    let ready = moved(&employee, order.id, "READY").await?;
    assert_eq!(ready["payment_status"], "CAPTURED");
    assert_eq!(ready["payment"]["amount_captured"], "52.70");
    assert!(
        each(&ready["items"]).all(|i| i["picked_by"] == employee_id && i["picked_at"].is_string())
    );
    moved(&employee, order.id, "OUT_FOR_DELIVERY").await?;
    moved(&employee, order.id, "DELAYED").await?;
    moved(&employee, order.id, "OUT_FOR_DELIVERY").await?;
    let delivered = moved(&employee, order.id, "DELIVERED").await?;
    assert!(delivered["delivered_at"].is_string());

    let money = app.money_of(order.id).await?;
    assert_eq!(
        (
            money.status.as_str(),
            money.captured.as_str(),
            money.refunded.as_str()
        ),
        ("CAPTURED", "52.70", "0.00")
    );
    let intent = app
        .paysim
        .intent(money.intent.as_deref().unwrap_or(""))
        .await?;
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(
        intent["amount_received"], 5270,
        "captured once, the picked total"
    );
    assert_eq!(intent["refunds"], json!([]));
    assert_eq!(app.audit_count("payment", "CAPTURE_REQUESTED").await?, 1);
    assert_eq!(app.audit_count("payment", "CAPTURED").await?, 1);
    assert_eq!(
        app.audit_count("order_item", "UPDATE_PICK_STATUS").await?,
        2
    );
    assert_eq!(app.audit_count("order", "UPDATE_STATUS").await?, 6);

    // The customer sees it delivered; revenue counts it now.
    let mine = order
        .shopper
        .get(&format!("/api/v1/orders/{}", order.id))
        .await?;
    assert_eq!(mine.body["data"]["status"], "DELIVERED");
    assert_eq!(mine.body["data"]["delivery_slot"]["start_time"], "20:00:00");
    assert!(
        mine.body["data"]["items"][0].get("picked_by").is_none(),
        "staff only"
    );
    let admin = app.session(Role::Admin).await?;
    let revenue = admin
        .get("/api/v1/admin/analytics/revenue?range=7d")
        .await?;
    assert_eq!(
        revenue.body["data"]["values"],
        json!([52.7]),
        "{}",
        revenue.body
    );
    Ok(())
}

#[tokio::test]
async fn a_pickup_order_is_handed_over_at_the_branch() -> R {
    let app = TestApp::spawn().await?;
    let order = app.paid_order(&[(MILK, 3)], Fulfil::Pickup).await?;
    assert_eq!(order.total, "20.70");
    let employee = app.session(Role::Employee).await?;
    let manager = app.session(Role::Manager).await?;
    moved(&employee, order.id, "IN_PROGRESS").await?;
    employee.pick_all(order.id, "PICKED").await?;
    let ready = moved(&employee, order.id, "READY").await?;
    assert_eq!(
        ready["delivery_slot"]["id"],
        Value::Null,
        "the pickup window"
    );
    refused(
        &employee.move_order(order.id, "OUT_FOR_DELIVERY").await?,
        &["DELIVERED"],
    );
    refused(
        &manager.move_order(order.id, "OUT_FOR_DELIVERY").await?,
        &["DELIVERED", "CANCELED"],
    );
    moved(&employee, order.id, "DELIVERED").await?;
    let money = app.money_of(order.id).await?;
    assert_eq!(
        (money.status.as_str(), money.captured.as_str()),
        ("CAPTURED", "20.70")
    );
    let intent = app
        .paysim
        .intent(money.intent.as_deref().unwrap_or(""))
        .await?;
    assert_eq!(intent["amount_received"], 2070);
    assert_eq!(
        app.stock_of(MILK, TEL_AVIV).await?,
        7,
        "the goods left the store"
    );
    Ok(())
}

#[tokio::test]
async fn missing_items_are_removed_repriced_restocked_and_a_smaller_total_captured() -> R {
    let app = TestApp::spawn().await?;
    let order = app
        .paid_order(&[(TOMATOES, 2), (MILK, 3)], Fulfil::Delivery)
        .await?;
    assert_eq!(order.total, "66.50");
    assert_eq!(app.stock_of(MILK, WAREHOUSE).await?, 7);
    let employee = app.session(Role::Employee).await?;
    moved(&employee, order.id, "IN_PROGRESS").await?;
    let detail = employee.ops_order(order.id).await?;
    let (tomatoes, milk) = (item_id(&detail, TOMATOES), item_id(&detail, MILK));
    assert_eq!(
        employee.pick(order.id, tomatoes, "PICKED").await?.status,
        200
    );
    assert_eq!(employee.pick(order.id, milk, "MISSING").await?.status, 200);
    refused(&employee.move_order(order.id, "READY").await?, &["MISSING"]);
    moved(&employee, order.id, "MISSING").await?;

    let ready = moved(&employee, order.id, "READY").await?;
    assert_eq!(
        (
            &ready["subtotal_amount"],
            &ready["delivery_fee"],
            &ready["total_amount"]
        ),
        (&json!("15.80"), &json!("30.00"), &json!("45.80"))
    );
    let gone = each(&ready["items"]).find(|i| i["id"] == milk).cloned();
    assert_eq!(
        gone.map(|i| (i["removed"].clone(), i["picked_status"].clone())),
        Some((json!(true), json!("MISSING"))),
        "kept for history"
    );
    assert_eq!(ready["items_pending"], 0);
    assert_eq!(ready["items_summary"], "Tomatoes x2");
    assert_eq!(
        app.stock_of(MILK, WAREHOUSE).await?,
        10,
        "the missing milk is back"
    );
    assert_eq!(app.stock_of(TOMATOES, WAREHOUSE).await?, 8);

    let money = app.money_of(order.id).await?;
    assert_eq!(
        (money.authorized.as_str(), money.captured.as_str()),
        ("66.50", "45.80")
    );
    let intent = app
        .paysim
        .intent(money.intent.as_deref().unwrap_or(""))
        .await?;
    assert_eq!(
        (intent["amount"].clone(), intent["amount_received"].clone()),
        (json!(6650), json!(4580))
    );
    assert_eq!(app.audit_count("order_item", "REMOVE").await?, 1);
    let restored = app.audit_count("inventory", "RESTORE").await?;
    assert_eq!(restored, 1, "one row back, audited");
    let late = employee.pick(order.id, milk, "PICKED").await?;
    assert_eq!((late.status, late.code().as_str()), (409, "INVALID_STATUS"));
    Ok(())
}

#[tokio::test]
async fn every_invalid_move_is_409_and_names_the_moves_allowed_now() -> R {
    let app = TestApp::spawn().await?;
    let order = app.paid_order(&[(TOMATOES, 1)], Fulfil::Delivery).await?;
    let employee = app.session(Role::Employee).await?;
    let manager = app.session(Role::Manager).await?;
    let all = [
        "CREATED",
        "IN_PROGRESS",
        "READY",
        "OUT_FOR_DELIVERY",
        "DELIVERED",
        "CANCELED",
        "DELAYED",
        "MISSING",
    ];
    // Each step: the status reached, the moves a manager may make from it now, the next move.
    let walk: [(&str, &[&str], &str); 5] = [
        ("CREATED", &["IN_PROGRESS", "CANCELED"], "IN_PROGRESS"),
        ("IN_PROGRESS", &["READY", "CANCELED"], "READY"),
        (
            "READY",
            &["OUT_FOR_DELIVERY", "CANCELED"],
            "OUT_FOR_DELIVERY",
        ),
        ("OUT_FOR_DELIVERY", &["DELIVERED", "DELAYED"], "DELIVERED"),
        ("DELIVERED", &[], ""),
    ];
    for (at, allowed, next) in walk {
        if at == "IN_PROGRESS" {
            let r = manager.move_order(order.id, "READY").await?;
            refused(&r, &["CANCELED"]);
            assert!(
                r.body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("PICKED"))
            );
            employee.pick_all(order.id, "PICKED").await?;
        }
        for to in all.iter().filter(|s| !allowed.contains(s)) {
            refused(&manager.move_order(order.id, to).await?, allowed);
        }
        if !next.is_empty() {
            moved(&employee, order.id, next).await?;
        }
    }
    let r = manager.move_order(order.id + 1000, "READY").await?;
    assert_eq!((r.status, r.code().as_str()), (404, "NOT_FOUND"));
    Ok(())
}

#[tokio::test]
async fn employees_cannot_cancel_and_managers_void_before_capture() -> R {
    let app = TestApp::spawn().await?;
    let order = app
        .paid_order(&[(TOMATOES, 2), (MILK, 1)], Fulfil::Delivery)
        .await?;
    let employee = app.session(Role::Employee).await?;
    moved(&employee, order.id, "IN_PROGRESS").await?;
    let r = employee.move_order(order.id, "CANCELED").await?;
    assert_eq!((r.status, r.code().as_str()), (403, "AUTHORIZATION_ERROR"));
    assert_eq!(employee.ops_order(order.id).await?["status"], "IN_PROGRESS");
    assert_eq!(app.stock_of(TOMATOES, WAREHOUSE).await?, 8);

    let manager = app.session(Role::Manager).await?;
    let canceled = moved(&manager, order.id, "CANCELED").await?;
    assert_eq!(canceled["payment_status"], "VOIDED");
    assert_eq!(app.stock_of(TOMATOES, WAREHOUSE).await?, 10);
    assert_eq!(app.stock_of(MILK, WAREHOUSE).await?, 10);
    let money = app.money_of(order.id).await?;
    let intent = app
        .paysim
        .intent(money.intent.as_deref().unwrap_or(""))
        .await?;
    assert_eq!(
        intent["status"], "canceled",
        "the authorization is released"
    );
    assert_eq!(app.audit_count("payment", "VOIDED").await?, 1);
    refused(&manager.move_order(order.id, "CANCELED").await?, &[]);

    // The customer's own cancel (from CREATED) still works.
    let other = app.paid_order(&[(CUCUMBERS, 1)], Fulfil::Delivery).await?;
    let path = format!("/api/v1/orders/{}/cancel", other.id);
    let r = other.shopper.call(reqwest::Method::POST, &path).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.money_of(other.id).await?.status, "VOIDED");
    Ok(())
}

#[tokio::test]
async fn picking_is_recorded_while_the_order_is_picked() -> R {
    let app = TestApp::spawn().await?;
    let order = app
        .paid_order(&[(TOMATOES, 1), (MILK, 1)], Fulfil::Delivery)
        .await?;
    let other = app.paid_order(&[(CARROTS, 1)], Fulfil::Delivery).await?;
    let employee = app.session(Role::Employee).await?;
    let detail = employee.ops_order(order.id).await?;
    let tomatoes = item_id(&detail, TOMATOES);
    let early = employee.pick(order.id, tomatoes, "PICKED").await?;
    assert_eq!(
        (early.status, early.code().as_str()),
        (409, "INVALID_STATUS")
    );
    assert_eq!(early.body["error"]["details"]["status"], "CREATED");
    moved(&employee, order.id, "IN_PROGRESS").await?;
    let r = employee.pick(order.id, tomatoes, "PICKED").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let line = each(&r.body["data"]["items"])
        .find(|i| i["id"] == tomatoes)
        .cloned();
    let employee_id = app.user_id("employee@mami.local").await?;
    assert_eq!(
        line.map(|l| (l["picked_status"].clone(), l["picked_by"].clone())),
        Some((json!("PICKED"), json!(employee_id)))
    );
    // The same status again writes nothing.
    assert_eq!(
        employee.pick(order.id, tomatoes, "PICKED").await?.status,
        200
    );
    assert_eq!(
        app.audit_count("order_item", "UPDATE_PICK_STATUS").await?,
        1
    );
    let foreign = item_id(&employee.ops_order(other.id).await?, CARROTS);
    for (id, item) in [
        (order.id, foreign),
        (order.id, 999_999),
        (999_999, tomatoes),
    ] {
        let r = employee.pick(id, item, "PICKED").await?;
        assert_eq!(
            (r.status, r.code().as_str()),
            (404, "NOT_FOUND"),
            "{}",
            r.body
        );
    }
    let message =
        employee.pick(order.id, 999_999, "PICKED").await?.body["error"]["message"].clone();
    assert_eq!(message, "Order item not found");
    Ok(())
}

#[tokio::test]
async fn bad_bodies_and_queries_are_4xx_in_the_envelope() -> R {
    let app = TestApp::spawn().await?;
    let order = app.paid_order(&[(TOMATOES, 1)], Fulfil::Delivery).await?;
    let admin = app.session(Role::Admin).await?;
    let base = format!("/api/v1/ops/orders/{}", order.id);
    let item = item_id(&admin.ops_order(order.id).await?, TOMATOES);
    let patch = |path: String, body: Value| {
        let admin = admin.clone();
        async move {
            mami_tests::Reply::of(admin.request(reqwest::Method::PATCH, &path).json(&body)).await
        }
    };
    for body in [
        json!({"status": "SHIPPED"}),
        json!({}),
        json!({"status": "READY", "note": "x"}),
        json!({"status": 3}),
    ] {
        let r = patch(format!("{base}/status"), body.clone()).await?;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "VALIDATION_ERROR"),
            "{body}"
        );
    }
    let r = patch(
        format!("{base}/items/{item}/picked-status"),
        json!({"picked_status": "DONE"}),
    )
    .await?;
    assert_eq!((r.status, r.code().as_str()), (400, "VALIDATION_ERROR"));
    let r = patch(format!("{base}/status"), Value::Null).await?;
    assert_eq!(r.status, 400, "{}", r.body);
    for query in [
        "status=SHIPPED",
        "date_from=yesterday",
        "date_to=2026-13-01",
        "dateFrom=2026-11-01",
        "limit=0",
        "limit=201",
        "offset=-1",
        "limit=abc",
    ] {
        let r = admin.get(&format!("/api/v1/ops/orders?{query}")).await?;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "VALIDATION_ERROR"),
            "{query}"
        );
    }
    let r = admin
        .get("/api/v1/ops/orders?status=SHIPPED&date_from=x&date_to=y")
        .await?;
    assert_eq!(
        r.body["error"]["details"]["errors"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "every broken rule at once: {}",
        r.body
    );
    let damage = format!("{base}/items/{item}/report-damage");
    for body in [
        json!({"reason": ""}),
        json!({"reason": "x".repeat(257)}),
        json!({}),
    ] {
        let r = admin.post(&damage, &body).await?;
        assert_eq!((r.status, r.code().as_str()), (400, "VALIDATION_ERROR"));
    }
    for body in [
        json!({"order_ids": []}),
        json!({"order_ids": [0]}),
        json!({"ids": [1]}),
    ] {
        let r = admin.post("/api/v1/ops/batches", &body).await?;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "VALIDATION_ERROR"),
            "{body}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn damage_reports_are_stored_audited_and_shown_to_managers() -> R {
    let app = TestApp::spawn().await?;
    let order = app.paid_order(&[(MILK, 2)], Fulfil::Delivery).await?;
    let admin = app.session(Role::Admin).await?;
    let employee = app.session(Role::Employee).await?;
    let item = item_id(&admin.ops_order(order.id).await?, MILK);
    let path = format!("/api/v1/ops/orders/{}/items/{item}/report-damage", order.id);
    let body = json!({"reason": "Leaking carton", "notes": "shelf B-3"});
    let r = employee.post(&path, &body).await?;
    assert_eq!((r.status, r.code().as_str()), (403, "AUTHORIZATION_ERROR"));
    let r = admin.post(&path, &body).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["data"]["reported"], true);
    let report = r.body["data"]["id"].as_i64().unwrap_or_default();
    let manager = app.session(Role::Manager).await?;
    let detail = manager.ops_order(order.id).await?;
    assert_eq!(detail["damage_reports"][0]["reason"], "Leaking carton");
    assert_eq!(detail["damage_reports"][0]["notes"], "shelf B-3");
    assert_eq!(detail["damage_reports"][0]["order_item_id"], item);
    let alerts = manager.get("/api/v1/ops/alerts").await?;
    let alert = each(&alerts.body["data"])
        .find(|a| a["id"] == format!("damage-{report}"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(alert["kind"], "DAMAGE");
    assert!(
        alert["text"]
            .as_str()
            .is_some_and(|t| t.contains("Leaking carton"))
    );
    assert_eq!(app.audit_count("order_item", "REPORT_DAMAGE").await?, 1);
    let missing = format!("/api/v1/ops/orders/{}/items/999999/report-damage", order.id);
    let r = admin.post(&missing, &body).await?;
    assert_eq!((r.status, r.code().as_str()), (404, "NOT_FOUND"));
    Ok(())
}

#[tokio::test]
async fn the_queue_holds_paid_orders_open_first_by_due_time() -> R {
    let app = TestApp::spawn().await?;
    let later = app.paid_order(&[(TOMATOES, 1)], Fulfil::Delivery).await?;
    let sooner = app.paid_order(&[(MILK, 1)], Fulfil::Delivery).await?;
    let now = chrono::Utc::now();
    app.due_at(later.id, now + chrono::Duration::hours(5))
        .await?;
    app.due_at(sooner.id, now + chrono::Duration::minutes(30))
        .await?;
    // An order whose authorization is unknown never reaches the queue.
    let unknown = app
        .shopper(&[(CUCUMBERS, 1)])
        .card("pm_card_visa")
        .create()
        .await?;
    app.paysim.fault(json!({"fail_next": 1})).await?;
    let slot = app.sunday_evening_slot().await?;
    let r = unknown
        .confirm("q-unknown", &unknown.delivery(slot))
        .await?;
    assert_eq!(r.status, 503, "{}", r.body);
    let pending_id = r.body["error"]["details"]["order_id"]
        .as_i64()
        .unwrap_or_default();

    let staff = app.session(Role::Employee).await?;
    let r = staff.get("/api/v1/ops/orders").await?;
    let ids: Vec<i64> = each(&r.body["data"])
        .filter_map(|o| o["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![sooner.id, later.id], "{}", r.body);
    assert_eq!(
        r.body["meta"],
        json!({"total": 2, "limit": 50, "offset": 0})
    );
    assert_eq!(r.body["data"][0]["urgency"], "critical");
    assert_eq!(r.body["data"][1]["urgency"], Value::Null);
    let r = staff
        .get(&format!("/api/v1/ops/orders/{pending_id}"))
        .await?;
    assert_eq!((r.status, r.code().as_str()), (404, "NOT_FOUND"));

    moved(&staff, sooner.id, "IN_PROGRESS").await?;
    let r = staff.get("/api/v1/ops/orders?status=IN_PROGRESS").await?;
    let ids: Vec<i64> = each(&r.body["data"])
        .filter_map(|o| o["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![sooner.id]);
    let today = now.format("%Y-%m-%d").to_string();
    let r = staff
        .get(&format!(
            "/api/v1/ops/orders?date_from={today}&date_to={today}&limit=1"
        ))
        .await?;
    assert_eq!(r.body["meta"]["total"], 2, "{}", r.body);
    assert_eq!(r.body["data"].as_array().map(Vec::len), Some(1));
    let r = staff.get("/api/v1/ops/orders?date_to=2000-01-01").await?;
    assert_eq!(r.body["meta"]["total"], 0);
    Ok(())
}

#[tokio::test]
async fn alerts_report_low_stock_late_orders_and_refused_captures() -> R {
    let app = TestApp::spawn().await?;
    {
        // Plenty of everything, so that the rows below are the only low ones.
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use mami_postgres::schema::inventory;
        let mut c = app.conn().await?;
        diesel::update(inventory::table)
            .set(inventory::available_quantity.eq(100))
            .execute(&mut c)
            .await?;
    }
    let late = app.paid_order(&[(TOMATOES, 1)], Fulfil::Delivery).await?;
    app.due_at(late.id, chrono::Utc::now() - chrono::Duration::minutes(10))
        .await?;
    let refused_order = app.paid_order(&[(MILK, 1)], Fulfil::Delivery).await?;
    app.stock(CARROTS, WAREHOUSE).set(0).await?;
    let staff = app.session(Role::Employee).await?;
    moved(&staff, refused_order.id, "IN_PROGRESS").await?;
    staff.pick_all(refused_order.id, "PICKED").await?;
    let intent = app
        .money_of(refused_order.id)
        .await?
        .intent
        .unwrap_or_default();
    app.paysim.cancel_behind_the_apps_back(&intent).await?;
    let ready = moved(&staff, refused_order.id, "READY").await?;
    assert_eq!(ready["payment_status"], "FAILED");
    assert_eq!(ready["payment"]["failure_code"], "invalid_request");

    let r = staff.get("/api/v1/ops/alerts").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let find = |id: String| each(&r.body["data"]).find(|a| a["id"] == id).cloned();
    let payment = find(format!("payment-{}", refused_order.id)).unwrap_or_default();
    assert_eq!(
        (payment["type"].clone(), payment["severity"].clone()),
        (json!("alert"), json!("high"))
    );
    assert!(payment["createdAt"].is_string() && payment["time"].is_string());
    let overdue = find(format!("late-order-{}", late.id)).unwrap_or_default();
    assert_eq!(overdue["severity"], "high");
    assert!(
        overdue["text"]
            .as_str()
            .is_some_and(|t| t.contains("overdue"))
    );
    let carrots_row = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use mami_postgres::schema::inventory;
        let mut c = app.conn().await?;
        inventory::table
            .filter(inventory::product_id.eq(CARROTS))
            .filter(inventory::branch_id.eq(WAREHOUSE))
            .select(inventory::id)
            .get_result::<i64>(&mut c)
            .await?
    };
    let low = find(format!("low-stock-{carrots_row}")).unwrap_or_default();
    assert_eq!(
        (low["kind"].clone(), low["severity"].clone()),
        (json!("LOW_STOCK"), json!("high"))
    );
    let customer = app.session(Role::Customer).await?;
    assert_eq!(customer.get("/api/v1/ops/alerts").await?.status, 403);
    Ok(())
}

#[tokio::test]
async fn performance_comes_from_real_picks_and_batches_are_stored() -> R {
    let app = TestApp::spawn().await?;
    let a = app
        .paid_order(&[(TOMATOES, 1), (MILK, 1)], Fulfil::Delivery)
        .await?;
    let b = app.paid_order(&[(CUCUMBERS, 1)], Fulfil::Pickup).await?;
    let employee = app.session(Role::Employee).await?;
    let manager = app.session(Role::Manager).await?;
    moved(&employee, a.id, "IN_PROGRESS").await?;
    let item = item_id(&employee.ops_order(a.id).await?, TOMATOES);
    assert_eq!(employee.pick(a.id, item, "PICKED").await?.status, 200);
    assert_eq!(employee.get("/api/v1/ops/performance").await?.status, 403);
    let r = manager.get("/api/v1/ops/performance").await?;
    let manager_id = app.user_id("manager@mami.local").await?;
    assert_eq!(
        r.body["data"],
        json!({"batchEfficiency": 33.33, "livePickers": 1, "activeOrders": 2, "totalOrders": 2,
            "pickedItems": 1, "totalItems": 3, "pickerWindowMinutes": 5, "user_id": manager_id})
    );

    let r = employee
        .post(
            "/api/v1/ops/batches",
            &json!({"order_ids": [b.id, a.id, b.id]}),
        )
        .await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut ids = vec![a.id, b.id];
    ids.sort_unstable();
    assert_eq!(r.body["data"]["order_ids"], json!(ids));
    assert_eq!(
        r.body["data"]["payload"],
        json!({"order_ids": [b.id, a.id, b.id]})
    );
    assert_eq!(
        r.body["data"]["created_by"],
        app.user_id("employee@mami.local").await?
    );
    assert_eq!(app.audit_count("ops_batch", "CREATE").await?, 1);
    let stored: i64 = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use mami_postgres::schema::ops_batch_orders;
        let mut c = app.conn().await?;
        ops_batch_orders::table.count().get_result(&mut c).await?
    };
    assert_eq!(stored, 2);
    let r = employee
        .post(
            "/api/v1/ops/batches",
            &json!({"order_ids": [a.id, 999_999]}),
        )
        .await?;
    assert_eq!((r.status, r.code().as_str()), (404, "NOT_FOUND"));
    assert_eq!(r.body["error"]["details"]["order_ids"], json!([999_999]));
    moved(&manager, b.id, "CANCELED").await?;
    let r = employee
        .post("/api/v1/ops/batches", &json!({"order_ids": [b.id]}))
        .await?;
    assert_eq!((r.status, r.code().as_str()), (409, "INVALID_STATUS"));
    Ok(())
}

#[tokio::test]
async fn two_staff_moving_one_order_at_once_exactly_one_wins() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "20")]).await?;
    let order = app.paid_order(&[(TOMATOES, 1)], Fulfil::Delivery).await?;
    let staff = [
        app.session(Role::Employee).await?,
        app.session(Role::Manager).await?,
        app.session(Role::Admin).await?,
    ];
    let calls = (0..12).map(|i| {
        let s = staff[i % staff.len()].clone();
        async move { s.move_order(order.id, "IN_PROGRESS").await }
    });
    let mut won = 0;
    for r in futures_util::future::join_all(calls).await {
        let r = r?;
        match r.status {
            200 => won += 1,
            409 => assert_eq!(r.code(), "INVALID_STATUS_TRANSITION"),
            other => panic!("{other}: {}", r.body),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(app.audit_count("order", "UPDATE_STATUS").await?, 1);
    Ok(())
}
