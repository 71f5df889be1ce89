//! Registration codes: the reference's gate, codes and limits; codes stored as digests, mailed
//! through the outbox, valid 10 minutes, once, and for five wrong guesses at most.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_domain::identity::Role;
use mami_postgres::schema::registration_otps as otp;
use mami_tests::{Reply, TestApp, demo_email};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

async fn send_code(app: &TestApp, body: Value) -> anyhow::Result<Reply> {
    Reply::of(
        app.client
            .post(app.url("/api/v1/auth/register/send-otp"))
            .json(&body),
    )
    .await
}

async fn verify(app: &TestApp, email: &str, code: &str) -> anyhow::Result<Reply> {
    Reply::of(
        app.client
            .post(app.url("/api/v1/auth/register/verify-otp"))
            .json(&json!({"email": email, "code": code})),
    )
    .await
}

/// A four-digit code other than `code`.
fn other_than(code: &str) -> String {
    if code == "1000" { "1001" } else { "1000" }.to_owned()
}

#[tokio::test]
async fn a_code_is_mailed_stored_as_a_digest_and_verified_once() -> R {
    let app = TestApp::spawn().await?;
    let r = send_code(&app, json!({"email": "New.Customer@example.com"})).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["message"], "OTP sent");
    // Outside production the code is in the answer too (the reference's development aid).
    let code = r.body["data"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        code.len() == 4 && code.chars().all(|c| c.is_ascii_digit()),
        "{code}"
    );
    // Mail goes to the address in its normal form (issue 8: NFKC, then case folding).
    assert_eq!(
        app.registration_code_for("new.customer@example.com")
            .await?,
        code
    );

    let mut c = app.conn().await?;
    let (email, digest): (String, String) = otp::table
        .select((otp::email, otp::code_hash))
        .first(&mut c)
        .await?;
    assert_eq!(email, "new.customer@example.com");
    assert!(digest.len() == 64 && !digest.contains(&code), "{digest}");

    let r = verify(&app, "new.customer@example.com", &other_than(&code)).await?;
    assert_eq!(
        (r.status, r.code()),
        (400, "INVALID_REGISTRATION_OTP".into())
    );
    assert_eq!(r.body["error"]["message"], "Invalid or expired OTP code");
    let r = verify(&app, "NEW.customer@example.com", &code).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"], json!({"message": "OTP verified"}));
    let r = verify(&app, "new.customer@example.com", &code).await?;
    assert_eq!(
        (r.status, r.code()),
        (400, "INVALID_REGISTRATION_OTP".into()),
        "spent"
    );

    assert_eq!(app.audit_count("registration_otp", "SEND_CODE").await?, 1);
    assert_eq!(app.audit_count("registration_otp", "VERIFY_CODE").await?, 1);
    assert_eq!(
        app.audit_count("registration_otp", "VERIFY_CODE_FAILED")
            .await?,
        2
    );
    Ok(())
}

#[tokio::test]
async fn five_wrong_guesses_kill_a_code() -> R {
    let app = TestApp::spawn().await?;
    let r = send_code(&app, json!({"email": "guess@example.com"})).await?;
    let code = r.body["data"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for _ in 0..5 {
        let r = verify(&app, "guess@example.com", &other_than(&code)).await?;
        assert_eq!(r.body["error"]["message"], "Invalid or expired OTP code");
    }
    let r = verify(&app, "guess@example.com", &code).await?;
    assert_eq!(
        (r.status, r.code()),
        (400, "INVALID_REGISTRATION_OTP".into())
    );
    assert_eq!(
        r.body["error"]["message"],
        "Too many wrong codes; ask for a new code"
    );
    let mut c = app.conn().await?;
    let attempts: i32 = otp::table.select(otp::attempts).first(&mut c).await?;
    assert_eq!(attempts, 5);

    // A new code starts afresh, and its mail replaces the unsent mail of the old one.
    let r = send_code(&app, json!({"email": "guess@example.com"})).await?;
    let fresh = r.body["data"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let statuses: Vec<(String, bool)> = app
        .outbox()
        .await?
        .into_iter()
        .map(|m| (m.status, m.params.is_some()))
        .collect();
    assert_eq!(
        statuses,
        [("CANCELED".into(), false), ("PENDING".into(), true)]
    );
    assert_eq!(verify(&app, "guess@example.com", &fresh).await?.status, 200);
    Ok(())
}

#[tokio::test]
async fn a_code_dies_after_10_minutes() -> R {
    let app = TestApp::spawn().await?;
    let r = send_code(&app, json!({"email": "late@example.com"})).await?;
    let code = r.body["data"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut c = app.conn().await?;
    let ttl: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> = otp::table
        .select((otp::created_at, otp::expires_at))
        .load(&mut c)
        .await?;
    let seconds = (ttl[0].1 - ttl[0].0).num_seconds();
    assert!((599..=601).contains(&seconds), "{seconds} s");
    app.expire_secrets().await?;
    let r = verify(&app, "late@example.com", &code).await?;
    assert_eq!(
        (r.status, r.code()),
        (400, "INVALID_REGISTRATION_OTP".into())
    );
    Ok(())
}

#[tokio::test]
async fn codes_are_refused_for_taken_addresses_and_bad_input() -> R {
    let app = TestApp::spawn().await?;
    let taken = demo_email(Role::Customer).to_uppercase();
    let r = send_code(&app, json!({ "email": taken })).await?;
    assert_eq!((r.status, r.code()), (409, "USER_ALREADY_EXISTS".into()));
    for body in [json!({}), json!({"email": ""})] {
        let r = send_code(&app, body).await?;
        assert_eq!((r.status, r.code()), (400, "BAD_REQUEST".into()));
        assert_eq!(r.body["error"]["message"], "Email is required");
    }
    let r = send_code(&app, json!({"email": "no-at-sign"})).await?;
    assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR".into()));
    for code in ["12a4", "123", "12345"] {
        let r = verify(&app, "someone@example.com", code).await?;
        assert_eq!(
            (r.status, r.code()),
            (400, "VALIDATION_ERROR".into()),
            "{code}"
        );
        assert_eq!(
            r.body["error"]["details"]["errors"][0]["loc"],
            json!(["code"])
        );
    }
    let r = verify(&app, "someone@example.com", "1234").await?;
    assert_eq!(
        (r.status, r.code()),
        (400, "INVALID_REGISTRATION_OTP".into()),
        "none sent"
    );
    assert!(app.outbox().await?.is_empty());
    Ok(())
}

/// A production environment (complete, mail included) with `extra`.
fn production(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        ("APP_ENV", "production"),
        ("RATE_LIMIT_ENABLED", "true"),
        ("PAYMENT_PROVIDER_SECRET_KEY", "sk_test_paysim"),
        ("FRONTEND_BASE_URL", "https://shop.example"),
        ("BREVO_API_KEY", "xkeysib-test"),
        ("BREVO_API_URL", "http://127.0.0.1:9"),
        ("BREVO_SENDER_EMAIL", "shop@mami.example"),
        ("BREVO_RESET_TOKEN_OTP_ID", "11"),
        ("BREVO_REGISTER_OTP_ID", "12"),
    ];
    env.extend_from_slice(extra);
    env
}

#[tokio::test]
async fn production_refuses_codes_unless_enabled_and_never_shows_them() -> R {
    let app = TestApp::spawn_with(&production(&[])).await?;
    let r = send_code(&app, json!({"email": "new@example.com"})).await?;
    assert_eq!((r.status, r.code()), (403, "OTP_NOT_ENVIRONMENT".into()));
    let r = verify(&app, "new@example.com", "1234").await?;
    assert_eq!((r.status, r.code()), (403, "OTP_NOT_ENVIRONMENT".into()));
    // The gate comes before any other check, as in the reference.
    let r = send_code(&app, json!({})).await?;
    assert_eq!(r.status, 403);

    let app = TestApp::spawn_with(&production(&[("ENABLE_REGISTRATION_OTP", "true")])).await?;
    let r = send_code(&app, json!({"email": "new@example.com"})).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["data"],
        json!({"message": "OTP sent"}),
        "no code in production"
    );
    assert_eq!(app.outbox().await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn sending_is_limited_to_3_and_verifying_to_10_a_minute() -> R {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_ENABLED", "true")]).await?;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let r = send_code(&app, json!({"email": format!("limit{i}@example.com")})).await?;
        statuses.push(r.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(verify(&app, "limit0@example.com", "0000").await?.status);
    }
    assert_eq!(&statuses[..10], [400; 10]);
    assert_eq!(statuses[10], 429);
    Ok(())
}
