//! `GET /admin/audit`: filters, order, pagination shape and the transactional guarantee.

use mami_domain::identity::Role;
use mami_tests::{AuditFailure, TestApp, demo_email, send};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

async fn list(app: &TestApp, token: &str, query: &str) -> anyhow::Result<Value> {
    let (status, _, body) = send(
        app.client
            .get(app.url(&format!("/api/v1/admin/audit?{query}")))
            .bearer_auth(token),
    )
    .await?;
    assert_eq!(status, 200, "{query}: {body}");
    Ok(body)
}

#[tokio::test]
async fn audit_list_filters_newest_first_with_pagination() -> R {
    let app = TestApp::spawn().await?;
    // Three failed logins, one success per login below.
    for _ in 0..3 {
        let (s, _, _) = send(
            app.client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"email": "ghost@mami.local", "password": "Nope12345"})),
        )
        .await?;
        assert_eq!(s, 400);
    }
    let admin = app.token(Role::Admin).await?;
    let manager = app.token(Role::Manager).await?;

    let all = list(&app, &admin, "").await?;
    assert_eq!(all["pagination"]["total"], 5);
    assert_eq!(all["pagination"]["offset"], 0);
    assert_eq!(all["pagination"]["limit"], 50);
    let rows = all["data"].as_array().cloned().unwrap_or_default();
    let ids: Vec<i64> = rows.iter().filter_map(|r| r["id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let newest = &rows[0];
    assert_eq!(newest["action"], "LOGIN_SUCCESS");
    assert_eq!(newest["actor_email"], demo_email(Role::Manager));
    assert!(
        newest["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    for key in [
        "id",
        "entity_type",
        "entity_id",
        "action",
        "old_value",
        "new_value",
        "context",
        "actor_user_id",
        "actor_email",
        "created_at",
    ] {
        assert!(newest.get(key).is_some(), "{key} missing");
    }

    let failures = list(&app, &manager, "action=LOGIN_FAILURE").await?;
    assert_eq!(failures["pagination"]["total"], 3);
    assert_eq!(failures["data"][0]["context"]["email"], "ghost@mami.local");

    let actor = newest["actor_user_id"].as_i64().unwrap_or_default();
    let by_actor = list(
        &app,
        &admin,
        &format!("actorId={actor}&entityType=user_login"),
    )
    .await?;
    assert_eq!(by_actor["pagination"]["total"], 1);
    let by_entity = list(
        &app,
        &admin,
        &format!("entityType=user_login&entityId={actor}"),
    )
    .await?;
    assert_eq!(by_entity["pagination"]["total"], 1);

    let page = list(&app, &admin, "limit=2&offset=1").await?;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["data"][0]["id"], rows[1]["id"]);
    assert_eq!(page["pagination"]["limit"], 2);
    let clamped = list(&app, &admin, "limit=100000").await?;
    assert_eq!(clamped["pagination"]["limit"], 100, "clamped to MAX_LIMIT");

    let future = list(&app, &admin, "dateFrom=2999-01-01").await?;
    assert_eq!(future["pagination"]["total"], 0);
    let today = chrono::Utc::now().date_naive().to_string();
    let until_today = list(&app, &admin, &format!("dateTo={today}")).await?;
    assert_eq!(
        until_today["pagination"]["total"], 5,
        "a bare dateTo covers the whole day"
    );
    Ok(())
}

#[tokio::test]
async fn a_failed_audit_write_rolls_the_change_back() -> R {
    let app = TestApp::spawn().await?;
    let token = app.token(Role::Customer).await?;
    app.fail_audit_writes(AuditFailure::OnInsert).await?;

    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({
                "email": "rollback@example.com",
                "password": "Secret123",
                "full_name": "Roll Back",
            })),
    )
    .await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (500, Some("UNEXPECTED_ERROR"))
    );
    assert!(
        !body.to_string().contains("audit refused"),
        "no internals leak: {body}"
    );

    let (status, _, _) = send(
        app.client
            .post(app.url("/api/v1/auth/change-password"))
            .bearer_auth(&token)
            .json(&json!({
                "current_password": mami_tests::DEMO_PASSWORD,
                "new_password": "Changed123",
            })),
    )
    .await?;
    assert_eq!(status, 500);

    app.allow_audit_writes().await?;
    let (status, _, _) = send(
        app.client
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({
                "email": "rollback@example.com",
                "password": "Secret123",
                "full_name": "Roll Back",
            })),
    )
    .await?;
    assert_eq!(status, 201, "the first attempt left no user behind");
    let (status, _, _) = send(
        app.client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&token),
    )
    .await?;
    assert_eq!(
        status, 200,
        "the password change was rolled back, so the token version did not move"
    );
    Ok(())
}
