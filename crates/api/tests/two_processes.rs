//! Issue 12, point 4 (docs/scaling.md): two real `mami-api` processes on one database. Rate
//! limits are counted in each process's memory, so every process allows its own quota: N
//! processes behind a load balancer allow N times the configured rate. What lives in PostgreSQL
//! holds across them: a session ended at one process is refused at the other. (That stock is
//! never oversold across processes is `two_api_processes_on_one_database_never_oversell` in
//! crates/api/tests/binary.rs.) These tests live beside the binary, not in tests/tests, because
//! only this crate's tests are given its path (`CARGO_BIN_EXE_mami-api`).

use mami_domain::identity::Role;
use mami_tests::reqwest::Method;
use mami_tests::{BinaryApp, client};

const BIN: &str = env!("CARGO_BIN_EXE_mami-api");

/// The statuses of `n` requests of `GET /catalog/categories` at `address`.
async fn statuses(address: &str, n: usize) -> anyhow::Result<Vec<u16>> {
    let http = client()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let r = http
            .get(format!("{address}/api/v1/catalog/categories"))
            .send()
            .await?;
        out.push(r.status().as_u16());
    }
    Ok(out)
}

#[tokio::test]
async fn each_process_allows_its_own_rate_limit_quota() -> anyhow::Result<()> {
    let mut app = BinaryApp::spawn(
        BIN,
        &[
            ("RATE_LIMIT_ENABLED", "true"),
            ("RATE_LIMIT_DEFAULTS", "3 per hour"),
        ],
    )
    .await?;
    let other = app.another_process().await?;
    let first = statuses(&app.address, 4).await?;
    assert_eq!(
        first,
        [200, 200, 200, 429],
        "the first process counts its own quota"
    );
    // The same client, the same route, one database: the second process has counted nothing.
    let second = statuses(&other, 4).await?;
    assert_eq!(
        second,
        [200, 200, 200, 429],
        "the second process allows its quota again"
    );
    // And neither forgets its own count because of the other.
    assert_eq!(statuses(&app.address, 1).await?, [429]);
    Ok(())
}

#[tokio::test]
async fn a_session_ended_at_one_process_is_refused_at_the_other() -> anyhow::Result<()> {
    let mut app = BinaryApp::spawn(BIN, &[]).await?;
    let other = app.another_process().await?;
    let here = app.session(Role::Customer).await?;
    let there = here.at(&other);
    assert_eq!(there.get("/api/v1/cart").await?.status, 200);
    assert_eq!(
        here.call(Method::POST, "/api/v1/auth/logout").await?.status,
        200
    );
    assert_eq!(there.get("/api/v1/cart").await?.status, 401);
    Ok(())
}
