//! The profile (`/me`, `/me/phone`): the reference's shape, rules and codes, audited with the
//! old and new values of what changed.

use mami_domain::identity::Role;
use mami_tests::reqwest::Method;
use mami_tests::{Reply, Session, TestApp, demo_email};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

async fn patch(s: &Session, path: &str, body: Value) -> anyhow::Result<Reply> {
    Reply::of(s.request(Method::PATCH, path).json(&body)).await
}

/// The audit rows of `action` on users, newest first, as the back office lists them.
async fn user_audit(app: &TestApp, action: &str) -> anyhow::Result<Vec<Value>> {
    let manager = app.session(Role::Manager).await?;
    let r = manager
        .get(&format!(
            "/api/v1/admin/audit?entityType=user&action={action}"
        ))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    Ok(r.body["data"].as_array().cloned().unwrap_or_default())
}

#[tokio::test]
async fn the_profile_has_the_reference_shape() -> R {
    let app = TestApp::spawn().await?;
    let customer = app.session(Role::Customer).await?;
    let r = customer.get("/api/v1/me").await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.body["data"];
    let mut keys: Vec<&str> = d
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(keys, ["email", "full_name", "id", "phone", "role"]);
    assert_eq!(d["email"], demo_email(Role::Customer));
    assert_eq!(d["role"], "CUSTOMER");
    assert!(d["id"].is_i64() && d["phone"].is_null(), "{d}");

    let anonymous = app.client.get(app.url("/api/v1/me")).send().await?;
    assert_eq!(anonymous.status().as_u16(), 401);
    Ok(())
}

#[tokio::test]
async fn patch_me_changes_name_and_phone_and_audits_what_changed() -> R {
    let app = TestApp::spawn().await?;
    let customer = app.session(Role::Customer).await?;
    let r = patch(&customer, "/api/v1/me", json!({"full_name": "Dana Cohen"})).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (&r.body["data"]["full_name"], &r.body["data"]["phone"]),
        (&json!("Dana Cohen"), &Value::Null)
    );
    let r = patch(
        &customer,
        "/api/v1/me",
        json!({"phone": "0501234567", "full_name": null}),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["phone"], "0501234567");
    assert_eq!(
        r.body["data"]["full_name"], "Dana Cohen",
        "null keeps the name"
    );

    // Nothing to change: the profile unchanged, nothing audited.
    let before = user_audit(&app, "UPDATE_PROFILE").await?.len();
    let r = patch(&customer, "/api/v1/me", json!({})).await?;
    assert_eq!(
        (r.status, &r.body["data"]["phone"]),
        (200, &json!("0501234567"))
    );
    let rows = user_audit(&app, "UPDATE_PROFILE").await?;
    assert_eq!((before, rows.len()), (2, 2));
    assert_eq!(rows[1]["old_value"], json!({"full_name": "Dana Customer"}));
    assert_eq!(rows[1]["new_value"], json!({"full_name": "Dana Cohen"}));
    assert_eq!(rows[0]["old_value"], json!({"phone": null}));
    assert_eq!(rows[0]["new_value"], json!({"phone": "0501234567"}));
    assert_eq!(rows[0]["actor_user_id"], r.body["data"]["id"]);

    // The profile allows names up to 128 characters (registration: 50).
    let long = "A".repeat(100);
    let r = patch(&customer, "/api/v1/me", json!({"full_name": long})).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    Ok(())
}

#[tokio::test]
async fn patch_me_reports_every_broken_rule() -> R {
    let app = TestApp::spawn().await?;
    let customer = app.session(Role::Customer).await?;
    // The seeded phones of the reference (`050-111-2233`) are refused, as there.
    let r = patch(
        &customer,
        "/api/v1/me",
        json!({"full_name": "R2D2", "phone": "050-111-2233"}),
    )
    .await?;
    assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR".into()));
    let locs: Vec<&Value> = r.body["error"]["details"]["errors"]
        .as_array()
        .map(|e| e.iter().map(|e| &e["loc"]).collect())
        .unwrap_or_default();
    assert_eq!(locs, [&json!(["full_name"]), &json!(["phone"])]);
    for body in [
        json!({"full_name": "A".repeat(129)}),
        json!({"full_name": "D"}),
        json!({"phone": "1234567"}),
        json!({"email": "x@y.co"}),
        json!({"phone": 501234567}),
    ] {
        let r = patch(&customer, "/api/v1/me", body.clone()).await?;
        assert_eq!(
            (r.status, r.code()),
            (400, "VALIDATION_ERROR".into()),
            "{body}"
        );
    }
    let r = Reply::of(customer.request(Method::PATCH, "/api/v1/me").body("{}")).await?;
    assert_eq!(r.status, 415, "a body that is not JSON");
    Ok(())
}

#[tokio::test]
async fn patch_phone_requires_a_phone_and_audits_old_and_new() -> R {
    let app = TestApp::spawn().await?;
    let customer = app.session(Role::Customer).await?;
    for body in [json!({}), json!({"phone": null}), json!({"phone": "12"})] {
        let r = patch(&customer, "/api/v1/me/phone", body.clone()).await?;
        assert_eq!(
            (r.status, r.code()),
            (400, "VALIDATION_ERROR".into()),
            "{body}"
        );
    }
    let r = patch(
        &customer,
        "/api/v1/me/phone",
        json!({"phone": "+972501234567"}),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["phone"], "+972501234567");
    let r = patch(
        &customer,
        "/api/v1/me/phone",
        json!({"phone": "0529876543"}),
    )
    .await?;
    assert_eq!(r.body["data"]["phone"], "0529876543");
    let rows = user_audit(&app, "UPDATE_PHONE").await?;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["old_value"], json!({"phone": "+972501234567"}));
    assert_eq!(rows[0]["new_value"], json!({"phone": "0529876543"}));
    let me = customer.get("/api/v1/me").await?;
    assert_eq!(me.body["data"]["phone"], "0529876543");
    Ok(())
}
