//! Test harness: a private PostgreSQL (started by `deploy/local-pg.sh` unless
//! `MAMI_TEST_DATABASE_URL` names a server), one migrated template database per schema
//! version, one fresh database cloned from it per test, and helpers that serve the real app
//! in-process or run the real `mami-api` binary, and log in as each role.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use mami_api::config::Config;
use mami_api::{AppState, Shared, build_app};
use mami_domain::identity::Role;
use mami_postgres::Database;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use mami_postgres::seed::{DEMO_PASSWORD, DEMO_USERS};
pub use reqwest;
pub use serde_json;

/// Root of the repository.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

static BASE_URL: OnceLock<std::result::Result<String, String>> = OnceLock::new();

/// Base URL of the test PostgreSQL server (no database name).
pub fn base_url() -> Result<String> {
    BASE_URL
        .get_or_init(|| {
            if let Ok(url) = std::env::var("MAMI_TEST_DATABASE_URL") {
                return Ok(url.trim_end_matches('/').to_owned());
            }
            let script = repo_root().join("deploy/local-pg.sh");
            let out = Command::new("bash")
                .arg(&script)
                .arg("url")
                .stderr(Stdio::inherit())
                .output()
                .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "{} url failed; set MAMI_TEST_DATABASE_URL to use another server",
                    script.display()
                ));
            }
            let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if url.is_empty() {
                return Err("local-pg.sh printed no URL".to_owned());
            }
            Ok(url)
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

fn db_url(name: &str) -> Result<String> {
    Ok(format!("{}/{name}", base_url()?))
}

async fn admin_conn() -> Result<AsyncPgConnection> {
    AsyncPgConnection::establish(&db_url("postgres")?)
        .await
        .context("cannot connect to the test PostgreSQL server")
}

/// Name of the template for the current migrations (a hash of their SQL).
fn template_name() -> Result<String> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo_root().join("migrations"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut h = Sha256::new();
    for d in dirs {
        h.update(
            d.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        h.update(std::fs::read(d.join("up.sql")).unwrap_or_default());
    }
    let digest = h.finalize();
    Ok(format!(
        "mami_tpl_{}",
        digest
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ))
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// The migrated template database, created once per schema version (across processes).
async fn template() -> Result<String> {
    TEMPLATE
        .get_or_try_init(|| async {
            let name = template_name()?;
            let mut conn = admin_conn().await?;
            diesel::sql_query("SELECT pg_advisory_lock(727274)")
                .execute(&mut conn)
                .await?;
            let result = async {
                let found: Exists = diesel::sql_query(
                    "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists",
                )
                .bind::<diesel::sql_types::Text, _>(&name)
                .get_result(&mut conn)
                .await?;
                if !found.exists {
                    let building = format!("{name}_building");
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await?;
                    diesel::sql_query(format!("CREATE DATABASE {building}"))
                        .execute(&mut conn)
                        .await?;
                    {
                        let db =
                            Database::connect(&db_url(&building)?, 1, Duration::from_secs(30))?;
                        db.migrate().await?;
                    }
                    diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                        .execute(&mut conn)
                        .await?;
                }
                Ok::<_, anyhow::Error>(())
            }
            .await;
            diesel::sql_query("SELECT pg_advisory_unlock(727274)")
                .execute(&mut conn)
                .await?;
            result.map(|()| name)
        })
        .await
        .cloned()
}

/// A fresh, migrated database for one test; dropped when the value is.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn new() -> Result<Self> {
        let tpl = template().await?;
        let name = format!("mami_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin_conn().await?;
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {tpl}"))
            .execute(&mut conn)
            .await?;
        Ok(Self {
            url: db_url(&name)?,
            name,
        })
    }

    /// A separate connection (concurrency tests need real, separate sessions).
    pub async fn connect(&self) -> Result<AsyncPgConnection> {
        Ok(AsyncPgConnection::establish(&self.url).await?)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("MAMI_KEEP_TEST_DB").is_some() {
            eprintln!("keeping test database {}", self.url);
            return;
        }
        let name = self.name.clone();
        // The test's runtime may be shutting down: drop from a runtime of our own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = admin_conn().await {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn)
                            .await;
                }
            });
        })
        .join();
    }
}

static DEMO_HASH: OnceLock<mami_domain::identity::PasswordHash> = OnceLock::new();

/// Seeds the demo supermarket (warehouse id 1, three stores, one user per role, 180 products…).
pub async fn seed(db: &Database) -> Result<()> {
    let hash = match DEMO_HASH.get() {
        Some(h) => h.clone(),
        None => {
            let h = mami_api::auth::Argon2Hasher::new()?.hash_now(DEMO_PASSWORD)?;
            DEMO_HASH.get_or_init(|| h).clone()
        }
    };
    db.seed_demo(&hash, 0).await?;
    Ok(())
}

/// Environment of a test server: development-like, rate limits off unless asked for.
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
    ];
    for (k, v) in extra {
        env.retain(|(key, _)| key != k);
        env.push(((*k).into(), (*v).into()));
    }
    env
}

/// The app served in-process on a random loopback port, over a fresh seeded database.
pub struct TestApp {
    pub address: String,
    /// The in-process payment provider simulator this app talks to.
    pub paysim: String,
    pub db: Database,
    pub test_db: TestDb,
    pub config: Config,
    pub client: reqwest::Client,
    /// The application state (services), for driving background work such as the reconciler.
    pub state: actix_web::web::Data<AppState>,
    server: actix_web::dev::ServerHandle,
}

impl TestApp {
    pub async fn spawn() -> Result<Self> {
        Self::spawn_with(&[]).await
    }

    /// Serves with extra environment variables (for example `RATE_LIMIT_ENABLED=true`).
    pub async fn spawn_with(extra: &[(&str, &str)]) -> Result<Self> {
        let test_db = TestDb::new().await?;
        let paysim_listener = TcpListener::bind("127.0.0.1:0")?;
        let paysim = format!("http://{}", paysim_listener.local_addr()?);
        let (_, paysim_server) = mami_paysim::serve(paysim_listener, 1)?;
        tokio::spawn(paysim_server);
        let mut env = test_env(
            &test_db.url,
            &[
                ("PAYMENT_PROVIDER_URL", &paysim),
                ("PAYMENT_PROVIDER_TIMEOUT_MS", "2000"),
            ],
        );
        for (k, v) in extra {
            env.retain(|(key, _)| key != k);
            env.push(((*k).into(), (*v).into()));
        }
        let config = Config::from_env(&env).map_err(|e| anyhow!("{e}"))?;
        let db = Database::connect(
            &test_db.url,
            config.database_pool_size,
            config.database_timeout,
        )?;
        seed(&db).await?;
        let shared =
            Shared::new(AppState::new(config.clone(), db.clone())?).map_err(|e| anyhow!(e))?;
        let state = shared.state.clone();
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let server = actix_web::HttpServer::new(move || build_app(shared.clone()))
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            state,
            paysim,
            address: format!("http://127.0.0.1:{port}"),
            db,
            test_db,
            config,
            client: client()?,
            server: handle,
        })
    }

    /// A second, independent API instance (own pool, own state) on the same database and
    /// payment provider, as a second process behind a load balancer would be. Returns its address.
    pub async fn another_instance(&self) -> Result<String> {
        let db = Database::connect(
            &self.test_db.url,
            self.config.database_pool_size,
            self.config.database_timeout,
        )?;
        let shared =
            Shared::new(AppState::new(self.config.clone(), db)?).map_err(|e| anyhow!(e))?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let server = actix_web::HttpServer::new(move || build_app(shared.clone()))
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run();
        tokio::spawn(server);
        Ok(format!("http://127.0.0.1:{port}"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Logs in as the demo user of `role` and returns the access token.
    pub async fn token(&self, role: Role) -> Result<String> {
        Ok(
            login(&self.client, &self.address, role).await?["access_token"]
                .as_str()
                .context("no access_token")?
                .to_owned(),
        )
    }

    /// A separate database connection.
    pub async fn conn(&self) -> Result<AsyncPgConnection> {
        self.test_db.connect().await
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
    }
}

/// A reqwest client that never follows redirects and has a generous timeout.
pub fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// The e-mail of the demo user of `role`.
pub fn demo_email(role: Role) -> &'static str {
    DEMO_USERS
        .iter()
        .find(|(_, _, r)| *r == role)
        .map_or("", |(e, _, _)| e)
}

/// Logs in as the demo user of `role`; returns the `data` object of the response.
pub async fn login(client: &reqwest::Client, address: &str, role: Role) -> Result<Value> {
    let resp = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&json!({ "email": demo_email(role), "password": DEMO_PASSWORD }))
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    if status != 200 {
        bail!("login as {role} failed: {status} {body}");
    }
    Ok(body["data"].clone())
}

/// The `mami-api` binary running as a child process on a fresh seeded database.
pub struct BinaryApp {
    pub address: String,
    pub child: Child,
    pub test_db: TestDb,
    pub stderr_path: PathBuf,
    env: Vec<(String, String)>,
    extra_children: Vec<Child>,
}

impl BinaryApp {
    /// Migrates, seeds and serves with the real binary at `bin`.
    pub async fn spawn(bin: &str, extra: &[(&str, &str)]) -> Result<Self> {
        let test_db = TestDb::new().await?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let bind = format!("127.0.0.1:{port}");
        let mut env = test_env(&test_db.url, extra);
        env.push(("BIND_ADDR".into(), bind.clone()));
        let run = |cmd: &str| -> Result<()> {
            let out = Command::new(bin)
                .arg(cmd)
                .env_clear()
                .envs(env.clone())
                .output()?;
            if !out.status.success() {
                bail!(
                    "mami-api {cmd} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(())
        };
        run("migrate")?;
        run("seed")?;
        let stderr_path = std::env::temp_dir().join(format!("{}.log", test_db.name));
        let child = Command::new(bin)
            .arg("serve")
            .env_clear()
            .envs(env.clone())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_path)?)
            .spawn()?;
        let app = Self {
            address: format!("http://{bind}"),
            child,
            test_db,
            stderr_path,
            env,
            extra_children: Vec::new(),
        };
        app.wait_until_serving().await?;
        Ok(app)
    }

    async fn wait_until_serving(&self) -> Result<()> {
        let client = client()?;
        let started = Instant::now();
        loop {
            if client
                .get(format!("{}/api/v1/health", self.address))
                .send()
                .await
                .is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!(
                    "mami-api did not start: {}",
                    std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts one more `mami-api serve` process on the same database; returns its address.
    pub async fn another_process(&mut self, bin: &str) -> Result<String> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let bind = format!("127.0.0.1:{port}");
        let mut env = self.env.clone();
        env.retain(|(k, _)| k != "BIND_ADDR");
        env.push(("BIND_ADDR".into(), bind.clone()));
        let child = Command::new(bin)
            .arg("serve")
            .env_clear()
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.extra_children.push(child);
        let address = format!("http://{bind}");
        let client = client()?;
        let started = Instant::now();
        while client
            .get(format!("{address}/api/v1/health"))
            .send()
            .await
            .is_err()
        {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("the second mami-api did not start");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(address)
    }

    /// What the process wrote to stderr (its logs).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for BinaryApp {
    fn drop(&mut self) {
        for c in &mut self.extra_children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}

/// Sends `req` and returns status, headers and the JSON body (`Value::Null` if none).
pub async fn send(
    req: reqwest::RequestBuilder,
) -> Result<(u16, reqwest::header::HeaderMap, Value)> {
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok((status, headers, body))
}

/// Asserts the error envelope and returns its code.
pub fn error_code(status: u16, body: &Value) -> String {
    let e = &body["error"];
    assert_eq!(
        e["status_code"].as_u64(),
        Some(u64::from(status)),
        "status_code in envelope: {body}"
    );
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message in envelope: {body}"
    );
    assert!(e["details"].is_object(), "details in envelope: {body}");
    e["code"].as_str().unwrap_or_default().to_owned()
}
