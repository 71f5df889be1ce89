//! The mail worker of the real `mami-api serve`: two processes deliver the outbox side by side
//! through Brevo's API (a mock server here) and send each message once; when every process
//! dies while messages wait for a retry, the processes started after deliver each of them
//! once, with the key of its first attempt.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use mami_domain::identity::Role;
use mami_tests::{BinaryApp, OutboxRow, demo_email};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_mami-api");

/// Mounts one answer for every mail sent to `server`.
async fn brevo_answers(server: &MockServer, status: u16) {
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v3/smtp/email"))
        .respond_with(ResponseTemplate::new(status).set_body_json(json!({"messageId": "<m>"})))
        .mount(server)
        .await;
}

/// The idempotency key of every mail the server received.
async fn keys(server: &MockServer) -> anyhow::Result<Vec<String>> {
    let requests = server.received_requests().await.unwrap_or_default();
    let mut out = Vec::new();
    for r in requests {
        let body: serde_json::Value = serde_json::from_slice(&r.body)?;
        out.push(
            body["headers"]["idempotencyKey"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        );
    }
    Ok(out)
}

/// Waits (up to 30 s) until the outbox satisfies `done`; returns it.
async fn outbox_until(
    app: &BinaryApp,
    done: impl Fn(&[OutboxRow]) -> bool,
) -> anyhow::Result<Vec<OutboxRow>> {
    let started = Instant::now();
    loop {
        let rows = app.outbox().await?;
        if done(&rows) {
            return Ok(rows);
        }
        if started.elapsed() > Duration::from_secs(30) {
            anyhow::bail!("the outbox never got there: {rows:?}\n{}", app.logs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn processes_deliver_each_message_once_across_a_restart() -> anyhow::Result<()> {
    let brevo = MockServer::start().await;
    brevo_answers(&brevo, 503).await;
    let uri = brevo.uri();
    let env = [
        ("MAIL_PROVIDER", "brevo"),
        ("BREVO_API_URL", uri.as_str()),
        ("BREVO_API_KEY", "xkeysib-test"),
        ("BREVO_SENDER_EMAIL", "shop@mami.example"),
        ("BREVO_RESET_TOKEN_OTP_ID", "11"),
        ("BREVO_REGISTER_OTP_ID", "12"),
        ("MAIL_POLL_SECONDS", "1"),
    ];
    let mut app = BinaryApp::spawn(BIN, &env).await?;
    let processes = [app.address.clone(), app.another_process().await?];
    for i in 0..10 {
        let r = app
            .client
            .post(format!("{}/api/v1/auth/forgot-password", processes[i % 2]))
            .json(&json!({"email": demo_email(Role::ALL[i % 4])}))
            .send()
            .await?;
        assert_eq!(
            r.status().as_u16(),
            200,
            "Brevo's failure is not the caller's"
        );
    }
    // Every message tried once, by one process, and waiting for its retry (5 s later)…
    let waiting = outbox_until(&app, |rows| {
        rows.len() == 10
            && rows
                .iter()
                .all(|m| m.attempts >= 1 && m.status == "PENDING" && !m.claimed)
    })
    .await?;
    let first_keys = keys(&brevo).await?;
    // …when every process dies.
    app.kill_all();
    assert!(waiting.iter().all(|m| m.attempts == 1), "{waiting:?}");
    assert_eq!(first_keys.len(), 10, "{first_keys:?}");
    assert_eq!(
        first_keys.iter().collect::<BTreeSet<_>>().len(),
        10,
        "{first_keys:?}"
    );

    brevo_answers(&brevo, 201).await;
    app.another_process().await?;
    app.another_process().await?;
    let sent = outbox_until(&app, |rows| rows.iter().all(|m| m.status == "SENT")).await?;
    assert!(
        sent.iter().all(|m| m.attempts == 2 && m.params.is_none()),
        "{sent:?}"
    );
    let second_keys = keys(&brevo).await?;
    assert_eq!(
        second_keys.len(),
        10,
        "each message sent once: {second_keys:?}"
    );
    let (a, b): (BTreeSet<_>, BTreeSet<_>) =
        (first_keys.iter().collect(), second_keys.iter().collect());
    assert_eq!(
        a, b,
        "a message keeps its key across attempts and processes"
    );
    Ok(())
}
