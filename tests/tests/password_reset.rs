//! Forgotten passwords: one answer for every address, a link mailed (through the outbox) only
//! to an active account, a token stored as a digest that works once and for 30 minutes, and a
//! reset that revokes every token issued before it.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::identity::Role;
use mami_postgres::schema::password_reset_tokens as prt;
use mami_tests::{DEMO_PASSWORD, Reply, TestApp, demo_email, log_in, send};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

const NEW_PASSWORD: &str = "Fresh2027!";

async fn forgot(app: &TestApp, email: Value) -> anyhow::Result<Reply> {
    Reply::of(
        app.client
            .post(app.url("/api/v1/auth/forgot-password"))
            .json(&json!({ "email": email })),
    )
    .await
}

async fn reset(app: &TestApp, email: &str, token: &str, password: &str) -> anyhow::Result<Reply> {
    Reply::of(
        app.client
            .post(app.url("/api/v1/auth/reset-password"))
            .json(&json!({"email": email, "token": token, "new_password": password})),
    )
    .await
}

#[tokio::test]
async fn every_address_gets_the_same_answer_and_only_an_active_account_a_link() -> R {
    let app = TestApp::spawn_with(&[("FRONTEND_BASE_URL", "https://shop.example/")]).await?;
    let inactive = app.shopper(&[]).create().await?;
    app.deactivate_user(&inactive.email).await?;
    let known = demo_email(Role::Customer);
    let mut answers = Vec::new();
    for email in [
        json!(known.to_uppercase()),
        json!("nobody@example.com"),
        json!(inactive.email),
        json!("not an address"),
    ] {
        let r = forgot(&app, email.clone()).await?;
        answers.push((r.status, r.body));
    }
    let expected = (
        200,
        json!({"data": {"message": "Password reset link sent"}}),
    );
    assert!(answers.iter().all(|a| *a == expected), "{answers:?}");

    let outbox = app.outbox().await?;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(
        (outbox[0].template.as_str(), outbox[0].recipient.as_str()),
        ("PASSWORD_RESET", known)
    );
    let token = app.reset_token_for(known).await?;
    let url = outbox[0].params.as_ref().map(|p| p["reset_url"].clone());
    assert_eq!(
        url,
        Some(json!(format!(
            "https://shop.example/reset-password?token={token}"
        )))
    );
    // Only a digest is stored, and the link works for 30 minutes.
    let mut c = app.conn().await?;
    let rows: Vec<(
        String,
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
    )> = prt::table
        .select((prt::token_hash, prt::created_at, prt::expires_at))
        .load(&mut c)
        .await?;
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].0, token);
    assert_eq!(rows[0].0.len(), 64);
    let ttl = (rows[0].2 - rows[0].1).num_seconds();
    assert!((1799..=1801).contains(&ttl), "{ttl} s");
    assert_eq!(
        app.audit_count("user_password_reset", "FORGOT_PASSWORD_REQUEST")
            .await?,
        3
    );

    for body in [json!({}), json!({"email": "  "}), json!({"email": null})] {
        let r = Reply::of(
            app.client
                .post(app.url("/api/v1/auth/forgot-password"))
                .json(&body),
        )
        .await?;
        assert_eq!((r.status, r.code()), (400, "BAD_REQUEST".into()), "{body}");
        assert_eq!(r.body["error"]["message"], "Email is required");
    }
    Ok(())
}

#[tokio::test]
async fn a_reset_works_once_and_revokes_every_earlier_token() -> R {
    let app = TestApp::spawn().await?;
    let dana = app.shopper(&[]).create().await?;
    let login = log_in(&app.client, &app.address, &dana.email, DEMO_PASSWORD).await?;
    let refresh = login["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Two links outstanding: spending one spends both.
    forgot(&app, json!(dana.email)).await?;
    let first = app.reset_token_for(&dana.email).await?;
    forgot(&app, json!(dana.email)).await?;
    let second = app.reset_token_for(&dana.email).await?;
    assert_ne!(first, second);

    let r = reset(&app, &dana.email, &second, NEW_PASSWORD).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["data"],
        json!({"message": "Password has been reset"})
    );
    for token in [&second, &first] {
        let r = reset(&app, &dana.email, token, "Another2028!").await?;
        assert_eq!(
            (r.status, r.code()),
            (400, "INVALID_OR_EXPIRED_TOKEN".into())
        );
    }

    // Every token issued before the reset is refused: access and refresh alike.
    let me = dana.get("/api/v1/me").await?;
    assert_eq!((me.status, me.code()), (401, "TOKEN_REVOKED".into()));
    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .bearer_auth(&refresh),
    )
    .await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("TOKEN_REVOKED"))
    );
    assert!(
        log_in(&app.client, &app.address, &dana.email, DEMO_PASSWORD)
            .await
            .is_err()
    );
    let fresh = log_in(&app.client, &app.address, &dana.email, NEW_PASSWORD).await?;
    let me = app.session_with(fresh["access_token"].as_str().unwrap_or_default().into());
    assert_eq!(me.get("/api/v1/me").await?.status, 200);
    assert_eq!(
        app.audit_count("user_password_reset", "RESET_PASSWORD")
            .await?,
        1
    );
    Ok(())
}

#[tokio::test]
async fn a_reset_link_dies_after_30_minutes() -> R {
    let app = TestApp::spawn().await?;
    let dana = app.shopper(&[]).create().await?;
    forgot(&app, json!(dana.email)).await?;
    let token = app.reset_token_for(&dana.email).await?;
    app.expire_secrets().await?;
    let r = reset(&app, &dana.email, &token, NEW_PASSWORD).await?;
    assert_eq!(
        (r.status, r.code()),
        (400, "INVALID_OR_EXPIRED_TOKEN".into())
    );
    assert!(
        log_in(&app.client, &app.address, &dana.email, DEMO_PASSWORD)
            .await
            .is_ok()
    );
    Ok(())
}

#[tokio::test]
async fn a_token_works_only_with_its_own_address_and_valid_input() -> R {
    let app = TestApp::spawn().await?;
    let dana = app.shopper(&[]).create().await?;
    let eli = app.shopper(&[]).create().await?;
    forgot(&app, json!(dana.email)).await?;
    let token = app.reset_token_for(&dana.email).await?;
    // Another account's address and an unknown one answer alike: no address is confirmed.
    for email in [eli.email.as_str(), "nobody@example.com"] {
        let r = reset(&app, email, &token, NEW_PASSWORD).await?;
        assert_eq!(
            (r.status, r.code()),
            (400, "INVALID_OR_EXPIRED_TOKEN".into()),
            "{email}"
        );
    }
    for (email, token, password, field) in [
        ("not-an-email", token.as_str(), NEW_PASSWORD, "email"),
        (dana.email.as_str(), "short", NEW_PASSWORD, "token"),
        (
            dana.email.as_str(),
            token.as_str(),
            "abcdefgh",
            "new_password",
        ),
    ] {
        let r = reset(&app, email, token, password).await?;
        assert_eq!(
            (r.status, r.code()),
            (400, "VALIDATION_ERROR".into()),
            "{field}"
        );
        assert_eq!(
            r.body["error"]["details"]["errors"][0]["loc"],
            json!([field])
        );
    }
    // The token is still good for its owner, in any case of the address.
    let r = reset(&app, &dana.email.to_uppercase(), &token, NEW_PASSWORD).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    Ok(())
}

#[tokio::test]
async fn concurrent_resets_with_one_token_succeed_once() -> R {
    let app = TestApp::spawn().await?;
    let second = app.another_instance().await?;
    let dana = app.shopper(&[]).create().await?;
    forgot(&app, json!(dana.email)).await?;
    let token = app.reset_token_for(&dana.email).await?;
    let calls = (0..6).map(|i| {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            second.clone()
        };
        let req = app
            .client
            .post(format!("{base}/api/v1/auth/reset-password"))
            .json(&json!({"email": dana.email, "token": token, "new_password": NEW_PASSWORD}));
        Reply::of(req)
    });
    let mut ok = 0;
    for r in futures_util::future::join_all(calls).await {
        let r = r?;
        match r.status {
            200 => ok += 1,
            _ => assert_eq!(r.code(), "INVALID_OR_EXPIRED_TOKEN", "{}", r.body),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        app.audit_count("user_password_reset", "RESET_PASSWORD")
            .await?,
        1
    );
    Ok(())
}

#[tokio::test]
async fn a_mail_provider_that_is_down_never_fails_the_request() -> R {
    // Brevo configured at an address where nothing listens.
    let app = TestApp::spawn_with(&[
        ("MAIL_PROVIDER", "brevo"),
        ("BREVO_API_URL", "http://127.0.0.1:9"),
        ("BREVO_API_KEY", "xkeysib-test"),
        ("BREVO_SENDER_EMAIL", "shop@mami.example"),
        ("BREVO_RESET_TOKEN_OTP_ID", "11"),
        ("BREVO_REGISTER_OTP_ID", "12"),
    ])
    .await?;
    let r = forgot(&app, json!(demo_email(Role::Customer))).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let report = app.state.accounts.postman.run_once().await?;
    assert_eq!((report.sent, report.retried), (0, 1));
    let row = &app.outbox().await?[0];
    assert_eq!((row.status.as_str(), row.attempts), ("PENDING", 1));
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.contains("cannot connect")),
        "{row:?}"
    );
    Ok(())
}
