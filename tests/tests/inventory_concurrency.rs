//! Concurrent inventory changes over separate connections: none is lost, stock never goes
//! below zero, and the audit trail chains old → new without gaps.

use futures_util::future::join_all;
use mami_domain::identity::Role;
use mami_tests::demo::{TOMATOES, WAREHOUSE};
use mami_tests::{TestApp, send};
use serde_json::{Value, json};

async fn row_id(app: &TestApp, token: &str) -> anyhow::Result<(i64, i64)> {
    let (_, _, b) = send(
        app.client
            .get(app.url("/api/v1/admin/inventory?branchId=2&productId=4"))
            .bearer_auth(token),
    )
    .await?;
    let item = &b["data"]["items"][0];
    Ok((
        item["id"].as_i64().unwrap_or_default(),
        item["available_quantity"].as_i64().unwrap_or_default(),
    ))
}

#[tokio::test]
async fn concurrent_adjustments_by_two_managers_are_never_lost() -> anyhow::Result<()> {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "16")]).await?;
    let managers = [
        app.token(Role::Manager).await?,
        app.token(Role::Admin).await?,
    ];
    let (id, before) = row_id(&app, &managers[0]).await?;
    let url = app.url(&format!("/api/v1/admin/inventory/{id}"));
    let requests = (0..30).map(|i| {
        let body = json!({"available_delta": if i % 3 == 0 { -1 } else { 2 }});
        send(
            app.client
                .patch(&url)
                .bearer_auth(&managers[i % 2])
                .json(&body),
        )
    });
    for r in join_all(requests).await {
        let (status, _, body) = r?;
        assert_eq!(status, 200, "{body}");
    }
    let (_, after) = row_id(&app, &managers[0]).await?;
    assert_eq!(
        after,
        before - 10 + 20 * 2,
        "ten withdrawals of 1 and twenty additions of 2 all counted"
    );

    let (_, _, audit) = send(
        app.client
            .get(app.url(&format!(
                "/api/v1/admin/audit?entityType=inventory&entityId={id}&action=ADJUST&limit=100"
            )))
            .bearer_auth(&managers[1]),
    )
    .await?;
    let mut rows: Vec<Value> = audit["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 30);
    rows.reverse();
    let mut expected = before;
    for r in rows {
        assert_eq!(
            r["old_value"]["available_quantity"].as_i64(),
            Some(expected),
            "the audit chain has no gap"
        );
        expected = r["new_value"]["available_quantity"]
            .as_i64()
            .unwrap_or_default();
    }
    assert_eq!(expected, after);
    Ok(())
}

#[tokio::test]
async fn concurrent_withdrawals_stop_at_zero() -> anyhow::Result<()> {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "16")]).await?;
    let token = app.token(Role::Manager).await?;
    let (id, _) = row_id(&app, &token).await?;
    let url = app.url(&format!("/api/v1/admin/inventory/{id}"));
    let (s, _, _) = send(
        app.client
            .patch(&url)
            .bearer_auth(&token)
            .json(&json!({"available_quantity": 5})),
    )
    .await?;
    assert_eq!(s, 200);
    let requests = (0..20).map(|_| {
        send(
            app.client
                .patch(&url)
                .bearer_auth(&token)
                .json(&json!({"available_delta": -1})),
        )
    });
    let mut ok = 0;
    for r in join_all(requests).await {
        let (status, _, body) = r?;
        match status {
            200 => ok += 1,
            409 => assert_eq!(body["error"]["code"], "INSUFFICIENT_STOCK"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ok, 5);
    let (_, after) = row_id(&app, &token).await?;
    assert_eq!(after, 0);
    Ok(())
}

#[tokio::test]
async fn the_database_refuses_negative_stock_even_without_the_application() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let r = app.stock(TOMATOES, WAREHOUSE).set(-1).await;
    assert!(r.is_err(), "CHECK (available_quantity >= 0)");
    Ok(())
}
