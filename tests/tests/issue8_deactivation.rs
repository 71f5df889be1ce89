//! Issue 8, point 13: deactivating a user revokes every token issued before it, so that
//! reactivating the user does not bring the old tokens back.

use mami_domain::identity::Role;
use mami_tests::{DEMO_PASSWORD, Session, TestApp, access_token, log_in};
use reqwest::Method;
use serde_json::json;

type R = anyhow::Result<()>;

/// `GET /auth/me` with `token`: its status and error code ("" on success).
async fn me(app: &TestApp, token: &str) -> anyhow::Result<(u16, String)> {
    let r = app
        .session_with(token.to_owned())
        .get("/api/v1/auth/me")
        .await?;
    let code = if r.status == 200 {
        String::new()
    } else {
        r.code()
    };
    Ok((r.status, code))
}

async fn set_active(admin: &Session, user: i64, active: bool, how: &str) -> anyhow::Result<()> {
    let r = if how == "toggle" {
        let path = format!("/api/v1/admin/users/{user}/toggle?active={active}");
        admin.call(Method::PATCH, &path).await?
    } else {
        let req = admin
            .request(Method::PATCH, &format!("/api/v1/admin/users/{user}"))
            .json(&json!({"is_active": active}));
        mami_tests::Reply::of(req).await?
    };
    assert_eq!(r.status, 200, "{how} {active}: {}", r.body);
    Ok(())
}

#[tokio::test]
async fn reactivation_does_not_bring_old_tokens_back() -> R {
    let app = TestApp::spawn().await?;
    let admin = app.session(Role::Admin).await?;
    for how in ["toggle", "update"] {
        let shopper = app.shopper(&[]).create().await?;
        let login = log_in(&app.client, &app.address, &shopper.email, DEMO_PASSWORD).await?;
        let refresh = login["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let access = shopper.token.clone();
        assert_eq!(me(&app, &access).await?.0, 200);

        set_active(&admin, shopper.user_id, false, how).await?;
        assert_eq!(
            me(&app, &access).await?,
            (401, "AUTH_REQUIRED".into()),
            "{how}"
        );
        set_active(&admin, shopper.user_id, true, how).await?;
        assert_eq!(
            me(&app, &access).await?,
            (401, "TOKEN_REVOKED".into()),
            "{how}: the access token from before the deactivation stays dead"
        );
        let r = app
            .session_with(refresh)
            .call(Method::POST, "/api/v1/auth/refresh")
            .await?;
        assert_eq!(
            (r.status, r.code().as_str()),
            (401, "TOKEN_REVOKED"),
            "{how}: so does the refresh token"
        );

        let fresh = log_in(&app.client, &app.address, &shopper.email, DEMO_PASSWORD).await?;
        assert_eq!(
            me(&app, &access_token(&fresh)?).await?.0,
            200,
            "a new login works"
        );

        let audit = admin
            .get(&format!(
                "/api/v1/admin/audit?entityType=user&entityId={}",
                shopper.user_id
            ))
            .await?;
        let rows = audit.body["data"].as_array().cloned().unwrap_or_default();
        let off = rows
            .iter()
            .find(|r| r["new_value"]["is_active"] == false)
            .cloned()
            .unwrap_or_default();
        let version = off["old_value"]["token_version"].as_i64().unwrap_or(-1);
        assert!(version >= 0, "{how}: {off}");
        assert_eq!(off["new_value"]["token_version"], version + 1, "{how}");
        assert_eq!(off["context"]["tokens_revoked"], true, "{how}");
        let on = rows
            .iter()
            .find(|r| r["new_value"]["is_active"] == true)
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            on["new_value"]["token_version"], on["old_value"]["token_version"],
            "{how}: reactivation changes no version"
        );
    }
    Ok(())
}

#[tokio::test]
async fn other_changes_keep_the_users_tokens() -> R {
    let app = TestApp::spawn().await?;
    let admin = app.session(Role::Admin).await?;
    let shopper = app.shopper(&[]).create().await?;
    let req = admin
        .request(
            Method::PATCH,
            &format!("/api/v1/admin/users/{}", shopper.user_id),
        )
        .json(&json!({"full_name": "Renamed Shopper", "is_active": true}));
    let r = mami_tests::Reply::of(req).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(me(&app, &shopper.token).await?.0, 200);
    Ok(())
}
