//! The app served in-process: one function builds and serves an instance, for the first
//! instance of a test and for any further one on the same database; and the payment provider
//! simulator it talks to.

use std::net::TcpListener;
use std::ops::Deref;

use anyhow::{Result, anyhow};
use mami_api::config::Config;
use mami_api::{AppState, Shared, build_app};
use mami_postgres::Database;
use serde_json::Value;

use crate::backend::Backend;
use crate::db::{TestDb, seed};
use crate::http::client;

/// Where the development mailer of a test server over `database_url` writes: a folder of the
/// system's temporary directory named after the database, never the repository's `.local`.
pub fn mail_dir(database_url: &str) -> String {
    let name = database_url.rsplit('/').next().unwrap_or("mami");
    std::env::temp_dir()
        .join("mami-test-mail")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Environment of a test server: development-like, rate limits off unless asked for. Later
/// entries of `extra` win over earlier ones and over the defaults.
pub fn test_env(database_url: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("APP_ENV".into(), "testing".into()),
        ("DATABASE_URL".into(), database_url.into()),
        (
            "JWT_SECRET_KEY".into(),
            "test-secret-0123456789abcdef0123456789".into(),
        ),
        ("DELIVERY_SOURCE_BRANCH_ID".into(), "1".into()),
        (
            "CORS_ALLOWED_ORIGINS".into(),
            "http://localhost:5173".into(),
        ),
        ("RATE_LIMIT_ENABLED".into(), "false".into()),
        ("DATABASE_POOL_SIZE".into(), "8".into()),
        ("MAIL_DIR".into(), mail_dir(database_url)),
    ];
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push(((*k).into(), (*v).into()));
    }
    env
}

/// The payment provider simulator (`mami-paysim`) served in-process on a random port.
pub struct Paysim {
    pub url: String,
    client: reqwest::Client,
}

impl Paysim {
    /// Starts one with `workers` workers; call it inside the test's runtime.
    pub fn start(workers: usize) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let (_, server) = mami_paysim::serve(listener, workers)?;
        tokio::spawn(server);
        Ok(Self {
            url,
            client: client()?,
        })
    }

    /// Switches faults on (`{"fail_next": 1}`, `{"hang_after_effect_next": 1, …}`).
    pub async fn fault(&self, faults: Value) -> Result<()> {
        self.client
            .post(format!("{}/__paysim/faults", self.url))
            .json(&faults)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Every payment intent the simulator holds.
    pub async fn intents(&self) -> Result<Vec<Value>> {
        Ok(self
            .client
            .get(format!("{}/__paysim/intents", self.url))
            .send()
            .await?
            .json()
            .await?)
    }
}

/// One served instance of the app.
struct Instance {
    address: String,
    state: actix_web::web::Data<AppState>,
    server: actix_web::dev::ServerHandle,
}

fn connect(config: &Config, url: &str) -> Result<Database> {
    Ok(Database::connect(
        url,
        config.database_pool_size,
        config.database_timeout,
    )?)
}

/// Builds the app over `db` (its own state) and serves it on a random loopback port.
fn serve(config: &Config, db: Database) -> Result<Instance> {
    let shared = Shared::new(AppState::new(config.clone(), db)?).map_err(|e| anyhow!(e))?;
    let state = shared.state.clone();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = format!("http://{}", listener.local_addr()?);
    let options = mami_api::ServeOptions {
        workers: Some(1),
        shutdown_timeout: None,
    };
    let listen = mami_api::Listen::Listener(listener);
    let server = mami_api::serve(listen, options, move || build_app(shared.clone()))?;
    let handle = server.handle();
    tokio::spawn(server);
    Ok(Instance {
        address,
        state,
        server: handle,
    })
}

/// The app served in-process on a random loopback port, over a fresh seeded database. It
/// dereferences to its [`Backend`] (address, client, database, scenario builders).
pub struct TestApp {
    pub backend: Backend,
    /// The in-process payment provider simulator this app talks to.
    pub paysim: Paysim,
    pub db: Database,
    pub config: Config,
    /// The application state (services), for driving background work such as the reconciler.
    pub state: actix_web::web::Data<AppState>,
    server: actix_web::dev::ServerHandle,
}

impl Deref for TestApp {
    type Target = Backend;

    fn deref(&self) -> &Backend {
        &self.backend
    }
}

impl TestApp {
    pub async fn spawn() -> Result<Self> {
        Self::spawn_with(&[]).await
    }

    /// Serves with extra environment variables (for example `RATE_LIMIT_ENABLED=true`).
    pub async fn spawn_with(extra: &[(&str, &str)]) -> Result<Self> {
        let test_db = TestDb::new().await?;
        let paysim = Paysim::start(1)?;
        let mut vars = vec![
            ("PAYMENT_PROVIDER_URL", paysim.url.as_str()),
            ("PAYMENT_PROVIDER_TIMEOUT_MS", "2000"),
        ];
        vars.extend_from_slice(extra);
        let config =
            Config::from_env(&test_env(&test_db.url, &vars)).map_err(|e| anyhow!("{e}"))?;
        let db = connect(&config, &test_db.url)?;
        seed(&db).await?;
        let instance = serve(&config, db.clone())?;
        Ok(Self {
            backend: Backend {
                address: instance.address,
                client: client()?,
                test_db,
            },
            paysim,
            db,
            config,
            state: instance.state,
            server: instance.server,
        })
    }

    /// A second, independent API instance (own pool, own state) on the same database and
    /// payment provider, as a second process behind a load balancer would be. Returns its address.
    pub async fn another_instance(&self) -> Result<String> {
        let db = connect(&self.config, &self.test_db.url)?;
        Ok(serve(&self.config, db)?.address)
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
    }
}
