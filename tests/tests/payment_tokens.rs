//! Saved cards: tokenized at the provider (paysim), never stored as numbers, owned, audited.

use diesel_async::RunQueryDsl;
use mami_domain::identity::Role;
use mami_tests::{TestApp, error_code, send};
use serde_json::json;

#[derive(diesel::QueryableByName)]
struct Dump {
    #[diesel(sql_type = diesel::sql_types::Text)]
    dump: String,
}

#[tokio::test]
async fn cards_are_tokenized_listed_and_removed() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let t = app.token(Role::Employee).await?; // the demo customer already has a seeded card
    let url = app.url("/api/v1/me/payment-tokens");
    let (s, _, b) = send(app.client.post(&url).bearer_auth(&t).json(&json!({
        "card_number": "4242 4242 4242 4242",
        "exp_month": 12,
        "exp_year": 2030,
        "cvc": "123",
    })))
    .await?;
    assert_eq!(s, 201, "{b}");
    let first = &b["data"];
    assert_eq!(
        (
            first["brand"].as_str(),
            first["last4"].as_str(),
            first["is_default"].as_bool()
        ),
        (Some("visa"), Some("4242"), Some(true))
    );
    assert_eq!(first["payment_token_id"], first["id"]);
    let (s, _, b) = send(app.client.post(&url).bearer_auth(&t).json(&json!({
        "provider_token": "pm_card_mastercard",
        "last4": "4444",
        "brand": "mastercard",
        "exp_month": 1,
        "exp_year": 2031,
        "is_default": true,
    })))
    .await?;
    assert_eq!(s, 201, "{b}");
    let second = b["data"]["id"].as_i64().unwrap_or_default();

    let (_, _, list) = send(app.client.get(&url).bearer_auth(&t)).await?;
    let items = list["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], second, "the new default comes first");
    assert_eq!(items.iter().filter(|i| i["is_default"] == true).count(), 1);

    // The number is nowhere in the database, the audit trail included.
    let mut conn = app.conn().await?;
    let dump: Dump = diesel::sql_query(
        "SELECT coalesce((SELECT string_agg(t::text, ' ') FROM payment_tokens t), '') \
         || coalesce((SELECT string_agg(a::text, ' ') FROM audit a), '') AS dump",
    )
    .get_result(&mut conn)
    .await?;
    assert!(
        !dump.dump.contains("4242424242424242") && !dump.dump.contains("4242 4242"),
        "card number stored"
    );
    assert!(dump.dump.contains("payment_token"), "creation audited");

    let other = app.token(Role::Manager).await?;
    let (s, _, b) = send(
        app.client
            .delete(app.url(&format!("/api/v1/me/payment-tokens/{second}")))
            .bearer_auth(&other),
    )
    .await?;
    assert_eq!(
        (s, error_code(s, &b).as_str()),
        (404, "PAYMENT_TOKEN_NOT_FOUND")
    );
    let (s, _, _) = send(
        app.client
            .delete(app.url(&format!("/api/v1/me/payment-tokens/{second}")))
            .bearer_auth(&t),
    )
    .await?;
    assert_eq!(s, 200);
    let (s, _, b) = send(
        app.client
            .delete(app.url(&format!("/api/v1/me/payment-tokens/{second}")))
            .bearer_auth(&t),
    )
    .await?;
    assert_eq!(
        (s, error_code(s, &b).as_str()),
        (404, "PAYMENT_TOKEN_NOT_FOUND")
    );
    let (_, _, list) = send(app.client.get(&url).bearer_auth(&t)).await?;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[tokio::test]
async fn bad_cards_and_provider_failures_are_clear() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let t = app.token(Role::Employee).await?; // the demo customer already has a seeded card
    let url = app.url("/api/v1/me/payment-tokens");
    let bad = [
        json!({"card_number": "4242424242424241", "exp_month": 12, "exp_year": 2030}),
        json!({"card_number": "4242424242424242", "exp_month": 1, "exp_year": 2020}),
        json!({"card_number": "4242424242424242", "exp_month": 13, "exp_year": 2030}),
        json!({"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "1"}),
        json!({"exp_month": 12, "exp_year": 2030}),
        json!({
            "card_number": "4242424242424242",
            "provider_token": "pm_x",
            "exp_month": 12,
            "exp_year": 2030,
        }),
        json!({"provider_token": "pm_x", "last4": "42", "exp_month": 12, "exp_year": 2030}),
        json!({
            "card_number": "4242424242424242",
            "exp_month": 12,
            "exp_year": 2030,
            "pin": "1234",
        }),
    ];
    for b in bad {
        let (s, _, body) = send(app.client.post(&url).bearer_auth(&t).json(&b)).await?;
        assert_eq!(
            (s, error_code(s, &body).as_str()),
            (400, "VALIDATION_ERROR"),
            "{body}"
        );
        assert!(
            !body.to_string().contains("4242424242424242"),
            "the number is not echoed"
        );
    }
    app.paysim.fault(json!({"fail_next": 1})).await?;
    let (s, h, b) = send(
        app.client
            .post(&url)
            .bearer_auth(&t)
            .json(&json!({"card_number": "4242424242424242", "exp_month": 12, "exp_year": 2030})),
    )
    .await?;
    assert_eq!(
        (s, error_code(s, &b).as_str()),
        (503, "PAYMENT_UNAVAILABLE")
    );
    assert!(h.contains_key("retry-after"));
    let (_, _, list) = send(app.client.get(&url).bearer_auth(&t)).await?;
    assert_eq!(
        list["data"].as_array().map(Vec::len),
        Some(0),
        "nothing saved"
    );
    Ok(())
}
