//! `mami-api`: serve the API, apply migrations, or seed demo data.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mami_api::config::{Config, ProcessEnv};
use mami_api::{AppState, Shared, build_app, telemetry};
use mami_postgres::Database;

#[derive(Parser)]
#[command(name = "mami-api", version, about = "Mami supermarket backend")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations; a no-op when the schema is current.
    Migrate,
    /// Create the demo supermarket (safe to run again: nothing is duplicated).
    Seed {
        /// Also generate this many extra products (with inventory), for benchmarks.
        #[arg(long, default_value_t = 0)]
        products: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("mami-api: cannot read .env: {e}");
        return ExitCode::from(2);
    }
    let config = match Config::from_env(&ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mami-api: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mami-api: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::Migrate => migrate(&config).await,
            Command::Seed { products } => seed(&config, products).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mami-api: {e}");
            ExitCode::FAILURE
        }
    }
}

fn database(config: &Config) -> anyhow::Result<Database> {
    Ok(Database::connect(
        &config.database_url,
        config.database_pool_size,
        config.database_timeout,
    )?)
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let applied = database(config)?.migrate().await?;
    if applied.is_empty() {
        println!("mami-api: schema is current; nothing to apply");
    } else {
        println!(
            "mami-api: applied {} migration(s): {}",
            applied.len(),
            applied.join(", ")
        );
    }
    Ok(())
}

async fn seed(config: &Config, products: u32) -> anyhow::Result<()> {
    let db = database(config)?;
    let hasher = mami_api::auth::Argon2Hasher::new()?;
    let hash = hasher.hash_now(mami_postgres::seed::DEMO_PASSWORD)?;
    let r = db.seed_demo(&hash, products).await?;
    println!(
        "mami-api: seeded {} branch(es), {} user(s), {} categories, {} product(s), \
         {} inventory row(s), {} delivery slot(s); warehouse branch id {}",
        r.branches_created,
        r.users_created,
        r.categories_created,
        r.products_created,
        r.inventory_created,
        r.slots_created,
        r.warehouse_id
    );
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let db = database(&config)?;
    if !db.migrations_current().await? {
        anyhow::bail!("the database schema is not current: run `mami-api migrate` first");
    }
    let branch = config.delivery_source_branch_id;
    if !db.branch_exists(branch).await? {
        anyhow::bail!(
            "DELIVERY_SOURCE_BRANCH_ID={branch}: no branch with that id exists \
             (create it, or run `mami-api seed` for demo data)"
        );
    }
    let bind = config.bind_addr;
    let shutdown = config.shutdown_timeout.as_secs();
    let workers = config.workers;
    let interval = config.reconcile_interval;
    let shared = Shared::new(AppState::new(config, db)?).map_err(anyhow::Error::msg)?;
    // The reconciler: one leader across processes settles payments whose outcome is unknown.
    let state = shared.state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            match state.reconciler.run_once(chrono::Utc::now()).await {
                Ok(report)
                    if report.led
                        && report
                            != mami_domain::reconciler::ReconcileReport {
                                led: true,
                                ..Default::default()
                            } =>
                {
                    tracing::info!(?report, "reconciler pass");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "reconciler pass failed"),
            }
        }
    });
    let mut server =
        actix_web::HttpServer::new(move || build_app(shared.clone())).shutdown_timeout(shutdown);
    if let Some(n) = workers {
        server = server.workers(n);
    }
    let server = server.bind(bind)?;
    tracing::info!(address = %bind, "serving the Mami API");
    // SIGTERM and SIGINT stop accepting connections and drain in-flight requests.
    server.run().await?;
    tracing::info!("stopped");
    Ok(())
}
