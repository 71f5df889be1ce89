//! E-mail identity (issue 8, point 14): addresses that differ only in case or Unicode
//! compatibility forms are one account, and stored addresses are normalised by `migrate`
//! without locking anyone out.

use diesel_async::RunQueryDsl;
use mami_domain::identity::Role;
use mami_tests::{DEMO_PASSWORD, Reply, TestApp, demo_email};
use serde_json::json;

type R = anyhow::Result<()>;

async fn login(app: &TestApp, email: &str, password: &str) -> anyhow::Result<Reply> {
    Reply::of(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password})),
    )
    .await
}

#[tokio::test]
async fn a_look_alike_address_is_the_same_account() -> R {
    let app = TestApp::spawn().await?;
    let register = |email: &str| {
        Reply::of(
            app.client
                .post(app.url("/api/v1/auth/register"))
                .json(&json!({"email": email, "password": "Secret123", "full_name": "Dana Levi"})),
        )
    };
    let r = register("Dana@Example.com").await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["data"]["user"]["id"].clone();
    assert_eq!(r.body["data"]["user"]["email"], "dana@example.com");
    for look_alike in [
        "ｄａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "ＤＡＮＡ@example.com",
        "dana@ｅｘａｍｐｌｅ.com",
        " DANA@EXAMPLE.COM ",
    ] {
        let r = register(look_alike).await?;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "USER_EXISTS"),
            "{look_alike}"
        );
        let r = login(&app, look_alike, "Secret123").await?;
        assert_eq!(r.status, 200, "{look_alike}: {}", r.body);
        assert_eq!(r.body["data"]["user"]["id"], id, "{look_alike}");
    }
    // Full case folding, not lower-casing.
    assert_eq!(register("STRASSE@example.de").await?.status, 201);
    let r = register("straße@example.de").await?;
    assert_eq!((r.status, r.code().as_str()), (400, "USER_EXISTS"));
    // The demo customer, typed in full width.
    let r = login(
        &app,
        "ＣＵＳＴＯＭＥＲ＠ＭＡＭＩ．ＬＯＣＡＬ",
        DEMO_PASSWORD,
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    Ok(())
}

#[tokio::test]
async fn migrate_normalises_stored_addresses_and_keeps_logins_working() -> R {
    let app = TestApp::spawn().await?;
    let customer = demo_email(Role::Customer);
    let mut c = app.conn().await?;
    // Rows as an earlier version stored them: as typed.
    let legacy = |email: &str| {
        format!(
            "INSERT INTO users (email, full_name, password_hash) SELECT '{email}', 'Legacy', \
             password_hash FROM users WHERE email = '{customer}'"
        )
    };
    for email in [
        "Legacy.User@Example.COM",
        "ｗｉｄｅ@example.com",
        "ｃｕｓｔｏｍｅｒ@mami.local",
    ] {
        diesel::sql_query(legacy(email)).execute(&mut c).await?;
    }
    let id = |email: &'static str| app.user_id(email);
    let (typed, wide, clash) = (
        id("Legacy.User@Example.COM").await?,
        id("ｗｉｄｅ@example.com").await?,
        id("ｃｕｓｔｏｍｅｒ@mami.local").await?,
    );
    // An address that differs from its normal form only in case signs in already.
    let r = login(&app, "legacy.user@example.com", DEMO_PASSWORD).await?;
    assert_eq!(r.status, 200, "{}", r.body);

    let done = app.db.normalize_stored_emails().await?;
    assert_eq!(
        (done.changed, done.clashing),
        (vec![typed, wide], vec![clash])
    );
    assert_eq!(app.user_id("legacy.user@example.com").await?, typed);
    assert_eq!(app.user_id("wide@example.com").await?, wide);
    assert_eq!(app.audit_count("user", "EMAIL_NORMALIZED").await?, 2);
    for (email, user) in [
        ("LEGACY.USER@example.com", typed),
        ("ｗｉｄｅ@example.com", wide),
    ] {
        let r = login(&app, email, DEMO_PASSWORD).await?;
        assert_eq!(r.status, 200, "{email}: {}", r.body);
        assert_eq!(r.body["data"]["user"]["id"], user);
    }
    // The look-alike keeps its stored address; the address reaches the original account.
    assert_eq!(app.user_id("ｃｕｓｔｏｍｅｒ@mami.local").await?, clash);
    let r = login(&app, "ｃｕｓｔｏｍｅｒ@mami.local", DEMO_PASSWORD).await?;
    assert_eq!(r.body["data"]["user"]["email"], customer);

    let again = app.db.normalize_stored_emails().await?;
    assert_eq!((again.changed.len(), again.clashing), (0, vec![clash]));
    assert!(app.db.migrate().await?.is_empty());
    Ok(())
}
