//! The money of fulfilment over real PostgreSQL and mami-paysim: the capture at READY happens
//! exactly once whatever the concurrency, a cancel racing READY leaves money and stock
//! consistent, refunds happen once, and captures, refunds and voids whose outcome is unknown
//! (a 5xx, an answer lost after the effect) are settled by the reconciler with the same key —
//! one provider effect each, counted on paysim's own record.

use chrono::Utc;
use mami_domain::identity::Role;
use mami_tests::demo::{MILK, TOMATOES, WAREHOUSE};
use mami_tests::{Fulfil, OpsCalls, PaidOrder, Session, TestApp, each};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

/// The smallest reconciler age the tests' 2 s provider timeout allows.
const RECONCILER: [(&str, &str); 2] = [
    ("RECONCILE_MIN_AGE_SECONDS", "2"),
    ("DATABASE_POOL_SIZE", "30"),
];

/// An order placed, started and fully picked: the next move is READY.
async fn picked(app: &TestApp, lines: &[(i64, i32)], how: Fulfil) -> anyhow::Result<PaidOrder> {
    let order = app.paid_order(lines, how).await?;
    let staff = app.session(Role::Employee).await?;
    let r = staff.move_order(order.id, "IN_PROGRESS").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    staff.pick_all(order.id, "PICKED").await?;
    Ok(order)
}

/// An order made READY: captured.
async fn captured(app: &TestApp, lines: &[(i64, i32)]) -> anyhow::Result<PaidOrder> {
    let order = picked(app, lines, Fulfil::Delivery).await?;
    let r = app
        .session(Role::Employee)
        .await?
        .move_order(order.id, "READY")
        .await?;
    assert_eq!(r.body["data"]["payment_status"], "CAPTURED", "{}", r.body);
    Ok(order)
}

/// Paysim's record of the order's intent.
async fn intent(app: &TestApp, order: i64) -> anyhow::Result<Value> {
    let money = app.money_of(order).await?;
    app.paysim
        .intent(money.intent.as_deref().unwrap_or(""))
        .await
}

/// A reconciler pass as if its minimum age had passed for everything above.
async fn reconcile(app: &TestApp) -> anyhow::Result<mami_domain::reconciler::ReconcileReport> {
    let later = Utc::now() + chrono::Duration::seconds(3);
    Ok(app.state.reconciler.run_once(later).await?)
}

#[tokio::test]
async fn twenty_concurrent_ready_requests_and_retries_capture_exactly_once() -> R {
    let app = TestApp::spawn_with(&RECONCILER).await?;
    let order = picked(&app, &[(TOMATOES, 2), (MILK, 1)], Fulfil::Delivery).await?;
    let staff: Vec<Session> = vec![
        app.session(Role::Employee).await?,
        app.session(Role::Manager).await?,
        app.session(Role::Admin).await?,
    ];
    let calls = (0..20).map(|i| {
        let s = staff[i % staff.len()].clone();
        async move { s.move_order(order.id, "READY").await }
    });
    let mut won = 0;
    for r in futures_util::future::join_all(calls).await {
        let r = r?;
        match r.status {
            200 => won += 1,
            409 => assert_eq!(r.code(), "INVALID_STATUS_TRANSITION", "{}", r.body),
            other => panic!("{other}: {}", r.body),
        }
    }
    assert_eq!(won, 1);
    for s in &staff {
        let retry = s.move_order(order.id, "READY").await?;
        assert_eq!(
            (retry.status, retry.code().as_str()),
            (409, "INVALID_STATUS_TRANSITION")
        );
    }
    let report = reconcile(&app).await?;
    assert_eq!((report.money_settled, report.money_unknown), (0, 0));
    let money = app.money_of(order.id).await?;
    assert_eq!(
        (money.status.as_str(), money.captured.as_str()),
        ("CAPTURED", "52.70")
    );
    let i = intent(&app, order.id).await?;
    assert_eq!(
        (i["status"].clone(), i["amount_received"].clone()),
        (json!("succeeded"), json!(5270))
    );
    assert_eq!(app.audit_count("payment", "CAPTURE_REQUESTED").await?, 1);
    assert_eq!(app.audit_count("payment", "CAPTURED").await?, 1);
    Ok(())
}

#[tokio::test]
async fn a_cancel_racing_ready_leaves_money_and_stock_consistent_either_way() -> R {
    let app = TestApp::spawn_with(&RECONCILER).await?;
    let mut orders = Vec::new();
    for _ in 0..6 {
        orders.push(picked(&app, &[(TOMATOES, 1)], Fulfil::Delivery).await?);
    }
    app.stock(TOMATOES, WAREHOUSE).set(100).await?;
    let employee = app.session(Role::Employee).await?;
    let manager = app.session(Role::Manager).await?;
    for o in &orders {
        let (ready, cancel) = tokio::join!(
            employee.move_order(o.id, "READY"),
            manager.move_order(o.id, "CANCELED")
        );
        let (ready, cancel) = (ready?, cancel?);
        assert!(matches!(ready.status, 200 | 409), "{}", ready.body);
        assert!(matches!(cancel.status, 200 | 409), "{}", cancel.body);
        if cancel.status == 409 {
            assert_eq!(cancel.code(), "PAYMENT_PENDING", "{}", cancel.body);
        }
        assert!(
            ready.status == 200 || cancel.status == 200,
            "one of them moved it"
        );
    }
    reconcile(&app).await?;
    let mut canceled = 0;
    for o in &orders {
        let order = manager.ops_order(o.id).await?;
        let money = app.money_of(o.id).await?;
        let i = intent(&app, o.id).await?;
        let refunds = i["refunds"].as_array().map_or(0, Vec::len);
        match (order["status"].as_str(), money.status.as_str()) {
            (Some("CANCELED"), "VOIDED") => {
                assert_eq!((i["status"].clone(), refunds), (json!("canceled"), 0));
                canceled += 1;
            }
            (Some("CANCELED"), "REFUNDED") => {
                assert_eq!(i["amount_refunded"], i["amount_received"]);
                assert_eq!((money.refunded, refunds), (o.total.clone(), 1));
                canceled += 1;
            }
            (Some("READY"), "CAPTURED") => {
                assert_eq!((i["amount_received"].clone(), refunds), (json!(3790), 0));
            }
            other => panic!("inconsistent: {other:?} {order}"),
        }
    }
    assert_eq!(
        app.stock_of(TOMATOES, WAREHOUSE).await?,
        100 + canceled,
        "exactly the canceled orders' stock came back"
    );
    Ok(())
}

#[tokio::test]
async fn a_capture_answered_with_a_5xx_is_settled_by_the_reconciler_once() -> R {
    let app = TestApp::spawn_with(&RECONCILER).await?;
    let order = picked(&app, &[(TOMATOES, 2), (MILK, 1)], Fulfil::Delivery).await?;
    let (employee, manager) = (
        app.session(Role::Employee).await?,
        app.session(Role::Manager).await?,
    );
    app.paysim.fault(json!({"fail_next": 1})).await?;
    let r = employee.move_order(order.id, "READY").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["status"], "READY");
    assert_eq!(r.body["data"]["payment_status"], "CAPTURE_PENDING");
    assert_eq!(r.body["data"]["payment"]["pending_amount"], "52.70");
    for (who, to) in [(&employee, "OUT_FOR_DELIVERY"), (&manager, "CANCELED")] {
        let r = who.move_order(order.id, to).await?;
        assert_eq!(
            (r.status, r.code().as_str()),
            (409, "PAYMENT_PENDING"),
            "{to}"
        );
    }
    assert_eq!(
        intent(&app, order.id).await?["amount_received"],
        0,
        "nothing happened yet"
    );

    let report = reconcile(&app).await?;
    assert_eq!((report.money_settled, report.money_unknown), (1, 0));
    let money = app.money_of(order.id).await?;
    assert_eq!(
        (
            money.status.as_str(),
            money.captured.as_str(),
            money.pending
        ),
        ("CAPTURED", "52.70", None)
    );
    assert_eq!(intent(&app, order.id).await?["amount_received"], 5270);
    assert_eq!(app.audit_count("payment", "CAPTURE_UNKNOWN").await?, 1);
    assert_eq!(app.audit_count("payment", "CAPTURED").await?, 1);
    assert_eq!(reconcile(&app).await?.money_settled, 0, "nothing left");
    assert_eq!(
        employee
            .move_order(order.id, "OUT_FOR_DELIVERY")
            .await?
            .status,
        200
    );
    Ok(())
}

#[tokio::test]
async fn a_capture_whose_answer_was_lost_after_its_effect_is_settled_once() -> R {
    let app = TestApp::spawn_with(&RECONCILER).await?;
    let order = picked(&app, &[(MILK, 2)], Fulfil::Pickup).await?;
    let employee = app.session(Role::Employee).await?;
    app.paysim
        .fault(json!({"hang_after_effect_next": 1, "hang_ms": 4000}))
        .await?;
    let r = employee.move_order(order.id, "READY").await?;
    assert_eq!(
        r.body["data"]["payment_status"], "CAPTURE_PENDING",
        "{}",
        r.body
    );
    assert_eq!(
        intent(&app, order.id).await?["amount_received"],
        1380,
        "it took effect"
    );

    let report = reconcile(&app).await?;
    assert_eq!((report.money_settled, report.money_unknown), (1, 0));
    assert_eq!(app.money_of(order.id).await?.captured, "13.80");
    let i = intent(&app, order.id).await?;
    assert_eq!(
        (i["status"].clone(), i["amount_received"].clone()),
        (json!("succeeded"), json!(1380))
    );
    assert_eq!(
        employee.move_order(order.id, "DELIVERED").await?.status,
        200
    );
    Ok(())
}

#[tokio::test]
async fn a_staff_cancel_after_capture_refunds_exactly_once_and_returns_the_stock() -> R {
    let app = TestApp::spawn_with(&RECONCILER).await?;
    let order = captured(&app, &[(TOMATOES, 2), (MILK, 1)]).await?;
    assert_eq!(app.stock_of(TOMATOES, WAREHOUSE).await?, 8);
    let manager = app.session(Role::Manager).await?;
    let r = manager.move_order(order.id, "CANCELED").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["payment_status"], "REFUNDED");
    assert_eq!(r.body["data"]["payment"]["amount_refunded"], "52.70");
    assert!(r.body["data"]["payment"]["provider_refund_id"].is_string());
    assert_eq!(app.stock_of(TOMATOES, WAREHOUSE).await?, 10);
    assert_eq!(app.stock_of(MILK, WAREHOUSE).await?, 10);
    let again = manager.move_order(order.id, "CANCELED").await?;
    assert_eq!(
        (again.status, again.code().as_str()),
        (409, "INVALID_STATUS_TRANSITION")
    );
    assert_eq!(reconcile(&app).await?.money_settled, 0);
    let i = intent(&app, order.id).await?;
    assert_eq!(i["refunds"].as_array().map(Vec::len), Some(1), "{i}");
    assert_eq!(i["refunds"][0]["amount"], 5270);
    assert_eq!(app.audit_count("payment", "REFUND_REQUESTED").await?, 1);
    assert_eq!(app.audit_count("payment", "REFUNDED").await?, 1);
    Ok(())
}

#[tokio::test]
async fn refunds_answered_with_a_5xx_or_lost_after_their_effect_are_settled_once() -> R {
    let app = TestApp::spawn_with(&RECONCILER).await?;
    let failed = captured(&app, &[(TOMATOES, 1)]).await?;
    let lost = captured(&app, &[(MILK, 1)]).await?;
    let manager = app.session(Role::Manager).await?;
    app.paysim.fault(json!({"fail_next": 1})).await?;
    let r = manager.move_order(failed.id, "CANCELED").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["status"], "CANCELED");
    assert_eq!(r.body["data"]["payment_status"], "REFUND_PENDING");
    app.paysim
        .fault(json!({"hang_after_effect_next": 1, "hang_ms": 4000}))
        .await?;
    let r = manager.move_order(lost.id, "CANCELED").await?;
    assert_eq!(
        r.body["data"]["payment_status"], "REFUND_PENDING",
        "{}",
        r.body
    );
    assert_eq!(intent(&app, failed.id).await?["refunds"], json!([]));
    assert_eq!(
        intent(&app, lost.id).await?["refunds"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let report = reconcile(&app).await?;
    assert_eq!((report.money_settled, report.money_unknown), (2, 0));
    for o in [&failed, &lost] {
        let money = app.money_of(o.id).await?;
        assert_eq!(
            (money.status.as_str(), money.refunded.clone()),
            ("REFUNDED", o.total.clone())
        );
        let i = intent(&app, o.id).await?;
        let refunds: Vec<&Value> = each(&i["refunds"]).collect();
        assert_eq!(refunds.len(), 1, "exactly one refund: {i}");
        assert_eq!(i["amount_refunded"], i["amount_received"]);
    }
    assert_eq!(app.audit_count("payment", "REFUND_UNKNOWN").await?, 2);
    assert_eq!(reconcile(&app).await?.money_settled, 0);
    Ok(())
}

#[tokio::test]
async fn a_refused_capture_holds_the_goods_until_a_manager_cancels() -> R {
    let app = TestApp::spawn_with(&RECONCILER).await?;
    let order = picked(&app, &[(TOMATOES, 3)], Fulfil::Delivery).await?;
    let money = app.money_of(order.id).await?;
    app.paysim
        .cancel_behind_the_apps_back(money.intent.as_deref().unwrap_or(""))
        .await?;
    let employee = app.session(Role::Employee).await?;
    let r = employee.move_order(order.id, "READY").await?;
    assert_eq!(r.body["data"]["payment_status"], "FAILED", "{}", r.body);
    assert!(r.body["data"]["payment"]["failure_message"].is_string());
    assert_eq!(app.audit_count("payment", "CAPTURE_FAILED").await?, 1);
    let r = employee.move_order(order.id, "OUT_FOR_DELIVERY").await?;
    assert_eq!(
        (r.status, r.code().as_str()),
        (409, "INVALID_STATUS_TRANSITION")
    );
    assert_eq!(r.body["error"]["details"]["allowed"], json!([]));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not captured"))
    );
    assert_eq!(
        reconcile(&app).await?.money_settled,
        0,
        "a refusal is final"
    );

    let manager = app.session(Role::Manager).await?;
    let r = manager.move_order(order.id, "CANCELED").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["data"]["payment_status"], "FAILED",
        "nothing to refund"
    );
    assert_eq!(app.stock_of(TOMATOES, WAREHOUSE).await?, 10);
    let alerts = manager.get("/api/v1/ops/alerts").await?;
    let id = format!("payment-{}", order.id);
    assert!(
        each(&alerts.body["data"]).all(|a| a["id"] != id),
        "settled: no alert"
    );
    Ok(())
}

#[tokio::test]
async fn a_void_left_unknown_is_repeated_by_the_reconciler() -> R {
    let app = TestApp::spawn_with(&RECONCILER).await?;
    let order = app.paid_order(&[(TOMATOES, 1)], Fulfil::Delivery).await?;
    let manager = app.session(Role::Manager).await?;
    app.paysim.fault(json!({"fail_next": 1})).await?;
    let r = manager.move_order(order.id, "CANCELED").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["data"]["payment_status"], "AUTHORIZED",
        "the void is not confirmed"
    );
    assert_eq!(app.audit_count("payment", "VOID_FAILED").await?, 1);
    assert_eq!(intent(&app, order.id).await?["status"], "requires_capture");
    let report = reconcile(&app).await?;
    assert_eq!((report.money_settled, report.money_unknown), (1, 0));
    assert_eq!(app.money_of(order.id).await?.status, "VOIDED");
    assert_eq!(intent(&app, order.id).await?["status"], "canceled");
    Ok(())
}
