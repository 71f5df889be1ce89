//! Request id, per-request tracing span and security headers; NUL characters in the URL.

use std::net::IpAddr;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError, web};

use super::ApiError;
use super::shape::NUL_MESSAGE;
use mami_domain::FieldError;
use tracing::Instrument;

/// The id of the current request, as echoed in `X-Request-Id` and logged on every line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The headers every response carries (`Strict-Transport-Security` too, over HTTPS).
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-xss-protection", "1; mode=block"),
];

/// Trusted reverse proxies, whose `X-Forwarded-*` headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpAddr>);

impl TrustedProxies {
    /// The client address: the peer, or, when the peer is a trusted proxy, the right-most
    /// untrusted address of `X-Forwarded-For`.
    pub fn client_ip(&self, req: &ServiceRequest) -> Option<IpAddr> {
        let peer = req.peer_addr().map(|a| a.ip())?;
        if !self.0.contains(&peer) {
            return Some(peer);
        }
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        forwarded
            .split(',')
            .rev()
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .find(|ip| !self.0.contains(ip))
            .or(Some(peer))
    }

    fn is_https(&self, req: &ServiceRequest) -> bool {
        if req.app_config().secure() {
            return true;
        }
        let from_proxy = req.peer_addr().is_some_and(|a| self.0.contains(&a.ip()));
        from_proxy
            && req
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }
}

fn needs_envelope<B>(res: &ServiceResponse<B>) -> bool {
    let status = res.status();
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    (status.is_client_error() || status.is_server_error()) && !is_json
}

fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let raw = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?.trim();
    let ok = !raw.is_empty() && raw.len() <= 128 && raw.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| raw.to_owned())
}

/// Assigns the request id, runs the request inside a span carrying it, logs the outcome and
/// adds `X-Request-Id` and the security headers to every response.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = incoming_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let https = req
        .app_data::<web::Data<TrustedProxies>>()
        .is_some_and(|p| p.is_https(&req));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path()
    );
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let res = match result {
        Ok(res) => res,
        Err(e) => {
            // Middleware errors still get the envelope and the headers below.
            let _enter = span.enter();
            tracing::warn!(error = %e, "request failed in middleware");
            return Err(e);
        }
    };
    span.in_scope(|| {
        let status = res.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::error!(status, latency_ms, "request finished");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
    });
    // Anything that answered an error outside the envelope (a framework or middleware
    // rejection, such as CORS refusing a preflight) is put into it.
    let mut res = if needs_envelope(&res) {
        let status = res.status();
        let (req, _) = res.into_parts();
        ServiceResponse::new(req, ApiError::http(status).error_response()).map_into_right_body()
    } else {
        res.map_into_left_body()
    };
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if https {
        headers.insert(
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=63072000; includeSubDomains; preload"),
        );
    }
    Ok(res)
}

/// Where the URL carries a NUL character (`%00`), as a field: `["path"]` or
/// `["query", name]`. No request line can hold a raw NUL (the HTTP parser refuses it), so
/// the percent-encoded form is the only way one arrives.
fn nul_in_url(req: &ServiceRequest) -> Option<FieldError> {
    if req.path().contains("%00") {
        return Some(FieldError::new(&["path"], "value_error", NUL_MESSAGE));
    }
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| FieldError::new(&["query", &k], "value_error", NUL_MESSAGE))
}

/// Refuses a URL with a NUL character in its path or query (400 `VALIDATION_ERROR`) before
/// any route reads it: PostgreSQL cannot store one, and every route is covered at once.
/// Bodies are covered by the body check (`super::shape`).
pub async fn refuse_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if let Some(e) = nul_in_url(&req) {
        let res = ApiError::validation(vec![e]).error_response();
        return Ok(req.into_response(res).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
