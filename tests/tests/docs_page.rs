//! The interactive API page works without the internet: every asset it names is served by the
//! API itself, with the right content type, and none is an absolute http(s) URL. Also: the
//! metrics are not on the API's port unless configured.

use anyhow::Result;
use mami_tests::{TestApp, content_type, error_code, send};

/// Every `src="…"` and `href="…"` of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            out.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    out
}

/// The content type an asset must be served with, by its extension.
fn expected_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("css") => "text/css",
        Some("js") => "javascript",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "unexpected asset",
    }
}

#[tokio::test]
async fn the_docs_page_loads_every_asset_from_the_api_alone() -> Result<()> {
    let app = TestApp::spawn().await?;
    let resp = app.client.get(app.url("/api/v1/docs")).send().await?;
    assert_eq!(resp.status(), 200);
    let page_type = content_type(&resp);
    assert!(page_type.starts_with("text/html"), "{page_type}");
    let html = resp.text().await?;
    let assets = references(&html);
    assert!(assets.len() >= 5, "{html}");
    for a in &assets {
        assert!(
            a.starts_with("/api/v1/docs/"),
            "{a}: an asset outside the API (page: {html})"
        );
    }
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    assert!(assets.iter().any(|a| a.ends_with(".js")), "{assets:?}");
    assert!(assets.iter().any(|a| a.ends_with(".css")), "{assets:?}");
    // The script that starts the page names the document, which the API serves too.
    let mut fetched = assets.clone();
    fetched.push("/api/v1/openapi.json".to_owned());
    for a in &fetched {
        let resp = app.client.get(app.url(a)).send().await?;
        assert_eq!(resp.status(), 200, "{a}");
        let ct = content_type(&resp);
        assert!(ct.contains(expected_type(a)), "{a}: {ct}");
        let body = resp.bytes().await?;
        assert!(body.len() > 100, "{a}: {} bytes", body.len());
        if a.ends_with("swagger-initializer.js") {
            let js = String::from_utf8_lossy(&body);
            assert!(js.contains("\"/api/v1/openapi.json\""), "{js}");
            assert!(js.contains("\"validatorUrl\": \"none\""), "{js}");
        }
    }
    let (status, _, body) = send(app.client.get(app.url("/api/v1/docs/nothing.js"))).await?;
    assert_eq!(error_code(status, &body), "HTTP_404");
    Ok(())
}

#[tokio::test]
async fn metrics_are_not_served_on_the_api_port_by_default() -> Result<()> {
    let app = TestApp::spawn().await?;
    assert_eq!(app.config.metrics_addr, None);
    for path in ["/metrics", "/api/v1/metrics"] {
        let (status, _, body) = send(app.client.get(app.url(path))).await?;
        assert_eq!(error_code(status, &body), "HTTP_404", "{path}");
    }
    Ok(())
}
