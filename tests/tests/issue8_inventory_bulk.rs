//! Issue 8, point 8: `POST /admin/inventory/bulk`, the inventory CSV upload. Good rows are
//! applied and audited like single changes, each in its own transaction; unknown ids and bad
//! numbers are row errors, never a 500.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::identity::Role;
use mami_postgres::schema::inventory;
use mami_tests::demo::{CARROTS, TEL_AVIV, TOMATOES, WAREHOUSE};
use mami_tests::{Reply, Session, TestApp, each};
use reqwest::Method;
use serde_json::{Value, json};

type R = anyhow::Result<()>;

const BOUNDARY: &str = "mami-test-boundary-7d1f";

/// A multipart form with the given `(name, content)` fields, as a browser sends it.
fn form(fields: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, content) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"stock.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(m: &Session, body: Vec<u8>) -> anyhow::Result<Reply> {
    Reply::of(
        m.request(Method::POST, "/api/v1/admin/inventory/bulk")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body),
    )
    .await
}

async fn upload_csv(m: &Session, csv: &[u8]) -> anyhow::Result<Reply> {
    upload(m, form(&[("note", b"ignored"), ("file", csv)])).await
}

/// The audit rows of inventory row `id`, newest first.
async fn inventory_audit(m: &Session, id: i64) -> anyhow::Result<Vec<Value>> {
    let r = m
        .get(&format!(
            "/api/v1/admin/audit?entityType=inventory&entityId={id}"
        ))
        .await?;
    Ok(r.body["data"].as_array().cloned().unwrap_or_default())
}

async fn row_id(app: &TestApp, product: i64, branch: i64) -> anyhow::Result<Option<i64>> {
    let mut c = app.conn().await?;
    Ok(inventory::table
        .filter(inventory::product_id.eq(product))
        .filter(inventory::branch_id.eq(branch))
        .select(inventory::id)
        .first(&mut c)
        .await
        .optional()?)
}

#[tokio::test]
async fn good_rows_are_applied_and_audited_bad_rows_reported() -> R {
    let app = TestApp::spawn().await?;
    let m = app.session(Role::Manager).await?;
    // Carrots have no row at Tel Aviv: the upload creates it.
    let mut c = app.conn().await?;
    diesel::delete(
        inventory::table
            .filter(inventory::product_id.eq(CARROTS))
            .filter(inventory::branch_id.eq(TEL_AVIV)),
    )
    .execute(&mut c)
    .await?;
    let tomatoes = row_id(&app, TOMATOES, TEL_AVIV).await?.unwrap_or_default();
    let before = app.stock_of(TOMATOES, TEL_AVIV).await?;
    let csv = [
        &b"\xEF\xBB\xBFProduct_ID, branch_id ,available_quantity,reserved_quantity,note\r\n"[..],
        format!("{TOMATOES},{TEL_AVIV},40,2,restock\r\n").as_bytes(),
        format!("{CARROTS},{TEL_AVIV},7,0,new row\r\n").as_bytes(),
        b"abc,2,5,0,\r\n",
        b"\r\n",
        format!("{TOMATOES},{WAREHOUSE},-3,0,\r\n").as_bytes(),
        b"99999,2,5,0,unknown product\r\n",
        format!("{TOMATOES},999,5,0,unknown branch\r\n").as_bytes(),
        b"1,2,\xFF,0,not utf-8\r\n",
        b"1,2\r\n",
        format!("{TOMATOES},{WAREHOUSE},12,,\r\n").as_bytes(),
    ]
    .concat();
    let r = upload_csv(&m, &csv).await?;
    assert_eq!(r.status, 202, "{}", r.body);
    let d = &r.body["data"];
    assert_eq!(
        (
            d["total"].as_u64(),
            d["success"].as_u64(),
            d["errors"].as_u64()
        ),
        (Some(9), Some(2), Some(7)),
        "{d}"
    );
    let failed: Vec<u64> = each(&d["error_details"])
        .filter_map(|e| e["row_number"].as_u64())
        .collect();
    assert_eq!(
        failed,
        vec![3, 4, 5, 6, 7, 8, 9],
        "blank lines are not rows"
    );
    let detail = |n: u64| {
        each(&d["error_details"])
            .find(|e| e["row_number"] == n)
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        detail(3)["error"]
            .as_str()
            .unwrap_or_default()
            .contains("product_id")
    );
    assert_eq!(
        detail(3)["row"]["Product_ID"],
        "abc",
        "cells by header name"
    );
    assert!(
        detail(4)["error"]
            .as_str()
            .unwrap_or_default()
            .contains("available_quantity")
    );
    assert_eq!(detail(5)["error"], "Product not found");
    assert_eq!(detail(6)["error"], "Branch not found");
    assert_eq!(detail(7)["error"], "The row is not valid UTF-8");
    assert!(
        detail(8)["error"]
            .as_str()
            .unwrap_or_default()
            .contains("missing")
    );
    assert!(
        detail(9)["error"]
            .as_str()
            .unwrap_or_default()
            .contains("reserved_quantity"),
        "an empty cell is not a number: {}",
        detail(9)
    );
    let results: Vec<Value> = each(&d["results"]).cloned().collect();
    assert_eq!(results.len(), 9);
    assert_eq!(
        results[0],
        json!({"row_number": 1, "status": "success", "product_id": TOMATOES.to_string(),
            "branch_id": TEL_AVIV.to_string(), "action": "updated"})
    );
    assert_eq!(results[1]["action"], "created");
    assert_eq!(results[2]["status"], "error");

    assert_eq!(app.stock_of(TOMATOES, TEL_AVIV).await?, 40);
    assert_ne!(before, 40);
    assert_eq!(app.stock_of(CARROTS, TEL_AVIV).await?, 7);
    let update = inventory_audit(&m, tomatoes).await?;
    assert_eq!(update[0]["action"], "UPDATE");
    assert_eq!(update[0]["old_value"]["available_quantity"], before);
    assert_eq!(update[0]["new_value"]["available_quantity"], 40);
    assert_eq!(update[0]["new_value"]["reserved_quantity"], 2);
    assert_eq!(update[0]["context"]["product_id"], TOMATOES);
    let carrots = row_id(&app, CARROTS, TEL_AVIV).await?.unwrap_or_default();
    let create = inventory_audit(&m, carrots).await?;
    assert_eq!(create[0]["action"], "CREATE");
    assert_eq!(create[0]["new_value"]["available_quantity"], 7);
    assert_eq!(
        app.audit_count("inventory", "UPDATE").await?
            + app.audit_count("inventory", "CREATE").await?,
        2,
        "one audit row per applied row, none for refused ones"
    );
    Ok(())
}

#[tokio::test]
async fn whole_uploads_are_refused_with_4xx() -> R {
    let app = TestApp::spawn().await?;
    let m = app.session(Role::Manager).await?;
    let cases: Vec<(Vec<u8>, Option<&str>, u16, &str)> = vec![
        (form(&[("note", b"x")]), None, 400, "NO_FILE"),
        (
            br#"{"file": "a,b"}"#.to_vec(),
            Some("application/json"),
            400,
            "NO_FILE",
        ),
        (Vec::new(), Some("multipart/form-data"), 400, "NO_FILE"),
        (form(&[("file", b"")]), None, 400, "INVALID_CSV"),
        (
            form(&[("file", b"sku,qty\n1,2\n")]),
            None,
            400,
            "INVALID_CSV",
        ),
        (
            form(&[("file", b"product_id,branch_id,PRODUCT_ID\n1,1,1\n")]),
            None,
            400,
            "INVALID_CSV",
        ),
        (
            form(&[(
                "file",
                format!("product_id,branch_id\n{}", "1,1\n".repeat(10_001)).as_bytes(),
            )]),
            None,
            400,
            "INVALID_CSV",
        ),
        (
            form(&[("file", &vec![b'1'; 2 * 1024 * 1024 + 1])]),
            None,
            413,
            "HTTP_413",
        ),
        (
            format!("--{BOUNDARY}\r\nbroken").into_bytes(),
            None,
            400,
            "BAD_REQUEST",
        ),
    ];
    for (i, (body, content_type, status, code)) in cases.into_iter().enumerate() {
        let r = match content_type {
            None => upload(&m, body).await?,
            Some(ct) => {
                Reply::of(
                    m.request(Method::POST, "/api/v1/admin/inventory/bulk")
                        .header("content-type", ct)
                        .body(body),
                )
                .await?
            }
        };
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "case {i}: {}",
            r.body
        );
    }
    assert_eq!(app.audit_count("inventory", "UPDATE").await?, 0);

    let employee = app.session(Role::Employee).await?;
    let r = upload_csv(&employee, b"product_id,branch_id\n1,1\n").await?;
    assert_eq!((r.status, r.code().as_str()), (403, "AUTHORIZATION_ERROR"));
    Ok(())
}

#[tokio::test]
async fn an_upload_and_a_concurrent_change_of_the_same_row_both_count() -> R {
    // The upload row and a relative PATCH take the same row lock: whichever runs second sees
    // the first's figure. After both, the stock is either 50 + 5 or 50 (set after +5).
    let app = TestApp::spawn().await?;
    let m = app.session(Role::Manager).await?;
    let id = row_id(&app, TOMATOES, TEL_AVIV).await?.unwrap_or_default();
    let csv = format!("product_id,branch_id,available_quantity\n{TOMATOES},{TEL_AVIV},50\n");
    let patch = m
        .request(Method::PATCH, &format!("/api/v1/admin/inventory/{id}"))
        .json(&json!({"available_delta": 5}));
    let (up, patched) = tokio::join!(upload_csv(&m, csv.as_bytes()), Reply::of(patch));
    assert_eq!(up?.status, 202);
    assert_eq!(patched?.status, 200);
    let after = app.stock_of(TOMATOES, TEL_AVIV).await?;
    let trail = inventory_audit(&m, id).await?;
    assert_eq!(trail.len(), 2, "{trail:?}");
    // Newest first: the later change started from the earlier one's figure.
    assert_eq!(
        trail[0]["new_value"]["available_quantity"].as_i64(),
        Some(after)
    );
    if trail[0]["action"] == "ADJUST" {
        assert_eq!(after, 55, "the adjustment applied to the uploaded figure");
        assert_eq!(trail[0]["old_value"]["available_quantity"], 50);
    } else {
        assert_eq!(after, 50, "the upload set its figure after the adjustment");
    }
    Ok(())
}
