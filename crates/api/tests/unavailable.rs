//! A database that cannot be reached: a DB-backed route answers 503 `SERVICE_UNAVAILABLE` in
//! the error envelope with `Retry-After`, not a 500 (the pool says so; no message is read).

use std::net::TcpListener;
use std::time::Duration;

use actix_web::test::{TestRequest, call_service, init_service, read_body_json};
use mami_api::{AppState, Config, Shared, build_app};
use mami_postgres::Database;
use serde_json::Value;

/// A loopback port nobody listens on: bound once, then released.
fn closed_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[actix_web::test]
async fn an_unreachable_database_is_503_with_retry_after() -> anyhow::Result<()> {
    let url = format!("postgres://mami:mami@127.0.0.1:{}/mami", closed_port()?);
    let env: Vec<(String, String)> = [
        ("APP_ENV", "testing"),
        ("DATABASE_URL", url.as_str()),
        ("JWT_SECRET_KEY", "test-secret-0123456789abcdef0123456789"),
        ("RATE_LIMIT_ENABLED", "false"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let config = Config::from_env(&env).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = Database::connect(&url, 2, Duration::from_secs(1))?;
    let shared = Shared::new(AppState::new(config, db)?).map_err(anyhow::Error::msg)?;
    let app = init_service(build_app(shared)).await;

    let request = TestRequest::get()
        .uri("/api/v1/catalog/categories")
        .peer_addr("127.0.0.1:40000".parse()?)
        .to_request();
    let response = call_service(&app, request).await;
    assert_eq!(response.status().as_u16(), 503);
    let retry_after = response.headers().get("retry-after").cloned();
    let body: Value = read_body_json(response).await;
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert_eq!(body["error"]["status_code"], 503);
    assert!(
        retry_after.is_some_and(|v| v.to_str().is_ok_and(|s| s.parse::<u64>().is_ok())),
        "Retry-After carries a number of seconds"
    );
    Ok(())
}
