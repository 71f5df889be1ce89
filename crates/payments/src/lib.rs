//! [`PaymentProvider`] over HTTP: a Stripe-compatible subset (form-encoded PaymentMethods,
//! PaymentIntents with `capture_method=manual`, capture, cancel, refunds), so a real Stripe
//! account or `mami-paysim` works by configuration alone.
//!
//! Every mutating call sends `Idempotency-Key`. Outcomes are classified for the business:
//! a refused connection is `Unavailable` (nothing happened), a timeout or 5xx after the request
//! was sent is `UnknownOutcome` (settle by repeating with the same key).
//!
//! The business only sees "unavailable" (a 503 to the client); the cause (the provider's HTTP
//! status, a timeout, a refused connection) is logged here at warn level with the operation and
//! the idempotency key, inside the caller's span, so the request id is on the same line.
//!
//! Every call is timed into the [`PROVIDER_DURATION`] histogram by operation and outcome (a
//! no-op unless the process installed a metrics recorder).

use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mami_domain::Money;
use mami_domain::payments::{
    CardInput, CardToken, IntentStatus, PaymentIntent, PaymentProvider, ProviderError,
};
use serde::Deserialize;
use serde_json::Value;

/// The histogram of provider calls (seconds), labelled `operation` (`tokenize`, `authorize`,
/// `capture`, `cancel`, `refund`, `retrieve`) and `outcome` (see [`outcome`]).
pub const PROVIDER_DURATION: &str = "mami_payment_provider_request_duration_seconds";

/// The `outcome` label of a call.
pub fn outcome<T>(result: &Result<T, ProviderError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(ProviderError::Declined { .. }) => "declined",
        Err(ProviderError::InvalidRequest(_)) => "invalid_request",
        Err(ProviderError::Unauthorized) => "unauthorized",
        Err(ProviderError::RateLimited) => "rate_limited",
        Err(ProviderError::Unavailable(_)) => "unavailable",
        Err(ProviderError::UnknownOutcome(_)) => "unknown_outcome",
    }
}

/// Timeouts and where the provider is.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// e.g. `https://api.stripe.com` or `http://127.0.0.1:12111` (paysim).
    pub base_url: String,
    pub secret_key: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// ISO currency, lower case.
    pub currency: String,
}

/// The HTTP client of the provider (one `reqwest::Client`, built once).
#[derive(Debug, Clone)]
pub struct HttpPaymentProvider {
    http: reqwest::Client,
    config: ProviderConfig,
}

impl HttpPaymentProvider {
    pub fn new(config: ProviderConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| format!("cannot build the payment HTTP client: {e}"))?;
        Ok(Self { http, config })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// Sends a request and classifies the outcome; `mutating` decides how a lost answer counts.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        mutating: bool,
    ) -> Result<Value, ProviderError> {
        let resp = match req.bearer_auth(&self.config.secret_key).send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return Err(ProviderError::Unavailable(self.cause("cannot connect", &e)));
            }
            Err(e) if mutating => {
                return Err(ProviderError::UnknownOutcome(self.cause("no answer", &e)));
            }
            Err(e) => return Err(ProviderError::Unavailable(self.cause("no answer", &e))),
        };
        let status = resp.status().as_u16();
        let body: Value = match resp.json().await {
            Ok(v) => v,
            Err(e) if (200..300).contains(&status) && mutating => {
                return Err(ProviderError::UnknownOutcome(format!(
                    "unreadable answer: {e}"
                )));
            }
            Err(_) => Value::Null,
        };
        let error = &body["error"];
        let message = error["message"].as_str().unwrap_or("").to_owned();
        match status {
            200..=299 => Ok(body),
            402 => Err(ProviderError::Declined {
                code: error["decline_code"]
                    .as_str()
                    .or(error["code"].as_str())
                    .unwrap_or("card_declined")
                    .to_owned(),
                message,
            }),
            401 | 403 => Err(ProviderError::Unauthorized),
            409 if mutating => Err(ProviderError::UnknownOutcome(format!(
                "provider answered HTTP 409 (request in progress): {message}"
            ))),
            429 => Err(ProviderError::RateLimited),
            400..=499 => Err(ProviderError::InvalidRequest(format!(
                "{status}: {message}"
            ))),
            _ if mutating => Err(ProviderError::UnknownOutcome(format!(
                "provider answered HTTP {status}"
            ))),
            _ => Err(ProviderError::Unavailable(format!(
                "provider answered HTTP {status}"
            ))),
        }
    }

    /// Why a request got no answer: a timeout (with the configured limit) or the error chain
    /// down to the operating system's reason ("Connection refused").
    fn cause(&self, what: &str, e: &reqwest::Error) -> String {
        let mut text = if e.is_timeout() && !e.is_connect() {
            format!(
                "{what}: timed out after {} ms",
                self.config.request_timeout.as_millis()
            )
        } else {
            what.to_owned()
        };
        let mut source: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }

    async fn post(
        &self,
        path: &str,
        form: &[(&str, String)],
        key: &str,
    ) -> Result<Value, ProviderError> {
        let req = self
            .http
            .post(self.url(path))
            .header("Idempotency-Key", key)
            .form(form);
        self.send(req, true).await
    }
}

#[derive(Deserialize)]
struct IntentBody {
    id: String,
    status: String,
    #[serde(default)]
    amount: i64,
    #[serde(default)]
    amount_capturable: i64,
    #[serde(default)]
    amount_received: i64,
}

fn intent(v: Value) -> Result<PaymentIntent, ProviderError> {
    let b: IntentBody = serde_json::from_value(v)
        .map_err(|e| ProviderError::UnknownOutcome(format!("unexpected payment intent: {e}")))?;
    Ok(PaymentIntent {
        id: b.id,
        status: IntentStatus::parse(&b.status),
        amount: Money(b.amount),
        amount_capturable: Money(b.amount_capturable),
        amount_received: Money(b.amount_received),
    })
}

/// Logs the cause of a failure the business turns into "payment unavailable" (a 503, or an
/// outcome left for the reconciler); other failures are the caller's to report.
fn log_failure(operation: &'static str, idempotency_key: Option<&str>, e: &ProviderError) {
    let (outcome, cause) = match e {
        ProviderError::Unavailable(cause) => ("unavailable", cause.as_str()),
        ProviderError::UnknownOutcome(cause) => ("unknown_outcome", cause.as_str()),
        ProviderError::RateLimited => ("unavailable", "provider answered HTTP 429 (rate limit)"),
        _ => return,
    };
    tracing::warn!(
        operation,
        idempotency_key = idempotency_key.unwrap_or("none (read)"),
        outcome,
        cause,
        "payment provider call failed"
    );
}

/// Runs one provider operation, times it, and logs why it failed, when it did.
async fn observed<T>(
    operation: &'static str,
    idempotency_key: Option<&str>,
    call: impl Future<Output = Result<T, ProviderError>>,
) -> Result<T, ProviderError> {
    let started = Instant::now();
    let result = call.await;
    metrics::histogram!(PROVIDER_DURATION, "operation" => operation,
        "outcome" => outcome(&result))
    .record(started.elapsed());
    if let Err(e) = &result {
        log_failure(operation, idempotency_key, e);
    }
    result
}

#[async_trait]
impl PaymentProvider for HttpPaymentProvider {
    async fn tokenize(
        &self,
        card: CardInput,
        idempotency_key: String,
    ) -> Result<CardToken, ProviderError> {
        let mut form = vec![
            ("type", "card".to_owned()),
            ("card[number]", card.number().to_owned()),
            ("card[exp_month]", card.exp_month.to_string()),
            ("card[exp_year]", card.exp_year.to_string()),
        ];
        if let Some(cvc) = card.cvc() {
            form.push(("card[cvc]", cvc.to_owned()));
        }
        let key = Some(idempotency_key.as_str());
        let v = observed(
            "tokenize",
            key,
            self.post("/v1/payment_methods", &form, &idempotency_key),
        )
        .await?;
        let id = v["id"]
            .as_str()
            .ok_or_else(|| ProviderError::InvalidRequest("no payment method id".into()))?;
        let c = &v["card"];
        Ok(CardToken {
            provider_token: id.to_owned(),
            brand: c["brand"].as_str().map(str::to_owned),
            last4: c["last4"].as_str().unwrap_or(card.last4()).to_owned(),
            exp_month: c["exp_month"]
                .as_i64()
                .and_then(|m| i32::try_from(m).ok())
                .unwrap_or(0),
            exp_year: c["exp_year"]
                .as_i64()
                .and_then(|y| i32::try_from(y).ok())
                .unwrap_or(0),
        })
    }

    async fn authorize(
        &self,
        payment_method: String,
        amount: Money,
        idempotency_key: String,
        reference: String,
    ) -> Result<PaymentIntent, ProviderError> {
        let form = [
            ("amount", amount.minor().to_string()),
            ("currency", self.config.currency.clone()),
            ("payment_method", payment_method),
            ("confirm", "true".to_owned()),
            ("capture_method", "manual".to_owned()),
            ("metadata[reference]", reference),
        ];
        let call = async {
            intent(
                self.post("/v1/payment_intents", &form, &idempotency_key)
                    .await?,
            )
        };
        observed("authorize", Some(&idempotency_key), call).await
    }

    async fn capture(
        &self,
        intent_id: String,
        amount: Money,
        idempotency_key: String,
    ) -> Result<PaymentIntent, ProviderError> {
        let form = [("amount_to_capture", amount.minor().to_string())];
        let path = format!("/v1/payment_intents/{intent_id}/capture");
        let call = async { intent(self.post(&path, &form, &idempotency_key).await?) };
        observed("capture", Some(&idempotency_key), call).await
    }

    async fn cancel(
        &self,
        intent_id: String,
        idempotency_key: String,
    ) -> Result<PaymentIntent, ProviderError> {
        let path = format!("/v1/payment_intents/{intent_id}/cancel");
        let call = async { intent(self.post(&path, &[], &idempotency_key).await?) };
        observed("cancel", Some(&idempotency_key), call).await
    }

    async fn refund(
        &self,
        intent_id: String,
        amount: Money,
        idempotency_key: String,
    ) -> Result<String, ProviderError> {
        let form = [
            ("payment_intent", intent_id),
            ("amount", amount.minor().to_string()),
        ];
        let call = async {
            let v = self.post("/v1/refunds", &form, &idempotency_key).await?;
            v["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| ProviderError::UnknownOutcome("no refund id".into()))
        };
        observed("refund", Some(&idempotency_key), call).await
    }

    async fn retrieve(&self, intent_id: String) -> Result<PaymentIntent, ProviderError> {
        let req = self
            .http
            .get(self.url(&format!("/v1/payment_intents/{intent_id}")));
        observed("retrieve", None, async {
            intent(self.send(req, false).await?)
        })
        .await
    }
}
