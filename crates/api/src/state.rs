//! The application state: the configuration, the pool and every domain service, wired once
//! and shared by all workers. Handlers and extractors read it; it knows nothing of them.

mod accounts;

pub use accounts::{Accounts, SystemClock};

use std::sync::Arc;

use mami_domain::Money;
use mami_domain::analytics::RevenueReport;
use mami_domain::audit::{AuditLog, RequestContext};
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
use mami_domain::stock_upload::StockUploadService;
use mami_domain::wishlist::WishlistStore;
use mami_payments::{HttpPaymentProvider, ProviderConfig};
use mami_postgres::{
    Database, PgAuditLog, PgBranchStore, PgCartStore, PgCatalogStore, PgCheckoutStore,
    PgFulfilmentStore, PgIdentityStore, PgInventoryStore, PgOrderStore, PgPaymentLedger,
    PgPaymentTokenStore, PgReconcileStore, PgRevenueReport, PgSettingsStore, PgStockRequestStore,
    PgUserDirectory, PgWishlistStore,
};

use crate::auth::jwt::TokenIssuer;
use crate::auth::password::{Argon2Hasher, HashLimits};
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
    pub stock_upload: StockUploadService,
    pub settings: SettingsService,
    pub users: UserAdminService,
    pub revenue: Arc<dyn RevenueReport>,
    pub wishlist: Arc<dyn WishlistStore>,
    pub cart: CartService,
    pub payment_tokens: Arc<PaymentTokenService>,
    pub checkout: CheckoutService,
    pub orders: OrderService,
    pub stock_requests: StockRequestService,
    pub fulfilment: FulfilmentService,
    pub reconciler: Reconciler,
    pub accounts: Accounts,
}

/// The payment provider's HTTP adapter.
fn payment_provider(config: &Config) -> Result<Arc<dyn PaymentProvider>, mami_domain::InfraError> {
    let provider = HttpPaymentProvider::new(ProviderConfig {
        base_url: config.payment_provider_url.clone(),
        secret_key: config.payment_provider_secret_key.clone(),
        connect_timeout: std::time::Duration::from_secs(2),
        request_timeout: config.payment_provider_timeout,
        currency: "ils".into(),
    })
    .map_err(mami_domain::InfraError::new)?;
    Ok(Arc::new(provider))
}

impl AppState {
    /// Wires the PostgreSQL adapters and the domain services.
    pub fn new(config: Config, db: Database) -> Result<Self, mami_domain::InfraError> {
        let hasher = Arc::new(Argon2Hasher::with_limits(HashLimits {
            lanes: config.password_hash_lanes,
            queue_timeout: config.password_hash_queue_timeout,
        })?);
        let users = Arc::new(PgIdentityStore::new(db.clone()));
        let accounts = Accounts::new(&config, &db, users.clone(), hasher.clone())?;
        let identity = IdentityService::new(users, hasher);
        let provider = payment_provider(&config)?;
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
        let ledger: Arc<dyn PaymentLedger> = Arc::new(PgPaymentLedger::new(db.clone()));
        let checkout_store: Arc<dyn CheckoutStore> = Arc::new(PgCheckoutStore::new(
            db.clone(),
            config.delivery_source_branch_id,
            "stripe",
        ));
        let payment_tokens = Arc::new(PaymentTokenService::new(
            Arc::new(PgPaymentTokenStore::new(db.clone())),
            provider.clone(),
            "stripe",
        ));
        let mut checkout = CheckoutService::new(checkout_store.clone(), provider.clone());
        if config.payment_test_cards {
            checkout = checkout.with_test_cards(payment_tokens.clone());
        }
        Ok(Self {
            payment_tokens,
            checkout,
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
            stock_upload: StockUploadService::new(Arc::new(PgInventoryStore::new(db.clone()))),
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

    /// What a new customer gets besides their account: with test cards on
    /// (`PAYMENT_TEST_CARDS`), the provider's test card as their default. Best effort, after
    /// the account is committed: when the provider fails the account stands (the failure is
    /// logged), and the card is given at the customer's first checkout instead.
    pub async fn welcome(&self, user: &mami_domain::identity::User, ctx: &RequestContext) {
        if !self.config.payment_test_cards {
            return;
        }
        if let Err(e) = self.payment_tokens.provision_test_card(user.id, ctx).await {
            tracing::warn!(error = %e, user = user.id.0, "no test card at registration");
        }
    }
}
