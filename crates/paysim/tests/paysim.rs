//! paysim through the real HTTP adapter: magic cards, idempotency, capture/cancel/refund and
//! the injected faults.

use std::net::TcpListener;
use std::time::Duration;

use mami_domain::Money;
use mami_domain::payments::{
    CardInput, IntentStatus, PaymentIntent, PaymentProvider, ProviderError,
};
use mami_payments::{HttpPaymentProvider, ProviderConfig};
use serde_json::{Value, json};

struct Sim {
    base: String,
    provider: HttpPaymentProvider,
    http: reqwest::Client,
}

async fn start() -> Sim {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let base = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let (_handle, server) = mami_paysim::serve(listener, 2).unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(server);
    let provider = HttpPaymentProvider::new(ProviderConfig {
        base_url: base.clone(),
        secret_key: "sk_test_paysim".into(),
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_millis(500),
        currency: "ils".into(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    Sim {
        base,
        provider,
        http: reqwest::Client::new(),
    }
}

impl Sim {
    async fn faults(&self, f: Value) {
        let r = self
            .http
            .post(format!("{}/__paysim/faults", self.base))
            .json(&f)
            .send()
            .await;
        assert!(r.is_ok_and(|r| r.status().is_success()));
    }

    async fn intents(&self) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/__paysim/intents", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        r.json().await.unwrap_or_default()
    }

    /// Authorizes `amount` on the simulator's always-approved card.
    async fn visa(
        &self,
        amount: i64,
        key: &str,
        reference: &str,
    ) -> Result<PaymentIntent, ProviderError> {
        let card = "pm_card_visa".to_owned();
        let (key, reference) = (key.to_owned(), reference.to_owned());
        self.provider
            .authorize(card, Money(amount), key, reference)
            .await
    }

    async fn card(&self, number: &str) -> String {
        let card = CardInput::parse(number, 12, 2030, Some("123"), (2026, 11))
            .unwrap_or_else(|e| panic!("{e:?}"));
        self.provider
            .tokenize(card, format!("tok-{number}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .provider_token
    }
}

#[tokio::test]
async fn magic_cards_decide_the_outcome() {
    let sim = start().await;
    let ok = sim.card("4242424242424242").await;
    let pi = sim
        .provider
        .authorize(ok, Money(4590), "a1".into(), "order 1".into())
        .await;
    assert_eq!(
        pi.map(|p| (p.status, p.amount_capturable)).ok(),
        Some((IntentStatus::RequiresCapture, Money(4590)))
    );
    let declined = sim.card("4000000000000002").await;
    let r = sim
        .provider
        .authorize(declined, Money(100), "a2".into(), "order 2".into())
        .await;
    assert!(
        matches!(r, Err(ProviderError::Declined { ref code, .. }) if code == "generic_decline"),
        "{r:?}"
    );
    let poor = sim.card("4000000000009995").await;
    let r = sim
        .provider
        .authorize(poor, Money(100), "a3".into(), "order 3".into())
        .await;
    assert!(
        matches!(r, Err(ProviderError::Declined { ref code, .. }) if code == "insufficient_funds"),
        "{r:?}"
    );
    let r = sim
        .provider
        .authorize(
            "pm_card_chargeDeclined".into(),
            Money(100),
            "a4".into(),
            "x".into(),
        )
        .await;
    assert!(matches!(r, Err(ProviderError::Declined { .. })));
    let r = sim
        .provider
        .authorize("pm_nope".into(), Money(100), "a5".into(), "x".into())
        .await;
    assert!(matches!(r, Err(ProviderError::InvalidRequest(_))));
}

#[tokio::test]
async fn a_key_is_honoured_once_and_refuses_other_parameters() {
    let sim = start().await;
    let first = sim.visa(1000, "order-9-auth", "o9").await;
    let again = sim.visa(1000, "order-9-auth", "o9").await;
    assert_eq!(
        first.as_ref().map(|p| p.id.clone()).ok(),
        again.map(|p| p.id).ok()
    );
    assert_eq!(sim.intents().await.len(), 1);
    let other = sim.visa(2000, "order-9-auth", "o9").await;
    assert!(matches!(other, Err(ProviderError::InvalidRequest(_))));
}

#[tokio::test]
async fn concurrent_requests_with_one_key_make_one_authorization() {
    let sim = start().await;
    sim.faults(json!({"latency_ms": 50})).await;
    let calls = (0..20).map(|_| sim.visa(500, "same", "r"));
    let results = futures_util::future::join_all(calls).await;
    let ids: std::collections::HashSet<String> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|p| p.id.clone()))
        .collect();
    assert_eq!(ids.len(), 1);
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(ProviderError::UnknownOutcome(_))))
    );
    assert_eq!(sim.intents().await.len(), 1);
}

#[tokio::test]
async fn injected_5xx_changes_nothing_and_a_retry_succeeds() {
    let sim = start().await;
    sim.faults(json!({"fail_next": 1})).await;
    let r = sim.visa(700, "k-5xx", "r").await;
    assert!(matches!(r, Err(ProviderError::UnknownOutcome(_))), "{r:?}");
    assert!(
        sim.intents().await.is_empty(),
        "a failure before processing leaves nothing"
    );
    let r = sim.visa(700, "k-5xx", "r").await;
    assert!(r.is_ok());
    assert_eq!(sim.intents().await.len(), 1);
}

#[tokio::test]
async fn charge_then_timeout_is_settled_by_replaying_the_key() {
    let sim = start().await;
    sim.faults(json!({"hang_after_effect_next": 1, "hang_ms": 2000}))
        .await;
    let r = sim.visa(900, "k-hang", "r").await;
    assert!(matches!(r, Err(ProviderError::UnknownOutcome(_))), "{r:?}");
    let intents = sim.intents().await;
    assert_eq!(
        intents.len(),
        1,
        "the authorization happened although the client timed out"
    );
    let replay = sim.visa(900, "k-hang", "r").await;
    assert_eq!(
        replay.map(|p| p.id).ok().as_deref(),
        intents[0]["id"].as_str(),
        "the replay returns that same authorization"
    );
    assert_eq!(sim.intents().await.len(), 1);
}

#[tokio::test]
async fn capture_cancel_refund() {
    let sim = start().await;
    let pi = sim
        .visa(5000, "c1", "r")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let captured = sim
        .provider
        .capture(pi.id.clone(), Money(4200), "c1-cap".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (captured.status, captured.amount_received),
        (IntentStatus::Succeeded, Money(4200))
    );
    assert!(matches!(
        sim.provider
            .capture(pi.id.clone(), Money(1), "c1-cap2".into())
            .await,
        Err(ProviderError::InvalidRequest(_))
    ));
    assert!(
        sim.provider
            .refund(pi.id.clone(), Money(4200), "c1-ref".into())
            .await
            .is_ok()
    );
    assert!(matches!(
        sim.provider.refund(pi.id, Money(1), "c1-ref2".into()).await,
        Err(ProviderError::InvalidRequest(_))
    ));
    let other = sim
        .visa(100, "c2", "r")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let voided = sim
        .provider
        .cancel(other.id.clone(), "c2-void".into())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(voided.status, IntentStatus::Canceled);
    assert_eq!(
        sim.provider.retrieve(other.id).await.map(|p| p.status).ok(),
        Some(IntentStatus::Canceled)
    );
}

#[tokio::test]
async fn a_missing_key_is_unauthorized() {
    let sim = start().await;
    let r = sim
        .http
        .post(format!("{}/v1/payment_intents", sim.base))
        .form(&[("amount", "1")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 401);
}
