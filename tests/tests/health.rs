//! Liveness and readiness.

use mami_tests::{TestApp, error_code, send};

#[tokio::test]
async fn health_and_readiness() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let (status, _, body) = send(app.client.get(app.url("/api/v1/health"))).await?;
    assert_eq!((status, body["data"]["status"].as_str()), (200, Some("ok")));
    let (status, _, body) = send(app.client.get(app.url("/api/v1/health/ready"))).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["checks"]["database"], true);
    assert_eq!(body["data"]["checks"]["migrations_current"], true);
    assert_eq!(body["data"]["checks"]["delivery_branch_present"], true);
    Ok(())
}

#[tokio::test]
async fn readiness_is_503_without_the_delivery_branch() -> anyhow::Result<()> {
    let app = TestApp::spawn_with(&[("DELIVERY_SOURCE_BRANCH_ID", "999")]).await?;
    let (status, headers, body) = send(app.client.get(app.url("/api/v1/health/ready"))).await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (503, "NOT_READY")
    );
    assert_eq!(
        body["error"]["details"]["checks"]["delivery_branch_present"],
        false
    );
    assert!(headers.contains_key("retry-after"));
    let (status, _, _) = send(app.client.get(app.url("/api/v1/health"))).await?;
    assert_eq!(status, 200, "liveness does not depend on the database");
    Ok(())
}
