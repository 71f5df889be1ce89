//! The statements PostgreSQL receives for one 3-item purchase through the HTTP API (issue 12):
//! at most 60 for the loop, and a bound per request so that a regression names its route.
//!
//! Counted by the pool's instrumentation (`Database::statements`), which sees every statement
//! diesel starts on a pooled connection: queries, `BEGIN`/`COMMIT`/`ROLLBACK` and the pool's
//! own connection check. Not counted are a new connection's setup (`SET TIME ZONE`, type
//! lookups), paid once per connection: a first loop warms the pool, and the measured loop
//! runs one request at a time on the one connection that warmed up. Each of those statements
//! must also be kept prepared by its connection (`Database::statements().is_prepared`).

use mami_tests::demo::{BANANAS, MILK, TOMATOES, VISA};
use mami_tests::reqwest::Method;
use mami_tests::{Reply, Shopper, TestApp};
use serde_json::{Value, json};

type R = anyhow::Result<()>;

/// The whole loop: add ×3, preview, confirm, the order, clearing the cart.
const LOOP_BUDGET: u64 = 60;

/// One request of the loop and the most statements it may cost.
struct Step {
    label: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
    budget: u64,
}

impl Step {
    fn new(label: &'static str, method: Method, path: &str, status: u16, budget: u64) -> Self {
        Self {
            label,
            method,
            path: path.to_owned(),
            body: None,
            status,
            budget,
        }
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    async fn send(&self, shopper: &Shopper, key: &str) -> anyhow::Result<Reply> {
        let mut req = shopper.request(self.method.clone(), &self.path);
        if let Some(body) = &self.body {
            req = req.json(body);
        }
        if self.label == "confirm" {
            req = req.header("Idempotency-Key", key);
        }
        Reply::of(req).await
    }
}

fn add(product: i64) -> Step {
    Step::new("add item", Method::POST, "/api/v1/cart/items", 201, 7)
        .body(json!({"product_id": product, "quantity": 1}))
}

/// The loop's requests; the order's path is known once the confirm answered.
fn purchase(shopper: &Shopper, slot: i64) -> Vec<Step> {
    vec![
        add(TOMATOES),
        add(BANANAS),
        add(MILK),
        Step::new("preview", Method::POST, "/api/v1/checkout/preview", 200, 5)
            .body(shopper.delivery(slot)),
        Step::new("confirm", Method::POST, "/api/v1/checkout/confirm", 201, 24)
            .body(shopper.delivery(slot)),
        Step::new("get order", Method::GET, "/api/v1/orders/{id}", 200, 3),
        Step::new("clear cart", Method::DELETE, "/api/v1/cart", 200, 6),
    ]
}

/// Runs the loop once; returns each request's label, statements and their text.
async fn run_loop(app: &TestApp, shopper: &Shopper, slot: i64, key: &str) -> Vec<Measured> {
    let tally = app.db.statements();
    let mut order = None;
    let mut out = Vec::new();
    for mut step in purchase(shopper, slot) {
        if let Some(id) = order {
            step.path = step.path.replace("{id}", &format!("{id}"));
        }
        tally.take_recorded();
        let before = tally.sent();
        let reply = step
            .send(shopper, key)
            .await
            .expect("the request is answered");
        let sent = tally.sent() - before;
        assert_eq!(reply.status, step.status, "{}: {}", step.label, reply.body);
        if step.label == "confirm" {
            order = reply.body["data"]["order_id"].as_i64();
            assert!(order.is_some(), "{}", reply.body);
        }
        out.push(Measured {
            label: step.label,
            budget: step.budget,
            sent,
            sql: tally.take_recorded(),
        });
    }
    out
}

struct Measured {
    label: &'static str,
    budget: u64,
    sent: u64,
    sql: Vec<String>,
}

fn print(title: &str, measured: &[Measured]) {
    println!("{title}");
    for m in measured {
        println!(
            "  {:<10} {:>3} statements (budget {})",
            m.label, m.sent, m.budget
        );
        for sql in &m.sql {
            println!("      {}", sql.chars().take(150).collect::<String>());
        }
    }
}

#[tokio::test]
async fn a_three_item_purchase_stays_within_its_statement_budget() -> R {
    let app = TestApp::spawn().await?;
    for product in [TOMATOES, BANANAS, MILK] {
        app.stock_everywhere(product).set(100).await?;
    }
    let slot = app.slot().create().await?;
    let shopper = app.shopper(&[]).card(VISA).create().await?;
    app.db.statements().record();
    run_loop(&app, &shopper, slot, "warm-up").await;

    let measured = run_loop(&app, &shopper, slot, "measured").await;
    print("one 3-item purchase loop", &measured);
    let total: u64 = measured.iter().map(|m| m.sent).sum();
    println!("  total      {total:>3} statements (budget {LOOP_BUDGET})");
    for m in &measured {
        assert!(
            m.sent <= m.budget,
            "{} sent {} statements, budget {}: {:#?}",
            m.label,
            m.sent,
            m.budget,
            m.sql
        );
    }
    assert!(total <= LOOP_BUDGET, "the loop sent {total} statements");
    for m in &measured {
        assert_prepared(&app, m.label, &m.sql);
    }
    Ok(())
}

/// After a warm-up, every statement of a hot request is one its connection keeps prepared:
/// executed without a parse and describe round trip or planning from scratch (transaction
/// control is sent as simple queries and is not prepared).
fn assert_prepared(app: &TestApp, label: &str, sql: &[String]) {
    let tally = app.db.statements();
    for s in sql {
        if matches!(s.trim(), "BEGIN" | "COMMIT" | "ROLLBACK") {
            continue;
        }
        assert!(
            tally.is_prepared(s),
            "{label} sent a statement that is prepared afresh on every execution: {s}"
        );
    }
}

/// Reads: a cart and the catalog list. A read sends no transaction control, no write and
/// takes no lock.
#[tokio::test]
async fn reads_open_no_transaction_and_take_no_lock() -> R {
    let app = TestApp::spawn().await?;
    let shopper = app.shopper(&[(TOMATOES, 2), (BANANAS, 1)]).create().await?;
    let tally = app.db.statements();
    tally.record();
    let list = "/api/v1/catalog/products/search?limit=20";
    for (label, path, budget) in [("get cart", "/api/v1/cart", 2), ("catalog list", list, 3)] {
        shopper.get(path).await?; // warm-up
        tally.take_recorded();
        let before = tally.sent();
        let reply = shopper.get(path).await?;
        let sent = tally.sent() - before;
        let sql = tally.take_recorded();
        assert_eq!(reply.status, 200, "{label}: {}", reply.body);
        println!("{label}: {sent} statements {sql:#?}");
        assert!(sent <= budget, "{label} sent {sent} statements: {sql:#?}");
        assert_prepared(&app, label, &sql);
        for s in &sql {
            let s = s.to_uppercase();
            let writes = ["BEGIN", "INSERT", "UPDATE", "DELETE"]
                .iter()
                .any(|w| s.starts_with(w));
            assert!(!writes && !s.contains(" FOR UPDATE"), "{label} sent {s}");
        }
    }
    Ok(())
}

/// The pool hands out connections without a check (`RecyclingMethod::Fast`), yet a connection
/// the server closed is dropped, not reused: the next request gets a fresh one.
#[tokio::test]
async fn a_connection_the_server_closed_is_not_reused() -> R {
    use diesel::sql_types::Bool;
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Ended {
        #[diesel(sql_type = Bool)]
        ended: bool,
    }

    let app = TestApp::spawn().await?;
    let shopper = app.shopper(&[(TOMATOES, 1)]).create().await?;
    assert_eq!(shopper.get("/api/v1/cart").await?.status, 200);
    let mut c = app.conn().await?;
    let ended: Vec<Ended> = diesel::sql_query(
        "SELECT pg_terminate_backend(pid, 5000) AS ended FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND backend_type = 'client backend'",
    )
    .load(&mut c)
    .await?;
    assert!(!ended.is_empty() && ended.iter().all(|e| e.ended));
    for _ in 0..3 {
        let cart = shopper.get("/api/v1/cart").await?;
        assert_eq!(cart.status, 200, "{}", cart.body);
    }
    Ok(())
}
