//! `mami-paysim`: an in-memory payment provider speaking the Stripe-compatible subset that
//! `mami-payments` uses (PaymentMethods, manual-capture PaymentIntents, capture, cancel,
//! refunds), honouring `Idempotency-Key`, with magic cards and fault injection for tests.
//!
//! Magic cards: `4000000000000002` (or `pm_card_chargeDeclined`) is always declined,
//! `4000000000009995` (or `pm_card_chargeDeclinedInsufficientFunds`) fails for insufficient
//! funds; any other valid number (or `pm_card_visa`) authorizes.
//!
//! Test controls (not part of the provider API):
//! - `POST /__paysim/faults` with JSON [`Faults`]; `DELETE /__paysim/faults` resets them.
//! - `GET /__paysim/intents` lists every PaymentIntent, with the refunds made on it (so tests
//!   can count the provider's effects: one capture, one refund).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::web::{self, Bytes};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Faults the tests switch on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added to every provider request.
    pub latency_ms: u64,
    /// Probability (0..1) that a mutating request fails with 500 before doing anything.
    pub error_rate: f64,
    /// The next N mutating requests fail with 500 before doing anything.
    pub fail_next: u32,
    /// The next N mutating requests take effect, then the answer is delayed by `hang_ms`
    /// (the client times out; a replay with the same key returns the stored result at once).
    pub hang_after_effect_next: u32,
    pub hang_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behavior {
    Approve,
    Decline,
    InsufficientFunds,
}

#[derive(Debug, Clone)]
struct Card {
    behavior: Behavior,
    brand: &'static str,
    last4: String,
    exp_month: i64,
    exp_year: i64,
}

/// A PaymentIntent as paysim keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct Intent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub amount_refunded: i64,
    pub payment_method: String,
    pub reference: String,
    /// Every refund made on the intent, in order.
    pub refunds: Vec<Refund>,
}

/// A refund as paysim keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
}

impl Intent {
    fn json(&self) -> Value {
        json!({
            "id": self.id, "object": "payment_intent", "status": self.status, "amount": self.amount,
            "amount_capturable": self.amount_capturable, "amount_received": self.amount_received,
            "capture_method": "manual", "payment_method": self.payment_method,
            "metadata": {"reference": self.reference},
        })
    }
}

#[derive(Debug, Clone)]
struct Stored {
    fingerprint: String,
    status: u16,
    body: Value,
}

#[derive(Debug, Default)]
struct Sim {
    cards: HashMap<String, Card>,
    intents: HashMap<String, Intent>,
    order: Vec<String>,
    idempotency: HashMap<String, Stored>,
    in_flight: HashSet<String>,
    faults: Faults,
    seq: u64,
}

impl Sim {
    fn next_id(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!(
            "{prefix}_{:06}{}",
            self.seq,
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )
    }
}

/// Shared simulator state.
#[derive(Debug, Default)]
pub struct State(Mutex<Sim>);

impl State {
    fn with<T>(&self, f: impl FnOnce(&mut Sim) -> T) -> T {
        let mut guard = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }
}

fn error(status: u16, kind: &str, message: &str) -> (u16, Value) {
    (status, json!({"error": {"type": kind, "message": message}}))
}

fn respond((status, body): (u16, Value)) -> HttpResponse {
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
    .json(body)
}

fn authorized(req: &HttpRequest) -> bool {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|k| !k.trim().is_empty())
}

fn form(body: &Bytes) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn create_payment_method(sim: &mut Sim, f: &HashMap<String, String>) -> (u16, Value) {
    let number = f.get("card[number]").cloned().unwrap_or_default();
    if number.len() < 12
        || !number.chars().all(|c| c.is_ascii_digit())
        || !mami_domain::payments::luhn_ok(&number)
    {
        return (
            402,
            json!({"error": {
                "type": "card_error",
                "code": "incorrect_number",
                "message": "Your card number is incorrect.",
            }}),
        );
    }
    let exp_month = f
        .get("card[exp_month]")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let exp_year = f
        .get("card[exp_year]")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let behavior = match number.as_str() {
        "4000000000000002" => Behavior::Decline,
        "4000000000009995" => Behavior::InsufficientFunds,
        _ => Behavior::Approve,
    };
    let brand = match number.chars().next() {
        Some('4') => "visa",
        Some('5') => "mastercard",
        Some('3') => "amex",
        _ => "unknown",
    };
    let card = Card {
        behavior,
        brand,
        last4: number[number.len() - 4..].to_owned(),
        exp_month,
        exp_year,
    };
    let id = sim.next_id("pm");
    let body = json!({"id": id, "object": "payment_method", "type": "card", "card": {
        "brand": card.brand,
        "last4": card.last4,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
    }});
    sim.cards.insert(id, card);
    (200, body)
}

fn behavior_of(sim: &Sim, pm: &str) -> Option<Behavior> {
    match pm {
        "pm_card_visa" | "pm_card_mastercard" => Some(Behavior::Approve),
        "pm_card_chargeDeclined" => Some(Behavior::Decline),
        "pm_card_chargeDeclinedInsufficientFunds" => Some(Behavior::InsufficientFunds),
        _ => sim.cards.get(pm).map(|c| c.behavior),
    }
}

fn create_intent(sim: &mut Sim, f: &HashMap<String, String>) -> (u16, Value) {
    let Some(amount) = f
        .get("amount")
        .and_then(|a| a.parse::<i64>().ok())
        .filter(|a| *a > 0)
    else {
        return error(
            400,
            "invalid_request_error",
            "amount must be a positive integer",
        );
    };
    let pm = f.get("payment_method").cloned().unwrap_or_default();
    let Some(behavior) = behavior_of(sim, &pm) else {
        return error(400, "invalid_request_error", "No such payment_method");
    };
    let manual = f.get("capture_method").map(String::as_str) == Some("manual");
    let id = sim.next_id("pi");
    let mut intent = Intent {
        id: id.clone(),
        status: "requires_capture".into(),
        amount,
        amount_capturable: amount,
        amount_received: 0,
        amount_refunded: 0,
        payment_method: pm,
        reference: f.get("metadata[reference]").cloned().unwrap_or_default(),
        refunds: Vec::new(),
    };
    let result = match behavior {
        Behavior::Approve if manual => (200, intent.json()),
        Behavior::Approve => {
            intent.status = "succeeded".into();
            intent.amount_capturable = 0;
            intent.amount_received = amount;
            (200, intent.json())
        }
        Behavior::Decline | Behavior::InsufficientFunds => {
            intent.status = "requires_payment_method".into();
            intent.amount_capturable = 0;
            let decline = if behavior == Behavior::Decline {
                "generic_decline"
            } else {
                "insufficient_funds"
            };
            (
                402,
                json!({"error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": decline,
                    "message": "Your card was declined.",
                    "payment_intent": intent.json(),
                }}),
            )
        }
    };
    sim.intents.insert(id.clone(), intent);
    sim.order.push(id);
    result
}

fn capture(sim: &mut Sim, id: &str, f: &HashMap<String, String>) -> (u16, Value) {
    let Some(intent) = sim.intents.get_mut(id) else {
        return error(404, "invalid_request_error", "No such payment_intent");
    };
    if intent.status != "requires_capture" {
        return error(
            400,
            "invalid_request_error",
            "This PaymentIntent could not be captured",
        );
    }
    let amount = f
        .get("amount_to_capture")
        .and_then(|a| a.parse::<i64>().ok())
        .unwrap_or(intent.amount_capturable);
    if amount <= 0 || amount > intent.amount_capturable {
        return error(
            400,
            "invalid_request_error",
            "amount_to_capture exceeds the capturable amount",
        );
    }
    intent.amount_received = amount;
    intent.amount_capturable = 0;
    intent.status = "succeeded".into();
    (200, intent.json())
}

fn cancel(sim: &mut Sim, id: &str) -> (u16, Value) {
    let Some(intent) = sim.intents.get_mut(id) else {
        return error(404, "invalid_request_error", "No such payment_intent");
    };
    if !matches!(
        intent.status.as_str(),
        "requires_capture" | "requires_payment_method"
    ) {
        return error(
            400,
            "invalid_request_error",
            "This PaymentIntent cannot be canceled",
        );
    }
    intent.status = "canceled".into();
    intent.amount_capturable = 0;
    (200, intent.json())
}

fn refund(sim: &mut Sim, f: &HashMap<String, String>) -> (u16, Value) {
    let id = f.get("payment_intent").cloned().unwrap_or_default();
    let Some(intent) = sim.intents.get_mut(&id) else {
        return error(404, "invalid_request_error", "No such payment_intent");
    };
    let remaining = intent.amount_received - intent.amount_refunded;
    let amount = f
        .get("amount")
        .and_then(|a| a.parse::<i64>().ok())
        .unwrap_or(remaining);
    if amount <= 0 || amount > remaining {
        return error(
            400,
            "invalid_request_error",
            "Refund amount exceeds the captured amount",
        );
    }
    intent.amount_refunded += amount;
    let rid = sim.next_id("re");
    if let Some(intent) = sim.intents.get_mut(&id) {
        intent.refunds.push(Refund {
            id: rid.clone(),
            amount,
        });
    }
    (
        200,
        json!({
            "id": rid,
            "object": "refund",
            "status": "succeeded",
            "amount": amount,
            "payment_intent": id,
        }),
    )
}

enum Op {
    PaymentMethod,
    Intent,
    Capture(String),
    Cancel(String),
    Refund,
}

/// Runs a mutating request with idempotency and faults.
async fn mutate(state: web::Data<State>, req: HttpRequest, body: Bytes, op: Op) -> HttpResponse {
    if !authorized(&req) {
        return respond(error(
            401,
            "invalid_request_error",
            "Invalid API Key provided",
        ));
    }
    let f = form(&body);
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let fingerprint = {
        let mut sorted: Vec<(&String, &String)> = f.iter().collect();
        sorted.sort();
        let mut h = Sha256::new();
        h.update(req.path());
        for (k, v) in sorted {
            h.update(k);
            h.update("=");
            h.update(v);
            h.update("&");
        }
        format!("{:x}", h.finalize())
    };
    if let Some(k) = &key {
        let early = state.with(|sim| {
            if let Some(stored) = sim.idempotency.get(k) {
                if stored.fingerprint == fingerprint {
                    return Some((stored.status, stored.body.clone()));
                }
                return Some(error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters",
                ));
            }
            if !sim.in_flight.insert(k.clone()) {
                return Some(error(
                    409,
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotency Key",
                ));
            }
            None
        });
        if let Some(r) = early {
            return respond(r);
        }
    }
    let (latency, fail) = state.with(|sim| {
        let f = &mut sim.faults;
        let fail = if f.fail_next > 0 {
            f.fail_next -= 1;
            true
        } else {
            f.error_rate > 0.0 && rand::random::<f64>() < f.error_rate
        };
        (f.latency_ms, fail)
    });
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    if fail {
        state.with(|sim| key.as_ref().map(|k| sim.in_flight.remove(k)));
        return respond(error(500, "api_error", "Simulated provider failure"));
    }
    let (result, hang) = state.with(|sim| {
        let result = match &op {
            Op::PaymentMethod => create_payment_method(sim, &f),
            Op::Intent => create_intent(sim, &f),
            Op::Capture(id) => capture(sim, id, &f),
            Op::Cancel(id) => cancel(sim, id),
            Op::Refund => refund(sim, &f),
        };
        if let Some(k) = &key {
            sim.in_flight.remove(k);
            sim.idempotency.insert(
                k.clone(),
                Stored {
                    fingerprint: fingerprint.clone(),
                    status: result.0,
                    body: result.1.clone(),
                },
            );
        }
        let hang = if sim.faults.hang_after_effect_next > 0 {
            sim.faults.hang_after_effect_next -= 1;
            sim.faults.hang_ms
        } else {
            0
        };
        (result, hang)
    });
    if hang > 0 {
        tokio::time::sleep(Duration::from_millis(hang)).await;
    }
    respond(result)
}

async fn post_payment_method(s: web::Data<State>, req: HttpRequest, body: Bytes) -> HttpResponse {
    mutate(s, req, body, Op::PaymentMethod).await
}
async fn post_intent(s: web::Data<State>, req: HttpRequest, body: Bytes) -> HttpResponse {
    mutate(s, req, body, Op::Intent).await
}
async fn post_capture(
    s: web::Data<State>,
    req: HttpRequest,
    body: Bytes,
    id: web::Path<String>,
) -> HttpResponse {
    mutate(s, req, body, Op::Capture(id.into_inner())).await
}
async fn post_cancel(
    s: web::Data<State>,
    req: HttpRequest,
    body: Bytes,
    id: web::Path<String>,
) -> HttpResponse {
    mutate(s, req, body, Op::Cancel(id.into_inner())).await
}
async fn post_refund(s: web::Data<State>, req: HttpRequest, body: Bytes) -> HttpResponse {
    mutate(s, req, body, Op::Refund).await
}

async fn get_intent(s: web::Data<State>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    if !authorized(&req) {
        return respond(error(
            401,
            "invalid_request_error",
            "Invalid API Key provided",
        ));
    }
    let latency = s.with(|sim| sim.faults.latency_ms);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    s.with(|sim| match sim.intents.get(id.as_str()) {
        Some(i) => respond((200, i.json())),
        None => respond(error(
            404,
            "invalid_request_error",
            "No such payment_intent",
        )),
    })
}

async fn set_faults(s: web::Data<State>, faults: web::Json<Faults>) -> HttpResponse {
    s.with(|sim| sim.faults = faults.into_inner());
    HttpResponse::NoContent().finish()
}

async fn reset_faults(s: web::Data<State>) -> HttpResponse {
    s.with(|sim| sim.faults = Faults::default());
    HttpResponse::NoContent().finish()
}

async fn list_intents(s: web::Data<State>) -> HttpResponse {
    let list: Vec<Intent> = s.with(|sim| {
        sim.order
            .iter()
            .filter_map(|id| sim.intents.get(id).cloned())
            .collect()
    });
    HttpResponse::Ok().json(list)
}

/// Registers every route on an app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/payment_methods", web::post().to(post_payment_method))
        .route("/v1/payment_intents", web::post().to(post_intent))
        .route("/v1/payment_intents/{id}", web::get().to(get_intent))
        .route(
            "/v1/payment_intents/{id}/capture",
            web::post().to(post_capture),
        )
        .route(
            "/v1/payment_intents/{id}/cancel",
            web::post().to(post_cancel),
        )
        .route("/v1/refunds", web::post().to(post_refund))
        .route("/__paysim/faults", web::post().to(set_faults))
        .route("/__paysim/faults", web::delete().to(reset_faults))
        .route("/__paysim/intents", web::get().to(list_intents));
}

/// Serves paysim on `listener` (in a test or the binary); returns a handle to stop it.
pub fn serve(
    listener: std::net::TcpListener,
    workers: usize,
) -> std::io::Result<(ServerHandle, actix_web::dev::Server)> {
    let state = web::Data::new(State::default());
    let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(configure))
        .workers(workers)
        .listen(listener)?
        .run();
    Ok((server.handle(), server))
}
