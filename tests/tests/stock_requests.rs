//! Stock requests against real PostgreSQL: filing, lists and detail, review with every code
//! of the reference, bulk review, bad input, and the concurrency guarantees (an approval
//! applies exactly once; approvals and purchases never lose an update).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use mami_domain::identity::Role;
use mami_postgres::schema::inventory;
use mami_tests::demo::{CARROTS, CUCUMBERS, MILK, TEL_AVIV, TOMATOES, VISA, WAREHOUSE};
use mami_tests::reqwest::Method;
use mami_tests::{Reply, Session, TestApp, confirm_all, demo_email, each};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

async fn send(s: &Session, method: Method, path: &str, body: &Value) -> anyhow::Result<Reply> {
    Reply::of(s.request(method, path).json(body)).await
}

async fn patch(s: &Session, path: &str, body: &Value) -> anyhow::Result<Reply> {
    send(s, Method::PATCH, path, body).await
}

/// Files a request through `POST /stock-requests`; returns its id.
async fn file(
    s: &Session,
    branch: i64,
    product: i64,
    quantity: i64,
    request_type: &str,
) -> anyhow::Result<i64> {
    let body = json!({"branch_id": branch, "product_id": product, "quantity": quantity,
        "request_type": request_type});
    let r = s.post("/api/v1/stock-requests", &body).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    Ok(r.body["data"]["id"].as_i64().unwrap_or_default())
}

fn resolve_path(id: i64) -> String {
    format!("/api/v1/stock-requests/admin/{id}/resolve")
}

fn approve(q: i64) -> Value {
    json!({"status": "APPROVED", "approved_quantity": q})
}

/// The ids of a list answer's `data`, in order.
fn ids(r: &Reply) -> Vec<i64> {
    each(&r.body["data"])
        .filter_map(|x| x["id"].as_i64())
        .collect()
}

#[tokio::test]
async fn staff_file_requests_and_read_them_back() -> R {
    let app = TestApp::spawn().await?;
    let employee = app.session(Role::Employee).await?;
    let manager = app.session(Role::Manager).await?;
    let employee_id = app.user_id(demo_email(Role::Employee)).await?;

    let body = json!({"branch_id": TEL_AVIV, "product_id": MILK, "quantity": 12,
        "request_type": "ADD_QUANTITY"});
    let r = employee.post("/api/v1/stock-requests", &body).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(
        (&d["status"], &d["quantity"], &d["requested_quantity"]),
        (&json!("PENDING"), &json!(12), &json!(12))
    );
    assert_eq!(d["request_type"], "ADD_QUANTITY");
    assert_eq!(d["actor_user_id"], employee_id, "the requester is recorded");
    assert_eq!(
        (d["branch_id"].as_i64(), d["product_id"].as_i64()),
        (Some(TEL_AVIV), Some(MILK))
    );
    assert!(d["branch_name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(d["product_name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(d["product_sku"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(d["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(
        (&d["reviewed_by"], &d["reviewed_at"], &d["rejection_reason"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    let first = d["id"].as_i64().unwrap_or_default();

    let alias = json!({"branch_id": WAREHOUSE, "product_id": TOMATOES, "quantity": 3,
        "request_type": "SET_QUANTITY"});
    let r = employee.post("/api/v1/ops/stock-requests", &alias).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.body["data"]["id"].as_i64().unwrap_or_default();
    let managers = file(&manager, WAREHOUSE, CUCUMBERS, 5, "ADD_QUANTITY").await?;
    assert_eq!(app.audit_count("stock_request", "CREATE").await?, 3);

    let mine = employee.get("/api/v1/stock-requests/my").await?;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(
        ids(&mine),
        [second, first],
        "own requests only, newest first"
    );
    assert_eq!(
        mine.body["meta"],
        json!({"total": 2, "limit": 50, "offset": 0})
    );
    let page = employee
        .get("/api/v1/stock-requests/my?limit=1&offset=1")
        .await?;
    assert_eq!(ids(&page), [first]);
    assert_eq!(
        page.body["meta"],
        json!({"total": 2, "limit": 1, "offset": 1})
    );

    let all = manager
        .get("/api/v1/stock-requests/admin?status=PENDING")
        .await?;
    assert_eq!(ids(&all), [managers, second, first]);
    assert_eq!(all.body["meta"]["total"], 3);
    let none = manager
        .get("/api/v1/stock-requests/admin?status=APPROVED")
        .await?;
    assert_eq!(
        (ids(&none), &none.body["meta"]["total"]),
        (vec![], &json!(0))
    );

    let ops = employee
        .get(&format!("/api/v1/ops/stock-requests?branch_id={WAREHOUSE}"))
        .await?;
    assert_eq!(ops.status, 200, "{}", ops.body);
    assert_eq!(
        ids(&ops),
        [managers, second],
        "the warehouse's, newest first"
    );
    assert_eq!(ops.body["meta"]["total"], 2);
    let ops = employee
        .get("/api/v1/ops/stock-requests?status=REJECTED&limit=200")
        .await?;
    assert_eq!(
        (ids(&ops), &ops.body["meta"]["limit"]),
        (vec![], &json!(100)),
        "clamped"
    );

    let one = manager
        .get(&format!("/api/v1/stock-requests/admin/{first}"))
        .await?;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["data"], mine.body["data"][1]);
    let missing = manager.get("/api/v1/stock-requests/admin/999999").await?;
    assert_eq!(
        (missing.status, missing.code()),
        (404, "STOCK_REQUEST_NOT_FOUND".into())
    );
    Ok(())
}

#[tokio::test]
async fn a_request_needs_an_inventory_row_and_a_body() -> R {
    let app = TestApp::spawn().await?;
    let admin = app.session(Role::Admin).await?;
    let branch = admin
        .post(
            "/api/v1/admin/branches",
            &json!({"name": "Haifa Port", "address": "Derech HaAtsmaut 1"}),
        )
        .await?;
    assert_eq!(branch.status, 201, "{}", branch.body);
    let empty_branch = branch.body["data"]["id"].as_i64().unwrap_or_default();
    let employee = app.session(Role::Employee).await?;
    let body = json!({"branch_id": empty_branch, "product_id": MILK, "quantity": 1,
        "request_type": "ADD_QUANTITY"});
    for path in ["/api/v1/stock-requests", "/api/v1/ops/stock-requests"] {
        let r = employee.post(path, &body).await?;
        assert_eq!((r.status, r.code()), (404, "NOT_FOUND".into()), "{path}");
        assert_eq!(
            r.body["error"]["message"],
            "Inventory row not found for branch/product"
        );
    }

    let null = send(
        &employee,
        Method::POST,
        "/api/v1/stock-requests",
        &Value::Null,
    )
    .await?;
    assert_eq!((null.status, null.code()), (400, "BAD_REQUEST".into()));
    assert_eq!(null.body["error"]["message"], "Missing JSON body");
    let path = "/api/v1/ops/stock-requests";
    let alias = send(&employee, Method::POST, path, &Value::Null).await?;
    assert_eq!(
        (alias.status, alias.code()),
        (400, "VALIDATION_ERROR".into()),
        "the alias reads null as {{}}: fields missing"
    );
    assert_eq!(
        alias.body["error"]["details"]["errors"][0]["type"],
        "missing"
    );
    assert_eq!(app.audit_count("stock_request", "CREATE").await?, 0);
    Ok(())
}

#[tokio::test]
async fn resolving_answers_every_reference_code() -> R {
    let app = TestApp::spawn().await?;
    let employee = app.session(Role::Employee).await?;
    let manager = app.session(Role::Manager).await?;
    let manager_id = app.user_id(demo_email(Role::Manager)).await?;
    app.stock(CUCUMBERS, TEL_AVIV).set(7).await?;
    let add = file(&employee, TEL_AVIV, CUCUMBERS, 10, "ADD_QUANTITY").await?;

    let r = patch(&manager, &resolve_path(999_999), &approve(1)).await?;
    assert_eq!((r.status, r.code()), (404, "NOT_FOUND".into()));
    assert_eq!(r.body["error"]["message"], "Stock request not found");
    let r = patch(&manager, &resolve_path(add), &json!({"status": "APPROVED"})).await?;
    assert_eq!((r.status, r.code()), (400, "INVALID_QUANTITY".into()));
    let r = patch(&manager, &resolve_path(add), &json!({"status": "REJECTED"})).await?;
    assert_eq!((r.status, r.code()), (400, "INVALID_REJECTION".into()));
    let r = patch(&manager, &resolve_path(add), &json!({"status": "PENDING"})).await?;
    assert_eq!(
        r.status, 200,
        "PENDING is accepted and changes nothing: {}",
        r.body
    );
    assert_eq!(
        (&r.body["data"]["status"], &r.body["data"]["reviewed_by"]),
        (&json!("PENDING"), &Value::Null)
    );
    assert_eq!(app.audit_count("stock_request", "REVIEW").await?, 0);
    assert_eq!(app.stock_of(CUCUMBERS, TEL_AVIV).await?, 7);

    let r = patch(&manager, &resolve_path(add), &approve(4)).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(
        (&d["status"], &d["quantity"], &d["requested_quantity"]),
        (&json!("APPROVED"), &json!(4), &json!(10)),
        "a partial approval keeps what was asked"
    );
    assert_eq!(d["reviewed_by"], manager_id);
    assert!(d["reviewed_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(app.stock_of(CUCUMBERS, TEL_AVIV).await?, 11, "7 + 4");
    let again = patch(&manager, &resolve_path(add), &approve(4)).await?;
    assert_eq!((again.status, again.code()), (409, "INVALID_STATUS".into()));
    assert_eq!(
        again.body["error"]["message"],
        "Stock request already reviewed"
    );
    let reject = json!({"status": "REJECTED", "rejection_reason": "late"});
    let again = patch(&manager, &resolve_path(add), &reject).await?;
    assert_eq!((again.status, again.code()), (409, "INVALID_STATUS".into()));
    assert_eq!(app.stock_of(CUCUMBERS, TEL_AVIV).await?, 11, "applied once");

    let set = file(&employee, TEL_AVIV, CUCUMBERS, 50, "SET_QUANTITY").await?;
    let r = patch(&manager, &resolve_path(set), &approve(30)).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.stock_of(CUCUMBERS, TEL_AVIV).await?,
        30,
        "set, not added"
    );

    let no = file(&employee, TEL_AVIV, CUCUMBERS, 5, "ADD_QUANTITY").await?;
    let reason = json!({"status": "REJECTED", "rejection_reason": "No shelf space"});
    let r = patch(&manager, &resolve_path(no), &reason).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(
        (&d["status"], &d["rejection_reason"], &d["quantity"]),
        (&json!("REJECTED"), &json!("No shelf space"), &json!(5))
    );
    assert_eq!(d["reviewed_by"], manager_id);
    let detail = manager
        .get(&format!("/api/v1/stock-requests/admin/{no}"))
        .await?;
    assert_eq!(detail.body["data"], r.body["data"], "stored as returned");
    assert_eq!(app.stock_of(CUCUMBERS, TEL_AVIV).await?, 30);

    let gone = file(&employee, TEL_AVIV, CARROTS, 5, "ADD_QUANTITY").await?;
    let mut c = app.conn().await?;
    diesel::delete(
        inventory::table
            .filter(inventory::branch_id.eq(TEL_AVIV))
            .filter(inventory::product_id.eq(CARROTS)),
    )
    .execute(&mut c)
    .await?;
    let r = patch(&manager, &resolve_path(gone), &approve(5)).await?;
    assert_eq!((r.status, r.code()), (404, "NOT_FOUND".into()));
    assert_eq!(
        r.body["error"]["message"],
        "Inventory not found for branch/product"
    );
    let still = manager
        .get(&format!("/api/v1/stock-requests/admin/{gone}"))
        .await?;
    assert_eq!(
        still.body["data"]["status"], "PENDING",
        "nothing was written"
    );
    Ok(())
}

#[tokio::test]
async fn an_approval_and_its_audit_rows_commit_together() -> R {
    let app = TestApp::spawn().await?;
    let employee = app.session(Role::Employee).await?;
    let manager = app.session(Role::Manager).await?;
    let manager_id = app.user_id(demo_email(Role::Manager)).await?;
    app.stock(TOMATOES, WAREHOUSE).set(20).await?;
    let id = file(&employee, WAREHOUSE, TOMATOES, 6, "ADD_QUANTITY").await?;
    let r = patch(&manager, &resolve_path(id), &approve(6)).await?;
    assert_eq!(r.status, 200, "{}", r.body);

    let audit = manager
        .get("/api/v1/admin/audit?entityType=inventory&action=STOCK_REQUEST_APPLY")
        .await?;
    let rows: Vec<&Value> = each(&audit.body["data"]).collect();
    assert_eq!(rows.len(), 1, "{}", audit.body);
    assert_eq!(rows[0]["old_value"], json!({"available_quantity": 20}));
    assert_eq!(rows[0]["new_value"], json!({"available_quantity": 26}));
    assert_eq!(rows[0]["actor_user_id"], manager_id);
    assert_eq!(rows[0]["context"]["stock_request_id"], id);
    let review = manager
        .get(&format!(
            "/api/v1/admin/audit?entityType=stock_request&entityId={id}&action=REVIEW"
        ))
        .await?;
    let review = &review.body["data"][0];
    assert_eq!(review["old_value"], json!({"status": "PENDING"}));
    assert_eq!(
        review["new_value"],
        json!({"status": "APPROVED", "approved_quantity": 6, "rejection_reason": null})
    );
    assert_eq!(review["actor_user_id"], manager_id);

    // An audit row that cannot be written takes the approval and the stock with it.
    let next = file(&employee, WAREHOUSE, TOMATOES, 2, "ADD_QUANTITY").await?;
    app.fail_audit_writes(mami_tests::AuditFailure::AtCommit)
        .await?;
    let r = patch(&manager, &resolve_path(next), &approve(2)).await?;
    assert_eq!(r.status, 500, "{}", r.body);
    app.allow_audit_writes().await?;
    assert_eq!(
        app.stock_of(TOMATOES, WAREHOUSE).await?,
        26,
        "nothing applied"
    );
    let still = manager
        .get(&format!("/api/v1/stock-requests/admin/{next}"))
        .await?;
    assert_eq!(still.body["data"]["status"], "PENDING");
    let r = patch(&manager, &resolve_path(next), &approve(2)).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.stock_of(TOMATOES, WAREHOUSE).await?, 28);
    Ok(())
}

#[tokio::test]
async fn bulk_review_answers_each_item_in_order() -> R {
    let app = TestApp::spawn().await?;
    let employee = app.session(Role::Employee).await?;
    let manager = app.session(Role::Manager).await?;
    app.stock(MILK, WAREHOUSE).set(10).await?;
    let a = file(&employee, WAREHOUSE, MILK, 5, "ADD_QUANTITY").await?;
    let b = file(&employee, WAREHOUSE, MILK, 3, "ADD_QUANTITY").await?;
    let c = file(&employee, WAREHOUSE, MILK, 9, "ADD_QUANTITY").await?;
    let done = file(&employee, WAREHOUSE, MILK, 1, "ADD_QUANTITY").await?;
    let r = patch(&manager, &resolve_path(done), &approve(1)).await?;
    assert_eq!(r.status, 200, "{}", r.body);

    let body = json!({"items": [
        {"request_id": c, "status": "APPROVED", "approved_quantity": 2},
        {"request_id": done, "status": "APPROVED", "approved_quantity": 1},
        {"request_id": a, "status": "APPROVED"},
        {"request_id": b, "status": "REJECTED", "rejection_reason": "Overstocked"},
        {"request_id": 999_999, "status": "REJECTED", "rejection_reason": "Gone"},
        {"request_id": a, "status": "REJECTED"},
    ]});
    let r = patch(&manager, "/api/v1/stock-requests/admin/bulk-review", &body).await?;
    assert_eq!(r.status, 200, "partial success is 200: {}", r.body);
    let err = |id: i64, code: &str, message: &str| {
        json!({"request_id": id, "status": null, "result": "error", "error_code": code,
            "message": message})
    };
    assert_eq!(
        r.body["data"]["results"],
        json!([
            {"request_id": c, "status": "APPROVED", "result": "ok"},
            err(done, "INVALID_STATUS", "Stock request already reviewed"),
            err(a, "INVALID_QUANTITY", "Approved quantity must be positive"),
            {"request_id": b, "status": "REJECTED", "result": "ok"},
            err(999_999, "NOT_FOUND", "Stock request not found"),
            err(a, "INVALID_REJECTION", "Rejection reason is required"),
        ])
    );
    assert_eq!(app.stock_of(MILK, WAREHOUSE).await?, 10 + 1 + 2);
    let pending = manager
        .get("/api/v1/stock-requests/admin?status=PENDING")
        .await?;
    assert_eq!(ids(&pending), [a], "a failed item rolled back only itself");
    let rejected = manager
        .get(&format!("/api/v1/stock-requests/admin/{b}"))
        .await?;
    assert_eq!(rejected.body["data"]["rejection_reason"], "Overstocked");

    let r = patch(
        &manager,
        "/api/v1/stock-requests/admin/bulk-review",
        &json!({"items": []}),
    )
    .await?;
    assert_eq!((r.status, &r.body["data"]), (200, &json!({"results": []})));
    Ok(())
}

/// `(method, path, body)` of a bad request and the code it must get.
type BadCase<'a> = (Method, &'a str, Value, &'static str);

#[tokio::test]
async fn every_bad_body_or_query_is_a_4xx_in_the_envelope() -> R {
    let app = TestApp::spawn().await?;
    let employee = app.session(Role::Employee).await?;
    let manager = app.session(Role::Manager).await?;
    let id = file(&employee, WAREHOUSE, MILK, 2, "ADD_QUANTITY").await?;
    let resolve = &resolve_path(id);
    let create = "/api/v1/stock-requests";
    let good =
        json!({"branch_id": 1, "product_id": 1, "quantity": 1, "request_type": "ADD_QUANTITY"});
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let bulk = "/api/v1/stock-requests/admin/bulk-review";
    let cases: Vec<BadCase> = vec![
        (Method::POST, create, json!({}), "VALIDATION_ERROR"),
        (
            Method::POST,
            create,
            with("quantity", json!(0)),
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            create,
            with("quantity", json!(10_001)),
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            create,
            with("quantity", json!(i64::MAX)),
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            create,
            with("quantity", json!(1.5)),
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            create,
            with("branch_id", json!(0)),
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            create,
            with("product_id", json!(-3)),
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            create,
            with("request_type", json!("MORE")),
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            create,
            with("request_type", json!(1)),
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            create,
            with("priority", json!("urgent")),
            "VALIDATION_ERROR",
        ),
        (Method::POST, create, json!([1]), "VALIDATION_ERROR"),
        (
            Method::POST,
            "/api/v1/ops/stock-requests",
            json!({"quantity": 1}),
            "VALIDATION_ERROR",
        ),
        (Method::PATCH, resolve, json!({}), "VALIDATION_ERROR"),
        (
            Method::PATCH,
            resolve,
            json!({"status": "DONE"}),
            "VALIDATION_ERROR",
        ),
        (Method::PATCH, resolve, approve(0), "VALIDATION_ERROR"),
        (Method::PATCH, resolve, approve(10_001), "VALIDATION_ERROR"),
        (
            Method::PATCH,
            resolve,
            json!({"status": "REJECTED", "rejection_reason": "x"}),
            "VALIDATION_ERROR",
        ),
        (
            Method::PATCH,
            resolve,
            json!({"status": "REJECTED", "rejection_reason": "x".repeat(201)}),
            "VALIDATION_ERROR",
        ),
        (
            Method::PATCH,
            resolve,
            json!({"status": "APPROVED", "note": 1}),
            "VALIDATION_ERROR",
        ),
        (Method::PATCH, resolve, Value::Null, "BAD_REQUEST"),
        (Method::PATCH, bulk, json!({}), "VALIDATION_ERROR"),
        (
            Method::PATCH,
            bulk,
            json!({"request_ids": [id]}),
            "VALIDATION_ERROR",
        ),
        (
            Method::PATCH,
            bulk,
            json!({"items": [{"request_id": id, "status": "APPROVED", "approved_quantity": 1},
                {"request_id": 0, "status": "APPROVED"}]}),
            "VALIDATION_ERROR",
        ),
        (
            Method::PATCH,
            bulk,
            json!({"items": vec![json!({"request_id": id, "status": "PENDING"}); 201]}),
            "VALIDATION_ERROR",
        ),
        (Method::PATCH, bulk, Value::Null, "BAD_REQUEST"),
    ];
    for (method, path, body, code) in cases {
        let r = send(&manager, method.clone(), path, &body).await?;
        assert_eq!(
            (r.status, r.code()),
            (400, code.into()),
            "{method} {path} {body}: {}",
            r.body
        );
    }
    let bad_item = send(
        &manager,
        Method::PATCH,
        bulk,
        &json!({"items": [{"request_id": 0, "status": "APPROVED"}]}),
    )
    .await?;
    assert_eq!(
        bad_item.body["error"]["details"]["errors"][0]["loc"],
        json!(["items", "0", "request_id"])
    );

    for query in [
        "/api/v1/stock-requests/my?limit=abc",
        "/api/v1/stock-requests/my?offset=-1",
        "/api/v1/stock-requests/admin?status=pending",
        "/api/v1/stock-requests/admin?limit=0",
        "/api/v1/stock-requests/admin?limit=201",
        "/api/v1/stock-requests/admin?offset=-1",
        "/api/v1/stock-requests/admin?sort=date",
        "/api/v1/ops/stock-requests?branch_id=abc",
        "/api/v1/ops/stock-requests?branch_id=0",
        "/api/v1/ops/stock-requests?status=OPEN",
        "/api/v1/ops/stock-requests?branchId=1",
        "/api/v1/ops/stock-requests?limit=-5",
    ] {
        let r = manager.get(query).await?;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        let code = r.code();
        assert!(
            code == "VALIDATION_ERROR" || code == "BAD_REQUEST",
            "{query}: {code}"
        );
    }
    // A non-integer id does not match the route (issue 8): 404 `HTTP_404`, as an unknown path.
    let r = send(
        &manager,
        Method::PATCH,
        "/api/v1/stock-requests/admin/abc/resolve",
        &approve(1),
    )
    .await?;
    assert_eq!((r.status, r.code()), (404, "HTTP_404".into()), "{}", r.body);
    let r = manager.get("/api/v1/stock-requests/admin/abc").await?;
    assert_eq!((r.status, r.code()), (404, "HTTP_404".into()), "{}", r.body);
    let strict = manager.get("/api/v1/stock-requests/my?limit=x").await?;
    assert_eq!(
        strict.body["error"]["message"],
        "Invalid pagination parameters"
    );

    let text = Reply::of(
        manager
            .request(Method::POST, "/api/v1/stock-requests")
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await?;
    assert_eq!((text.status, text.code()), (415, "HTTP_415".into()));
    let malformed = Reply::of(
        manager
            .request(Method::PATCH, resolve.as_str())
            .header("content-type", "application/json")
            .body("{"),
    )
    .await?;
    assert_eq!(
        (malformed.status, malformed.code()),
        (400, "HTTP_400".into())
    );

    let full = file(&employee, WAREHOUSE, MILK, 10, "ADD_QUANTITY").await?;
    app.stock(MILK, WAREHOUSE).set(999_995).await?;
    let r = patch(&manager, &resolve_path(full), &approve(10)).await?;
    assert_eq!(
        (r.status, r.code()),
        (400, "VALIDATION_ERROR".into()),
        "a row never exceeds 1000000"
    );
    assert_eq!(app.stock_of(MILK, WAREHOUSE).await?, 999_995);
    Ok(())
}

#[derive(QueryableByName)]
struct Waiting {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Waits until `n` sessions of the test's database wait for a lock (observed in
/// `pg_stat_activity`, polled; never a guess of how long the callers take). Fails after 20 s.
async fn lock_waiters(c: &mut diesel_async::AsyncPgConnection, n: i64) -> R {
    for _ in 0..2000 {
        let w: Waiting = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result(c)
        .await?;
        if w.n >= n {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    anyhow::bail!("{n} sessions never waited for a lock")
}

/// A checkout-like transaction holding one inventory row's lock on its own connection.
struct RowHold {
    holder: diesel_async::AsyncPgConnection,
    /// Another session: inside the holder's transaction pg_stat_activity is a snapshot.
    watcher: diesel_async::AsyncPgConnection,
}

impl RowHold {
    /// Locks `branch`'s row of `product` (`FOR UPDATE`) until [`RowHold::release_after`].
    async fn take(app: &TestApp, branch: i64, product: i64) -> anyhow::Result<Self> {
        let mut holder = app.conn().await?;
        diesel::sql_query("BEGIN").execute(&mut holder).await?;
        let row: Vec<i64> = inventory::table
            .filter(inventory::branch_id.eq(branch))
            .filter(inventory::product_id.eq(product))
            .select(inventory::id)
            .for_update()
            .load(&mut holder)
            .await?;
        anyhow::ensure!(row.len() == 1, "no inventory row to hold");
        let watcher = app.conn().await?;
        Ok(Self { holder, watcher })
    }

    /// Commits once `n` sessions wait for a lock, so that every caller is truly in flight.
    async fn release_after(mut self, n: i64) -> R {
        lock_waiters(&mut self.watcher, n).await?;
        diesel::sql_query("COMMIT")
            .execute(&mut self.holder)
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn five_concurrent_approvals_apply_once() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "16")]).await?;
    let employee = app.session(Role::Employee).await?;
    let reviewers = [
        app.session(Role::Manager).await?,
        app.session(Role::Admin).await?,
    ];
    app.stock(CARROTS, WAREHOUSE).set(40).await?;
    let id = file(&employee, WAREHOUSE, CARROTS, 8, "ADD_QUANTITY").await?;
    let path = resolve_path(id);
    // Five callers on three API instances (own pools, own workers), as behind a balancer.
    let instances = [
        app.address.clone(),
        app.another_instance().await?,
        app.another_instance().await?,
    ];
    let callers: Vec<Session> = (0..5)
        .map(|i| reviewers[i % 2].at(&instances[i % 3]))
        .collect();
    // Holding the inventory row keeps every approval in flight until all five wait on a
    // lock, so they truly overlap: without the request's own lock each would read PENDING
    // and apply.
    let hold = RowHold::take(&app, WAREHOUSE, CARROTS).await?;
    let body = approve(8);
    let approvals = join_all(callers.iter().map(|c| patch(c, &path, &body)));
    let (answers, released) = futures_util::join!(approvals, hold.release_after(5));
    released?;
    let mut statuses = Vec::new();
    for r in answers {
        let r = r?;
        if r.status == 409 {
            assert_eq!(r.code(), "INVALID_STATUS", "{}", r.body);
        }
        statuses.push(r.status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409, 409]);
    assert_eq!(
        app.stock_of(CARROTS, WAREHOUSE).await?,
        48,
        "applied exactly once"
    );
    assert_eq!(
        app.audit_count("inventory", "STOCK_REQUEST_APPLY").await?,
        1
    );
    assert_eq!(app.audit_count("stock_request", "REVIEW").await?, 1);
    Ok(())
}

#[tokio::test]
async fn approvals_racing_checkouts_lose_no_update() -> R {
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "16")]).await?;
    let employee = app.session(Role::Employee).await?;
    let manager = app.session(Role::Manager).await?;
    let start = 3;
    app.stock(CUCUMBERS, WAREHOUSE).set(start).await?;
    let slot = app.slot().create().await?;
    let shoppers = app
        .shopper(&[(CUCUMBERS, 1)])
        .card(VISA)
        .create_many(8)
        .await?;
    let mut requests = Vec::new();
    for _ in 0..4 {
        requests.push(file(&employee, WAREHOUSE, CUCUMBERS, 2, "ADD_QUANTITY").await?);
    }
    let paths: Vec<String> = requests.iter().map(|id| resolve_path(*id)).collect();
    // Every approval and every checkout queues on the held row before any goes on, so they
    // interleave for real: an approval that read the stock without the lock would overwrite
    // the purchases made meanwhile.
    let hold = RowHold::take(&app, WAREHOUSE, CUCUMBERS).await?;
    let body = approve(2);
    let approvals = join_all(paths.iter().map(|p| patch(&manager, p, &body)));
    let instances = [app.address.as_str()];
    let checkouts = confirm_all(&shoppers, slot, "race", &instances);
    let waiting = i64::try_from(paths.len() + shoppers.len())?;
    let (approvals, checkouts, released) =
        futures_util::join!(approvals, checkouts, hold.release_after(waiting));
    released?;
    let mut approved = 0;
    for r in approvals {
        let r = r?;
        assert_eq!(r.status, 200, "{}", r.body);
        approved += r.body["data"]["quantity"].as_i64().unwrap_or_default();
    }
    let mut sold = 0;
    for r in checkouts {
        let r = r?;
        match r.status {
            201 => sold += 1,
            409 => assert_eq!(r.code(), "INSUFFICIENT_STOCK", "{}", r.body),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(approved, 8);
    assert!(sold >= i64::from(start), "at least the starting units sell");
    assert_eq!(
        app.stock_of(CUCUMBERS, WAREHOUSE).await?,
        i64::from(start) + approved - sold,
        "stock = start + approved - sold"
    );
    Ok(())
}
