//! The mail outbox: a message exists exactly when the work that wrote it committed; deliverers
//! side by side send each message once; a claim left by a crashed deliverer is taken over after
//! its lease (with the same idempotency key); failures are retried with backoff; a message's
//! secret is erased once it is sent, given up or expired.

use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use mami_domain::identity::Role;
use mami_domain::mail::{DeliveryReport, MailError, Mailer, OutboxStore, Settlement};
use mami_postgres::{Database, PgOutboxStore};
use mami_tests::{AuditFailure, RecordingMailer, Reply, TestApp, TestClock, demo_email};
use serde_json::json;

type R = anyhow::Result<()>;

async fn forgot(app: &TestApp, email: &str) -> anyhow::Result<Reply> {
    Reply::of(
        app.client
            .post(app.url("/api/v1/auth/forgot-password"))
            .json(&json!({ "email": email })),
    )
    .await
}

async fn send_code(app: &TestApp, email: &str) -> anyhow::Result<Reply> {
    Reply::of(
        app.client
            .post(app.url("/api/v1/auth/register/send-otp"))
            .json(&json!({ "email": email })),
    )
    .await
}

fn report(sent: usize, retried: usize, failed: usize, expired: usize) -> DeliveryReport {
    DeliveryReport {
        expired,
        sent,
        retried,
        failed,
        lost: 0,
    }
}

#[tokio::test]
async fn two_deliverers_side_by_side_send_each_message_once() -> R {
    let app = TestApp::spawn().await?;
    for i in 0..20 {
        forgot(&app, demo_email(Role::ALL[i % 4])).await?;
    }
    let (one, two) = (
        RecordingMailer::slow(StdDuration::from_millis(10)),
        RecordingMailer::slow(StdDuration::from_millis(10)),
    );
    let first = app.postman(one.clone(), TestClock::new())?;
    let second = app.postman(two.clone(), TestClock::new())?;
    let (a, b) = tokio::join!(first.run_once(), second.run_once());
    let (a, b) = (a?, b?);
    assert_eq!(a.sent + b.sent, 20, "{a:?} {b:?}");
    let keys: Vec<String> = one
        .sent()
        .into_iter()
        .chain(two.sent())
        .map(|(k, _)| k)
        .collect();
    let distinct: BTreeSet<&String> = keys.iter().collect();
    assert_eq!((keys.len(), distinct.len()), (20, 20));
    let outbox = app.outbox().await?;
    assert!(
        outbox
            .iter()
            .all(|m| m.status == "SENT" && m.params.is_none() && m.attempts == 1),
        "{outbox:?}"
    );
    assert!(first.run_once().await?.is_idle());
    Ok(())
}

#[tokio::test]
async fn a_claim_left_by_a_crashed_deliverer_is_taken_over_after_its_lease() -> R {
    let app = TestApp::spawn().await?;
    forgot(&app, demo_email(Role::Customer)).await?;
    let crashed = PgOutboxStore::new(Database::connect(
        &app.test_db.url,
        1,
        StdDuration::from_secs(10),
    )?);
    let claimed = crashed.claim(Utc::now(), Duration::seconds(60)).await?;
    let Some(claimed) = claimed else {
        panic!("nothing to claim");
    };
    // It even sent the message, then died before recording it: the at-least-once window.
    let lost = RecordingMailer::new();
    lost.send(&claimed.key, &claimed.message).await?;

    let mailer = RecordingMailer::new();
    let clock = TestClock::new();
    let postman = app.postman(mailer.clone(), clock.clone())?;
    clock.advance(Duration::seconds(55));
    assert!(postman.run_once().await?.is_idle(), "the lease still holds");
    clock.advance(Duration::seconds(6));
    assert_eq!(postman.run_once().await?, report(1, 0, 0, 0));
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    // The repeat carries the same key: a provider with idempotency keys drops it.
    assert_eq!(sent[0].0, claimed.key);
    assert_eq!(sent[0].1, claimed.message);
    let row = &app.outbox().await?[0];
    assert_eq!((row.status.as_str(), row.attempts), ("SENT", 2));
    // The crashed deliverer, back, can no longer record an outcome.
    let late = crashed.settle(claimed.id, claimed.claim, Settlement::Sent, Utc::now());
    assert!(!late.await?);
    Ok(())
}

#[tokio::test]
async fn a_rolled_back_transaction_queues_and_sends_nothing() -> R {
    let app = TestApp::spawn().await?;
    // The transaction writes the token, the mail and the audit row, then fails to commit.
    app.fail_audit_writes(AuditFailure::AtCommit).await?;
    let r = forgot(&app, demo_email(Role::Customer)).await?;
    assert_eq!(r.status, 500, "{}", r.body);
    let r = send_code(&app, "newcomer@example.com").await?;
    assert_eq!(r.status, 500, "{}", r.body);
    app.allow_audit_writes().await?;
    assert!(app.outbox().await?.is_empty());
    let mailer = RecordingMailer::new();
    let postman = app.postman(mailer.clone(), TestClock::new())?;
    assert!(postman.run_once().await?.is_idle());
    assert!(mailer.sent().is_empty());
    Ok(())
}

#[tokio::test]
async fn failures_are_retried_with_backoff_and_secrets_erased_when_done() -> R {
    let app = TestApp::spawn().await?;
    forgot(&app, demo_email(Role::Customer)).await?;
    send_code(&app, "newcomer@example.com").await?;
    let mailer = RecordingMailer::new();
    let clock = TestClock::new();
    let postman = app.postman(mailer.clone(), clock.clone())?;
    mailer.fail_next(1, MailError::Retryable("Brevo answered HTTP 503".into()));
    assert_eq!(postman.run_once().await?, report(1, 1, 0, 0));
    let first = &app.outbox().await?[0];
    assert_eq!((first.status.as_str(), first.attempts), ("PENDING", 1));
    assert!(first.params.is_some(), "kept for the retry");
    assert_eq!(first.last_error.as_deref(), Some("Brevo answered HTTP 503"));
    // Not due before its backoff (5 s after the first failure) has passed.
    clock.advance(Duration::seconds(3));
    assert!(postman.run_once().await?.is_idle());
    clock.advance(Duration::seconds(4));
    assert_eq!(postman.run_once().await?, report(1, 0, 0, 0));
    let done = app.outbox().await?;
    assert!(
        done.iter()
            .all(|m| m.status == "SENT" && m.params.is_none()),
        "{done:?}"
    );

    // Refused for good: given up at once, the secret erased.
    forgot(&app, demo_email(Role::Manager)).await?;
    mailer.fail_next(1, MailError::Permanent("Brevo answered HTTP 400".into()));
    assert_eq!(postman.run_once().await?, report(0, 0, 1, 0));
    // Expired before it could be sent: never sent, the secret erased.
    forgot(&app, demo_email(Role::Admin)).await?;
    app.expire_secrets().await?;
    assert_eq!(postman.run_once().await?, report(0, 0, 0, 1));
    let rows = app.outbox().await?;
    let ends: Vec<(&str, bool)> = rows
        .iter()
        .map(|m| (m.status.as_str(), m.params.is_some()))
        .collect();
    assert_eq!(
        ends,
        [
            ("SENT", false),
            ("SENT", false),
            ("FAILED", false),
            ("EXPIRED", false)
        ]
    );
    assert_eq!(mailer.sent().len(), 2);
    Ok(())
}

#[tokio::test]
async fn the_development_mailer_writes_one_file_per_message() -> R {
    let app = TestApp::spawn().await?;
    let dir = std::path::PathBuf::from(mami_tests::mail_dir(&app.test_db.url));
    forgot(&app, demo_email(Role::Customer)).await?;
    let code = send_code(&app, "newcomer@example.com").await?.body["data"]["code"].clone();
    let report = app.state.accounts.postman.run_once().await?;
    assert_eq!(report.sent, 2);
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        texts.push(std::fs::read_to_string(entry?.path())?);
    }
    std::fs::remove_dir_all(&dir)?;
    texts.sort();
    assert_eq!(texts.len(), 2);
    assert!(
        texts[0].contains("Template: password_reset"),
        "{}",
        texts[0]
    );
    assert!(texts[0].contains("/reset-password?token="), "{}", texts[0]);
    let code = code.as_str().unwrap_or("none");
    assert!(
        texts[1].contains(&format!("registration code: {code}")),
        "{}",
        texts[1]
    );
    Ok(())
}
