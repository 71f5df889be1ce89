//! The real `mami-api` binary: startup checks, request-id logging and draining on SIGTERM.

use std::process::Command;

use mami_domain::identity::Role;
use mami_tests::demo::{CARROTS, VISA};
use mami_tests::{BinaryApp, DEMO_PASSWORD, Paysim, TestDb, client, demo_email, send, test_env};
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
    assert!(String::from_utf8_lossy(&again.stdout).contains(
        "seeded 0 branch(es), 0 user(s), 0 categories, 0 product(s), 0 inventory row(s), \
         0 delivery slot(s)"
    ));
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

#[tokio::test]
async fn two_api_processes_on_one_database_never_oversell() -> anyhow::Result<()> {
    let paysim = Paysim::start(2)?;
    let mut app = BinaryApp::spawn(
        BIN,
        &[
            ("PAYMENT_PROVIDER_URL", &paysim.url),
            ("DATABASE_POOL_SIZE", "20"),
        ],
    )
    .await?;
    let second = app.another_process().await?;
    let buyers = app
        .shopper(&[(CARROTS, 1)])
        .registered()
        .card(VISA)
        .create_many(30)
        .await?;
    let race = app
        .race_for(CARROTS, 10, &buyers, &[&app.address, &second])
        .await?;
    assert_eq!(race.created, 10);
    assert_eq!(race.stock_left, 0);
    Ok(())
}

/// Each HTTP worker serves its requests from a connection pool of its own, opened and driven
/// on its thread (crates/postgres/src/pool.rs; how the connections are split is unit-tested there).
#[tokio::test]
async fn each_worker_binds_a_connection_pool_of_its_own() -> anyhow::Result<()> {
    let env = [
        ("WORKERS", "3"),
        ("DATABASE_POOL_SIZE", "11"),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info,mami_postgres::pool=debug"),
    ];
    let mut app = BinaryApp::spawn(BIN, &env).await?;
    let c = client()?;
    let list = format!("{}/api/v1/catalog/products/search?limit=5", app.address);
    let replies = futures_util::future::join_all((0..24).map(|_| send(c.get(&list)))).await;
    for reply in replies {
        assert_eq!(reply?.0, 200);
    }
    Command::new("kill")
        .args(["-TERM", &app.child.id().to_string()])
        .status()?;
    app.child.wait()?;
    let logs = app.logs();
    let mut bound: Vec<(u64, String)> = Vec::new();
    for line in logs
        .lines()
        .filter(|l| l.contains("bound to its connection pool"))
    {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let pool = v["fields"]["pool"].as_u64().unwrap_or(u64::MAX);
        let thread = v["fields"]["thread"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        bound.push((pool, thread));
    }
    bound.sort();
    let pools: Vec<u64> = bound.iter().map(|b| b.0).collect();
    assert_eq!(pools, [0, 1, 2], "{logs}");
    let mut threads: Vec<&str> = bound.iter().map(|b| b.1.as_str()).collect();
    threads.dedup();
    assert_eq!(threads.len(), 3, "{bound:?}");
    assert!(
        threads.iter().all(|t| t.starts_with("actix-server worker")),
        "{bound:?}"
    );
    Ok(())
}
