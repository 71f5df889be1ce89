//! Mail in tests: the outbox as named fields, the secrets its pending messages carry (the
//! reset token, the registration code, as the recipient would read them), a mailer that
//! records what it was asked to send (and can fail on demand), and postmen over it.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Jsonb, Nullable, Text};
use diesel_async::RunQueryDsl;
use mami_domain::mail::{Clock, MailError, MailMessage, Mailer, Postman};
use mami_postgres::{Database, PgOutboxStore};
use serde_json::Value;

use crate::backend::Backend;

/// One outbox row.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct OutboxRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// `PASSWORD_RESET`, `REGISTRATION_CODE`.
    #[diesel(sql_type = Text)]
    pub template: String,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    /// `None` once erased.
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub params: Option<Value>,
    /// `PENDING`, `SENT`, `FAILED`, `EXPIRED`, `CANCELED`.
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// Held by a deliverer (claimed and not yet settled).
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub claimed: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
}

impl Backend {
    /// The whole outbox, oldest first.
    pub async fn outbox(&self) -> Result<Vec<OutboxRow>> {
        let mut c = self.conn().await?;
        Ok(diesel::sql_query(
            "SELECT id, template::text AS template, recipient, params, status::text AS status, \
             attempts, claim_id IS NOT NULL AS claimed, last_error FROM mail_outbox ORDER BY id",
        )
        .load(&mut c)
        .await?)
    }

    /// The parameter `name` of the newest pending message of `template` to `to`.
    async fn pending_param(&self, template: &str, to: &str, name: &str) -> Result<String> {
        let row = self
            .outbox()
            .await?
            .into_iter()
            .rev()
            .find(|r| r.template == template && r.recipient == to && r.status == "PENDING")
            .with_context(|| format!("no pending {template} mail to {to}"))?;
        row.params
            .as_ref()
            .and_then(|p| p[name].as_str())
            .map(str::to_owned)
            .with_context(|| format!("no {name} in {row:?}"))
    }

    /// The token of the newest reset link mailed to `to` (still in the outbox).
    pub async fn reset_token_for(&self, to: &str) -> Result<String> {
        let url = self
            .pending_param("PASSWORD_RESET", to, "reset_url")
            .await?;
        url.split_once("token=")
            .map(|(_, t)| t.to_owned())
            .with_context(|| format!("no token in {url}"))
    }

    /// The newest registration code mailed to `to` (still in the outbox).
    pub async fn registration_code_for(&self, to: &str) -> Result<String> {
        self.pending_param("REGISTRATION_CODE", to, "code").await
    }

    /// Moves every reset token's and registration code's expiry (and their mail's) into the
    /// past, as if their time had run out.
    pub async fn expire_secrets(&self) -> Result<()> {
        let mut c = self.conn().await?;
        for sql in [
            "UPDATE password_reset_tokens SET expires_at = now() - interval '1 second'",
            "UPDATE registration_otps SET expires_at = now() - interval '1 second'",
            "UPDATE mail_outbox SET expires_at = now() - interval '1 second'",
        ] {
            diesel::sql_query(sql).execute(&mut c).await?;
        }
        Ok(())
    }

    /// A postman over this app's outbox, with its own pool (as another process would have),
    /// delivering through `mailer` on `clock`'s time.
    pub fn postman(&self, mailer: Arc<dyn Mailer>, clock: Arc<TestClock>) -> Result<Postman> {
        let db = Database::connect(&self.test_db.url, 2, std::time::Duration::from_secs(10))?;
        Ok(Postman::new(
            Arc::new(PgOutboxStore::new(db)),
            mailer,
            clock,
        ))
    }
}

/// The system's time, moved ahead by [`TestClock::advance`] (leases and backoffs pass at once).
#[derive(Debug, Default)]
pub struct TestClock {
    ahead: Mutex<Duration>,
}

impl TestClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn advance(&self, by: Duration) {
        *self.ahead.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.ahead.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A mailer that records every message it is asked to send, and fails the next `n` sends
/// when told to.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<(String, MailMessage)>>,
    failures: Mutex<Option<(usize, MailError)>>,
    delay: Option<std::time::Duration>,
}

impl RecordingMailer {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// One that takes `delay` per message, as a real provider does (so that deliverers
    /// running side by side overlap).
    pub fn slow(delay: std::time::Duration) -> Arc<Self> {
        Arc::new(Self {
            delay: Some(delay),
            ..Self::default()
        })
    }

    /// The next `n` sends fail with `error` (and are not recorded).
    pub fn fail_next(&self, n: usize, error: MailError) {
        *self.failures.lock().unwrap_or_else(PoisonError::into_inner) = Some((n, error));
    }

    /// Every delivered message with its key, in order.
    pub fn sent(&self) -> Vec<(String, MailMessage)> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, key: &str, message: &MailMessage) -> Result<(), MailError> {
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        {
            let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((n, error)) = failures.as_mut()
                && *n > 0
            {
                *n -= 1;
                return Err(error.clone());
            }
        }
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((key.to_owned(), message.clone()));
        Ok(())
    }
}
