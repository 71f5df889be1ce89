//! Operations, with the real `mami-api` binary: a payment outage is logged with its cause on the
//! request's line, a drain that runs out of time exits non-zero saying how many requests it
//! dropped, and a reconciler that could race a checkout is refused at start. Also: the licence
//! the project declares is the one it can be distributed under.

use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use mami_domain::identity::Role;
use mami_tests::{BinaryApp, client, login, repo_root, send, test_env};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_mami-api");

/// A payment-provider simulator in this process; returns its base URL.
fn paysim() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    let (_, server) = mami_paysim::serve(listener, 2)?;
    tokio::spawn(server);
    Ok(url)
}

/// The demo customer's token and a cart holding one product, ready to confirm.
async fn customer_with_a_cart(app: &BinaryApp) -> anyhow::Result<(String, i64)> {
    let c = client()?;
    let token = login(&c, &app.address, Role::Customer).await?["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, _, cart) = send(
        c.post(format!("{}/api/v1/cart/items", app.address))
            .bearer_auth(&token)
            .json(&json!({"product_id": 1, "quantity": 1})),
    )
    .await?;
    assert_eq!(status, 201, "{cart}");
    Ok((token, cart["data"]["id"].as_i64().unwrap_or_default()))
}

/// Confirms the cart with the demo customer's saved card (payment token 1).
fn confirm(app: &BinaryApp, token: &str, cart: i64, request_id: &str) -> reqwest::RequestBuilder {
    let body = json!({"cart_id": cart, "payment_token_id": 1, "fulfillment_type": "DELIVERY",
        "delivery_slot_id": 1});
    reqwest::Client::new()
        .post(format!("{}/api/v1/checkout/confirm", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", format!("key-{request_id}"))
        .header("X-Request-Id", request_id)
        .json(&body)
}

fn sigterm(app: &BinaryApp) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &app.child.id().to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill -TERM failed");
    Ok(())
}

/// Waits for the process to exit (at most `limit`).
fn exit_within(app: &mut BinaryApp, limit: Duration) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    loop {
        if let Some(status) = app.child.try_wait()? {
            return Ok(status);
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "still running after {limit:?}: {}",
            app.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The JSON log lines of the process.
fn json_lines(app: &BinaryApp) -> Vec<Value> {
    app.logs()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn a_payment_outage_is_logged_with_its_cause_on_the_requests_line() -> anyhow::Result<()> {
    let provider = paysim()?;
    let mut app = BinaryApp::spawn(
        BIN,
        &[("LOG_FORMAT", "json"), ("PAYMENT_PROVIDER_URL", &provider)],
    )
    .await?;
    let (token, cart) = customer_with_a_cart(&app).await?;
    let c = client()?;
    c.post(format!("{provider}/__paysim/faults"))
        .json(&json!({"fail_next": 1}))
        .send()
        .await?;
    let (status, _, body) = send(confirm(&app, &token, cart, "outage-1")).await?;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "PAYMENT_UNAVAILABLE", "{body}");
    sigterm(&app)?;
    exit_within(&mut app, Duration::from_secs(20))?;
    let lines = json_lines(&app);
    let warning = lines
        .iter()
        .find(|l| l["fields"]["message"] == "payment provider call failed")
        .unwrap_or_else(|| panic!("no provider warning in {}", app.logs()));
    assert_eq!(warning["level"], "WARN", "{warning}");
    // Logged inside the checkout's own span, within the request's.
    assert_eq!(warning["spans"][0]["request_id"], "outage-1", "{warning}");
    let f = &warning["fields"];
    assert_eq!(f["operation"], "authorize", "{warning}");
    assert_eq!(f["outcome"], "unknown_outcome", "{warning}");
    assert_eq!(f["cause"], "provider answered HTTP 500", "{warning}");
    let key = f["idempotency_key"].as_str().unwrap_or_default();
    assert!(
        key.starts_with("mami-order-") && key.ends_with("-auth"),
        "{warning}"
    );
    Ok(())
}

#[tokio::test]
async fn a_drain_that_runs_out_of_time_exits_non_zero_and_says_how_many_it_dropped()
-> anyhow::Result<()> {
    let provider = paysim()?;
    let mut app = BinaryApp::spawn(
        BIN,
        &[
            ("LOG_FORMAT", "json"),
            ("PAYMENT_PROVIDER_URL", &provider),
            ("SHUTDOWN_TIMEOUT_SECONDS", "1"),
        ],
    )
    .await?;
    let (token, cart) = customer_with_a_cart(&app).await?;
    let c = client()?;
    // The provider authorizes, then holds its answer far longer than the drain may last.
    c.post(format!("{provider}/__paysim/faults"))
        .json(&json!({"hang_after_effect_next": 1, "hang_ms": 8000}))
        .send()
        .await?;
    let checkout = tokio::spawn(send(confirm(&app, &token, cart, "cut-1")));
    let started = Instant::now();
    loop {
        let (_, _, intents) = send(c.get(format!("{provider}/__paysim/intents"))).await?;
        if intents.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(20),
            "the checkout never reached the provider: {intents}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sigterm(&app)?;
    let exit = exit_within(&mut app, Duration::from_secs(6))?;
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "the drain waited for the provider"
    );
    assert_eq!(exit.code(), Some(1), "{exit:?}: {}", app.logs());
    let answered = checkout.await?;
    assert!(
        answered.is_err(),
        "the cut request got an answer: {answered:?}"
    );
    let lines = json_lines(&app);
    let line = lines
        .iter()
        .find(|l| l["fields"]["dropped"].is_u64())
        .unwrap_or_else(|| panic!("no drain report in {}", app.logs()));
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(line["fields"]["dropped"], 1, "{line}");
    assert_eq!(
        line["fields"]["message"], "shutdown dropped 1 request(s) still in flight",
        "{line}"
    );
    Ok(())
}

#[test]
fn a_reconciler_younger_than_the_provider_timeout_stops_startup() -> anyhow::Result<()> {
    let env = test_env(
        "postgres://x@127.0.0.1:1/db",
        &[
            ("PAYMENT_PROVIDER_TIMEOUT_MS", "10000"),
            ("RECONCILE_MIN_AGE_SECONDS", "5"),
        ],
    );
    let out = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .envs(env)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("RECONCILE_MIN_AGE_SECONDS"), "{stderr}");
    assert!(stderr.contains("PAYMENT_PROVIDER_TIMEOUT_MS"), "{stderr}");
    Ok(())
}

#[test]
fn the_project_is_gpl_3_or_later_as_its_actix_governor_dependency_requires() -> anyhow::Result<()> {
    let root = repo_root();
    let read = |p: &str| std::fs::read_to_string(root.join(p));
    let workspace = read("Cargo.toml")?;
    assert!(
        workspace.contains("\nlicense = \"GPL-3.0-or-later\"\n"),
        "the workspace licence"
    );
    for member in [
        "crates/domain",
        "crates/postgres",
        "crates/payments",
        "crates/paysim",
        "crates/api",
        "tests",
    ] {
        let manifest = read(&format!("{member}/Cargo.toml"))?;
        assert!(
            manifest.contains("\nlicense.workspace = true\n"),
            "{member} inherits the workspace licence"
        );
    }
    let api = read("crates/api/Cargo.toml")?;
    assert!(
        api.contains("\nactix-governor."),
        "the reason for the GPL is still there"
    );
    let text = read("LICENSE")?;
    let head: Vec<&str> = text.lines().take(2).map(str::trim).collect();
    assert_eq!(
        head,
        ["GNU GENERAL PUBLIC LICENSE", "Version 3, 29 June 2007"],
        "LICENSE is the GPLv3 text"
    );
    let readme = read("README.md")?;
    assert!(
        readme.contains("## Licence") && readme.contains("GPL-3.0-or-later"),
        "README says so"
    );
    let deny = read("deny.toml")?;
    assert!(
        deny.contains("\"GPL-3.0-or-later\","),
        "cargo-deny allows it"
    );
    Ok(())
}
