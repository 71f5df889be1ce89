//! The application state: the configuration, the pool and every domain service, wired once
//! and shared by all workers. Handlers and extractors read it; it knows nothing of them.

mod accounts;

pub use accounts::{Accounts, SystemClock};

use std::sync::Arc;

use mami_domain::Money;
use mami_domain::analytics::RevenueReport;
use mami_domain::audit::AuditLog;
use mami_domain::branches::BranchService;
use mami_domain::cart::CartService;
use mami_domain::catalog::CatalogService;
use mami_domain::checkout::{CheckoutService, CheckoutStore};
use mami_domain::identity::{IdentityService, UserAdminService};
use mami_domain::inventory::InventoryService;
use mami_domain::ops::FulfilmentService;
use mami_domain::orders::OrderService;
use mami_domain::payment_tokens::PaymentTokenService;
use mami_domain::payments::PaymentProvider;
use mami_domain::payments::ledger::PaymentLedger;
use mami_domain::reconciler::Reconciler;
use mami_domain::settings::{SettingsDefaults, SettingsService};
use mami_domain::stock_requests::StockRequestService;
use mami_domain::wishlist::WishlistStore;
use mami_payments::{HttpPaymentProvider, ProviderConfig};
use mami_postgres::{
    Database, PgAuditLog, PgBranchStore, PgCartStore, PgCatalogStore, PgCheckoutStore,
    PgFulfilmentStore, PgIdentityStore, PgInventoryStore, PgOrderStore, PgPaymentLedger,
    PgPaymentTokenStore, PgReconcileStore, PgRevenueReport, PgSettingsStore, PgStockRequestStore,
    PgUserDirectory, PgWishlistStore,
};

use crate::auth::jwt::TokenIssuer;
use crate::auth::password::Argon2Hasher;
use crate::config::Config;

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
    pub stock_requests: StockRequestService,
    pub fulfilment: FulfilmentService,
    pub reconciler: Reconciler,
    pub accounts: Accounts,
}

impl AppState {
    /// Wires the PostgreSQL adapters and the domain services.
    pub fn new(config: Config, db: Database) -> Result<Self, mami_domain::InfraError> {
        let hasher = Arc::new(Argon2Hasher::new()?);
        let users = Arc::new(PgIdentityStore::new(db.clone()));
        let accounts = Accounts::new(&config, &db, users.clone(), hasher.clone())?;
        let identity = IdentityService::new(users, hasher);
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
        let ledger: Arc<dyn PaymentLedger> = Arc::new(PgPaymentLedger::new(db.clone()));
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
                    ledger.clone(),
                    provider.clone(),
                );
                r.min_age = chrono::Duration::from_std(config.reconcile_min_age)
                    .unwrap_or_else(|_| chrono::Duration::seconds(30));
                r.give_up_after = chrono::Duration::from_std(config.reconcile_give_up)
                    .unwrap_or_else(|_| chrono::Duration::hours(1));
                r
            },
            orders: OrderService::new(
                Arc::new(PgOrderStore::new(db.clone())),
                ledger.clone(),
                provider.clone(),
            ),
            fulfilment: FulfilmentService::new(
                Arc::new(PgFulfilmentStore::new(db.clone())),
                ledger,
                provider,
            ),
            audit: Arc::new(PgAuditLog::new(db.clone())),
            catalog: CatalogService::new(Arc::new(PgCatalogStore::new(db.clone()))),
            branches: BranchService::new(
                Arc::new(PgBranchStore::new(db.clone())),
                config.delivery_source_branch_id,
            ),
            inventory: InventoryService::new(Arc::new(PgInventoryStore::new(db.clone()))),
            stock_requests: StockRequestService::new(Arc::new(PgStockRequestStore::new(
                db.clone(),
            ))),
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
            accounts,
        })
    }
}
