//! Identity: register, login, refresh, logout, me, change password, token failures.

use chrono::Utc;
use mami_api::auth::TokenIssuer;
use mami_api::auth::jwt::Claims;
use mami_domain::identity::Role;
use mami_tests::{DEMO_PASSWORD, TestApp, demo_email, each, error_code, send};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

fn register_body(email: &str) -> Value {
    json!({"email": email, "password": "Secret123", "full_name": "דנה Levi", "phone": "0501234567"})
}

#[tokio::test]
async fn register_creates_a_customer_signs_in_and_audits() -> R {
    let app = TestApp::spawn().await?;
    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/register"))
            .header("X-Request-Id", "reg-1")
            .json(&register_body("New.Customer@example.com")),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    let d = &body["data"];
    assert_eq!(d["user"]["role"], "CUSTOMER");
    // Stored and answered in its normal form (NFKC, case-folded).
    assert_eq!(d["user"]["email"], "new.customer@example.com");
    assert_eq!(d["user"]["full_name"], "דנה Levi");
    assert!(d["user"]["id"].is_i64());
    assert_eq!(
        d["access_token"].as_str().map(|t| t.split('.').count()),
        Some(3)
    );
    assert!(d["refresh_token"].is_string());
    assert!(d["expires_at"].as_str().is_some_and(|s| s.ends_with('Z')));

    let (status, _, me) = send(
        app.client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(d["access_token"].as_str().unwrap_or_default()),
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["email"], "new.customer@example.com");

    let rows = app.audit_rows().await?;
    let reg = rows
        .iter()
        .find(|r| r.action == "REGISTER")
        .ok_or_else(|| anyhow::anyhow!("no REGISTER audit"))?;
    assert_eq!(reg.entity_type, "user");
    assert_eq!(reg.request_id.as_deref(), Some("reg-1"));

    // Same e-mail in another case is the same account.
    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/register"))
            .json(&register_body("new.customer@EXAMPLE.com")),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "USER_EXISTS")
    );
    Ok(())
}

#[tokio::test]
async fn register_refuses_privileged_roles_and_bad_input_without_500() -> R {
    let app = TestApp::spawn().await?;
    for role in ["ADMIN", "MANAGER", "EMPLOYEE"] {
        let mut b = register_body(&format!("{role}@example.com"));
        b["role"] = json!(role);
        let (status, _, body) =
            send(app.client.post(app.url("/api/v1/auth/register")).json(&b)).await?;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (403, "AUTHORIZATION_ERROR"),
            "{role}"
        );
    }
    let mut b = register_body("ok@example.com");
    b["role"] = json!("CUSTOMER");
    let (status, _, _) = send(app.client.post(app.url("/api/v1/auth/register")).json(&b)).await?;
    assert_eq!(status, 201);

    let cases = [
        (json!({"password": "abcdefgh"}), "password"),
        (json!({"password": "12345678"}), "password"),
        (json!({"password": "has space 1"}), "password"),
        (json!({"email": "not-an-email"}), "email"),
        (json!({"full_name": "R2D2"}), "full_name"),
        (json!({"phone": "123"}), "phone"),
        (json!({"role": "ROOT"}), "role"),
    ];
    for (patch, field) in cases {
        let mut b = register_body("x1@example.com");
        for (k, v) in patch.as_object().into_iter().flatten() {
            b[k] = v.clone();
        }
        let (status, _, body) =
            send(app.client.post(app.url("/api/v1/auth/register")).json(&b)).await?;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (400, "VALIDATION_ERROR"),
            "{field}: {body}"
        );
        let locs: Vec<&Value> = each(&body["error"]["details"]["errors"])
            .map(|e| &e["loc"])
            .collect();
        assert!(locs.contains(&&json!([field])), "{field}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn login_answers_and_audits_success_and_failure() -> R {
    let app = TestApp::spawn().await?;
    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "MANAGER@mami.local", "password": DEMO_PASSWORD})),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["user"]["role"], "MANAGER");

    for (email, password) in [
        ("manager@mami.local", "WrongPass1"),
        ("ghost@mami.local", DEMO_PASSWORD),
    ] {
        let (status, _, body) = send(
            app.client
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"email": email, "password": password})),
        )
        .await?;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (400, "INVALID_CREDENTIALS")
        );
        assert_eq!(body["error"]["message"], "Invalid email or password");
    }
    let rows = app.audit_rows().await?;
    assert_eq!(
        rows.iter().filter(|r| r.action == "LOGIN_SUCCESS").count(),
        1
    );
    assert_eq!(
        rows.iter().filter(|r| r.action == "LOGIN_FAILURE").count(),
        2
    );
    Ok(())
}

#[tokio::test]
async fn inactive_users_cannot_log_in_or_use_their_tokens() -> R {
    let app = TestApp::spawn().await?;
    let token = app.token(Role::Customer).await?;
    app.deactivate_user(demo_email(Role::Customer)).await?;
    let (status, _, body) = send(
        app.client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&token),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (401, "AUTH_REQUIRED")
    );
    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": demo_email(Role::Customer), "password": DEMO_PASSWORD})),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (403, "ACCOUNT_INACTIVE")
    );
    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": demo_email(Role::Customer), "password": "WrongPass1"})),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "INVALID_CREDENTIALS"),
        "a wrong password reveals nothing"
    );
    Ok(())
}

#[tokio::test]
async fn token_failures_are_401_with_specific_codes() -> R {
    let app = TestApp::spawn().await?;
    let me = app.url("/api/v1/auth/me");
    let issuer = TokenIssuer::new(
        b"test-secret-0123456789abcdef0123456789",
        chrono::Duration::minutes(5),
        chrono::Duration::days(1),
    );
    let now = Utc::now().timestamp();
    let claims = |kind: &str, exp: i64, role: Option<&str>| Claims {
        sub: "1".into(),
        role: role.map(str::to_owned),
        kind: kind.into(),
        fresh: false,
        iat: now - 10,
        nbf: now - 10,
        exp,
        jti: uuid::Uuid::new_v4().to_string(),
        sid: uuid::Uuid::new_v4().to_string(),
        ver: 0,
    };
    let expired = issuer.sign(&claims("access", now - 3600, Some("CUSTOMER")))?;
    let other_key = TokenIssuer::new(
        b"another-secret-0123456789abcdef012345",
        chrono::Duration::minutes(5),
        chrono::Duration::days(1),
    )
    .sign(&claims("access", now + 600, Some("CUSTOMER")))?;
    let login = app.login(Role::Customer).await?;
    let refresh = login["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "AUTH_REQUIRED"),
        (Some("Token abc".into()), "TOKEN_INVALID"),
        (Some("Bearer not.a.jwt".into()), "TOKEN_INVALID"),
        (Some("Bearer garbage".into()), "TOKEN_INVALID"),
        (Some(format!("Bearer {other_key}")), "TOKEN_INVALID"),
        (Some(format!("Bearer {expired}")), "TOKEN_EXPIRED"),
        (Some(format!("Bearer {refresh}")), "TOKEN_INVALID"),
    ];
    for (header, code) in cases {
        let mut req = app.client.get(&me);
        if let Some(h) = &header {
            req = req.header("Authorization", h);
        }
        let (status, _, body) = send(req).await?;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (401, code),
            "{header:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn forged_admin_role_claim_is_ignored() -> R {
    let app = TestApp::spawn().await?;
    let login = app.login(Role::Customer).await?;
    let issuer = TokenIssuer::new(
        app.config.jwt_secret.as_slice(),
        chrono::Duration::minutes(5),
        chrono::Duration::days(1),
    );
    // Re-sign the customer's own claims with role ADMIN (as someone holding the secret's twin
    // could).
    let token = login["access_token"].as_str().unwrap_or_default();
    let payload = token.split('.').nth(1).unwrap_or_default();
    let mut claims: Claims = serde_json::from_slice(&base64_url_decode(payload)?)?;
    claims.role = Some("ADMIN".into());
    let forged = issuer.sign(&claims)?;
    let (status, _, body) = send(
        app.client
            .get(app.url("/api/v1/admin/audit"))
            .bearer_auth(&forged),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (403, "AUTHORIZATION_ERROR")
    );
    Ok(())
}

fn base64_url_decode(s: &str) -> anyhow::Result<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .ok_or_else(|| anyhow::anyhow!("bad base64"))?;
        buf = (buf << 6) | u32::try_from(v)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buf >> bits) & 0xff)?);
        }
    }
    Ok(out)
}

#[tokio::test]
async fn refresh_rotates_and_a_refresh_token_works_once() -> R {
    let app = TestApp::spawn().await?;
    let login = app.login(Role::Employee).await?;
    let refresh = login["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let access = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .bearer_auth(&access),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (401, "TOKEN_INVALID"),
        "an access token cannot refresh"
    );

    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .bearer_auth(&refresh),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let new_access = body["data"]["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let new_refresh = body["data"]["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(new_refresh, refresh);
    let (status, _, me) = send(
        app.client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&new_access),
    )
    .await?;
    assert_eq!(
        (status, me["data"]["role"].as_str()),
        (200, Some("EMPLOYEE"))
    );

    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .bearer_auth(&refresh),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (401, "TOKEN_REVOKED"),
        "the old refresh token is spent"
    );
    let (status, _, _) = send(
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .bearer_auth(&new_refresh),
    )
    .await?;
    assert_eq!(status, 200);
    Ok(())
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_yield_one_new_pair() -> R {
    let app = TestApp::spawn().await?;
    let login = app.login(Role::Customer).await?;
    let refresh = login["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let futures = (0..8).map(|_| {
        send(
            app.client
                .post(app.url("/api/v1/auth/refresh"))
                .bearer_auth(&refresh),
        )
    });
    let results = futures_util::future::join_all(futures).await;
    let mut ok = 0;
    for r in results {
        let (status, _, body) = r?;
        if status == 200 {
            ok += 1;
        } else {
            assert_eq!(
                (status, error_code(status, &body).as_str()),
                (401, "TOKEN_REVOKED")
            );
        }
    }
    assert_eq!(ok, 1);
    Ok(())
}

#[tokio::test]
async fn logout_revokes_the_session() -> R {
    let app = TestApp::spawn().await?;
    let login = app.login(Role::Customer).await?;
    let access = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let refresh = login["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let other = app.token(Role::Customer).await?;

    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/logout"))
            .bearer_auth(&access),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = send(
        app.client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&access),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (401, "TOKEN_REVOKED")
    );
    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .bearer_auth(&refresh),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (401, "TOKEN_REVOKED")
    );
    let (status, _, _) = send(
        app.client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&other),
    )
    .await?;
    assert_eq!(status, 200, "another session of the same user is untouched");
    assert!(
        app.audit_rows()
            .await?
            .iter()
            .any(|r| r.action == "LOGOUT" && r.actor_user_id.is_some())
    );
    Ok(())
}

#[tokio::test]
async fn change_password_revokes_every_earlier_token() -> R {
    let app = TestApp::spawn().await?;
    let first = app.token(Role::Customer).await?;
    let second = app.token(Role::Customer).await?;
    let url = app.url("/api/v1/auth/change-password");

    let (status, _, body) = send(
        app.client
            .post(&url)
            .bearer_auth(&first)
            .json(&json!({"current_password": "WrongPass1", "new_password": "NewSecret9"})),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "INVALID_CREDENTIALS")
    );
    let (status, _, body) = send(
        app.client
            .post(&url)
            .bearer_auth(&first)
            .json(&json!({"current_password": DEMO_PASSWORD, "new_password": "abcdefgh"})),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "VALIDATION_ERROR")
    );

    let (status, _, body) = send(
        app.client
            .post(&url)
            .bearer_auth(&first)
            .json(&json!({"current_password": DEMO_PASSWORD, "new_password": "NewSecret9"})),
    )
    .await?;
    assert_eq!(
        (status, body["data"]["message"].as_str()),
        (200, Some("Password updated"))
    );
    for t in [&first, &second] {
        let (status, _, body) =
            send(app.client.get(app.url("/api/v1/auth/me")).bearer_auth(t)).await?;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (401, "TOKEN_REVOKED")
        );
    }
    let (status, _, _) = send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": demo_email(Role::Customer), "password": DEMO_PASSWORD})),
    )
    .await?;
    assert_eq!(status, 400);
    let (status, _, body) = send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": demo_email(Role::Customer), "password": "NewSecret9"})),
    )
    .await?;
    assert_eq!(status, 200);
    let fresh = body["data"]["access_token"].as_str().unwrap_or_default();
    let (status, _, _) = send(
        app.client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(fresh),
    )
    .await?;
    assert_eq!(status, 200, "a token issued after the change works");
    assert!(
        app.audit_rows()
            .await?
            .iter()
            .any(|r| r.action == "CHANGE_PASSWORD" && r.entity_type == "user")
    );
    Ok(())
}
