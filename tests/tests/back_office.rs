//! The back office: catalog, branches, slots, inventory, settings, users, revenue — each change
//! read back from the audit trail, and bad input answered with 4xx.

use mami_domain::identity::Role;
use mami_tests::{AuditFailure, TestApp, each, error_code, send};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

struct Admin<'a> {
    app: &'a TestApp,
    token: String,
}

impl Admin<'_> {
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes())?,
                self.app.url(path),
            )
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let (s, _, b) = send(req).await?;
        Ok((s, b))
    }

    /// The newest audit row for an entity and action.
    async fn audit(
        &self,
        entity_type: &str,
        entity_id: i64,
        action: &str,
    ) -> anyhow::Result<Value> {
        let (s, b) = self
            .call(
                "GET",
                &format!(
                    "/api/v1/admin/audit?entityType={entity_type}&entityId={entity_id}\
                     &action={action}"
                ),
                None,
            )
            .await?;
        assert_eq!(s, 200, "{b}");
        Ok(b["data"][0].clone())
    }
}

async fn admin(app: &TestApp, role: Role) -> anyhow::Result<Admin<'_>> {
    Ok(Admin {
        app,
        token: app.token(role).await?,
    })
}

#[tokio::test]
async fn a_managers_day_is_fully_audited() -> R {
    let app = TestApp::spawn().await?;
    let m = admin(&app, Role::Manager).await?;

    // Change a price.
    let (s, b) = m
        .call(
            "PATCH",
            "/api/v1/admin/products/1",
            Some(json!({"price": "8.40"})),
        )
        .await?;
    assert_eq!((s, b["data"]["price"].as_str()), (200, Some("8.40")), "{b}");
    let row = m.audit("product", 1, "UPDATE").await?;
    assert_eq!(row["old_value"], json!({"price": "7.90"}));
    assert_eq!(row["new_value"], json!({"price": "8.40"}));
    assert_eq!(row["actor_email"], "manager@mami.local");
    assert!(row["request_id"].is_string());

    // Toggle a product: it disappears from the public catalog.
    let (s, b) = m
        .call(
            "PATCH",
            "/api/v1/admin/products/2/toggle?active=false",
            None,
        )
        .await?;
    assert_eq!((s, b["data"]["is_active"].as_bool()), (200, Some(false)));
    let row = m.audit("product", 2, "DEACTIVATE").await?;
    assert_eq!(
        (row["old_value"].clone(), row["new_value"].clone()),
        (json!({"is_active": true}), json!({"is_active": false}))
    );
    let (s, _, _) = send(app.client.get(app.url("/api/v1/catalog/products/2"))).await?;
    assert_eq!(s, 404);
    let (s, b) = m
        .call("PATCH", "/api/v1/admin/products/2/toggle", None)
        .await?;
    assert_eq!(
        (s, b["data"]["is_active"].as_bool()),
        (200, Some(true)),
        "no flag means activate"
    );

    // Move stock.
    let (_, inv) = m
        .call(
            "GET",
            "/api/v1/admin/inventory?branchId=1&productId=3",
            None,
        )
        .await?;
    let item = &inv["data"]["items"][0];
    let id = item["id"].as_i64().unwrap_or_default();
    let before = item["available_quantity"].as_i64().unwrap_or_default();
    assert_eq!(inv["data"]["pagination"]["total"], 1);
    assert_eq!(item["total"], 1);
    let (s, b) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/inventory/{id}"),
            Some(json!({"available_delta": 25})),
        )
        .await?;
    assert_eq!(
        (s, b["data"]["available_quantity"].as_i64()),
        (200, Some(before + 25))
    );
    let row = m.audit("inventory", id, "ADJUST").await?;
    assert_eq!(
        row["old_value"]["available_quantity"].as_i64(),
        Some(before)
    );
    assert_eq!(
        row["new_value"]["available_quantity"].as_i64(),
        Some(before + 25)
    );
    let (s, b) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/inventory/{id}"),
            Some(json!({"available_delta": -100000})),
        )
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (409, "INSUFFICIENT_STOCK"));
    let (s, b) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/inventory/{id}"),
            Some(json!({"available_quantity": 7, "reserved_quantity": 2})),
        )
        .await?;
    assert_eq!(
        (
            s,
            b["data"]["available_quantity"].as_i64(),
            b["data"]["reserved_quantity"].as_i64()
        ),
        (200, Some(7), Some(2))
    );

    // Add a slot.
    let friday =
        json!({"branch_id": 2, "day_of_week": 5, "start_time": "06:00", "end_time": "08:00"});
    let (s, b) = m
        .call("POST", "/api/v1/admin/delivery-slots", Some(friday.clone()))
        .await?;
    assert_eq!(s, 201, "{b}");
    let slot = b["data"]["id"].as_i64().unwrap_or_default();
    assert_eq!(b["data"]["start_time"], "06:00:00");
    let row = m.audit("delivery_slot", slot, "CREATE").await?;
    assert_eq!(row["new_value"]["day_of_week"], 5);
    let (s, b) = m
        .call("POST", "/api/v1/admin/delivery-slots", Some(friday))
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (409, "DUPLICATE_SLOT"));
    let (s, _) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/delivery-slots/{slot}/toggle?active=false"),
            None,
        )
        .await?;
    assert_eq!(s, 200);
    let (_, list) = m
        .call(
            "GET",
            "/api/v1/admin/delivery-slots?branchId=2&active=false",
            None,
        )
        .await?;
    assert!(
        each(&list["data"]).any(|s| s["id"] == slot),
        "inactive slots stay visible to admins"
    );
    let (_, public) = send(
        app.client
            .get(app.url("/api/v1/delivery-slots?branchId=2&dayOfWeek=5")),
    )
    .await
    .map(|(_, _, b)| ((), b))?;
    assert!(!each(&public["data"]).any(|s| s["id"] == slot));
    Ok(())
}

#[tokio::test]
async fn categories_products_and_branches_crud_with_conflicts() -> R {
    let app = TestApp::spawn().await?;
    let m = admin(&app, Role::Admin).await?;
    let (s, b) = m
        .call(
            "POST",
            "/api/v1/admin/categories",
            Some(json!({
                "name": "Wine & Spirits",
                "description": "יין ומשקאות",
                "icon_slug": "wine",
            })),
        )
        .await?;
    assert_eq!(s, 201, "{b}");
    let cat = b["data"]["id"].as_i64().unwrap_or_default();
    let (s, b) = m
        .call(
            "POST",
            "/api/v1/admin/categories",
            Some(json!({"name": "Wine & Spirits"})),
        )
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (409, "DUPLICATE_CATEGORY"));
    let (s, b) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/categories/{cat}"),
            Some(json!({"name": "Wines"})),
        )
        .await?;
    assert_eq!(
        (s, b["data"]["description"].as_str()),
        (200, Some("יין ומשקאות")),
        "omitted fields are kept"
    );
    let (s, b) = m
        .call(
            "PATCH",
            "/api/v1/admin/categories/2",
            Some(json!({"name": "Wines"})),
        )
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (409, "DUPLICATE_CATEGORY"));
    let (s, b) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/categories/{cat}/toggle"),
            None,
        )
        .await?;
    assert_eq!(
        (s, error_code(s, &b).as_str()),
        (400, "VALIDATION_ERROR"),
        "active is required here"
    );
    let (s, b) = m
        .call(
            "PATCH",
            "/api/v1/admin/categories/9999",
            Some(json!({"name": "Nope"})),
        )
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (404, "NOT_FOUND"));

    let new = json!({
        "name": "Cabernet Sauvignon 750ml",
        "sku": "wine-001",
        "price": 59.9,
        "category_id": cat,
        "old_price": "69.90",
        "unit": "750 ml",
    });
    let (s, b) = m
        .call("POST", "/api/v1/admin/products", Some(new.clone()))
        .await?;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["data"]["sku"], "WINE-001");
    assert_eq!(b["data"]["price"], "59.90");
    assert_eq!(b["data"]["available_quantity"], 0);
    let pid = b["data"]["id"].as_i64().unwrap_or_default();
    let row = m.audit("product", pid, "CREATE").await?;
    assert_eq!(row["new_value"]["name"], "Cabernet Sauvignon 750ml");
    let (s, b) = m.call("POST", "/api/v1/admin/products", Some(new)).await?;
    assert_eq!((s, error_code(s, &b).as_str()), (400, "DUPLICATE_SKU"));
    let (s, b) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/products/{pid}"),
            Some(json!({"sku": "DAIRY-01"})),
        )
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (409, "DUPLICATE_SKU"));
    let (s, b) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/products/{pid}"),
            Some(json!({"category_id": 9999})),
        )
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (404, "NOT_FOUND"));
    let (s, b) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/products/{pid}"),
            Some(json!({"old_price": null, "unit": null})),
        )
        .await?;
    assert_eq!(
        (s, b["data"]["old_price"].clone(), b["data"]["unit"].clone()),
        (200, Value::Null, Value::Null)
    );
    let (s, b) = m
        .call(
            "POST",
            "/api/v1/admin/products",
            Some(json!({"name": "X product", "sku": "X-1", "price": 5, "category_id": 9999})),
        )
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (404, "NOT_FOUND"));

    let (s, b) = m
        .call(
            "POST",
            "/api/v1/admin/branches",
            Some(json!({"name": "Mami Beer Sheva", "address": "5 Rager Blvd, Beer Sheva"})),
        )
        .await?;
    assert_eq!(s, 201, "{b}");
    let bid = b["data"]["id"].as_i64().unwrap_or_default();
    let (s, b) = m
        .call(
            "POST",
            "/api/v1/admin/branches",
            Some(json!({"name": "Mami Beer Sheva", "address": "elsewhere 12"})),
        )
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (409, "DUPLICATE_BRANCH"));
    let (s, b) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/branches/{bid}"),
            Some(json!({"name": "Mami Beersheba", "address": "5 Rager Blvd, Beer Sheva"})),
        )
        .await?;
    assert_eq!(
        (s, b["data"]["name"].as_str()),
        (200, Some("Mami Beersheba"))
    );
    let row = m.audit("branch", bid, "UPDATE").await?;
    assert_eq!(row["old_value"], json!({"name": "Mami Beer Sheva"}));
    let (s, b) = m
        .call(
            "PATCH",
            "/api/v1/admin/branches/1/toggle?active=false",
            None,
        )
        .await?;
    assert_eq!(
        (s, error_code(s, &b).as_str()),
        (409, "CANNOT_DEACTIVATE_DELIVERY_SOURCE")
    );
    let (s, _) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/branches/{bid}/toggle?active=false"),
            None,
        )
        .await?;
    assert_eq!(s, 200);
    let (_, _, list) = send(app.client.get(app.url("/api/v1/branches"))).await?;
    assert_eq!(
        list["pagination"]["total"], 4,
        "the inactive branch is not listed"
    );

    let (s, b) = m
        .call(
            "POST",
            "/api/v1/admin/inventory",
            Some(json!({"product_id": pid, "branch_id": 2, "available_quantity": 12})),
        )
        .await?;
    assert_eq!(
        (s, b["data"]["available_quantity"].as_i64()),
        (201, Some(12)),
        "{b}"
    );
    let (s, b) = m
        .call(
            "POST",
            "/api/v1/admin/inventory",
            Some(json!({"product_id": pid, "branch_id": 2, "available_quantity": 1})),
        )
        .await?;
    assert_eq!(
        (s, error_code(s, &b).as_str()),
        (409, "DUPLICATE_INVENTORY")
    );
    let (s, b) = m
        .call(
            "POST",
            "/api/v1/admin/inventory",
            Some(json!({"product_id": 99999, "branch_id": 2, "available_quantity": 1})),
        )
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (404, "NOT_FOUND"));
    Ok(())
}

#[tokio::test]
async fn bad_input_is_always_4xx() -> R {
    let app = TestApp::spawn().await?;
    let m = admin(&app, Role::Admin).await?;
    let cases: Vec<(&str, &str, Option<Value>, u16)> = vec![
        (
            "POST",
            "/api/v1/admin/categories",
            Some(json!({"name": "X"})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/categories",
            Some(json!({"name": "Ok name", "extra": 1})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/categories",
            Some(json!({"name": "Bad <script>"})),
            400,
        ),
        ("PATCH", "/api/v1/admin/categories/1", Some(json!({})), 400),
        // A non-integer id does not match the route, as in the reference.
        (
            "PATCH",
            "/api/v1/admin/categories/abc",
            Some(json!({"name": "Fine"})),
            404,
        ),
        (
            "POST",
            "/api/v1/admin/products",
            Some(json!({"name": "Milk", "sku": "M 1", "price": 5, "category_id": 1})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/products",
            Some(json!({"name": "Milk", "sku": "M-1", "price": 0, "category_id": 1})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/products",
            Some(json!({"name": "Milk", "sku": "M-1", "price": 10000.01, "category_id": 1})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/products",
            Some(json!({"name": "Milk", "sku": "M-1", "price": "1.234", "category_id": 1})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/products",
            Some(json!({"name": "Milk", "sku": "M-1", "price": "cheap", "category_id": 1})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/products",
            Some(json!({"name": "Milk", "sku": "M-1", "price": 5, "category_id": -1})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/products",
            Some(
                json!({"name": "Milk", "sku": "M-1", "price": 5, "category_id": 1, "old_price": 4}),
            ),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/products",
            Some(json!({
                "name": "Milk",
                "sku": "M-1",
                "price": 5,
                "category_id": 1,
                "nutritional_info": [1],
            })),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/products",
            Some(json!({
                "name": "Milk",
                "sku": "M-1",
                "price": 5,
                "category_id": 1,
                "image_url": "javascript:x",
            })),
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/products/1",
            Some(json!({"price": -3})),
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/products/1",
            Some(json!({"old_price": "1.00"})),
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/products/99999",
            Some(json!({"price": 3})),
            404,
        ),
        (
            "PATCH",
            "/api/v1/admin/products/99999/toggle?active=false",
            None,
            404,
        ),
        (
            "POST",
            "/api/v1/admin/branches",
            Some(json!({"name": "Mami X", "address": "Addr"})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/branches",
            Some(json!({"name": "Mami X"})),
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/branches/99999",
            Some(json!({"name": "Mami X", "address": "1 Long Street"})),
            404,
        ),
        (
            "PATCH",
            "/api/v1/admin/branches/2/toggle?active=sometimes",
            None,
            400,
        ),
        (
            "POST",
            "/api/v1/admin/delivery-slots",
            Some(json!({
                "branch_id": 1,
                "day_of_week": 1,
                "start_time": "06:30",
                "end_time": "08:00",
            })),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/delivery-slots",
            Some(json!({
                "branch_id": 1,
                "day_of_week": 1,
                "start_time": "10:00",
                "end_time": "08:00",
            })),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/delivery-slots",
            Some(json!({
                "branch_id": 1,
                "day_of_week": 9,
                "start_time": "08:00",
                "end_time": "10:00",
            })),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/delivery-slots",
            Some(json!({
                "branch_id": 1,
                "day_of_week": 1,
                "start_time": "25:00",
                "end_time": "10:00",
            })),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/delivery-slots",
            Some(json!({"day_of_week": 1, "start_time": "08:00", "end_time": "10:00"})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/delivery-slots",
            Some(json!({
                "branch_id": 999,
                "day_of_week": 1,
                "start_time": "06:00",
                "end_time": "08:00",
            })),
            404,
        ),
        (
            "PATCH",
            "/api/v1/admin/delivery-slots/99999",
            Some(json!({"day_of_week": 1, "start_time": "06:00", "end_time": "08:00"})),
            404,
        ),
        (
            "POST",
            "/api/v1/admin/inventory",
            Some(json!({"product_id": 1, "branch_id": 1, "available_quantity": -1})),
            400,
        ),
        (
            "POST",
            "/api/v1/admin/inventory",
            Some(json!({"product_id": 1, "branch_id": 1, "available_quantity": 5000000})),
            400,
        ),
        ("PATCH", "/api/v1/admin/inventory/1", Some(json!({})), 400),
        (
            "PATCH",
            "/api/v1/admin/inventory/1",
            Some(json!({"available_quantity": 5, "available_delta": 1})),
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/inventory/1",
            Some(json!({"available_quantity": "many"})),
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/inventory/99999",
            Some(json!({"available_quantity": 1})),
            404,
        ),
        ("GET", "/api/v1/admin/inventory?limit=-4", None, 400),
        (
            "PUT",
            "/api/v1/admin/settings",
            Some(json!({"delivery_fee": "abc"})),
            400,
        ),
        (
            "PUT",
            "/api/v1/admin/settings",
            Some(json!({"delivery_fee": -5})),
            400,
        ),
        (
            "PUT",
            "/api/v1/admin/settings",
            Some(json!({"delivery_fee": 1000000})),
            400,
        ),
        (
            "PUT",
            "/api/v1/admin/settings",
            Some(json!({"colour": 1})),
            400,
        ),
        ("PUT", "/api/v1/admin/settings", Some(json!({})), 400),
        ("GET", "/api/v1/admin/analytics/revenue?range=7w", None, 400),
        (
            "GET",
            "/api/v1/admin/analytics/revenue?granularity=week",
            None,
            400,
        ),
        ("GET", "/api/v1/admin/users?limit=0", None, 400),
        ("GET", "/api/v1/admin/users?role=KING", None, 400),
        ("GET", "/api/v1/admin/users?isActive=perhaps", None, 400),
        ("GET", "/api/v1/admin/users/99999", None, 404),
        ("PATCH", "/api/v1/admin/users/2", Some(json!({})), 400),
        (
            "PATCH",
            "/api/v1/admin/users/2",
            Some(json!({"role": "KING"})),
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/users/2",
            Some(json!({"full_name": "R2D2"})),
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/users/2/toggle?active=maybe",
            None,
            400,
        ),
        (
            "PATCH",
            "/api/v1/admin/users/99999/toggle?active=true",
            None,
            404,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (s, b) = m.call(method, path, body.clone()).await?;
        assert_eq!(s, expected, "{method} {path} {body:?}: {b}");
        error_code(s, &b);
    }
    Ok(())
}

#[tokio::test]
async fn settings_are_validated_and_audited() -> R {
    let app = TestApp::spawn().await?;
    let a = admin(&app, Role::Admin).await?;
    let m = admin(&app, Role::Manager).await?;
    let (s, b) = a.call("GET", "/api/v1/admin/settings", None).await?;
    assert_eq!(s, 200);
    assert_eq!(
        (
            b["data"]["delivery_min"].as_f64(),
            b["data"]["delivery_fee"].as_f64()
        ),
        (Some(150.0), Some(30.0))
    );
    let (s, _) = m.call("GET", "/api/v1/admin/settings", None).await?;
    assert_eq!(s, 403, "reading is ADMIN only");
    let (s, b) = m
        .call(
            "PUT",
            "/api/v1/admin/settings",
            Some(json!({"delivery_fee": "25.5", "delivery_min": 200})),
        )
        .await?;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["delivery_fee"].as_f64(), Some(25.5));
    assert!(b["data"]["updated_by"].is_i64());
    assert!(
        b["data"]["updated_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let row = a.audit("global_settings", 1, "UPDATE").await?;
    assert_eq!(
        row["old_value"],
        json!({"delivery_fee": 30.0, "delivery_min": 150.0})
    );
    assert_eq!(
        row["new_value"],
        json!({"delivery_fee": 25.5, "delivery_min": 200.0})
    );
    Ok(())
}

#[tokio::test]
async fn user_administration_rules() -> R {
    let app = TestApp::spawn().await?;
    let a = admin(&app, Role::Admin).await?;
    let m = admin(&app, Role::Manager).await?;
    let (s, b) = m
        .call("GET", "/api/v1/admin/users?role=EMPLOYEE", None)
        .await?;
    assert_eq!(s, 200);
    assert_eq!(b["total"], 1);
    assert!(b.get("meta").is_none() && b["limit"].is_i64() && b["offset"].is_i64());
    let employee = b["data"][0]["id"].as_i64().unwrap_or_default();
    let (_, b) = m.call("GET", "/api/v1/admin/users?q=MAYA", None).await?;
    assert_eq!(b["data"][0]["email"], "manager@mami.local");
    let (_, me) = m.call("GET", "/api/v1/auth/me", None).await?;
    let manager = me["data"]["id"].as_i64().unwrap_or_default();
    let (_, me) = a.call("GET", "/api/v1/auth/me", None).await?;
    let admin_id = me["data"]["id"].as_i64().unwrap_or_default();

    let code = |r: (u16, Value)| (r.0, r.1["error"]["code"].as_str().unwrap_or("").to_owned());
    assert_eq!(
        code(
            m.call(
                "PATCH",
                &format!("/api/v1/admin/users/{employee}"),
                Some(json!({"role": "ADMIN"}))
            )
            .await?
        ),
        (403, "AUTHORIZATION_ERROR".into())
    );
    assert_eq!(
        code(
            m.call(
                "PATCH",
                &format!("/api/v1/admin/users/{admin_id}/toggle?active=false"),
                None
            )
            .await?
        ),
        (403, "AUTHORIZATION_ERROR".into())
    );
    assert_eq!(
        code(
            m.call(
                "PATCH",
                &format!("/api/v1/admin/users/{manager}"),
                Some(json!({"role": "MANAGER"}))
            )
            .await?
        ),
        (403, "CANNOT_MODIFY_SELF_ROLE".into())
    );
    assert_eq!(
        code(
            m.call(
                "PATCH",
                &format!("/api/v1/admin/users/{manager}"),
                Some(json!({"is_active": false}))
            )
            .await?
        ),
        (403, "CANNOT_DEACTIVATE_SELF".into())
    );
    assert_eq!(
        code(
            m.call(
                "PATCH",
                &format!("/api/v1/admin/users/{manager}/toggle?active=false"),
                None
            )
            .await?
        ),
        (403, "CANNOT_DEACTIVATE_SELF".into())
    );

    let (s, b) = m
        .call(
            "PATCH",
            &format!("/api/v1/admin/users/{employee}"),
            Some(json!({"role": "MANAGER", "phone": "0541234567"})),
        )
        .await?;
    assert_eq!(
        (s, b["data"]["role"].as_str()),
        (200, Some("MANAGER")),
        "{b}"
    );
    assert!(b["data"].get("default_branch_id").is_some());
    let row = a.audit("user", employee, "USER_UPDATED").await?;
    assert_eq!(row["old_value"]["role"], "EMPLOYEE");
    assert_eq!(row["new_value"]["role"], "MANAGER");
    let (s, b) = a
        .call(
            "PATCH",
            &format!("/api/v1/admin/users/{employee}"),
            Some(json!({"role": "ADMIN"})),
        )
        .await?;
    assert_eq!(
        (s, b["data"]["role"].as_str()),
        (200, Some("ADMIN")),
        "an ADMIN may grant ADMIN"
    );

    // A deactivated user's tokens stop working at once.
    let customer_token = app.token(Role::Customer).await?;
    let (_, b) = a
        .call("GET", "/api/v1/admin/users?role=CUSTOMER", None)
        .await?;
    let customer = b["data"][0]["id"].as_i64().unwrap_or_default();
    let (s, _) = a
        .call(
            "PATCH",
            &format!("/api/v1/admin/users/{customer}/toggle?active=no"),
            None,
        )
        .await?;
    assert_eq!(s, 200);
    let (s, _, _) = send(
        app.client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&customer_token),
    )
    .await?;
    assert_eq!(s, 401);
    Ok(())
}

#[tokio::test]
async fn revenue_counts_delivered_orders_per_bucket() -> R {
    let app = TestApp::spawn().await?;
    app.past_order("40.00").days_ago(2).create().await?;
    app.past_order("35.50")
        .pickup()
        .days_ago(2)
        .create()
        .await?;
    app.past_order("99.00")
        .status("CANCELED")
        .days_ago(2)
        .create()
        .await?;
    app.past_order("10.00").days_ago(400).create().await?;
    let a = admin(&app, Role::Admin).await?;
    let (s, b) = a
        .call("GET", "/api/v1/admin/analytics/revenue?range=7d", None)
        .await?;
    assert_eq!(s, 200);
    let day = (chrono::Utc::now() - chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(b["data"], json!({"labels": [day], "values": [75.5]}));
    let (_, b) = a
        .call(
            "GET",
            "/api/v1/admin/analytics/revenue?range=2y&granularity=year",
            None,
        )
        .await?;
    assert_eq!(
        b["data"]["values"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_f64).sum::<f64>()),
        Some(85.5)
    );
    let m = admin(&app, Role::Manager).await?;
    let (s, _) = m
        .call("GET", "/api/v1/admin/analytics/revenue", None)
        .await?;
    assert_eq!(s, 403, "ADMIN only");
    Ok(())
}

#[tokio::test]
async fn a_failure_after_the_audit_insert_leaves_neither_change_nor_audit() -> R {
    let app = TestApp::spawn().await?;
    let m = admin(&app, Role::Manager).await?;
    // Fails at COMMIT, i.e. after both the price change and its audit row were written.
    app.fail_audit_writes(AuditFailure::AtCommit).await?;
    let (s, b) = m
        .call(
            "PATCH",
            "/api/v1/admin/products/1",
            Some(json!({"price": "99.00"})),
        )
        .await?;
    assert_eq!((s, error_code(s, &b).as_str()), (500, "UNEXPECTED_ERROR"));
    let (s, b) = m
        .call(
            "PATCH",
            "/api/v1/admin/inventory/1",
            Some(json!({"available_delta": 5})),
        )
        .await?;
    assert_eq!(s, 500, "{b}");
    app.allow_audit_writes().await?;

    let (_, _, p) = send(app.client.get(app.url("/api/v1/catalog/products/1"))).await?;
    assert_eq!(
        p["data"]["price"], "7.90",
        "the change was rolled back with its audit row"
    );
    let (_, audit) = m
        .call("GET", "/api/v1/admin/audit?entityType=product", None)
        .await?;
    assert_eq!(audit["pagination"]["total"], 0);
    let (_, audit) = m
        .call("GET", "/api/v1/admin/audit?entityType=inventory", None)
        .await?;
    assert_eq!(audit["pagination"]["total"], 0);
    Ok(())
}
