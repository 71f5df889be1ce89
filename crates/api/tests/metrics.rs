//! Prometheus metrics, scraped as an operator would: the real `mami-api` binary with
//! `METRICS_ADDR` set, a few requests and checkouts, then `GET /metrics` on that address —
//! the example in docs/operations.md. The API's own port does not serve them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mami_tests::demo::{DECLINED, TOMATOES, VISA};
use mami_tests::{BinaryApp, Paysim, client, content_type, error_code, send};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_mami-api");

/// One sample of the exposition: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// `name{k="v",…} value` lines (label values may hold braces: route patterns do).
fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let Some((head, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let value: f64 = value.parse().unwrap_or(f64::NAN);
        let (name, mut rest) = match head.split_once('{') {
            Some((name, labels)) => (name, labels.strip_suffix('}').unwrap_or(labels)),
            None => (head, ""),
        };
        let mut labels = BTreeMap::new();
        while let Some((key, tail)) = rest.split_once("=\"") {
            let end = tail.find('"').unwrap_or(tail.len());
            labels.insert(key.to_owned(), tail[..end].to_owned());
            rest = tail[end..].trim_start_matches('"').trim_start_matches(',');
        }
        out.push((name.to_owned(), labels, value));
    }
    out
}

/// The sum of the samples of `name` whose labels include `labels`; `None` if there is none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

async fn scrape(address: &str) -> anyhow::Result<(String, Vec<Sample>)> {
    let resp = client()?.get(format!("{address}/metrics")).send().await?;
    anyhow::ensure!(resp.status() == 200, "scrape answered {}", resp.status());
    let ct = content_type(&resp);
    let text = resp.text().await?;
    let parsed = samples(&text);
    Ok((ct, parsed))
}

/// Requests the metrics must show: catalog reads under their patterns, unknown paths, and
/// four confirms (created, replayed, declined, refused for an empty cart).
async fn traffic(app: &BinaryApp) -> anyhow::Result<()> {
    let c = &app.client;
    for _ in 0..3 {
        let (status, _, _) =
            send(c.get(app.url("/api/v1/catalog/products/search?limit=2"))).await?;
        assert_eq!(status, 200);
    }
    for id in [1, 2] {
        let path = format!("/api/v1/catalog/products/{id}");
        assert_eq!(send(c.get(app.url(&path))).await?.0, 200);
    }
    for path in ["/api/v1/no-such-route", "/metrics"] {
        let (status, _, body) = send(c.get(app.url(path))).await?;
        assert_eq!(error_code(status, &body), "HTTP_404", "{path}");
    }
    let slot = app.slot().create().await?;
    let paying = app.shopper(&[(TOMATOES, 2)]).card(VISA).create().await?;
    assert_eq!(
        paying.confirm("m-1", &paying.delivery(slot)).await?.status,
        201
    );
    assert_eq!(
        paying.confirm("m-1", &paying.delivery(slot)).await?.status,
        200
    );
    let declined = app
        .shopper(&[(TOMATOES, 1)])
        .card(DECLINED)
        .create()
        .await?;
    let r = declined.confirm("m-2", &declined.delivery(slot)).await?;
    assert_eq!(r.code(), "PAYMENT_DECLINED");
    let empty = app.shopper(&[]).card(VISA).create().await?;
    assert_eq!(
        empty.confirm("m-3", &empty.delivery(slot)).await?.code(),
        "CART_EMPTY"
    );
    let (status, _, _) = send(
        c.post(app.url("/api/v1/auth/forgot-password"))
            .json(&json!({"email": "customer@mami.local"})),
    )
    .await?;
    assert!(status < 300, "{status}");
    Ok(())
}

#[tokio::test]
async fn metrics_are_scraped_from_their_own_address() -> anyhow::Result<()> {
    let provider = Paysim::start(2)?.url;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let metrics = format!("127.0.0.1:{port}");
    let app = BinaryApp::spawn(
        BIN,
        &[
            ("PAYMENT_PROVIDER_URL", &provider),
            ("METRICS_ADDR", &metrics),
            ("RECONCILE_INTERVAL_SECONDS", "1"),
            ("MAIL_POLL_SECONDS", "1"),
        ],
    )
    .await?;
    let metrics = format!("http://{metrics}");
    traffic(&app).await?;
    // The background passes run every second: wait (bounded) until each has been counted.
    let started = Instant::now();
    let (ct, s) = loop {
        let (ct, s) = scrape(&metrics).await?;
        let mailed = value(&s, "mami_mail_messages_total", &[("outcome", "sent")]);
        let led = value(&s, "mami_reconciler_passes_total", &[("result", "led")]);
        if mailed.is_some() && led.is_some() {
            break (ct, s);
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(20),
            "no mail or reconciler pass counted: {s:?}\n{}",
            app.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let http = "mami_http_request_duration_seconds_count";
    let count = |route: &str, status: &str| {
        value(&s, http, &[("route", route), ("status", status)]).unwrap_or(0.0)
    };
    assert_eq!(count("/api/v1/catalog/products/search", "200"), 3.0);
    assert_eq!(count("/api/v1/catalog/products/{product_id}", "200"), 2.0);
    assert_eq!(count("unmatched", "404"), 2.0);
    assert_eq!(count("/api/v1/checkout/confirm", "201"), 1.0);
    assert_eq!(count("/api/v1/checkout/confirm", "200"), 1.0);
    assert_eq!(count("/api/v1/checkout/confirm", "402"), 1.0);
    assert_eq!(count("/api/v1/checkout/confirm", "400"), 1.0);
    assert_eq!(
        value(
            &s,
            http,
            &[("route", "/api/v1/auth/login"), ("method", "POST")]
        ),
        Some(3.0),
        "one login per shopper"
    );
    // Raw paths never become labels.
    assert!(
        s.iter()
            .all(|(_, l, _)| l.get("route").is_none_or(|r| !r.ends_with("/1")))
    );
    let inf = [("route", "/api/v1/catalog/products/search"), ("le", "+Inf")];
    assert_eq!(
        value(&s, "mami_http_request_duration_seconds_bucket", &inf),
        Some(3.0)
    );
    assert_eq!(value(&s, "mami_http_requests_in_flight", &[]), Some(0.0));
    let checkout =
        |outcome: &str| value(&s, "mami_checkout_confirms_total", &[("outcome", outcome)]);
    assert_eq!(checkout("created"), Some(1.0));
    assert_eq!(checkout("replayed"), Some(1.0));
    assert_eq!(checkout("declined"), Some(1.0));
    assert_eq!(checkout("rejected"), Some(1.0));
    assert_eq!(checkout("payment_unavailable"), None);
    let pay = "mami_payment_provider_request_duration_seconds_count";
    let authorize =
        |outcome: &str| value(&s, pay, &[("operation", "authorize"), ("outcome", outcome)]);
    assert_eq!(authorize("ok"), Some(1.0));
    assert_eq!(authorize("declined"), Some(1.0));
    assert_eq!(value(&s, "mami_db_pool_max_connections", &[]), Some(8.0));
    let open = value(&s, "mami_db_pool_connections", &[]).unwrap_or(0.0);
    assert!((1.0..=8.0).contains(&open), "{open}");
    assert_eq!(value(&s, "mami_db_pool_waiting", &[]), Some(0.0));
    assert_eq!(value(&s, "mami_password_hashes_queued", &[]), Some(0.0));
    assert_eq!(value(&s, "mami_password_hashes_running", &[]), Some(0.0));
    assert_eq!(
        value(&s, "mami_mail_messages_total", &[("outcome", "sent")]),
        Some(1.0)
    );
    assert!(value(&s, "mami_mail_passes_total", &[("result", "ok")]) >= Some(1.0));
    assert!(value(&s, "mami_reconciler_passes_total", &[("result", "failed")]).is_none());
    // Only `/metrics` on the metrics address.
    let (status, _, body) = send(client()?.get(format!("{metrics}/api/v1/health"))).await?;
    assert_eq!(error_code(status, &body), "HTTP_404");
    Ok(())
}
