//! E-mail: the messages the shop sends, the port that sends them, and the outbox that delivers
//! them after the transaction that wrote them has committed.
//!
//! A use case never sends mail itself: it hands its message to its store, which writes it to
//! the outbox in the same transaction as the token or code the message carries. So a message
//! exists exactly when its work committed. The [`Postman`] then claims due messages one at a
//! time (a lease: one deliverer per message, across processes), sends each through the
//! [`Mailer`] outside any transaction, and records the outcome: sent, retry later with an
//! exponential backoff, or given up. A message's parameters (the reset link, the code) are
//! erased once it is sent, given up or expired, so the database keeps no live secret.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tracing::instrument;

use crate::InfraError;

/// Which message: each is one template at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailTemplate {
    /// The password reset link (`params.reset_url`).
    PasswordReset,
    /// The registration code (`params.otp_code`, `code`, `verification_code`).
    RegistrationCode,
}

impl MailTemplate {
    pub fn as_str(self) -> &'static str {
        match self {
            MailTemplate::PasswordReset => "password_reset",
            MailTemplate::RegistrationCode => "registration_code",
        }
    }
}

/// One e-mail: its template, its recipient and the template's parameters. The parameters may
/// carry a secret, so `Debug` names them without their values.
#[derive(Clone, PartialEq, Eq)]
pub struct MailMessage {
    pub template: MailTemplate,
    pub to: String,
    pub params: BTreeMap<String, String>,
}

impl fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailMessage")
            .field("template", &self.template)
            .field("to", &self.to)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl MailMessage {
    /// The reset link, under the parameter name the reference's template reads.
    pub fn password_reset(to: impl Into<String>, reset_url: impl Into<String>) -> Self {
        Self {
            template: MailTemplate::PasswordReset,
            to: to.into(),
            params: BTreeMap::from([("reset_url".to_owned(), reset_url.into())]),
        }
    }

    /// The registration code, under the three names the reference's template may read.
    pub fn registration_code(to: impl Into<String>, code: &str) -> Self {
        let params = ["otp_code", "code", "verification_code"]
            .into_iter()
            .map(|k| (k.to_owned(), code.to_owned()))
            .collect();
        Self {
            template: MailTemplate::RegistrationCode,
            to: to.into(),
            params,
        }
    }
}

/// A message for the outbox: what to send, until when it is worth sending (its secret's
/// expiry), and optionally a key that makes it replace an unsent earlier message with the same
/// key (a new registration code replaces the previous one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub message: MailMessage,
    pub expires_at: DateTime<Utc>,
    pub replaces: Option<String>,
}

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The provider refused this message; sending it again will not help.
    #[error("mail refused: {0}")]
    Permanent(String),
    /// The provider could not be reached, failed, or asked to come back later. After a timeout
    /// the provider may have accepted the message all the same.
    #[error("mail not delivered yet: {0}")]
    Retryable(String),
}

/// Sends one message. `key` names the message across its attempts (adapters pass it to the
/// provider as an idempotency key where the provider has one).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, key: &str, message: &MailMessage) -> Result<(), MailError>;
}

/// A message claimed from the outbox by one deliverer, until its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: i64,
    /// The message's idempotency key.
    pub key: String,
    /// The claim, known only to the deliverer that made it.
    pub claim: String,
    pub message: MailMessage,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub expires_at: DateTime<Utc>,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Delivered: the parameters are erased.
    Sent,
    /// Not yet: try again at `at`.
    Retry { at: DateTime<Utc>, error: String },
    /// Given up: the parameters are erased.
    Failed { error: String },
}

/// The outbox of messages to send.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Ends the unclaimed pending messages whose secret expired at `now`, erasing their
    /// parameters. Returns how many.
    async fn expire(&self, now: DateTime<Utc>) -> Result<usize, InfraError>;

    /// Claims the oldest due message (pending, due by `now`, not expired, not under another
    /// deliverer's lease) until `now + lease`, counting one attempt. Deliverers never wait on
    /// each other's claims. `None` when nothing is due.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Outgoing>, InfraError>;

    /// Records the outcome of a claimed message. `false` when the claim was lost: its lease
    /// ran out and another deliverer claimed the message.
    async fn settle(
        &self,
        id: i64,
        claim: String,
        outcome: Settlement,
        now: DateTime<Utc>,
    ) -> Result<bool, InfraError>;
}

/// When to try again, and when to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long a claim lasts: longer than one send can take, so that a live deliverer never
    /// loses its message to another.
    pub lease: Duration,
    /// Wait after the first failed attempt; it doubles with each further one…
    pub first_retry: Duration,
    /// …up to this.
    pub max_retry: Duration,
    /// Attempts before giving up (a message is also given up when its secret expires).
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            lease: Duration::seconds(60),
            first_retry: Duration::seconds(5),
            max_retry: Duration::minutes(5),
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// The wait after attempt number `attempts` failed: `first_retry × 2^(attempts−1)`, capped.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let wait = self.first_retry * 2_i32.pow(doublings);
        wait.min(self.max_retry)
    }

    /// What to record after an attempt of `mail` ended with `result` at `now`.
    pub fn settle(
        &self,
        mail: &Outgoing,
        result: Result<(), MailError>,
        now: DateTime<Utc>,
    ) -> Settlement {
        match result {
            Ok(()) => Settlement::Sent,
            Err(MailError::Permanent(error)) => Settlement::Failed { error },
            Err(MailError::Retryable(error)) if mail.attempts >= self.max_attempts => {
                Settlement::Failed {
                    error: format!("gave up after {} attempts: {error}", mail.attempts),
                }
            }
            Err(MailError::Retryable(error)) => {
                let at = now + self.backoff(mail.attempts);
                if at >= mail.expires_at {
                    Settlement::Failed {
                        error: format!("expires before the next attempt: {error}"),
                    }
                } else {
                    Settlement::Retry { at, error }
                }
            }
        }
    }
}

/// The time, asked afresh for every claim and settlement: a pass can last longer than a lease,
/// and a lease computed from the pass's start could already be over when it is taken.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// What one delivery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub expired: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Claims that ran out before the outcome was recorded (see [`OutboxStore::settle`]).
    pub lost: usize,
}

impl DeliveryReport {
    pub fn is_idle(&self) -> bool {
        *self == Self::default()
    }
}

/// Delivers the outbox: safe to run in several processes at once.
pub struct Postman {
    store: Arc<dyn OutboxStore>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    pub policy: RetryPolicy,
    /// Messages per pass at most, so a pass ends even while new mail keeps arriving.
    pub batch: usize,
}

impl Postman {
    pub fn new(
        store: Arc<dyn OutboxStore>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            mailer,
            clock,
            policy: RetryPolicy::default(),
            batch: 100,
        }
    }

    /// One pass: expires what can no longer be sent, then claims, sends and settles due
    /// messages one at a time until none is due (or `batch` were handled).
    #[instrument(skip_all)]
    pub async fn run_once(&self) -> Result<DeliveryReport, InfraError> {
        let mut report = DeliveryReport {
            expired: self.store.expire(self.clock.now()).await?,
            ..DeliveryReport::default()
        };
        for _ in 0..self.batch {
            let claimed = self
                .store
                .claim(self.clock.now(), self.policy.lease)
                .await?;
            let Some(mail) = claimed else {
                break;
            };
            let result = self.mailer.send(&mail.key, &mail.message).await;
            let now = self.clock.now();
            let outcome = self.policy.settle(&mail, result, now);
            let (id, attempts) = (mail.id, mail.attempts);
            match &outcome {
                Settlement::Sent => report.sent += 1,
                Settlement::Retry { error, .. } => {
                    tracing::warn!(id, attempts, %error, "mail will be retried");
                    report.retried += 1;
                }
                Settlement::Failed { error } => {
                    tracing::error!(id, attempts, %error, "mail given up");
                    report.failed += 1;
                }
            }
            if !self
                .store
                .settle(mail.id, mail.claim.clone(), outcome, now)
                .await?
            {
                tracing::warn!(
                    id = mail.id,
                    "mail claim lost before its outcome was recorded"
                );
                report.lost += 1;
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(attempts: i32, expires_in: Duration, now: DateTime<Utc>) -> Outgoing {
        Outgoing {
            id: 1,
            key: "k".into(),
            claim: "c".into(),
            message: MailMessage::registration_code("a@b.co", "1234"),
            attempts,
            expires_at: now + expires_in,
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let secs: Vec<i64> = (1..=9).map(|a| p.backoff(a).num_seconds()).collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(p.backoff(i32::MAX).num_seconds(), 300);
    }

    #[test]
    fn outcomes_of_an_attempt() {
        let p = RetryPolicy::default();
        let now = Utc::now();
        let long = Duration::hours(1);
        assert_eq!(
            p.settle(&outgoing(1, long, now), Ok(()), now),
            Settlement::Sent
        );
        let refused = Err(MailError::Permanent("400 invalid email".into()));
        assert!(matches!(
            p.settle(&outgoing(1, long, now), refused, now),
            Settlement::Failed { .. }
        ));
        let down = || Err(MailError::Retryable("503".into()));
        assert_eq!(
            p.settle(&outgoing(2, long, now), down(), now),
            Settlement::Retry {
                at: now + Duration::seconds(10),
                error: "503".into()
            }
        );
        // The last attempt, or a retry that would come after the secret expired, gives up.
        let last = outgoing(p.max_attempts, long, now);
        assert!(matches!(
            p.settle(&last, down(), now),
            Settlement::Failed { .. }
        ));
        let soon = outgoing(1, Duration::seconds(3), now);
        assert!(matches!(
            p.settle(&soon, down(), now),
            Settlement::Failed { .. }
        ));
    }

    #[test]
    fn debug_never_shows_the_parameters() {
        let m = MailMessage::password_reset("a@b.co", "https://shop/reset-password?token=s3cret");
        let shown = format!("{m:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("reset_url"), "{shown}");
    }

    #[tokio::test]
    async fn a_pass_sends_settles_and_counts() {
        let now = Utc::now();
        let mut store = MockOutboxStore::new();
        store.expect_expire().returning(|_| Ok(2));
        let mut queue = vec![
            outgoing(1, Duration::hours(1), now),
            outgoing(1, Duration::hours(1), now),
        ];
        store
            .expect_claim()
            .times(3)
            .returning(move |_, _| Ok(queue.pop()));
        let mut first = true;
        store
            .expect_settle()
            .times(2)
            .returning(move |_, _, outcome, _| {
                assert!(!matches!(outcome, Settlement::Failed { .. }));
                let kept = first;
                first = false;
                Ok(kept)
            });
        let mut mailer = MockMailer::new();
        let mut ok = true;
        mailer.expect_send().times(2).returning(move |_, _| {
            let r = if ok {
                Ok(())
            } else {
                Err(MailError::Retryable("timeout".into()))
            };
            ok = false;
            r
        });
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now);
        let report = Postman::new(Arc::new(store), Arc::new(mailer), Arc::new(clock))
            .run_once()
            .await;
        assert_eq!(
            report,
            Ok(DeliveryReport {
                expired: 2,
                sent: 1,
                retried: 1,
                failed: 0,
                lost: 1
            })
        );
    }
}
