//! API conventions: envelopes, parsing errors, 404/405/415, request ids, security headers,
//! CORS, rate limits and the OpenAPI document.

use mami_domain::identity::Role;
use mami_tests::{TestApp, error_code, send};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_is_405_in_the_envelope() -> R {
    let app = TestApp::spawn().await?;
    let (status, _, body) = send(app.client.get(app.url("/api/v1/nope"))).await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (404, "HTTP_404")
    );
    assert_eq!(
        body["error"]["message"],
        "We cannot find the requested resource."
    );

    let (status, _, body) = send(app.client.delete(app.url("/api/v1/auth/login"))).await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (405, "HTTP_405")
    );
    let (status, _, body) = send(app.client.get(app.url("/api/v1/auth/register"))).await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (405, "HTTP_405")
    );
    Ok(())
}

#[tokio::test]
async fn body_parsing_errors_use_the_envelope() -> R {
    let app = TestApp::spawn().await?;
    let url = app.url("/api/v1/auth/login");

    let (status, _, body) = send(
        app.client
            .post(&url)
            .header("content-type", "text/plain")
            .body("hi"),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (415, "HTTP_415")
    );

    let (status, _, body) = send(
        app.client
            .post(&url)
            .header("content-type", "application/json")
            .body("{\"email\":"),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "HTTP_400")
    );

    let (status, _, body) = send(
        app.client
            .post(&url)
            .header("content-type", "application/json")
            .body("null"),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "BAD_REQUEST")
    );
    assert_eq!(body["error"]["message"], "Missing JSON body");

    let (status, _, body) = send(
        app.client
            .post(&url)
            .json(&json!({"email": "a@b.co", "password": "Secret123", "remember": true})),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "VALIDATION_ERROR")
    );
    let err = &body["error"]["details"]["errors"][0];
    assert_eq!(err["loc"], json!(["remember"]));
    assert_eq!(err["type"], "extra_forbidden");
    assert!(err["msg"].is_string());

    let (status, _, body) = send(
        app.client
            .post(&url)
            .json(&json!({"email": 5, "password": "Secret123"})),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "VALIDATION_ERROR")
    );
    assert_eq!(
        body["error"]["details"]["errors"][0]["loc"],
        json!(["email"])
    );

    let (status, _, body) = send(
        app.client
            .post(&url)
            .json(&json!({"password": "Secret123"})),
    )
    .await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "VALIDATION_ERROR")
    );
    assert_eq!(body["error"]["details"]["errors"][0]["type"], "missing");
    Ok(())
}

#[tokio::test]
async fn bad_query_strings_are_validation_errors() -> R {
    let app = TestApp::spawn().await?;
    let token = app.token(Role::Admin).await?;
    let get = |q: &str| {
        app.client
            .get(app.url(&format!("/api/v1/admin/audit?{q}")))
            .bearer_auth(&token)
    };

    let (status, _, body) = send(get("colour=red")).await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "VALIDATION_ERROR")
    );
    assert_eq!(
        body["error"]["details"]["errors"][0]["loc"],
        json!(["query", "colour"])
    );
    assert_eq!(
        body["error"]["details"]["errors"][0]["type"],
        "extra_forbidden"
    );

    let (status, _, body) = send(get("actorId=abc")).await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "VALIDATION_ERROR")
    );
    assert_eq!(
        body["error"]["details"]["errors"][0]["loc"],
        json!(["query", "actorId"])
    );

    for q in ["limit=-1", "limit=ten", "offset=-5"] {
        let (status, _, body) = send(get(q)).await?;
        assert_eq!(
            (status, error_code(status, &body).as_str()),
            (400, "BAD_REQUEST"),
            "{q}"
        );
        assert_eq!(body["error"]["message"], "Invalid pagination parameters");
    }
    let (status, _, body) = send(get("dateFrom=yesterday")).await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "BAD_REQUEST")
    );
    Ok(())
}

#[tokio::test]
async fn request_id_is_echoed_or_generated_and_security_headers_are_set() -> R {
    let app = TestApp::spawn().await?;
    let (_, headers, _) = send(
        app.client
            .get(app.url("/api/v1/health"))
            .header("X-Request-Id", "abc-123"),
    )
    .await?;
    assert_eq!(headers["x-request-id"], "abc-123");

    for path in ["/api/v1/health", "/api/v1/nope"] {
        let (_, headers, _) = send(app.client.get(app.url(path))).await?;
        let id = headers["x-request-id"].to_str()?;
        assert_eq!(id.len(), 32, "{path}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-xss-protection"], "1; mode=block");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "no HSTS over plain HTTP"
        );
    }
    Ok(())
}

#[tokio::test]
async fn cors_allows_the_configured_origin_only() -> R {
    let app = TestApp::spawn().await?;
    let preflight = |origin: &str| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                app.url("/api/v1/checkout/confirm"),
            )
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,authorization,idempotency-key,x-request-id",
            )
    };
    let (status, headers, _) = send(preflight("http://localhost:5173")).await?;
    assert!(status == 200 || status == 204, "preflight status {status}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let allowed = headers["access-control-allow-headers"]
        .to_str()?
        .to_ascii_lowercase();
    for h in [
        "content-type",
        "authorization",
        "idempotency-key",
        "x-request-id",
    ] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }

    let (_, headers, _) = send(
        app.client
            .get(app.url("/api/v1/health"))
            .header("Origin", "http://localhost:5173"),
    )
    .await?;
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert!(
        headers["access-control-expose-headers"]
            .to_str()?
            .to_ascii_lowercase()
            .contains("x-request-id")
    );

    let (status, headers, body) = send(preflight("https://evil.example")).await?;
    assert!(!headers.contains_key("access-control-allow-origin"));
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (400, "HTTP_400")
    );
    let (status, headers, _) = send(
        app.client
            .get(app.url("/api/v1/health"))
            .header("Origin", "https://evil.example"),
    )
    .await?;
    assert_eq!(
        status, 200,
        "a non-browser request is served, just without CORS headers"
    );
    assert!(!headers.contains_key("access-control-allow-origin"));

    // A bare OPTIONS (no preflight headers) to any path is 204 with an empty body.
    let (status, _, body) = send(
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/anything")),
    )
    .await?;
    assert_eq!((status, body), (204, Value::Null));
    Ok(())
}

#[tokio::test]
async fn login_is_limited_to_five_per_minute_with_retry_after() -> R {
    let app = TestApp::spawn_with(&[("RATE_LIMIT_ENABLED", "true")]).await?;
    let body = json!({"email": "nobody@mami.local", "password": "Wrong1234"});
    for _ in 0..5 {
        let (status, _, _) =
            send(app.client.post(app.url("/api/v1/auth/login")).json(&body)).await?;
        assert_eq!(status, 400);
    }
    let (status, headers, resp) =
        send(app.client.post(app.url("/api/v1/auth/login")).json(&body)).await?;
    assert_eq!(
        (status, error_code(status, &resp).as_str()),
        (429, "HTTP_429")
    );
    let retry: u64 = headers["retry-after"].to_str()?.parse()?;
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(headers.contains_key("x-request-id"));

    // Health and preflight are never counted; other routes have their own counters.
    for _ in 0..60 {
        let (status, _, _) = send(app.client.get(app.url("/api/v1/health"))).await?;
        assert_eq!(status, 200);
    }
    let (status, _, _) = send(
        app.client
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({})),
    )
    .await?;
    assert_eq!(status, 400);
    Ok(())
}

#[tokio::test]
async fn default_limit_counts_each_route_and_answers_429() -> R {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_ENABLED", "true"),
        ("RATE_LIMIT_DEFAULTS", "3 per hour, 100 per day"),
    ])
    .await?;
    for _ in 0..3 {
        let (status, _, _) = send(app.client.get(app.url("/api/v1/auth/me"))).await?;
        assert_eq!(status, 401);
    }
    let (status, headers, body) = send(app.client.get(app.url("/api/v1/auth/me"))).await?;
    assert_eq!(
        (status, error_code(status, &body).as_str()),
        (429, "HTTP_429")
    );
    assert!(headers.contains_key("retry-after"));
    let (status, _, _) = send(app.client.post(app.url("/api/v1/auth/logout"))).await?;
    assert_eq!(status, 401, "another route has its own counter");
    for _ in 0..5 {
        let (status, _, _) = send(
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/me"))
                .header("Origin", "http://localhost:5173")
                .header("Access-Control-Request-Method", "GET"),
        )
        .await?;
        assert_ne!(status, 429, "preflight is not counted");
    }
    Ok(())
}

#[tokio::test]
async fn openapi_document_and_docs_page_are_served() -> R {
    let app = TestApp::spawn().await?;
    let (status, _, doc) = send(app.client.get(app.url("/api/v1/openapi.json"))).await?;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')));
    assert!(doc["paths"]["/api/v1/auth/login"]["post"].is_object());
    let resp = app.client.get(app.url("/api/v1/docs")).send().await?;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text().await?.contains("Mami supermarket API"),
        "the page embeds the document"
    );
    Ok(())
}
