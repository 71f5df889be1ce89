//! `mami-api`: serve the API, apply migrations, or seed demo data.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mami_api::config::{Config, ProcessEnv};
use mami_api::{AppState, Listen, ServeOptions, Shared, build_app, telemetry};
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

/// The pools: one per HTTP worker of `workers` besides the shared one (0 for the commands that
/// serve nothing).
fn database(config: &Config, workers: usize) -> anyhow::Result<Database> {
    Ok(Database::connect_per_worker(
        &config.database_url,
        config.database_pool_size,
        config.database_timeout,
        workers,
    )?)
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let applied = database(config, 0)?.migrate().await?;
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
    let db = database(config, 0)?;
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
    // actix's default: a worker per core.
    let workers = config
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let db = database(&config, workers)?;
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
    let metrics_addr = config.metrics_addr;
    let shutdown = config.shutdown_timeout.as_secs();
    let interval = config.reconcile_interval;
    let mail_poll = config.mail_poll_interval;
    let shared = Shared::new(AppState::new(config, db)?).map_err(anyhow::Error::msg)?;
    spawn_reconciler(shared.state.clone(), interval);
    spawn_mail_worker(shared.state.clone(), mail_poll);
    let options = ServeOptions {
        workers: Some(workers),
        shutdown_timeout: Some(shutdown),
    };
    let metrics = match (metrics_addr, shared.metrics.clone()) {
        (Some(addr), Some(handle)) => {
            let server = mami_api::metrics::serve_metrics(addr, shared.state.clone(), handle)?;
            let stop = server.handle();
            tokio::spawn(server);
            tracing::info!(address = %addr, "serving metrics at /metrics");
            Some(stop)
        }
        _ => None,
    };
    let server = mami_api::serve(Listen::Addr(bind), options, move || {
        // Runs on each worker's thread: its requests use the connections it opens.
        shared.state.db.bind_this_thread();
        build_app(shared.clone()).wrap(actix_web::middleware::from_fn(drain::track))
    })?;
    drain::stop_on_signals(server.handle())?;
    tracing::info!(address = %bind, "serving the Mami API");
    server.await?;
    if let Some(metrics) = metrics {
        metrics.stop(false).await;
    }
    let cut = drain::cut_off();
    if cut > 0 {
        tracing::error!(
            dropped = cut,
            shutdown_timeout_seconds = shutdown,
            "shutdown dropped {cut} request(s) still in flight"
        );
        anyhow::bail!("shutdown dropped {cut} request(s) still in flight");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The reconciler: one leader across processes settles payments whose outcome is unknown.
fn spawn_reconciler(state: actix_web::web::Data<AppState>, interval: std::time::Duration) {
    let idle = mami_domain::reconciler::ReconcileReport {
        led: true,
        ..Default::default()
    };
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let result = state.reconciler.run_once(chrono::Utc::now()).await;
            mami_api::metrics::reconciled(&result);
            match result {
                Ok(report) if report.led && report != idle => {
                    tracing::info!(?report, "reconciler pass");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "reconciler pass failed"),
            }
        }
    });
}

/// The mail worker: delivers the outbox after commit, woken by this process's requests that
/// queued mail, and every `poll` for mail queued by other processes or due for a retry. Every
/// process runs one; claims keep them from sending a message twice.
fn spawn_mail_worker(state: actix_web::web::Data<AppState>, poll: std::time::Duration) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(poll) => {}
                () = state.accounts.mail_wake.notified() => {}
            }
            let result = state.accounts.postman.run_once().await;
            mami_api::metrics::mailed(&result);
            match result {
                Ok(report) if !report.is_idle() => tracing::info!(?report, "mail delivery pass"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "mail delivery pass failed"),
            }
        }
    });
}

mod drain {
    //! Stopping: which requests a shutdown cut off.
    //!
    //! actix-web drains connections, not requests, and does not say whether its drain finished
    //! in time; so every request is tallied here, and one that ends without its answer after the
    //! stop began (the drain timed out, or SIGINT stopped at once) counts as dropped.
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use actix_web::body::MessageBody;
    use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
    use actix_web::middleware::Next;

    struct Tally {
        in_flight: u64,
        dropped: u64,
        stopping: bool,
    }

    static TALLY: Mutex<Tally> = Mutex::new(Tally {
        in_flight: 0,
        dropped: 0,
        stopping: false,
    });

    fn tally() -> MutexGuard<'static, Tally> {
        TALLY.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One request, from the moment it reaches the app until it has its answer or is dropped.
    struct InFlight {
        answered: bool,
    }

    impl Drop for InFlight {
        fn drop(&mut self) {
            let mut t = tally();
            t.in_flight = t.in_flight.saturating_sub(1);
            // Before the stop, an unanswered request is a client that went away.
            if !self.answered && t.stopping {
                t.dropped += 1;
            }
        }
    }

    /// Middleware counting every request in flight.
    pub async fn track(
        req: ServiceRequest,
        next: Next<impl MessageBody>,
    ) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
        tally().in_flight += 1;
        let mut request = InFlight { answered: false };
        let res = next.call(req).await;
        request.answered = true;
        res
    }

    /// After the server stopped: requests dropped, plus those whose worker has not dropped
    /// them yet.
    pub fn cut_off() -> u64 {
        let t = tally();
        t.dropped + t.in_flight
    }

    /// SIGTERM stops accepting connections and drains the requests in flight for up to
    /// `SHUTDOWN_TIMEOUT_SECONDS`; SIGINT and SIGQUIT stop at once (as actix-web does).
    pub fn stop_on_signals(handle: ServerHandle) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut quit = signal(SignalKind::quit())?;
        tokio::spawn(async move {
            let (name, graceful) = tokio::select! {
                _ = term.recv() => ("SIGTERM", true),
                _ = int.recv() => ("SIGINT", false),
                _ = quit.recv() => ("SIGQUIT", false),
            };
            tally().stopping = true;
            tracing::info!(signal = name, graceful, "stopping");
            handle.stop(graceful).await;
        });
        Ok(())
    }
}
