//! The HTTP adapter against a wiremock server: requests, idempotency keys and every outcome;
//! a failure the client sees as 503 `PAYMENT_UNAVAILABLE` is logged with its cause (HTTP status,
//! timeout, refused connection), the operation and the idempotency key, at warn level, inside
//! the caller's span.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mami_domain::Money;
use mami_domain::payments::{CardInput, IntentStatus, PaymentProvider, ProviderError};
use mami_payments::{HttpPaymentProvider, ProviderConfig};
use serde_json::{Value, json};
use tracing::Instrument;
use wiremock::matchers::{body_string_contains, header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

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

fn intent(status: &str) -> serde_json::Value {
    json!({
        "id": "pi_1",
        "object": "payment_intent",
        "status": status,
        "amount": 4590,
        "amount_capturable": 4590,
        "amount_received": 0,
    })
}

fn reply(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

fn error(message: &str) -> serde_json::Value {
    json!({"error": {"message": message}})
}

#[tokio::test]
async fn authorize_sends_a_manual_capture_intent_with_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .and(header("Idempotency-Key", "order-7-auth"))
        .and(header("authorization", "Bearer sk_test_123"))
        .and(body_string_contains("capture_method=manual"))
        .and(body_string_contains("amount=4590"))
        .and(body_string_contains("confirm=true"))
        .and(body_string_contains("payment_method=pm_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(intent("requires_capture")))
        .expect(1)
        .mount(&server)
        .await;
    let pi = provider(&server.uri())
        .authorize(
            "pm_1".into(),
            Money(4590),
            "order-7-auth".into(),
            "order 7".into(),
        )
        .await;
    let pi = pi.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (pi.id.as_str(), pi.status, pi.amount_capturable),
        ("pi_1", IntentStatus::RequiresCapture, Money(4590))
    );
}

#[tokio::test]
async fn outcomes_are_classified() {
    type Check = fn(&ProviderError) -> bool;
    let declined = json!({"error": {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    }});
    let slow = reply(200, intent("requires_capture")).set_delay(Duration::from_secs(2));
    let cases: Vec<(ResponseTemplate, Check)> = vec![
        (
            reply(402, declined),
            |e| matches!(e, ProviderError::Declined { code, .. } if code == "insufficient_funds"),
        ),
        (reply(400, error("No such payment_method")), |e| {
            matches!(e, ProviderError::InvalidRequest(_))
        }),
        (reply(401, error("Invalid API Key")), |e| {
            matches!(e, ProviderError::Unauthorized)
        }),
        (ResponseTemplate::new(429), |e| {
            matches!(e, ProviderError::RateLimited)
        }),
        (ResponseTemplate::new(500), |e| {
            matches!(e, ProviderError::UnknownOutcome(_))
        }),
        (ResponseTemplate::new(503), |e| {
            matches!(e, ProviderError::UnknownOutcome(_))
        }),
        (reply(409, error("in progress")), |e| {
            matches!(e, ProviderError::UnknownOutcome(_))
        }),
        (slow, |e| matches!(e, ProviderError::UnknownOutcome(_))),
    ];
    for (template, check) in cases {
        let server = server_answering(template).await;
        let r = provider(&server.uri())
            .authorize("pm_1".into(), Money(100), "k".into(), "r".into())
            .await;
        match r {
            Err(e) => assert!(check(&e), "unexpected classification {e:?}"),
            Ok(pi) => panic!("expected an error, got {pi:?}"),
        }
    }
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_and_a_read_5xx_is_unavailable() {
    // Nothing listens on this port: the request never left.
    let r = provider("http://127.0.0.1:9")
        .authorize("pm_1".into(), Money(100), "k".into(), "r".into())
        .await;
    assert!(matches!(r, Err(ProviderError::Unavailable(_))), "{r:?}");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents/pi_1"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let r = provider(&server.uri()).retrieve("pi_1".into()).await;
    assert!(
        matches!(r, Err(ProviderError::Unavailable(_))),
        "a failed read changed nothing: {r:?}"
    );
}

#[tokio::test]
async fn tokenize_capture_cancel_refund_and_retrieve() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_methods"))
        .and(body_string_contains("card%5Bnumber%5D=4242424242424242"))
        .and(header_exists("Idempotency-Key"))
        .respond_with(reply(
            200,
            json!({"id": "pm_9", "card": {
                "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030,
            }}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_1/capture"))
        .and(body_string_contains("amount_to_capture=3000"))
        .respond_with(reply(
            200,
            json!({
                "id": "pi_1",
                "status": "succeeded",
                "amount": 4590,
                "amount_capturable": 0,
                "amount_received": 3000,
            }),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_2/cancel"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "pi_2", "status": "canceled", "amount": 100})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(body_string_contains("payment_intent=pi_1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "re_1", "status": "succeeded"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payment_intents/pi_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(intent("requires_capture")))
        .mount(&server)
        .await;
    let p = provider(&server.uri());
    let card = CardInput::parse("4242 4242 4242 4242", 12, 2030, Some("123"), (2026, 11))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let token = p
        .tokenize(card, "tok-1".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            token.provider_token.as_str(),
            token.brand.as_deref(),
            token.last4.as_str()
        ),
        ("pm_9", Some("visa"), "4242")
    );
    let captured = p
        .capture("pi_1".into(), Money(3000), "cap".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (captured.status, captured.amount_received),
        (IntentStatus::Succeeded, Money(3000))
    );
    let canceled = p
        .cancel("pi_2".into(), "void".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(canceled.status, IntentStatus::Canceled);
    assert_eq!(
        p.refund("pi_1".into(), Money(500), "ref".into())
            .await
            .ok()
            .as_deref(),
        Some("re_1")
    );
    assert_eq!(
        p.retrieve("pi_1".into()).await.ok().map(|i| i.status),
        Some(IntentStatus::RequiresCapture)
    );
}

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

/// A provider whose `POST /v1/payment_intents` always answers `template`.
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
