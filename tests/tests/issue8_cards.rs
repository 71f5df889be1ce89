//! Issue 8, points 7 and 9: `save_as_default` makes the paid card the default (audited in the
//! order's transaction); the React client's fixed card id 1 pays with the caller's own default
//! card (never anyone else's), new customers get the simulator's test card, and a caller with
//! no card is told to add one.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use mami_postgres::schema::{orders, payment_tokens as pt};
use mami_tests::demo::{TOMATOES, VISA};
use mami_tests::{Reply, Session, Shopper, TestApp, access_token, delivery};
use reqwest::Method;
use serde_json::{Value, json};

type R = anyhow::Result<()>;

/// The demo customer's saved card: the one the React client always names.
const CLIENT_CARD: i64 = 1;

/// `(id, is_default, provider_token, last4)` of the user's active cards, by id.
async fn cards(
    app: &TestApp,
    user: i64,
) -> anyhow::Result<Vec<(i64, bool, String, Option<String>)>> {
    let mut c = app.conn().await?;
    Ok(pt::table
        .filter(pt::user_id.eq(user))
        .filter(pt::is_active.eq(true))
        .order(pt::id)
        .select((pt::id, pt::is_default, pt::provider_token, pt::last4))
        .load(&mut c)
        .await?)
}

/// The card order `id` was paid with.
async fn paid_with(app: &TestApp, id: i64) -> anyhow::Result<Option<i64>> {
    let mut c = app.conn().await?;
    Ok(orders::table
        .find(id)
        .select(orders::payment_token_id)
        .get_result(&mut c)
        .await?)
}

/// The newest audit rows of `entity_type`/`action` (as the admin audit list shows them).
async fn audit(app: &TestApp, entity_type: &str, action: &str) -> anyhow::Result<Vec<Value>> {
    let admin = app.session(mami_domain::identity::Role::Admin).await?;
    let r = admin
        .get(&format!(
            "/api/v1/admin/audit?entityType={entity_type}&action={action}"
        ))
        .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    Ok(r.body["data"].as_array().cloned().unwrap_or_default())
}

/// A customer signed up through `POST /auth/register`, with tomatoes in their cart (added
/// through the API, as the React client does): `(session, user id, cart id)`.
async fn sign_up(app: &TestApp, email: &str) -> anyhow::Result<(Session, i64, i64)> {
    let r = Reply::of(
        app.client
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({"email": email, "password": "Secret123", "full_name": "New Customer"})),
    )
    .await?;
    assert_eq!(
        r.status, 201,
        "registration never fails for the card: {}",
        r.body
    );
    let user = r.body["data"]["user"]["id"].as_i64().unwrap_or_default();
    let session = app.session_with(access_token(&r.body["data"])?);
    let cart = session
        .post(
            "/api/v1/cart/items",
            &json!({"product_id": TOMATOES, "quantity": 1}),
        )
        .await?;
    assert_eq!(cart.status, 201, "{}", cart.body);
    let cart = cart.body["data"]["id"].as_i64().unwrap_or_default();
    Ok((session, user, cart))
}

async fn confirm(s: &Session, key: &str, body: &Value) -> anyhow::Result<Reply> {
    Reply::of(
        s.request(Method::POST, "/api/v1/checkout/confirm")
            .header("Idempotency-Key", key)
            .json(body),
    )
    .await
}

#[tokio::test]
async fn a_new_customer_pays_through_the_clients_fixed_card_id_with_their_own_test_card() -> R {
    let app = TestApp::spawn().await?;
    let slot = app.slot().create().await?;
    let (s, user, cart) = sign_up(&app, "new.customer@example.com").await?;

    let mine = cards(&app, user).await?;
    assert_eq!(
        mine.len(),
        1,
        "the simulator's test card, given at registration"
    );
    let (card, is_default, pm, last4) = mine[0].clone();
    assert!(is_default);
    assert!(
        pm.starts_with("pm_") && pm != VISA,
        "tokenized at the provider: {pm}"
    );
    assert_eq!(last4.as_deref(), Some("4242"));
    let given = audit(&app, "payment_token", "CREATE").await?;
    let given = given
        .iter()
        .find(|r| r["entity_id"] == card)
        .cloned()
        .unwrap_or_default();
    assert_eq!(given["context"]["reason"], "TEST_CARD");
    assert_eq!(given["actor_user_id"], user);

    let r = confirm(&s, "fixed-1", &delivery(cart, Some(CLIENT_CARD), slot)).await?;
    assert_eq!(
        r.status, 201,
        "Confirm & Pay works for a new customer: {}",
        r.body
    );
    let order = r.body["data"]["order_id"].as_i64().unwrap_or_default();
    assert_eq!(
        paid_with(&app, order).await?,
        Some(card),
        "their own card paid, never card 1 of the demo customer"
    );
    let intents = app.paysim.intents().await?;
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0]["payment_method"], pm.as_str(), "{}", intents[0]);
    let fallback = audit(&app, "order", "PAYMENT_TOKEN_FALLBACK").await?;
    assert_eq!(fallback.len(), 1);
    assert_eq!(fallback[0]["entity_id"], order);
    assert_eq!(fallback[0]["old_value"]["payment_token_id"], CLIENT_CARD);
    assert_eq!(fallback[0]["new_value"]["payment_token_id"], card);
    assert_eq!(fallback[0]["actor_user_id"], user);

    // The demo customer, who owns card 1, pays with it: no fallback.
    let demo = app.session(mami_domain::identity::Role::Customer).await?;
    let line = json!({"product_id": TOMATOES, "quantity": 1});
    let cart = demo.post("/api/v1/cart/items", &line).await?;
    assert_eq!(cart.status, 201, "{}", cart.body);
    let cart = cart.body["data"]["id"].as_i64().unwrap_or_default();
    let r = confirm(&demo, "fixed-2", &delivery(cart, Some(CLIENT_CARD), slot)).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let order = r.body["data"]["order_id"].as_i64().unwrap_or_default();
    assert_eq!(paid_with(&app, order).await?, Some(CLIENT_CARD));
    assert_eq!(
        audit(&app, "order", "PAYMENT_TOKEN_FALLBACK").await?.len(),
        1
    );
    Ok(())
}

#[tokio::test]
async fn switched_off_someone_elses_card_is_not_found() -> R {
    let app = TestApp::spawn_with(&[("PAYMENT_TOKEN_FALLBACK", "false")]).await?;
    let slot = app.slot().create().await?;
    let t = app.shopper(&[(TOMATOES, 1)]).card(VISA).create().await?;
    let r = t
        .confirm("off-1", &delivery(t.cart_id, Some(CLIENT_CARD), slot))
        .await?;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "PAYMENT_TOKEN_NOT_FOUND")
    );
    assert_eq!(app.paysim.intents().await?.len(), 0);
    Ok(())
}

#[tokio::test]
async fn a_caller_without_a_card_is_told_to_add_one() -> R {
    let app = TestApp::spawn_with(&[("PAYMENT_TEST_CARDS", "false")]).await?;
    let slot = app.slot().create().await?;
    let (s, user, cart) = sign_up(&app, "no.card@example.com").await?;
    assert!(cards(&app, user).await?.is_empty(), "test cards are off");
    let r = confirm(&s, "none-1", &delivery(cart, Some(CLIENT_CARD), slot)).await?;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "PAYMENT_TOKEN_NOT_FOUND")
    );
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("add a card"), "{message}");
    assert_eq!(paid_orders(&app).await?, 0);
    Ok(())
}

async fn paid_orders(app: &TestApp) -> anyhow::Result<usize> {
    app.count_orders(|_| true).await
}

#[tokio::test]
async fn the_provider_down_at_registration_never_fails_it() -> R {
    // Refused connections: registration still succeeds, and checkout asks for a card.
    let down = TestApp::spawn_with(&[("PAYMENT_PROVIDER_URL", "http://127.0.0.1:9")]).await?;
    let slot = down.slot().create().await?;
    let (s, user, cart) = sign_up(&down, "provider.down@example.com").await?;
    assert!(cards(&down, user).await?.is_empty());
    let r = confirm(&s, "down-1", &delivery(cart, Some(CLIENT_CARD), slot)).await?;
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "PAYMENT_TOKEN_NOT_FOUND"),
        "{}",
        r.body
    );

    // A provider failing at registration time only: the card comes at the first checkout.
    let app = TestApp::spawn().await?;
    let slot = app.slot().create().await?;
    app.paysim.fault(json!({"fail_next": 1})).await?;
    let (s, user, cart) = sign_up(&app, "provider.flaky@example.com").await?;
    assert!(cards(&app, user).await?.is_empty(), "tokenization failed");
    let r = confirm(&s, "flaky-1", &delivery(cart, Some(CLIENT_CARD), slot)).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let mine = cards(&app, user).await?;
    assert_eq!(mine.len(), 1);
    let order = r.body["data"]["order_id"].as_i64().unwrap_or_default();
    assert_eq!(paid_with(&app, order).await?, Some(mine[0].0));
    Ok(())
}

/// A shopper with tomatoes in the cart and two cards: the default (first) and another one
/// saved through the API.
async fn two_cards(app: &TestApp) -> anyhow::Result<(Shopper, i64, i64)> {
    let t = app.shopper(&[(TOMATOES, 1)]).card(VISA).create().await?;
    let first = t.card_id.unwrap_or_default();
    let second = t
        .post(
            "/api/v1/me/payment-tokens",
            &json!({"provider_token": "pm_card_mastercard", "last4": "4444",
                "exp_month": 1, "exp_year": 2031}),
        )
        .await?;
    assert_eq!(second.status, 201, "{}", second.body);
    let second = second.body["data"]["id"].as_i64().unwrap_or_default();
    Ok((t, first, second))
}

#[tokio::test]
async fn save_as_default_makes_the_paid_card_the_default() -> R {
    let app = TestApp::spawn().await?;
    let slot = app.slot().create().await?;
    let (t, first, second) = two_cards(&app).await?;
    let defaults = |cs: Vec<(i64, bool, String, Option<String>)>| {
        cs.into_iter()
            .filter(|c| c.1)
            .map(|c| c.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(defaults(cards(&app, t.user_id).await?), vec![first]);

    let mut body = delivery(t.cart_id, Some(second), slot);
    body["save_as_default"] = json!(true);
    let r = t.confirm("save-1", &body).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    let order = r.body["data"]["order_id"].as_i64().unwrap_or_default();
    assert_eq!(paid_with(&app, order).await?, Some(second));
    assert_eq!(
        defaults(cards(&app, t.user_id).await?),
        vec![second],
        "the paid card is now the only default"
    );
    let rows = audit(&app, "payment_preferences", "SET_DEFAULT").await?;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["entity_id"], second);
    assert_eq!(rows[0]["new_value"]["payment_token_id"], second);
    assert_eq!(rows[0]["old_value"]["payment_token_id"], first);
    assert_eq!(rows[0]["context"]["order_id"], order);
    assert_eq!(rows[0]["actor_user_id"], t.user_id);

    // Without the flag nothing changes.
    app.put_in_cart(t.cart_id, &[(TOMATOES, 1)]).await?;
    let r = t
        .confirm("save-2", &delivery(t.cart_id, Some(first), slot))
        .await?;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(defaults(cards(&app, t.user_id).await?), vec![second]);
    assert_eq!(
        audit(&app, "payment_preferences", "SET_DEFAULT")
            .await?
            .len(),
        1
    );
    Ok(())
}

#[tokio::test]
async fn the_new_default_is_written_in_the_orders_transaction() -> R {
    let app = TestApp::spawn().await?;
    let slot = app.slot().create().await?;
    let (t, first, second) = two_cards(&app).await?;
    // Refuse exactly the SET_DEFAULT audit row: the order must not survive without it.
    let mut c = app.conn().await?;
    diesel::sql_query(
        "CREATE FUNCTION refuse_default_audit() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.entity_type = 'payment_preferences' THEN \
         RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$",
    )
    .execute(&mut c)
    .await?;
    diesel::sql_query(
        "CREATE TRIGGER refuse_default_audit BEFORE INSERT ON audit \
         FOR EACH ROW EXECUTE FUNCTION refuse_default_audit()",
    )
    .execute(&mut c)
    .await?;
    let mut body = delivery(t.cart_id, Some(second), slot);
    body["save_as_default"] = json!(true);
    let r = t.confirm("tx-1", &body).await?;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(
        paid_orders(&app).await?,
        0,
        "no order without its audit row"
    );
    let defaults: Vec<i64> = cards(&app, t.user_id)
        .await?
        .into_iter()
        .filter(|c| c.1)
        .map(|c| c.0)
        .collect();
    assert_eq!(defaults, vec![first], "the default did not move either");
    assert_eq!(app.paysim.intents().await?.len(), 0, "nothing was charged");
    Ok(())
}
