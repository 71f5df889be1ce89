//! Product pictures served by the API itself: every seeded product's `image_url` resolves, with
//! no network, to a well-formed, cacheable SVG; an unknown product is 404 in the envelope.

use diesel_async::RunQueryDsl;
use mami_tests::reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
};
use mami_tests::{TestApp, error_code, send};
use serde_json::Value;

type R = anyhow::Result<()>;

/// Checks that `body` is a well-formed XML document whose root is an SVG element: properly
/// nested and closed tags, quoted attributes, and no `<` or stray `&` in text or values.
fn well_formed_svg(body: &str) -> Result<(), String> {
    fn entity_ok(rest: &str) -> bool {
        let Some(end) = rest.find(';') else {
            return false;
        };
        let name = &rest[1..end];
        matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
            || name
                .strip_prefix("#x")
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            || name
                .strip_prefix('#')
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
    }
    fn text_ok(text: &str) -> bool {
        !text.contains('<') && text.match_indices('&').all(|(i, _)| entity_ok(&text[i..]))
    }
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body.trim_start();
    let mut root_seen = false;
    while let Some(open) = rest.find('<') {
        if !text_ok(&rest[..open]) || (stack.is_empty() && !rest[..open].trim().is_empty()) {
            return Err(format!("bad text before {:?}", &rest[open..]));
        }
        let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name.trim()) {
                return Err(format!("unbalanced </{name}>"));
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = tag.split_whitespace().next().ok_or("empty tag")?;
        if stack.is_empty() {
            if root_seen || name != "svg" {
                return Err(format!("root element {name}"));
            }
            root_seen = true;
            if !tag.contains(r#"xmlns="http://www.w3.org/2000/svg""#) {
                return Err("no SVG namespace".into());
            }
        }
        let mut attrs = tag[name.len()..].trim();
        while !attrs.is_empty() {
            let (key, value) = attrs
                .split_once("=\"")
                .ok_or(format!("attribute {attrs}"))?;
            let end = value.find('"').ok_or("unquoted attribute")?;
            let key_ok = !key.trim().is_empty()
                && key
                    .trim()
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == ':');
            if !key_ok || !text_ok(&value[..end]) {
                return Err(format!("attribute {key}"));
            }
            attrs = value[end + 1..].trim_start();
        }
        if !self_closing {
            stack.push(name.to_owned());
        }
    }
    if !root_seen || !stack.is_empty() || !rest.trim().is_empty() {
        return Err(format!("unclosed elements {stack:?} or trailing text"));
    }
    Ok(())
}

#[test]
fn the_svg_check_refuses_what_it_should() {
    let ok = r#"<svg xmlns="http://www.w3.org/2000/svg"><text x="1">A &amp; B</text></svg>"#;
    assert_eq!(well_formed_svg(ok), Ok(()));
    for bad in [
        r#"<svg xmlns="http://www.w3.org/2000/svg"><text>A & B</text></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><text></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><text x=1>A</text></svg>"#,
        r#"<svg xmlns="http://www.w3.org/2000/svg"><title>a<b</title></svg>"#,
        r#"<html><body/></html>"#,
        r#"<svg><text/></svg>"#,
        "{\"error\": {}}",
    ] {
        assert!(well_formed_svg(bad).is_err(), "{bad}");
    }
}

/// Every seeded product, as the catalog lists it.
async fn all_products(app: &TestApp) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    for offset in [0, 100] {
        let (status, _, body) = send(app.client.get(app.url(&format!(
            "/api/v1/catalog/products/search?limit=100&offset={offset}"
        ))))
        .await?;
        assert_eq!(status, 200, "{body}");
        all.extend(body["data"].as_array().cloned().unwrap_or_default());
    }
    Ok(all)
}

#[tokio::test]
async fn every_seeded_image_url_is_a_picture_the_api_serves() -> R {
    let app = TestApp::spawn().await?;
    let products = all_products(&app).await?;
    assert_eq!(products.len(), 180);
    for p in &products {
        let url = p["image_url"].as_str().unwrap_or_default();
        assert_eq!(
            url,
            format!("/api/v1/images/products/{}.svg", p["id"]),
            "a relative URL on this API: {p}"
        );
        let resp = app.client.get(app.url(url)).send().await?;
        assert_eq!(resp.status(), 200, "{url}");
        assert_eq!(resp.headers()[CONTENT_TYPE], "image/svg+xml", "{url}");
        let body = resp.text().await?;
        if let Err(e) = well_formed_svg(&body) {
            panic!("{url}: {e}: {body}");
        }
        let name = p["name"].as_str().unwrap_or_default();
        assert!(body.contains(&format!("<title>{name}</title>")), "{body}");
    }
    Ok(())
}

#[tokio::test]
async fn a_picture_is_cacheable_and_coloured_by_category() -> R {
    let app = TestApp::spawn().await?;
    let url = app.url("/api/v1/images/products/1.svg");
    let (status, headers, body) = send(app.client.get(&url)).await?;
    assert_eq!(status, 200);
    assert_eq!(headers[CACHE_CONTROL], "public, max-age=3600");
    assert!(
        headers[CONTENT_SECURITY_POLICY]
            .to_str()?
            .starts_with("default-src 'none'")
    );
    let etag = headers[ETAG].to_str()?.to_owned();
    let (status, headers, empty) = send(app.client.get(&url).header(IF_NONE_MATCH, &etag)).await?;
    assert_eq!(status, 304, "{empty}");
    assert_eq!(headers[ETAG], etag.as_str());
    assert_eq!(empty, Value::Null);

    // Product 1 and 13 are in categories 1 and 2 (12 products each): different colours.
    let svg = body.as_str().unwrap_or_default().to_owned();
    let (_, _, other) = send(app.client.get(app.url("/api/v1/images/products/13.svg"))).await?;
    let fill = |svg: &str| {
        svg.split("fill=\"hsl(")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .map(str::to_owned)
    };
    assert!(fill(&svg).is_some(), "{svg}");
    assert_ne!(fill(&svg), fill(other.as_str().unwrap_or_default()));
    Ok(())
}

#[tokio::test]
async fn unknown_products_are_404_and_names_cannot_inject_markup() -> R {
    let app = TestApp::spawn().await?;
    for path in [
        "/api/v1/images/products/999999.svg",
        "/api/v1/images/products/0.svg",
    ] {
        let (status, headers, body) = send(app.client.get(app.url(path))).await?;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (404, "NOT_FOUND"),
            "{path}"
        );
        assert_eq!(headers[CONTENT_TYPE], "application/json", "{path}");
    }
    // An inactive product has no picture either, like its catalog page.
    let mut conn = app.conn().await?;
    diesel::sql_query("UPDATE products SET is_active = false WHERE id = 2")
        .execute(&mut conn)
        .await?;
    let (status, _, _) = send(app.client.get(app.url("/api/v1/images/products/2.svg"))).await?;
    assert_eq!(status, 404);
    // A name with markup (admin input) stays text in the picture.
    diesel::sql_query(
        "UPDATE products SET name = '<script>alert(1)</script> & \"Fish\"' WHERE id = 3",
    )
    .execute(&mut conn)
    .await?;
    let (status, _, body) = send(app.client.get(app.url("/api/v1/images/products/3.svg"))).await?;
    let svg = body.as_str().unwrap_or_default();
    assert_eq!(status, 200);
    assert_eq!(well_formed_svg(svg), Ok(()), "{svg}");
    assert!(!svg.contains("<script"), "{svg}");
    Ok(())
}
