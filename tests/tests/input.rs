//! The input layer (issue 8): integer strings in bodies, every problem of a body named at
//! once, the order of checks on confirm, non-integer path ids, paging on lenient routes, NUL
//! characters anywhere in a request, and the settings `slots` field the React client sends.

use mami_domain::identity::Role;
use mami_tests::demo::WAREHOUSE;
use mami_tests::reqwest::Method;
use mami_tests::{Reply, Session, TestApp, each};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

/// `loc` and `type` of every entry of `details.errors`, as `"a.b:type"`, sorted.
fn problems(r: &Reply) -> Vec<String> {
    let mut all: Vec<String> = each(&r.body["error"]["details"]["errors"])
        .map(|e| {
            let loc: Vec<String> = each(&e["loc"])
                .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_owned))
                .collect();
            format!("{}:{}", loc.join("."), e["type"].as_str().unwrap_or(""))
        })
        .collect();
    all.sort();
    all
}

/// The fields named in `details.errors`.
fn fields(r: &Reply) -> Vec<String> {
    problems(r)
        .into_iter()
        .filter_map(|p| p.split(':').next().map(str::to_owned))
        .collect()
}

/// Asserts that a GET of each path answers `status` with `code`.
async fn each_answers(session: &Session, paths: &[&str], status: u16, code: &str) -> R {
    for path in paths {
        let r = session.get(path).await?;
        assert_eq!((r.status, r.code().as_str()), (status, code), "{path}");
    }
    Ok(())
}

fn invalid(r: &Reply) -> bool {
    r.status == 400 && r.code() == "VALIDATION_ERROR"
}

#[tokio::test]
async fn integer_strings_in_bodies_are_integers() -> R {
    let app = TestApp::spawn().await?;
    let admin = app.session(Role::Admin).await?;
    let slot = json!({"branch_id": "1", "day_of_week": "3", "start_time": "06:00",
        "end_time": "08:00"});
    let r = admin.post("/api/v1/admin/delivery-slots", &slot).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (&r.body["data"]["branch_id"], &r.body["data"]["day_of_week"]),
        (&json!(WAREHOUSE), &json!(3))
    );

    let product = json!({"name": "Form Milk", "sku": "FORM-1", "price": "6.90",
        "category_id": "2"});
    let r = admin.post("/api/v1/admin/products", &product).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["data"]["category_id"], 2);
    assert_eq!(
        r.body["data"]["price"], "6.90",
        "money strings keep their rule"
    );

    let customer = app.session(Role::Customer).await?;
    let r = customer
        .post("/api/v1/store/wishlist", &json!({"product_id": " 5 "}))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["product_id"], 5);

    // Only whole numbers: anything else is named.
    for bad in ["six", "5.5", "", "1e3", "99999999999999999999"] {
        let r = customer
            .post("/api/v1/store/wishlist", &json!({"product_id": bad}))
            .await?;
        assert!(invalid(&r), "{bad:?}: {}", r.body);
        assert_eq!(fields(&r), ["product_id"], "{bad:?}");
    }
    // A money string is not an integer field's value, and a number is not a text.
    let r = admin
        .post(
            "/api/v1/admin/categories",
            &json!({"name": 5, "description": 1.5}),
        )
        .await?;
    assert_eq!(
        problems(&r),
        ["description:string_type", "name:string_type"]
    );
    Ok(())
}

#[tokio::test]
async fn every_problem_of_a_body_is_named_at_once() -> R {
    let app = TestApp::spawn().await?;
    let register = |body: Value| {
        Reply::of(
            app.client
                .post(app.url("/api/v1/auth/register"))
                .json(&body),
        )
    };
    let r = register(json!({"email": "dana@example.com"})).await?;
    assert!(invalid(&r), "{}", r.body);
    assert_eq!(problems(&r), ["full_name:missing", "password:missing"]);

    // Rules, types, missing and unknown fields together, as Pydantic lists them.
    let r = register(json!({"email": "x", "password": "abcdefgh", "phone": 5,
        "role": "ROOT", "colour": "red", "shade": "dark"}))
    .await?;
    assert_eq!(
        problems(&r),
        [
            "colour:extra_forbidden",
            "email:string_too_short",
            "full_name:missing",
            "password:value_error",
            "phone:string_type",
            "role:enum",
            "shade:extra_forbidden",
        ]
    );

    let customer = app.session(Role::Customer).await?;
    let confirm = |body: Value| {
        Reply::of(
            customer
                .request(Method::POST, "/api/v1/checkout/confirm")
                .header("Idempotency-Key", "input-1")
                .json(&body),
        )
    };
    let r = confirm(json!({"cart_id": 1, "payment_token_id": 0,
        "fulfillment_type": "DELIVERY"}))
    .await?;
    assert_eq!(problems(&r), ["payment_token_id:greater_than_equal"]);
    let r = confirm(json!({"cart_id": "abc", "payment_token_id": 0,
        "fulfillment_type": "BOAT", "delivery_slot_id": -1, "tip": 5}))
    .await?;
    assert_eq!(
        fields(&r),
        [
            "cart_id",
            "delivery_slot_id",
            "fulfillment_type",
            "payment_token_id",
            "tip"
        ],
        "{}",
        r.body
    );
    let r = confirm(json!({"cart_id": 1, "fulfillment_type": "PICKUP", "address": "x"})).await?;
    assert_eq!(
        problems(&r),
        ["address:string_length", "payment_token_id:missing"]
    );

    // Every unknown query parameter too.
    let admin = app.session(Role::Admin).await?;
    let r = admin.get("/api/v1/admin/audit?colour=red&size=xl").await?;
    assert_eq!(
        problems(&r),
        ["query.colour:extra_forbidden", "query.size:extra_forbidden"]
    );
    Ok(())
}

#[tokio::test]
async fn confirm_checks_the_key_before_the_body() -> R {
    let app = TestApp::spawn().await?;
    let customer = app.session(Role::Customer).await?;
    let post = |path: &str| customer.request(Method::POST, path);
    let code = |r: &Reply| (r.status, r.code(), r.body["error"]["message"].clone());
    let confirm = "/api/v1/checkout/confirm";
    let missing_key = [
        post(confirm),
        post(confirm).json(&json!({})),
        post(confirm).json(&json!({"cart_id": "x"})),
        post(confirm)
            .header("content-type", "application/json")
            .body("{not json"),
        post(confirm)
            .header("content-type", "text/plain")
            .body("hi"),
    ];
    for req in missing_key {
        let r = Reply::of(req).await?;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "MISSING_IDEMPOTENCY_KEY")
        );
    }
    let missing_body = json!("Missing JSON body");
    for path in [confirm, "/api/v1/checkout/preview"] {
        for req in [
            post(path).json(&json!({})),
            post(path).json(&json!(null)),
            post(path).json(&json!([])),
            post(path),
        ] {
            let r = Reply::of(req.header("Idempotency-Key", "order-1")).await?;
            assert_eq!(code(&r), (400, "BAD_REQUEST".into(), missing_body.clone()));
        }
    }
    // Without a token the caller hears 401 first, body or not.
    let r = Reply::of(app.client.post(app.url(confirm)).json(&json!({}))).await?;
    assert_eq!(r.status, 401);
    Ok(())
}

#[tokio::test]
async fn a_non_integer_path_id_does_not_match_the_route() -> R {
    let app = TestApp::spawn().await?;
    let admin = app.session(Role::Admin).await?;
    let paths = [
        "/api/v1/catalog/products/abc",
        "/api/v1/catalog/products/1.5",
        "/api/v1/catalog/products/99999999999999999999",
        "/api/v1/catalog/categories/x/products",
        "/api/v1/admin/users/%C2%80",
        "/api/v1/orders/one",
    ];
    each_answers(&admin, &paths, 404, "HTTP_404").await?;
    let r = Reply::of(
        admin
            .request(Method::PATCH, "/api/v1/admin/categories/abc")
            .json(&json!({"name": "Fine"})),
    )
    .await?;
    assert_eq!((r.status, r.code().as_str()), (404, "HTTP_404"));
    Ok(())
}

#[tokio::test]
async fn lenient_paging_refuses_what_is_not_a_number() -> R {
    let app = TestApp::spawn().await?;
    let admin = app.session(Role::Admin).await?;
    let paths = [
        "/api/v1/catalog/categories?limit=abc",
        "/api/v1/catalog/categories?offset=x",
        "/api/v1/catalog/categories/1/products?limit=-1",
        "/api/v1/catalog/products/featured?limit=ten",
        "/api/v1/catalog/products/autocomplete?q=mi&limit=1.5",
        "/api/v1/admin/inventory?offset=%C2%80",
    ];
    each_answers(&admin, &paths, 400, "BAD_REQUEST").await?;
    let r = admin.get(paths[0]).await?;
    assert_eq!(r.body["error"]["message"], "Invalid pagination parameters");
    let r = admin.get("/api/v1/catalog/categories?limit=1000").await?;
    assert_eq!(
        (r.status, &r.body["meta"]["limit"]),
        (200, &json!(100)),
        "large limits are clamped"
    );
    let r = admin.get("/api/v1/catalog/categories?limit=").await?;
    assert_eq!((r.status, &r.body["meta"]["limit"]), (200, &json!(50)));
    Ok(())
}

#[tokio::test]
async fn a_nul_character_is_refused_wherever_it_is() -> R {
    let app = TestApp::spawn().await?;
    let client = &app.client;
    let get = |path: &str| Reply::of(client.get(app.url(path)));
    let r = get("/api/v1/catalog/products/search?q=mi%00lk").await?;
    assert!(invalid(&r), "{}", r.body);
    assert_eq!(fields(&r), ["query.q"]);
    let r = get("/api/v1/catalog/products/autocomplete?q=%00").await?;
    assert_eq!(fields(&r), ["query.q"]);
    let r = get("/api/v1/catalog/products/%00").await?;
    assert_eq!(fields(&r), ["path"]);
    let r = get("/api/v1/branches?x%00=1").await?;
    assert_eq!(fields(&r), ["query.x\u{0}"]);

    // In a JSON body: the `\u0000` escape, at any depth.
    let r = Reply::of(
        client
            .post(app.url("/api/v1/auth/register"))
            .header("content-type", "application/json")
            .body(
                r#"{"email": "nul@example.com", "password": "Secret123",
                   "full_name": "Nul Test", "phone": "050\u0000123456"}"#,
            ),
    )
    .await?;
    assert!(invalid(&r), "{}", r.body);
    assert_eq!(fields(&r), ["phone"]);
    let admin = app.session(Role::Admin).await?;
    let r = admin
        .post(
            "/api/v1/admin/products",
            &json!({"name": "Nul\u{0}", "sku": "NUL-1", "price": 5, "category_id": 1,
                "nutritional_info": {"fat": ["1g", "\u{0}"]}}),
        )
        .await?;
    assert_eq!(fields(&r), ["name", "nutritional_info.fat.1"]);
    let r = Reply::of(
        admin
            .request(Method::PUT, "/api/v1/admin/settings")
            .json(&json!({"delivery_fee": "3\u{0}0"})),
    )
    .await?;
    assert_eq!(fields(&r), ["delivery_fee"]);
    Ok(())
}

#[tokio::test]
async fn settings_accept_the_clients_slots_text() -> R {
    let app = TestApp::spawn().await?;
    let admin = app.session(Role::Admin).await?;
    let put = |body: Value| {
        Reply::of(
            admin
                .request(Method::PUT, "/api/v1/admin/settings")
                .json(&body),
        )
    };
    let r = put(json!({"delivery_min": "120", "delivery_fee": 25, "slots": "06:00-22:00"})).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            &r.body["data"]["delivery_min"],
            &r.body["data"]["delivery_fee"]
        ),
        (&json!(120.0), &json!(25.0))
    );
    assert!(r.body["data"].get("slots").is_none(), "ignored, not stored");
    let r = put(json!({"slots": "08:00-20:00"})).await?;
    assert_eq!(
        (r.status, &r.body["data"]["delivery_fee"]),
        (200, &json!(25.0)),
        "slots alone change nothing"
    );
    let r = put(json!({"slots": 6})).await?;
    assert_eq!(problems(&r), ["slots:string_type"]);
    let r = put(json!({"slots": "x".repeat(101)})).await?;
    assert_eq!(problems(&r), ["slots:string_too_long"]);
    Ok(())
}
