//! PostgreSQL adapters for the Mami domain ports (diesel-async over a deadpool pool), the
//! embedded migrations, the readiness probe and the demo seed.

mod addresses;
mod audit;
mod audit_log;
mod branches;
mod cart;
mod catalog;
mod checkout;
mod email_identity;
mod enums;
mod error;
mod identity;
mod inventory;
mod ledger;
mod money;
mod ops;
mod orders;
mod outbox;
mod payment_tokens;
mod pool;
mod profile;
mod reconcile;
mod recovery;
mod revenue;
mod rows;
pub mod schema;
pub mod seed;
mod seed_data;
mod settings;
mod sql;
mod statements;
mod stock;
mod stock_requests;
mod users;
mod wishlist;

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt;
use mami_domain::InfraError;

pub use addresses::PgAddressStore;
pub use audit_log::PgAuditLog;
pub use branches::PgBranchStore;
pub use cart::PgCartStore;
pub use catalog::PgCatalogStore;
pub use checkout::PgCheckoutStore;
pub use email_identity::EmailNormalization;
pub use identity::PgIdentityStore;
pub use inventory::PgInventoryStore;
pub use ledger::PgPaymentLedger;
pub use ops::PgFulfilmentStore;
pub use orders::PgOrderStore;
pub use outbox::PgOutboxStore;
pub use payment_tokens::PgPaymentTokenStore;
pub use profile::PgProfileStore;
pub use reconcile::PgReconcileStore;
pub use recovery::PgRecoveryStore;
pub use revenue::PgRevenueReport;
pub use settings::PgSettingsStore;
pub use statements::StatementTally;
pub use stock_requests::PgStockRequestStore;
pub use users::PgUserDirectory;
pub use wishlist::PgWishlistStore;

/// Every migration of `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// A pooled connection.
pub type Conn = Object<AsyncPgConnection>;

/// The connection pools shared by every adapter (one, or one per HTTP worker: see
/// [`Database::connect_per_worker`]).
#[derive(Clone)]
pub struct Database {
    pools: Arc<pool::Pools>,
    statements: Arc<StatementTally>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("status", &self.pools.status())
            .finish()
    }
}

/// One pool of up to `max_size` connections, each counting its statements in `tally`.
fn build_pool(
    url: &str,
    max_size: usize,
    wait_timeout: Duration,
    tally: &Arc<StatementTally>,
) -> Result<Pool<AsyncPgConnection>, InfraError> {
    let tally = tally.clone();
    let mut config = ManagerConfig::<AsyncPgConnection>::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let tally = tally.clone();
        async move {
            let mut conn = AsyncPgConnection::establish(url).await?;
            conn.set_instrumentation(statements::counter(tally));
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(wait_timeout))
        .create_timeout(Some(wait_timeout))
        .build()
        .map_err(|e| InfraError::new(format!("cannot build the connection pool: {e}")))
}

/// The pool's connections at one moment (see [`Database::pool_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    /// Connections open, in use or idle.
    pub open: usize,
    pub idle: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

impl PoolStatus {
    pub fn in_use(&self) -> usize {
        self.open.saturating_sub(self.idle)
    }
}

/// What `/health/ready` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub database: bool,
    pub migrations_current: bool,
    pub delivery_branch_present: bool,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.database && self.migrations_current && self.delivery_branch_present
    }
}

impl Database {
    /// Builds the pool; no connection is opened until one is needed.
    ///
    /// A connection goes back into use without a round trip (`RecyclingMethod::Fast`): the
    /// pool still drops one whose socket closed or whose transaction state is broken
    /// (`is_broken`), and a connection that died silently fails its next statement, which is
    /// `Unavailable` (503) and leaves it closed, so the pool drops it then. A `SELECT 1` per
    /// checkout would catch that one case earlier at the price of a round trip per request.
    pub fn connect(url: &str, max_size: usize, wait_timeout: Duration) -> Result<Self, InfraError> {
        Self::connect_per_worker(url, max_size, wait_timeout, 0)
    }

    /// [`Database::connect`] with one pool per HTTP worker besides the shared one, `max_size`
    /// connections in all (`pool::split`: the shared pool keeps 3 and what does not divide
    /// evenly, each worker pool an equal part of the rest, every pool at least one). Each
    /// worker binds its thread to its pool with [`Database::bind_this_thread`]; see `pool.rs`
    /// for why.
    pub fn connect_per_worker(
        url: &str,
        max_size: usize,
        wait_timeout: Duration,
        workers: usize,
    ) -> Result<Self, InfraError> {
        let statements = Arc::new(StatementTally::default());
        let (shared, each) = pool::split(max_size, workers);
        let build = |size| build_pool(url, size, wait_timeout, &statements);
        let worker_pools = (0..workers)
            .map(|_| build(each))
            .collect::<Result<_, _>>()?;
        let pools = pool::Pools::new(build(shared)?, worker_pools);
        Ok(Self {
            pools: Arc::new(pools),
            statements,
        })
    }

    /// Binds the calling thread (an HTTP worker's) to the next worker pool: its requests then
    /// use only connections opened, and driven, on this thread. False without worker pools.
    pub fn bind_this_thread(&self) -> bool {
        self.pools.bind_this_thread()
    }

    /// How many worker pools there are (0: one pool for every thread).
    pub fn worker_pools(&self) -> usize {
        self.pools.worker_pools()
    }

    /// The statements sent through this pool.
    pub fn statements(&self) -> &StatementTally {
        &self.statements
    }

    /// The pools' connections now, all pools together: open, idle, the most they may open,
    /// and requests waiting for one (read by the metrics, at each scrape).
    pub fn pool_status(&self) -> PoolStatus {
        self.pools.status()
    }

    pub(crate) async fn conn(&self) -> Result<Conn, InfraError> {
        self.pools
            .current()
            .get()
            .await
            .map_err(|e| InfraError::unavailable(format!("no database connection: {e}")))
    }

    /// Applies every pending migration, then puts stored e-mail addresses into their normal
    /// form (`normalize_stored_emails`); a no-op when both are current. Returns the versions
    /// applied.
    pub async fn migrate(&self) -> Result<Vec<String>, InfraError> {
        let conn = self.conn().await?;
        let applied = tokio::task::spawn_blocking(move || {
            let mut harness = AsyncMigrationHarness::new(conn);
            harness
                .run_pending_migrations(MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
                .map_err(|e| InfraError::new(format!("migration failed: {e}")))
        })
        .await
        .map_err(|e| InfraError::new(format!("migration task failed: {e}")))??;
        let emails = self.normalize_stored_emails().await?;
        if !emails.changed.is_empty() {
            tracing::info!(users = ?emails.changed, "e-mail addresses normalised");
        }
        if !emails.clashing.is_empty() {
            tracing::warn!(
                users = ?emails.clashing,
                "e-mail addresses left as stored: another account has their normal form"
            );
        }
        Ok(applied)
    }

    /// True when no embedded migration is pending.
    pub async fn migrations_current(&self) -> Result<bool, InfraError> {
        let conn = self.conn().await?;
        tokio::task::spawn_blocking(move || {
            let mut harness = AsyncMigrationHarness::new(conn);
            harness
                .has_pending_migration(MIGRATIONS)
                .map(|pending| !pending)
                .map_err(|e| InfraError::new(format!("cannot read the migration table: {e}")))
        })
        .await
        .map_err(|e| InfraError::new(format!("migration check failed: {e}")))?
    }

    /// Whether branch `id` exists (active or not).
    pub async fn branch_exists(&self, id: i64) -> Result<bool, InfraError> {
        use schema::branches::dsl;
        let mut conn = self.conn().await?;
        let found: Option<i64> = dsl::branches
            .filter(dsl::id.eq(id))
            .select(dsl::id)
            .first(&mut conn)
            .await
            .optional()
            .map_err(error::infra)?;
        Ok(found.is_some())
    }

    /// Database reachable, migrations current, delivery branch present.
    pub async fn readiness(&self, delivery_branch_id: i64) -> Readiness {
        let database = match self.conn().await {
            Ok(mut conn) => diesel::sql_query("SELECT 1")
                .execute(&mut conn)
                .await
                .is_ok(),
            Err(_) => false,
        };
        if !database {
            return Readiness {
                database,
                migrations_current: false,
                delivery_branch_present: false,
            };
        }
        let migrations_current = self.migrations_current().await.unwrap_or(false);
        let delivery_branch_present = migrations_current
            && self
                .branch_exists(delivery_branch_id)
                .await
                .unwrap_or(false);
        Readiness {
            database,
            migrations_current,
            delivery_branch_present,
        }
    }
}
