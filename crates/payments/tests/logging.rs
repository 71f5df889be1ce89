//! A provider failure the client sees as 503 `PAYMENT_UNAVAILABLE` is logged with its cause
//! (HTTP status, timeout, refused connection), the operation and the idempotency key, at warn
//! level, inside the caller's span.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mami_domain::Money;
use mami_domain::payments::{PaymentProvider, ProviderError};
use mami_payments::{HttpPaymentProvider, ProviderConfig};
use serde_json::{Value, json};
use tracing::Instrument;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Log lines written by the subscriber of one test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut v) => v.extend_from_slice(buf),
            Err(poisoned) => poisoned.into_inner().extend_from_slice(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = match self.0.lock() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

fn provider(base: &str) -> HttpPaymentProvider {
    HttpPaymentProvider::new(ProviderConfig {
        base_url: base.to_owned(),
        secret_key: "sk_test_123".into(),
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(300),
        currency: "ils".into(),
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Authorizes inside a request span, as the API does; returns the result and the log lines.
async fn authorize_logged(base: &str, key: &str) -> (Result<(), ProviderError>, Vec<Value>) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let span = tracing::info_span!("request", request_id = "req-42");
    let result = provider(base)
        .authorize("pm_1".into(), Money(100), key.into(), "order 7".into())
        .instrument(span)
        .await
        .map(|_| ());
    (result, captured.lines())
}

fn the_warning(lines: &[Value]) -> &Value {
    let warnings: Vec<&Value> = lines.iter().filter(|l| l["level"] == "WARN").collect();
    assert_eq!(warnings.len(), 1, "one warning: {lines:?}");
    let w = warnings[0];
    assert_eq!(
        w["fields"]["message"], "payment provider call failed",
        "{w}"
    );
    assert_eq!(w["fields"]["operation"], "authorize", "{w}");
    assert_eq!(w["fields"]["idempotency_key"], "order-7-auth", "{w}");
    assert_eq!(
        w["span"]["request_id"], "req-42",
        "inside the request span: {w}"
    );
    w
}

async fn server_answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_5xx_is_logged_with_the_providers_status() {
    let server = server_answering(ResponseTemplate::new(503)).await;
    let (result, lines) = authorize_logged(&server.uri(), "order-7-auth").await;
    assert!(
        matches!(result, Err(ProviderError::UnknownOutcome(_))),
        "{result:?}"
    );
    let w = the_warning(&lines);
    assert_eq!(w["fields"]["outcome"], "unknown_outcome", "{w}");
    assert_eq!(w["fields"]["cause"], "provider answered HTTP 503", "{w}");
}

#[tokio::test]
async fn a_timeout_is_logged_as_one() {
    let slow = ResponseTemplate::new(200)
        .set_body_json(json!({"id": "pi_1", "status": "requires_capture"}))
        .set_delay(Duration::from_secs(2));
    let server = server_answering(slow).await;
    let (result, lines) = authorize_logged(&server.uri(), "order-7-auth").await;
    assert!(
        matches!(result, Err(ProviderError::UnknownOutcome(_))),
        "{result:?}"
    );
    let w = the_warning(&lines);
    let cause = w["fields"]["cause"].as_str().unwrap_or_default();
    assert!(
        cause.starts_with("no answer: timed out after 300 ms"),
        "{w}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_logged_with_the_systems_reason() -> std::io::Result<()> {
    // A port that was just free: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let (result, lines) =
        authorize_logged(&format!("http://127.0.0.1:{port}"), "order-7-auth").await;
    assert!(
        matches!(result, Err(ProviderError::Unavailable(_))),
        "{result:?}"
    );
    let w = the_warning(&lines);
    assert_eq!(w["fields"]["outcome"], "unavailable", "{w}");
    let cause = w["fields"]["cause"].as_str().unwrap_or_default();
    assert!(cause.starts_with("cannot connect"), "{w}");
    assert!(cause.contains("Connection refused"), "{w}");
    Ok(())
}

#[tokio::test]
async fn a_decline_is_not_a_provider_failure() {
    let declined = ResponseTemplate::new(402).set_body_json(
        json!({"error": {"type": "card_error", "code": "card_declined", "message": "Declined"}}),
    );
    let server = server_answering(declined).await;
    let (result, lines) = authorize_logged(&server.uri(), "order-7-auth").await;
    assert!(
        matches!(result, Err(ProviderError::Declined { .. })),
        "{result:?}"
    );
    assert!(lines.iter().all(|l| l["level"] != "WARN"), "{lines:?}");
}
