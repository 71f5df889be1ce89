//! Brevo's transactional e-mail API: `POST {base}/v3/smtp/email` with the `api-key` header,
//! a template id per message kind, the template's `params`, the configured sender, and the
//! message's key as Brevo's `idempotencyKey` (Brevo drops a repeat within 15 minutes).
//!
//! Outcomes: 2xx is sent; 429, 5xx, 401/403 (credentials or account: fixable without
//! changing the message), a refused connection and a timeout are retryable; any other 4xx is
//! permanent (the message itself is refused).

use std::time::Duration;

use async_trait::async_trait;
use mami_domain::mail::{MailError, MailMessage, MailTemplate, Mailer};
use serde_json::json;

/// Where Brevo is, who sends, and which template serves which message.
#[derive(Clone)]
pub struct BrevoConfig {
    /// `https://api.brevo.com` (a mock server in tests).
    pub base_url: String,
    pub api_key: String,
    pub sender_email: String,
    pub sender_name: String,
    /// `BREVO_RESET_TOKEN_OTP_ID`.
    pub reset_template_id: i64,
    /// `BREVO_REGISTER_OTP_ID`.
    pub registration_template_id: i64,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl std::fmt::Debug for BrevoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrevoConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"***")
            .field("sender_email", &self.sender_email)
            .field("reset_template_id", &self.reset_template_id)
            .field("registration_template_id", &self.registration_template_id)
            .finish_non_exhaustive()
    }
}

/// The Brevo client (one `reqwest::Client`, built once).
#[derive(Debug, Clone)]
pub struct BrevoMailer {
    http: reqwest::Client,
    config: BrevoConfig,
}

/// At most this much of an error answer is kept.
const BODY_CHARS: usize = 300;

impl BrevoMailer {
    pub fn new(config: BrevoConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| format!("cannot build the mail HTTP client: {e}"))?;
        Ok(Self { http, config })
    }

    fn template_id(&self, template: MailTemplate) -> i64 {
        match template {
            MailTemplate::PasswordReset => self.config.reset_template_id,
            MailTemplate::RegistrationCode => self.config.registration_template_id,
        }
    }
}

fn transport_error(e: &reqwest::Error) -> MailError {
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "no answer (timed out; Brevo may have accepted the message)"
    } else {
        "no answer"
    };
    MailError::Retryable(format!("{what}: {e}"))
}

fn answer_error(status: u16, body: &str) -> MailError {
    let body: String = body.chars().take(BODY_CHARS).collect();
    let cause = format!("Brevo answered HTTP {status}: {body}");
    match status {
        401 | 403 | 429 | 500..=599 => MailError::Retryable(cause),
        _ => MailError::Permanent(cause),
    }
}

#[async_trait]
impl Mailer for BrevoMailer {
    async fn send(&self, key: &str, message: &MailMessage) -> Result<(), MailError> {
        let body = json!({
            "sender": { "email": self.config.sender_email, "name": self.config.sender_name },
            "to": [{ "email": message.to }],
            "templateId": self.template_id(message.template),
            "params": message.params,
            "headers": { "idempotencyKey": key },
        });
        let url = format!(
            "{}/v3/smtp/email",
            self.config.base_url.trim_end_matches('/')
        );
        let resp = self
            .http
            .post(url)
            .header("api-key", &self.config.api_key)
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        Err(answer_error(status, &text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn mailer(server: &MockServer, timeout: Duration) -> BrevoMailer {
        mailer_at(server.uri(), timeout)
    }

    fn mailer_at(base_url: String, timeout: Duration) -> BrevoMailer {
        BrevoMailer::new(BrevoConfig {
            base_url,
            api_key: "xkeysib-test".into(),
            sender_email: "shop@mami.example".into(),
            sender_name: "Mami".into(),
            reset_template_id: 11,
            registration_template_id: 12,
            connect_timeout: Duration::from_secs(1),
            request_timeout: timeout,
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn reset() -> MailMessage {
        MailMessage::password_reset("dana@example.com", "https://shop/reset-password?token=t0k")
    }

    async fn answering(status: u16, body: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v3/smtp/email"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn a_message_goes_to_the_template_with_key_sender_and_params() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v3/smtp/email"))
            .and(header("api-key", "xkeysib-test"))
            .and(body_partial_json(json!({
                "sender": { "email": "shop@mami.example", "name": "Mami" },
                "to": [{ "email": "dana@example.com" }],
                "templateId": 11,
                "params": { "reset_url": "https://shop/reset-password?token=t0k" },
                "headers": { "idempotencyKey": "key-1" },
            })))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"messageId": "<m@x>"})))
            .expect(1)
            .mount(&server)
            .await;
        let sent = mailer(&server, Duration::from_secs(5))
            .send("key-1", &reset())
            .await;
        assert_eq!(sent, Ok(()));
        let code = MailMessage::registration_code("dana@example.com", "4821");
        Mock::given(method("POST"))
            .and(body_partial_json(json!({
                "templateId": 12,
                "params": { "otp_code": "4821", "code": "4821", "verification_code": "4821" },
            })))
            .respond_with(ResponseTemplate::new(201))
            .expect(1)
            .mount(&server)
            .await;
        assert_eq!(
            mailer(&server, Duration::from_secs(5))
                .send("key-2", &code)
                .await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn a_refused_message_is_permanent_and_names_the_cause() {
        let server = answering(400, r#"{"code":"invalid_parameter","message":"bad to"}"#).await;
        let r = mailer(&server, Duration::from_secs(5))
            .send("k", &reset())
            .await;
        let Err(MailError::Permanent(cause)) = r else {
            panic!("a 400 must be permanent: {r:?}");
        };
        assert!(
            cause.contains("400") && cause.contains("invalid_parameter"),
            "{cause}"
        );
    }

    #[tokio::test]
    async fn server_errors_rate_limits_and_credentials_are_retryable() {
        for status in [500, 502, 503, 429, 401, 403] {
            let server = answering(status, "{}").await;
            let r = mailer(&server, Duration::from_secs(5))
                .send("k", &reset())
                .await;
            assert!(matches!(r, Err(MailError::Retryable(_))), "{status}: {r:?}");
        }
    }

    #[tokio::test]
    async fn a_timeout_or_no_server_is_retryable() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(3)))
            .mount(&server)
            .await;
        let r = mailer(&server, Duration::from_millis(200))
            .send("k", &reset())
            .await;
        let Err(MailError::Retryable(cause)) = r else {
            panic!("a timeout must be retryable: {r:?}");
        };
        assert!(cause.contains("timed out"), "{cause}");
        let uri = server.uri();
        drop(server);
        let gone = mailer_at(uri, Duration::from_secs(1));
        let r = gone.send("k", &reset()).await;
        assert!(matches!(r, Err(MailError::Retryable(_))), "{r:?}");
    }
}
