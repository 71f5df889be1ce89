//! Test databases: the private PostgreSQL server, one migrated template per schema version
//! (built once across processes under an advisory lock), one fresh clone per test, and the
//! demo seed.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use mami_postgres::Database;
use sha2::{Digest, Sha256};

use crate::{DEMO_PASSWORD, repo_root};

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
