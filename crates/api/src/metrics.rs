//! Prometheus metrics (`METRICS_ADDR`): the process-wide recorder, the HTTP middleware that
//! times every request by route pattern, the counters of checkout, the reconciler and the mail
//! worker, and the listener that serves `GET /metrics` on its own address.
//!
//! Without `METRICS_ADDR` no recorder is installed and the middleware is not mounted, so the
//! metrics cost nothing. With it, a request costs one walk of the route table for its pattern
//! (bounded cardinality: never the raw path), one histogram update (a lock-free append) and
//! two atomic updates of the in-flight gauge. The gauges that describe a state (the pool) are
//! read at each scrape instead of being kept up to date by the requests.

use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{App, HttpResponse, ResponseError, web};
use mami_domain::InfraError;
use mami_domain::checkout::{CheckoutError, ConfirmOutcome};
use mami_domain::mail::DeliveryReport;
use mami_domain::reconciler::ReconcileReport;
use metrics::{Gauge, SharedString, Unit, counter, describe_counter, describe_gauge};
use metrics::{describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::http::ApiError;
use crate::server::{Listen, ServeOptions, serve};
use crate::state::AppState;

pub const HTTP_DURATION: &str = "mami_http_request_duration_seconds";
pub const HTTP_IN_FLIGHT: &str = "mami_http_requests_in_flight";
pub const CHECKOUT: &str = "mami_checkout_confirms_total";
pub const RECONCILER_PASSES: &str = "mami_reconciler_passes_total";
pub const RECONCILER_ACTIONS: &str = "mami_reconciler_actions_total";
pub const MAIL_MESSAGES: &str = "mami_mail_messages_total";
pub const MAIL_PASSES: &str = "mami_mail_passes_total";
pub const POOL_CONNECTIONS: &str = "mami_db_pool_connections";
pub const POOL_MAX: &str = "mami_db_pool_max_connections";
pub const POOL_WAITING: &str = "mami_db_pool_waiting";

/// Histogram buckets (seconds) of every latency: from a cached read to the payment timeout.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histograms are folded into their buckets when nobody scrapes (keeps the
/// recorder's memory bounded).
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Installs the process-wide recorder, once; later calls (another app in the same test
/// process) get the same handle.
pub fn install() -> Result<PrometheusHandle, String> {
    let mut slot = HANDLE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(handle) = slot.as_ref() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets(&BUCKETS)
        .map_err(|e| format!("metrics buckets: {e}"))?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    describe();
    *slot = Some(handle.clone());
    Ok(handle)
}

/// The `# HELP` line of every metric (the payment and password ones are described here too,
/// for one list of the process's metrics).
fn describe() {
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP requests by route pattern, method and status: time to the response head"
    );
    describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being served");
    describe_counter!(CHECKOUT, "Checkout confirms by outcome");
    describe_histogram!(
        mami_payments::PROVIDER_DURATION,
        Unit::Seconds,
        "Payment-provider calls by operation and outcome"
    );
    describe_counter!(RECONCILER_PASSES, "Reconciler passes by result");
    describe_counter!(RECONCILER_ACTIONS, "What reconciler passes did, by action");
    describe_counter!(MAIL_PASSES, "Outbox delivery passes by result");
    describe_counter!(MAIL_MESSAGES, "Outbox messages by outcome");
    describe_gauge!(POOL_CONNECTIONS, "Database connections open, by state");
    describe_gauge!(POOL_MAX, "Database connections the pool may open");
    describe_gauge!(POOL_WAITING, "Requests waiting for a database connection");
    crate::auth::password::describe_metrics();
}

/// The label of a method: the standard ones by name, any other as `OTHER` (bounded).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The label of a status code, without allocating: `"100"` … `"999"` made once.
fn status_label(status: StatusCode) -> &'static str {
    static CODES: OnceLock<Box<[String]>> = OnceLock::new();
    let codes = CODES.get_or_init(|| (100..1000).map(|c: u16| c.to_string()).collect());
    codes
        .get(usize::from(status.as_u16()).saturating_sub(100))
        .map_or("other", String::as_str)
}

fn in_flight() -> &'static Gauge {
    static IN_FLIGHT: OnceLock<Gauge> = OnceLock::new();
    IN_FLIGHT.get_or_init(|| gauge!(HTTP_IN_FLIGHT))
}

/// Counts a request in flight until it is answered or dropped.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        in_flight().increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        in_flight().decrement(1.0);
    }
}

/// Middleware timing every request under its route pattern (`/api/v1/orders/{order_id}`);
/// a path no route matches is `unmatched`.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let _in_flight = InFlight::enter();
    let started = Instant::now();
    let route: SharedString = req.match_pattern().map_or("unmatched".into(), Into::into);
    let method = method_label(req.method());
    let res = next.call(req).await;
    let status = match &res {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    histogram!(HTTP_DURATION, "route" => route, "method" => method,
        "status" => status_label(status))
    .record(started.elapsed());
    res
}

/// Counts a confirm by outcome: `created`, `replayed`, `declined`, `payment_unavailable`;
/// `rejected` for a refusal (stock, idempotency, cart, card …) and `failed` for an
/// infrastructure failure.
pub fn checkout(outcome: &Result<ConfirmOutcome, CheckoutError>) {
    let label = match outcome {
        Ok(ConfirmOutcome::Created(_)) => "created",
        Ok(ConfirmOutcome::Replayed(_)) => "replayed",
        Ok(ConfirmOutcome::Declined(_)) => "declined",
        Ok(ConfirmOutcome::PaymentUnavailable { .. }) => "payment_unavailable",
        Err(CheckoutError::Internal(_)) => "failed",
        Err(_) => "rejected",
    };
    counter!(CHECKOUT, "outcome" => label).increment(1);
}

/// Counts one background pass under `passes{result}`, and each non-zero tally of what it did
/// under `items{label}`.
fn pass(
    passes: &'static str,
    result: &'static str,
    items: (&'static str, &'static str),
    tallies: &[(&'static str, usize)],
) {
    counter!(passes, "result" => result).increment(1);
    let (name, label) = items;
    for &(value, n) in tallies.iter().filter(|(_, n)| *n > 0) {
        counter!(name, label => value).increment(u64::try_from(n).unwrap_or(u64::MAX));
    }
}

/// Counts a reconciler pass: `led` (this process held the lead), `standby` (another did) or
/// `failed`, and what a led pass did.
pub fn reconciled(result: &Result<ReconcileReport, InfraError>) {
    let actions = (RECONCILER_ACTIONS, "action");
    let Ok(r) = result else {
        return pass(RECONCILER_PASSES, "failed", actions, &[]);
    };
    let tallies = [
        ("purged", r.purged),
        ("authorized", r.authorized),
        ("declined", r.declined),
        ("abandoned", r.abandoned),
        ("still_unknown", r.still_unknown),
        ("money_settled", r.money_settled),
        ("money_unknown", r.money_unknown),
    ];
    let led = if r.led { "led" } else { "standby" };
    pass(RECONCILER_PASSES, led, actions, &tallies);
}

/// Counts a mail delivery pass (`ok` or `failed`) and its messages by outcome.
pub fn mailed<E>(result: &Result<DeliveryReport, E>) {
    let messages = (MAIL_MESSAGES, "outcome");
    let Ok(r) = result else {
        return pass(MAIL_PASSES, "failed", messages, &[]);
    };
    let tallies = [
        ("sent", r.sent),
        ("retried", r.retried),
        ("failed", r.failed),
        ("expired", r.expired),
        ("lost", r.lost),
    ];
    pass(MAIL_PASSES, "ok", messages, &tallies);
}

/// The exposition: the pool's state read now, then every series.
fn render(state: &AppState, handle: &PrometheusHandle) -> String {
    let pool = state.db.pool_status();
    let as_f64 = |n: usize| u32::try_from(n).map_or(f64::from(u32::MAX), f64::from);
    gauge!(POOL_CONNECTIONS, "state" => "in_use").set(as_f64(pool.in_use()));
    gauge!(POOL_CONNECTIONS, "state" => "idle").set(as_f64(pool.idle));
    gauge!(POOL_MAX).set(as_f64(pool.max_size));
    gauge!(POOL_WAITING).set(as_f64(pool.waiting));
    handle.render()
}

async fn scrape(state: web::Data<AppState>, handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(render(&state, &handle))
}

async fn not_found() -> HttpResponse {
    ApiError::http(StatusCode::NOT_FOUND).error_response()
}

/// Serves `GET /metrics` (and nothing else) on `addr`, with one worker, and folds the
/// histograms every few seconds. Call it inside the runtime; stop the server with its handle.
pub fn serve_metrics(
    addr: SocketAddr,
    state: web::Data<AppState>,
    handle: PrometheusHandle,
) -> std::io::Result<Server> {
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP).await;
            upkeep.run_upkeep();
        }
    });
    let handle = web::Data::new(handle);
    let options = ServeOptions {
        workers: Some(1),
        shutdown_timeout: Some(1),
    };
    serve(Listen::Addr(addr), options, move || {
        App::new()
            .app_data(state.clone())
            .app_data(handle.clone())
            .route("/metrics", web::get().to(scrape))
            .default_service(web::to(not_found))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded_and_static() {
        assert_eq!(status_label(StatusCode::OK), "200");
        assert_eq!(status_label(StatusCode::SERVICE_UNAVAILABLE), "503");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::CONNECT), "OTHER");
        let odd = Method::from_bytes(b"BREW").map(|m| method_label(&m));
        assert_eq!(odd.ok(), Some("OTHER"));
    }
}
