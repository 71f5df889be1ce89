//! Public catalog, store and branches on the seeded demo supermarket.

use mami_domain::identity::Role;
use mami_tests::demo::{TEL_AVIV, TOMATOES};
use mami_tests::{TestApp, each, error_code, send};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

async fn get(app: &TestApp, path: &str) -> anyhow::Result<(u16, Value)> {
    let (s, _, b) = send(app.client.get(app.url(path))).await?;
    Ok((s, b))
}

fn names(body: &Value) -> Vec<String> {
    each(&body["data"])
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn categories_and_category_products_have_meta() -> R {
    let app = TestApp::spawn().await?;
    let (s, b) = get(&app, "/api/v1/catalog/categories?limit=5").await?;
    assert_eq!(s, 200);
    assert_eq!(b["meta"], json!({"total": 15, "limit": 5, "offset": 0}));
    assert_eq!(b["data"].as_array().map(Vec::len), Some(5));
    let cat = &b["data"][0];
    for k in ["id", "name", "icon_slug", "description", "is_active"] {
        assert!(cat.get(k).is_some(), "{k}");
    }
    // Decision 2 of the contract: non-numeric paging is a 4xx on every paging style.
    let (s, b) = get(&app, "/api/v1/catalog/categories?limit=abc&offset=xyz").await?;
    assert_eq!((s, error_code(s, &b).as_str()), (400, "BAD_REQUEST"));
    assert_eq!(b["error"]["message"], "Invalid pagination parameters");
    let (s, b) = get(&app, "/api/v1/catalog/categories?limit=-1").await?;
    assert_eq!((s, error_code(s, &b).as_str()), (400, "BAD_REQUEST"));

    let (s, b) = get(
        &app,
        "/api/v1/catalog/categories/2/products?branchId=2&limit=100",
    )
    .await?;
    assert_eq!(s, 200);
    assert_eq!(b["meta"]["total"], 12);
    let p = &b["data"][0];
    assert_eq!(p["category_id"], 2);
    assert!(
        p["price"]
            .as_str()
            .is_some_and(|v| v.contains('.') && v.split('.').nth(1).map(str::len) == Some(2))
    );
    assert!(p["branch_available_quantity"].is_i64());
    assert!(p["in_stock_for_branch"].is_boolean());
    let (_, b) = get(&app, "/api/v1/catalog/categories/999/products").await?;
    assert_eq!(
        b["meta"]["total"], 0,
        "an unknown category is an empty list"
    );
    Ok(())
}

#[tokio::test]
async fn product_detail_availability_comes_from_inventory() -> R {
    let app = TestApp::spawn().await?;
    let (s, b) = get(&app, "/api/v1/catalog/products/1?branchId=2").await?;
    assert_eq!(s, 200);
    let p = &b["data"];
    let levels = app.stock_levels(TOMATOES).await?;
    let total: i64 = levels.iter().map(|l| i64::from(l.available)).sum();
    let at_two: i64 = levels
        .iter()
        .filter(|l| l.branch_id == TEL_AVIV)
        .map(|l| i64::from(l.available))
        .sum();
    assert_eq!(p["available_quantity"].as_i64(), Some(total));
    assert_eq!(p["branch_available_quantity"].as_i64(), Some(at_two));
    assert_eq!(p["in_stock_anywhere"], json!(total > 0));
    let (_, b) = get(&app, "/api/v1/catalog/products/1").await?;
    assert_eq!(b["data"]["branch_available_quantity"], Value::Null);
    assert_eq!(b["data"]["in_stock_for_branch"], Value::Null);

    let (s, b) = get(&app, "/api/v1/catalog/products/99999").await?;
    assert_eq!((s, error_code(s, &b).as_str()), (404, "NOT_FOUND"));
    // A non-integer id does not match the route, as in the reference.
    let (s, b) = get(&app, "/api/v1/catalog/products/abc").await?;
    assert_eq!((s, error_code(s, &b).as_str()), (404, "HTTP_404"));
    Ok(())
}

#[tokio::test]
async fn search_in_hebrew_and_english_with_filters_and_sort() -> R {
    let app = TestApp::spawn().await?;
    let (s, b) = get(&app, "/api/v1/catalog/products/search?q=milk").await?;
    assert_eq!(s, 200);
    let found = names(&b);
    assert!(found.iter().any(|n| n == "Milk 3%"), "{found:?}");
    assert!(b["meta"]["has_next"].is_boolean());

    let (_, b) = get(
        &app,
        &format!("/api/v1/catalog/products/search?q={}", "חלב"),
    )
    .await?;
    assert!(
        names(&b).iter().any(|n| n == "Milk 3%"),
        "Hebrew matches the description: {:?}",
        names(&b)
    );
    let (_, b) = get(
        &app,
        &format!("/api/v1/catalog/products/search?q={}", "עגבניות"),
    )
    .await?;
    assert!(names(&b).iter().any(|n| n == "Tomatoes"));

    let (_, b) = get(&app, "/api/v1/catalog/products/search?sort=price&limit=200").await?;
    let prices: Vec<f64> = each(&b["data"])
        .filter_map(|p| p["price"].as_str()?.parse().ok())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "ascending prices");
    assert_eq!(b["meta"]["total"], 180);
    assert_eq!(b["meta"]["limit"], 100, "clamped to MAX_LIMIT");
    assert_eq!(b["meta"]["has_next"], true);
    let (_, b) = get(
        &app,
        "/api/v1/catalog/products/search?sort=price_desc&limit=10",
    )
    .await?;
    let prices: Vec<f64> = each(&b["data"])
        .filter_map(|p| p["price"].as_str()?.parse().ok())
        .collect();
    assert!(prices.windows(2).all(|w| w[0] >= w[1]), "descending prices");
    let (_, b) = get(&app, "/api/v1/catalog/products/search?sort=name&limit=20").await?;
    let n = names(&b);
    let mut sorted = n.clone();
    sorted.sort();
    assert_eq!(n, sorted);

    let (_, b) = get(
        &app,
        "/api/v1/catalog/products/search?organic_only=true&limit=100",
    )
    .await?;
    assert!(each(&b["data"]).all(|p| p["is_organic"] == true));
    assert!(b["meta"]["total"].as_i64().unwrap_or(0) > 0);
    let (_, b) = get(
        &app,
        "/api/v1/catalog/products/search?min_price=10&max_price=20&limit=100",
    )
    .await?;
    for p in each(&b["data"]) {
        let v: f64 = p["price"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(-1.0);
        assert!((10.0..=20.0).contains(&v), "{v}");
    }
    let (_, b) = get(
        &app,
        "/api/v1/catalog/products/search?categoryId=3&limit=100",
    )
    .await?;
    assert!(each(&b["data"]).all(|p| p["category_id"] == 3));

    // in_stock at a branch: empty one product's stock there and it drops out.
    app.stock(TOMATOES, TEL_AVIV).set(0).await?;
    let (_, b) = get(
        &app,
        "/api/v1/catalog/products/search?in_stock=true&branch_id=2&category_id=1&limit=100",
    )
    .await?;
    assert!(!each(&b["data"]).any(|p| p["id"] == 1));
    let (_, b) = get(
        &app,
        "/api/v1/catalog/products/search?in_stock=true&category_id=1&limit=100",
    )
    .await?;
    assert!(
        each(&b["data"]).any(|p| p["id"] == 1),
        "still in stock elsewhere"
    );

    for bad in [
        "colour=red",
        "limit=0",
        "limit=500",
        "offset=-1",
        "sort=cheapest",
        "min_price=abc",
        "in_stock=maybe",
        "category_id=x",
    ] {
        let (s, b) = get(&app, &format!("/api/v1/catalog/products/search?{bad}")).await?;
        assert_eq!(
            (s, error_code(s, &b).as_str()),
            (400, "VALIDATION_ERROR"),
            "{bad}"
        );
    }
    let (s, b) = get(
        &app,
        "/api/v1/catalog/products/search?min_price=50&max_price=10",
    )
    .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (400, "VALIDATION_ERROR"));
    let (s, _) = get(&app, "/api/v1/catalog/products/search?q=%25_%5C").await?;
    assert_eq!(s, 200, "LIKE wildcards are escaped, not errors");
    Ok(())
}

#[tokio::test]
async fn featured_autocomplete_reviews_and_store() -> R {
    let app = TestApp::spawn().await?;
    let (s, b) = get(&app, "/api/v1/catalog/products/featured").await?;
    assert_eq!((s, b["data"].as_array().map(Vec::len)), (200, Some(10)));
    assert!(b.get("meta").is_none());
    let (_, b) = get(&app, "/api/v1/catalog/products/autocomplete?q=choc&limit=3").await?;
    assert_eq!(b["data"]["offset"], 0);
    assert_eq!(b["data"]["limit"], 3);
    assert!(each(&b["data"]["items"]).all(|i| {
        i["name"]
            .as_str()
            .is_some_and(|n| n.to_lowercase().contains("choc"))
    }));
    assert!(b["data"]["total"].as_i64().unwrap_or(0) >= 1);
    let (_, b) = get(&app, "/api/v1/catalog/products/1/reviews").await?;
    assert_eq!(b["data"], json!({"items": []}));
    let (_, b) = get(&app, "/api/v1/store/shipping-info").await?;
    assert_eq!(b["data"]["policies"].as_array().map(Vec::len), Some(3));

    let token = app.token(Role::Customer).await?;
    let (s, _, b) = send(
        app.client
            .get(app.url("/api/v1/store/notifications"))
            .bearer_auth(&token),
    )
    .await?;
    assert_eq!((s, b["data"]["unread_count"].as_i64()), (200, Some(0)));
    let add = |id: i64| {
        app.client
            .post(app.url("/api/v1/store/wishlist"))
            .bearer_auth(&token)
            .json(&json!({"product_id": id}))
    };
    let (s, _, first) = send(add(5)).await?;
    assert_eq!((s, first["data"]["product_id"].as_i64()), (200, Some(5)));
    let (_, _, again) = send(add(5)).await?;
    assert_eq!(
        again["data"]["created_at"], first["data"]["created_at"],
        "idempotent"
    );
    send(add(7)).await?;
    let (_, _, list) = send(
        app.client
            .get(app.url("/api/v1/store/wishlist"))
            .bearer_auth(&token),
    )
    .await?;
    let ids: Vec<i64> = each(&list["data"]["items"])
        .filter_map(|i| i["product_id"].as_i64())
        .collect();
    assert_eq!(ids, vec![7, 5]);
    let (s, _, b) = send(add(99999)).await?;
    assert_eq!((s, error_code(s, &b).as_str()), (404, "PRODUCT_NOT_FOUND"));
    let (s, _, b) = send(
        app.client
            .post(app.url("/api/v1/store/wishlist"))
            .bearer_auth(&token)
            .json(&json!({"product_id": "x"})),
    )
    .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (400, "VALIDATION_ERROR"));
    let (s, _, b) = send(add(0)).await?;
    assert_eq!((s, error_code(s, &b).as_str()), (400, "VALIDATION_ERROR"));
    let del = |id: i64| {
        app.client
            .delete(app.url(&format!("/api/v1/store/wishlist/{id}")))
            .bearer_auth(&token)
    };
    let (_, _, b) = send(del(5)).await?;
    assert_eq!(b["data"]["removed"], true);
    let (_, _, b) = send(del(5)).await?;
    assert_eq!(b["data"]["removed"], false);
    Ok(())
}

#[tokio::test]
async fn branches_slots_and_delivery_source() -> R {
    let app = TestApp::spawn().await?;
    let (s, b) = get(&app, "/api/v1/branches").await?;
    assert_eq!(s, 200);
    assert_eq!(
        b["pagination"],
        json!({"total": 4, "limit": 50, "offset": 0})
    );
    for bad in ["limit=0", "limit=201", "offset=-1", "city=haifa"] {
        let (s, b) = get(&app, &format!("/api/v1/branches?{bad}")).await?;
        assert_eq!(
            (s, error_code(s, &b).as_str()),
            (400, "VALIDATION_ERROR"),
            "{bad}"
        );
    }
    let (_, b) = get(&app, "/api/v1/branches/delivery-source").await?;
    assert_eq!(
        b["data"],
        json!({"id": 1, "name": "Mami Central Warehouse"})
    );
    let (_, b) = get(&app, "/api/v1/delivery-slots?branchId=1&dayOfWeek=0").await?;
    let slots = b["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(slots.len(), 6);
    assert_eq!(slots[0]["start_time"], "08:00:00");
    assert_eq!(slots[0]["end_time"], "10:00:00");
    let (s, b) = get(&app, "/api/v1/delivery-slots?dayOfWeek=7").await?;
    assert_eq!((s, error_code(s, &b).as_str()), (400, "VALIDATION_ERROR"));
    Ok(())
}
