//! The cart: shape, stock rules, ownership, audit, and concurrent adds that all count.

use futures_util::future::join_all;
use mami_domain::identity::Role;
use mami_tests::demo::WAREHOUSE;
use mami_tests::{TestApp, each, error_code, send};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

#[tokio::test]
async fn cart_lifecycle_with_reference_shapes_and_audit() -> R {
    let app = TestApp::spawn().await?;
    let t = app.token(Role::Customer).await?;
    let (s, _, b) = send(app.client.get(app.url("/api/v1/cart")).bearer_auth(&t)).await?;
    assert_eq!(
        (
            s,
            b["data"]["total_amount"].as_str(),
            b["data"]["items"].as_array().map(Vec::len)
        ),
        (200, Some("0.00"), Some(0))
    );
    let cart_id = b["data"]["id"].clone();

    let add = |p: i64, q: i64| {
        app.client
            .post(app.url("/api/v1/cart/items"))
            .bearer_auth(&t)
            .json(&json!({"product_id": p, "quantity": q}))
    };
    let (s, _, b) = send(add(1, 2)).await?;
    assert_eq!(s, 201, "{b}");
    let (s, _, b) = send(add(3, 1)).await?;
    assert_eq!(s, 201);
    let cart = &b["data"];
    assert_eq!(cart["id"], cart_id, "one cart per customer");
    assert_eq!(
        cart["total_amount"], "22.70",
        "2 × 7.90 (tomatoes) + 1 × 6.90 (cucumbers)"
    );
    let line = &cart["items"][0];
    for k in [
        "id",
        "product_id",
        "quantity",
        "unit_price",
        "product_name",
        "product_image",
    ] {
        assert!(line.get(k).is_some(), "{k}");
    }
    assert_eq!(line["unit_price"], "7.90");
    let item = line["id"].as_i64().unwrap_or_default();

    let (s, _, b) = send(
        app.client
            .put(app.url(&format!("/api/v1/cart/items/{item}")))
            .bearer_auth(&t)
            .json(&json!({"product_id": 1, "quantity": 5})),
    )
    .await?;
    assert_eq!(
        (s, b["data"]["items"][0]["quantity"].as_i64()),
        (200, Some(5))
    );

    // Someone else's line is "not found".
    let other = app.token(Role::Employee).await?;
    let (s, _, b) = send(
        app.client
            .put(app.url(&format!("/api/v1/cart/items/{item}")))
            .bearer_auth(&other)
            .json(&json!({"quantity": 1})),
    )
    .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (404, "NOT_FOUND"));
    let (s, _, b) = send(
        app.client
            .delete(app.url(&format!("/api/v1/cart/items/{item}")))
            .bearer_auth(&other),
    )
    .await?;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (404, Some("Cart item not found"))
    );

    let (s, _, b) = send(
        app.client
            .delete(app.url(&format!("/api/v1/cart/items/{item}")))
            .bearer_auth(&t),
    )
    .await?;
    assert_eq!(
        (s, b["data"]["items"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (s, _, b) = send(app.client.delete(app.url("/api/v1/cart")).bearer_auth(&t)).await?;
    assert_eq!((s, b["data"]["total_amount"].as_str()), (200, Some("0.00")));

    let (_, _, audit) = send(
        app.client
            .get(app.url("/api/v1/admin/audit?entityType=cart&limit=100"))
            .bearer_auth(app.token(Role::Admin).await?),
    )
    .await?;
    let actions: Vec<&str> = each(&audit["data"])
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        vec![
            "CLEAR",
            "DELETE_ITEM",
            "UPDATE_ITEM",
            "ADD_ITEM",
            "ADD_ITEM"
        ]
    );
    let update = &audit["data"][2];
    assert_eq!(
        (
            update["old_value"]["quantity"].as_i64(),
            update["new_value"]["quantity"].as_i64()
        ),
        (Some(2), Some(5))
    );
    Ok(())
}

#[tokio::test]
async fn stock_rules_follow_the_reference() -> R {
    let app = TestApp::spawn().await?;
    let t = app.token(Role::Customer).await?;
    let add = |p: i64, q: i64| {
        app.client
            .post(app.url("/api/v1/cart/items"))
            .bearer_auth(&t)
            .json(&json!({"product_id": p, "quantity": q}))
    };

    app.stock_everywhere(10).set(50).await?;
    app.stock(10, WAREHOUSE).set(3).await?;
    let (s, _, b) = send(add(10, 3)).await?;
    assert_eq!(s, 201, "{b}");
    let (s, _, b) = send(add(10, 1)).await?;
    assert_eq!(
        (s, error_code(s, &b).as_str()),
        (409, "OUT_OF_STOCK_DELIVERY_BRANCH"),
        "the whole line must fit the warehouse"
    );
    assert!(
        b["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("out of stock"))
    );

    app.stock_everywhere(11).set(0).await?;
    let (s, _, b) = send(add(11, 1)).await?;
    assert_eq!(
        (s, error_code(s, &b).as_str()),
        (400, "OUT_OF_STOCK_ANYWHERE")
    );

    app.deactivate_product(12).await?;
    let (s, _, b) = send(add(12, 1)).await?;
    assert_eq!((s, error_code(s, &b).as_str()), (404, "PRODUCT_INACTIVE"));
    let (s, _, b) = send(add(99999, 1)).await?;
    assert_eq!((s, error_code(s, &b).as_str()), (404, "PRODUCT_INACTIVE"));

    for bad in [
        json!({"product_id": 1, "quantity": 0}),
        json!({"product_id": 1, "quantity": 10001}),
        json!({"product_id": 0, "quantity": 1}),
        json!({"quantity": 1}),
        json!({"product_id": 1, "quantity": "two"}),
        json!({"product_id": 1, "quantity": 1, "x": 1}),
    ] {
        let (s, _, b) = send(
            app.client
                .post(app.url("/api/v1/cart/items"))
                .bearer_auth(&t)
                .json(&bad),
        )
        .await?;
        assert_eq!(
            (s, error_code(s, &b).as_str()),
            (400, "VALIDATION_ERROR"),
            "{bad}"
        );
    }
    // Ints in bodies are lax, as in the reference: "2" is 2.
    let (s, _, b) = send(
        app.client
            .post(app.url("/api/v1/cart/items"))
            .bearer_auth(&t)
            .json(&json!({"product_id": "1", "quantity": "2"})),
    )
    .await?;
    assert_eq!(s, 201, "{b}");
    let line = each(&b["data"]["items"]).find(|i| i["product_id"] == 1);
    assert_eq!(line.map(|i| i["quantity"].clone()), Some(json!(2)));
    let (s, _, _) = send(
        app.client
            .put(app.url("/api/v1/cart/items/abc"))
            .bearer_auth(&t)
            .json(&json!({"quantity": 1})),
    )
    .await?;
    assert_eq!(s, 404, "a non-integer id does not match the route");
    let (s, _, _) = send(app.client.get(app.url("/api/v1/cart"))).await?;
    assert_eq!(s, 401);
    Ok(())
}

#[tokio::test]
async fn parallel_adds_of_one_product_all_count() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "16")]).await?;
    let t = app.token(Role::Customer).await?;
    app.stock_everywhere(20).set(0).await?;
    app.stock(20, WAREHOUSE).set(100).await?;
    let adds = (0..6).map(|_| {
        send(
            app.client
                .post(app.url("/api/v1/cart/items"))
                .bearer_auth(&t)
                .json(&json!({"product_id": 20, "quantity": 1})),
        )
    });
    for r in join_all(adds).await {
        let (s, _, b) = r?;
        assert_eq!(s, 201, "{b}");
    }
    let (_, _, b) = send(app.client.get(app.url("/api/v1/cart")).bearer_auth(&t)).await?;
    let lines: Vec<&Value> = each(&b["data"]["items"]).collect();
    assert_eq!(lines.len(), 1, "one line per product");
    assert_eq!(lines[0]["quantity"], 6);
    Ok(())
}
