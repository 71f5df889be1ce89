//! The real `mami-api` binary: startup checks, request-id logging and draining on SIGTERM.

use std::process::Command;

use mami_domain::identity::Role;
use mami_tests::{BinaryApp, DEMO_PASSWORD, TestDb, client, demo_email, send, test_env};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_mami-api");

fn run(args: &[&str], env: &[(String, String)]) -> std::io::Result<std::process::Output> {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .output()
}

#[test]
fn a_bad_variable_stops_startup_with_one_line_naming_it() -> anyhow::Result<()> {
    let cases: Vec<(Vec<(String, String)>, &str)> = vec![
        (
            vec![("APP_ENV".into(), "development".into())],
            "DATABASE_URL",
        ),
        (
            test_env(
                "postgres://x@127.0.0.1:1/db",
                &[("JWT_ACCESS_TOKEN_EXPIRES_MINUTES", "soon")],
            ),
            "JWT_ACCESS_TOKEN_EXPIRES_MINUTES",
        ),
        (
            test_env(
                "postgres://x@127.0.0.1:1/db",
                &[("APP_ENV", "production"), ("JWT_SECRET_KEY", "short")],
            ),
            "JWT_SECRET_KEY",
        ),
        (
            test_env(
                "postgres://x@127.0.0.1:1/db",
                &[
                    ("APP_ENV", "production"),
                    ("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef!"),
                    ("CORS_ALLOWED_ORIGINS", "*"),
                ],
            ),
            "CORS_ALLOWED_ORIGINS",
        ),
    ];
    for (env, var) in cases {
        let out = run(&["serve"], &env)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{var}: {stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
    Ok(())
}

#[tokio::test]
async fn serving_refuses_a_missing_delivery_branch_and_migrate_and_seed_are_idempotent()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let out = run(
        &["serve"],
        &test_env(&db.url, &[("DELIVERY_SOURCE_BRANCH_ID", "999")]),
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("DELIVERY_SOURCE_BRANCH_ID=999"), "{stderr}");
    assert!(stderr.contains("mami-api seed"), "{stderr}");

    // migrate is a no-op on a current schema.
    let out = run(&["migrate"], &test_env(&db.url, &[]))?;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to apply"));
    // seed twice creates nothing the second time.
    assert!(run(&["seed"], &test_env(&db.url, &[]))?.status.success());
    let again = run(&["seed"], &test_env(&db.url, &[]))?;
    assert!(String::from_utf8_lossy(&again.stdout).contains("seeded 0 branch(es), 0 user(s), 0 categories, 0 product(s), 0 inventory row(s), 0 delivery slot(s)"));
    Ok(())
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_id() -> anyhow::Result<()> {
    let app = BinaryApp::spawn(BIN, &[("LOG_FORMAT", "json")]).await?;
    let c = client()?;
    let (status, headers, _) = send(
        c.get(format!("{}/api/v1/auth/me", app.address))
            .header("X-Request-Id", "trace-me-42"),
    )
    .await?;
    assert_eq!(status, 401);
    assert_eq!(headers["x-request-id"], "trace-me-42");
    // Stop the server so that its log is complete.
    Command::new("kill")
        .args(["-TERM", &app.child.id().to_string()])
        .status()?;
    let mut app = app;
    app.child.wait()?;
    let logs = app.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("/api/v1/auth/me"))
        .collect();
    assert!(!lines.is_empty(), "{logs}");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line)?;
        assert_eq!(v["span"]["request_id"], "trace-me-42", "{line}");
    }
    Ok(())
}

#[tokio::test]
async fn sigterm_drains_requests_in_flight() -> anyhow::Result<()> {
    let mut app = BinaryApp::spawn(BIN, &[("WORKERS", "1")]).await?;
    let c = client()?;
    let body = json!({"email": demo_email(Role::Customer), "password": DEMO_PASSWORD});
    let url = format!("{}/api/v1/auth/login", app.address);
    // Logins are slow on purpose (argon2id): a batch keeps the single worker busy.
    let mut pending: Vec<_> = (0..12)
        .map(|_| tokio::spawn(send(c.post(&url).json(&body))))
        .collect();
    // Once the first answer is back, the rest are accepted and in flight.
    let first = pending.remove(0).await??;
    assert_eq!(first.0, 200);
    Command::new("kill")
        .args(["-TERM", &app.child.id().to_string()])
        .status()?;
    for p in pending {
        let (status, _, body) = p.await??;
        assert_eq!(status, 200, "{body}");
    }
    let exit = app.child.wait()?;
    assert!(exit.success(), "{exit:?}: {}", app.logs());
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

#[tokio::test]
async fn two_api_processes_on_one_database_never_oversell() -> anyhow::Result<()> {
    use diesel_async::RunQueryDsl;
    let paysim_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let paysim = format!("http://{}", paysim_listener.local_addr()?);
    let (_, server) = mami_paysim::serve(paysim_listener, 2)?;
    tokio::spawn(server);
    let mut app = BinaryApp::spawn(
        BIN,
        &[
            ("PAYMENT_PROVIDER_URL", &paysim),
            ("DATABASE_POOL_SIZE", "20"),
        ],
    )
    .await?;
    let second = app.another_process(BIN).await?;
    let mut conn = app.test_db.connect().await?;
    diesel::sql_query(
        "UPDATE inventory SET available_quantity = 10 WHERE product_id = 9 AND branch_id = 1",
    )
    .execute(&mut conn)
    .await?;
    let c = client()?;
    let mut shoppers = Vec::new();
    for i in 0..30 {
        let email = format!(
            "proc{i}-{}@mami.local",
            &uuid::Uuid::new_v4().simple().to_string()[..6]
        );
        let (s, _, b) = send(
            c.post(format!("{}/api/v1/auth/register", app.address))
                .json(&json!({"email": email, "password": "Secret123", "full_name": "Two Proc"})),
        )
        .await?;
        assert_eq!(s, 201, "{b}");
        let token = b["data"]["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let user = b["data"]["user"]["id"].as_i64().unwrap_or_default();
        diesel::sql_query(format!("INSERT INTO carts (user_id) VALUES ({user})"))
            .execute(&mut conn)
            .await?;
        let cart: Id = diesel::sql_query(format!("SELECT id FROM carts WHERE user_id = {user}"))
            .get_result(&mut conn)
            .await?;
        diesel::sql_query(format!("INSERT INTO cart_items (cart_id, product_id, quantity, unit_price) VALUES ({}, 9, 1, 5.00)", cart.id)).execute(&mut conn).await?;
        diesel::sql_query(format!("INSERT INTO payment_tokens (user_id, provider, provider_token, last4, is_default) VALUES ({user}, 'stripe', 'pm_card_visa', '4242', true)")).execute(&mut conn).await?;
        let pt: Id = diesel::sql_query(format!(
            "SELECT id FROM payment_tokens WHERE user_id = {user}"
        ))
        .get_result(&mut conn)
        .await?;
        shoppers.push((token, cart.id, pt.id));
    }
    let calls = shoppers.iter().enumerate().map(|(i, (t, cart, pt))| {
        let base = if i % 2 == 0 { app.address.clone() } else { second.clone() };
        let body = json!({"cart_id": cart, "payment_token_id": pt, "fulfillment_type": "DELIVERY", "delivery_slot_id": 1});
        send(c.post(format!("{base}/api/v1/checkout/confirm")).bearer_auth(t).header("Idempotency-Key", format!("p-{i}")).json(&body))
    });
    let mut created = 0;
    for r in futures_util::future::join_all(calls).await {
        let (s, _, b) = r?;
        match s {
            201 => created += 1,
            409 => assert_eq!(b["error"]["code"], "INSUFFICIENT_STOCK", "{b}"),
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert_eq!(created, 10);
    let left: Id = diesel::sql_query("SELECT available_quantity::bigint AS id FROM inventory WHERE product_id = 9 AND branch_id = 1").get_result(&mut conn).await?;
    assert_eq!(left.id, 0);
    Ok(())
}
