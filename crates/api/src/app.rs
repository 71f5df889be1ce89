//! The application factory shared by `main` and the tests, and the state it serves.

use std::sync::Arc;

use actix_cors::Cors;
use actix_governor::Governor;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, ResponseError, web};
use mami_domain::Money;
use mami_domain::analytics::RevenueReport;
use mami_domain::audit::AuditLog;
use mami_domain::branches::BranchService;
use mami_domain::cart::CartService;
use mami_domain::catalog::CatalogService;
use mami_domain::checkout::{CheckoutService, CheckoutStore};
use mami_domain::identity::{IdentityService, UserAdminService};
use mami_domain::inventory::InventoryService;
use mami_domain::orders::OrderService;
use mami_domain::payment_tokens::PaymentTokenService;
use mami_domain::payments::PaymentProvider;
use mami_domain::reconciler::Reconciler;
use mami_domain::settings::{SettingsDefaults, SettingsService};
use mami_domain::wishlist::WishlistStore;
use mami_payments::{HttpPaymentProvider, ProviderConfig};
use mami_postgres::{
    Database, PgAuditLog, PgBranchStore, PgCartStore, PgCatalogStore, PgCheckoutStore,
    PgIdentityStore, PgInventoryStore, PgOrderStore, PgPaymentTokenStore, PgReconcileStore,
    PgRevenueReport, PgSettingsStore, PgUserDirectory, PgWishlistStore,
};
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};
use utoipa_scalar::{Scalar, Servable};

use crate::auth::{Argon2Hasher, TokenIssuer};
use crate::config::Config;
use crate::http::ApiError;
use crate::http::middleware::{TrustedProxies, request_context};
use crate::http::rate_limit::Limiters;
use crate::openapi::ApiDoc;
use crate::routes;

/// Everything a handler may need; shared by all workers.
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Database,
    pub tokens: TokenIssuer,
    pub identity: IdentityService,
    pub audit: Arc<dyn AuditLog>,
    pub catalog: CatalogService,
    pub branches: BranchService,
    pub inventory: InventoryService,
    pub settings: SettingsService,
    pub users: UserAdminService,
    pub revenue: Arc<dyn RevenueReport>,
    pub wishlist: Arc<dyn WishlistStore>,
    pub cart: CartService,
    pub payment_tokens: PaymentTokenService,
    pub checkout: CheckoutService,
    pub orders: OrderService,
    pub reconciler: Reconciler,
}

impl AppState {
    /// Wires the PostgreSQL adapters and the domain services.
    pub fn new(config: Config, db: Database) -> Result<Self, mami_domain::InfraError> {
        let hasher = Arc::new(Argon2Hasher::new()?);
        let identity = IdentityService::new(Arc::new(PgIdentityStore::new(db.clone())), hasher);
        let tokens = TokenIssuer::new(
            &config.jwt_secret,
            config.access_token_ttl,
            config.refresh_token_ttl,
        );
        let money = |s: &str| Money::parse_str(s).unwrap_or(Money::ZERO);
        let defaults = SettingsDefaults {
            delivery_min: money(&config.delivery_min_total),
            delivery_fee: money(&config.delivery_fee_under_min),
            free_threshold: Money::from_minor(20_000),
        };
        let provider = HttpPaymentProvider::new(ProviderConfig {
            base_url: config.payment_provider_url.clone(),
            secret_key: config.payment_provider_secret_key.clone(),
            connect_timeout: std::time::Duration::from_secs(2),
            request_timeout: config.payment_provider_timeout,
            currency: "ils".into(),
        })
        .map_err(mami_domain::InfraError::new)?;
        let provider: Arc<dyn PaymentProvider> = Arc::new(provider);
        let checkout_store: Arc<dyn CheckoutStore> = Arc::new(PgCheckoutStore::new(
            db.clone(),
            config.delivery_source_branch_id,
            "stripe",
        ));
        Ok(Self {
            payment_tokens: PaymentTokenService::new(
                Arc::new(PgPaymentTokenStore::new(db.clone())),
                provider.clone(),
                "stripe",
            ),
            checkout: CheckoutService::new(checkout_store.clone(), provider.clone()),
            reconciler: {
                let mut r = Reconciler::new(
                    Arc::new(PgReconcileStore::new(db.clone())),
                    checkout_store,
                    provider.clone(),
                );
                r.min_age = chrono::Duration::from_std(config.reconcile_min_age)
                    .unwrap_or_else(|_| chrono::Duration::seconds(30));
                r.give_up_after = chrono::Duration::from_std(config.reconcile_give_up)
                    .unwrap_or_else(|_| chrono::Duration::hours(1));
                r
            },
            orders: OrderService::new(Arc::new(PgOrderStore::new(db.clone())), provider),
            audit: Arc::new(PgAuditLog::new(db.clone())),
            catalog: CatalogService::new(Arc::new(PgCatalogStore::new(db.clone()))),
            branches: BranchService::new(
                Arc::new(PgBranchStore::new(db.clone())),
                config.delivery_source_branch_id,
            ),
            inventory: InventoryService::new(Arc::new(PgInventoryStore::new(db.clone()))),
            settings: SettingsService::new(Arc::new(PgSettingsStore::new(db.clone())), defaults),
            users: UserAdminService::new(Arc::new(PgUserDirectory::new(db.clone()))),
            revenue: Arc::new(PgRevenueReport::new(db.clone())),
            wishlist: Arc::new(PgWishlistStore::new(db.clone())),
            cart: CartService::new(
                Arc::new(PgCartStore::new(db.clone())),
                config.delivery_source_branch_id,
            ),
            config: Arc::new(config),
            db,
            tokens,
            identity,
        })
    }
}

/// State plus the per-process pieces that must be shared by every worker (rate-limit
/// counters).
#[derive(Clone)]
pub struct Shared {
    pub state: web::Data<AppState>,
    pub proxies: web::Data<TrustedProxies>,
    pub limiters: Limiters,
}

impl Shared {
    pub fn new(state: AppState) -> Result<Self, String> {
        let proxies = TrustedProxies(state.config.trusted_proxies.clone());
        let limiters = Limiters::new(
            &state.config.rate_limit_defaults,
            &proxies,
            state.config.rate_limit_enabled,
        )?;
        Ok(Self {
            state: web::Data::new(state),
            proxies: web::Data::new(proxies),
            limiters,
        })
    }
}

/// The OpenAPI document of every route, generated from the handlers.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(scope("/api/v1").configure(routes::configure))
        .split_for_parts()
        .1
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

fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    let detail = mami_domain::FieldError::new(&["path"], "value_error", err.to_string());
    ApiError::validation(vec![detail]).into()
}

/// The whole application: routes, documentation, and the middleware stack (outermost first:
/// request id and security headers, CORS, rate limits).
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
    // The document and its page are registered before the `/api/v1` scope, which would
    // otherwise answer for their paths.
    let api = openapi_document();
    let api_json = web::Data::new(api.clone());
    let l = &shared.limiters;
    App::new()
        .app_data(shared.state.clone())
        .app_data(shared.proxies.clone())
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(api_json)
        .route(
            "/api/v1/openapi.json",
            web::get().to(|doc: web::Data<utoipa::openapi::OpenApi>| async move {
                HttpResponse::Ok().json(doc.get_ref())
            }),
        )
        .service(Scalar::with_url("/api/v1/docs", api))
        .into_utoipa_app()
        .service(scope("/api/v1").configure(routes::configure))
        .into_app()
        .default_service(web::to(fallback))
        .wrap(Governor::new(&l.routes[0]))
        .wrap(Governor::new(&l.routes[1]))
        .wrap(Governor::new(&l.routes[2]))
        .wrap(Governor::new(&l.defaults[0]))
        .wrap(Governor::new(&l.defaults[1]))
        .wrap(Governor::new(&l.defaults[2]))
        .wrap(cors(&shared.state.config))
        .wrap(from_fn(request_context))
}
