//! The application factory shared by `main` and the tests.

use actix_cors::Cors;
use actix_governor::Governor;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, ResponseError, web};
use metrics_exporter_prometheus::PrometheusHandle;
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::{AppExt, scope};

use crate::config::Config;
use crate::docs::Docs;
use crate::http::ApiError;
use crate::http::middleware::{TrustedProxies, refuse_nul, request_context};
use crate::http::rate_limit::Limiters;
use crate::openapi::{ApiDoc, ErrorResponses};
use crate::routes;
use crate::state::AppState;

/// State plus the per-process pieces that must be shared by every worker (rate-limit
/// counters, the metrics recorder), or are made once rather than once per worker (the OpenAPI
/// document and its page's assets, which would otherwise cost every worker their memory).
#[derive(Clone)]
pub struct Shared {
    pub state: web::Data<AppState>,
    pub proxies: web::Data<TrustedProxies>,
    pub limiters: Limiters,
    /// The metrics recorder's handle when `METRICS_ADDR` is set (`crate::metrics`).
    pub metrics: Option<PrometheusHandle>,
    docs: web::Data<Docs>,
}

impl Shared {
    pub fn new(state: AppState) -> Result<Self, String> {
        let proxies = TrustedProxies(state.config.trusted_proxies.clone());
        let limiters = Limiters::new(
            &state.config.rate_limit_defaults,
            &proxies,
            state.config.rate_limit_enabled,
        )?;
        let docs = Docs::new(&openapi_document())?;
        let metrics = match state.config.metrics_addr {
            Some(_) => Some(crate::metrics::install()?),
            None => None,
        };
        Ok(Self {
            state: web::Data::new(state),
            proxies: web::Data::new(proxies),
            limiters,
            metrics,
            docs: web::Data::new(docs),
        })
    }
}

/// The OpenAPI document of every route, generated from the handlers, with the error statuses
/// that whole kinds of routes share (added once the routes are in it).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(scope("/api/v1").configure(routes::configure))
        .split_for_parts()
        .1;
    ErrorResponses.modify(&mut doc);
    doc
}

fn cors(config: &Config) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            CONTENT_TYPE,
            AUTHORIZATION,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .supports_credentials()
        .max_age(600);
    for origin in &config.cors_allowed_origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

/// Unknown routes: 404 `HTTP_404`; a known path with another method: 405 `HTTP_405`;
/// any other `OPTIONS`: 204.
async fn fallback(req: HttpRequest) -> HttpResponse {
    if req.method() == Method::OPTIONS {
        return HttpResponse::NoContent().finish();
    }
    let status = if req.resource_map().has_resource(req.path()) {
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED
    } else {
        actix_web::http::StatusCode::NOT_FOUND
    };
    ApiError::http(status).error_response()
}

/// A path segment that does not parse as its route's type (`/catalog/products/abc`): in the
/// reference the route did not match, so this is the unknown-path answer, 404 `HTTP_404`.
fn path_error(_: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::http(actix_web::http::StatusCode::NOT_FOUND).into()
}

/// The whole application: routes, documentation, and the middleware stack (outermost first:
/// request id and security headers, request metrics when kept, CORS, rate limits, refusal of
/// NUL characters in the URL).
pub fn build_app(
    shared: Shared,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let l = &shared.limiters;
    App::new()
        .app_data(shared.state.clone())
        .app_data(shared.proxies.clone())
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(shared.docs.clone())
        .configure(crate::docs::configure)
        .into_utoipa_app()
        .service(scope("/api/v1").configure(routes::configure))
        .into_app()
        .default_service(web::to(fallback))
        .wrap(from_fn(refuse_nul))
        .wrap(Condition::new(l.routes_used, Governor::new(&l.routes[0])))
        .wrap(Condition::new(l.routes_used, Governor::new(&l.routes[1])))
        .wrap(Condition::new(l.routes_used, Governor::new(&l.routes[2])))
        .wrap(Condition::new(
            l.defaults_used[0],
            Governor::new(&l.defaults[0]),
        ))
        .wrap(Condition::new(
            l.defaults_used[1],
            Governor::new(&l.defaults[1]),
        ))
        .wrap(Condition::new(
            l.defaults_used[2],
            Governor::new(&l.defaults[2]),
        ))
        .wrap(cors(&shared.state.config))
        .wrap(Condition::new(
            shared.metrics.is_some(),
            from_fn(crate::metrics::track),
        ))
        .wrap(from_fn(request_context))
}
