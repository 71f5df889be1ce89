//! The benchmark's floor (`bench/run.sh --floor`): the API's read routes answered by actix-web
//! with the very statements pgbench replays (the captured scripts), sent through
//! tokio-postgres (the driver under diesel-async) on connections of the worker's own, and a
//! fixed body of the API's size. No routing table, middleware, JSON, domain or diesel: what is
//! left is what any API on this stack pays to put HTTP in front of that SQL, so its rate is an
//! upper bound for the real API's, and floor ÷ pgbench a bound for API ÷ pgbench.

mod script;

use std::{cell::RefCell, collections::HashMap, path::PathBuf, rc::Rc, sync::Arc};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::{Context, bail};
use clap::Parser;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use script::{Base, Value};
use tokio::sync::Semaphore;
use tokio_postgres::{
    Client, NoTls,
    types::{ToSql, Type},
};

#[derive(Parser, Debug)]
#[command(about = "The benchmark's floor: a read workload's SQL behind actix-web, nothing else")]
struct Args {
    /// Where to listen.
    #[arg(long)]
    bind: String,
    /// The bench database (the API's DATABASE_URL).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The folder of the captured scripts (bench/pgbench).
    #[arg(long)]
    scripts: PathBuf,
    /// The first bench customer's user, cart and payment-token ids (bench_customers n = 0).
    #[arg(long)]
    ubase: i64,
    #[arg(long)]
    cbase: i64,
    #[arg(long)]
    tbase: i64,
    /// The size in bytes of the API's answer, per workload: catalog=N, search=N, cart=N.
    #[arg(long = "body", value_parser = body_arg)]
    bodies: Vec<(String, usize)>,
    /// HTTP workers; the API's default is one per core.
    #[arg(long)]
    workers: Option<usize>,
    /// Connections per worker (the bench's API has 3).
    #[arg(long, default_value_t = 3)]
    connections: usize,
    /// Send a request's statements all at once (pipelined, one round trip) instead of one
    /// after another as pgbench does: the cheapest any client could send them.
    #[arg(long)]
    pipeline: bool,
    /// The secret the bench's API signs its tokens with (bench/lib.sh).
    #[arg(long, env = "JWT_SECRET_KEY")]
    jwt_secret: String,
}

fn body_arg(arg: &str) -> Result<(String, usize), String> {
    let (name, bytes) = arg.split_once('=').ok_or("expected NAME=BYTES")?;
    Ok((
        name.to_owned(),
        bytes.parse().map_err(|_| "BYTES: a number")?,
    ))
}

/// The read workloads, in the order of `Conn::statements`, `Plan::bodies` and these indexes.
const WORKLOADS: [&str; 3] = ["catalog", "search", "cart"];
const CATALOG: usize = 0;
const SEARCH: usize = 1;
const CART: usize = 2;

/// What every worker shares: the statements, the bodies, the token key.
struct Plan {
    url: String,
    connections: usize,
    pipeline: bool,
    ubase: i64,
    cbase: i64,
    tbase: i64,
    workloads: Vec<Vec<script::Statement>>,
    bodies: Vec<web::Bytes>,
    key: DecodingKey,
    validation: Validation,
}

/// One connection with every workload's statements prepared, and their fixed values typed.
struct Conn {
    client: Client,
    statements: Vec<Vec<(tokio_postgres::Statement, Vec<Param>)>>,
}

enum Param {
    Fixed(Box<dyn ToSql + Sync + Send>),
    Customer(Base),
}

/// A worker's own connections: opened on its thread (so driven by its runtime) when first
/// needed, at most `connections`, each used by one request at a time.
struct Local {
    permits: Semaphore,
    free: RefCell<Vec<Conn>>,
}

thread_local! {
    static LOCAL: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

fn local(plan: &Plan) -> Rc<Local> {
    LOCAL.with(|l| {
        l.borrow_mut()
            .get_or_insert_with(|| {
                Rc::new(Local {
                    permits: Semaphore::new(plan.connections),
                    free: RefCell::new(Vec::new()),
                })
            })
            .clone()
    })
}

async fn connect(plan: &Plan) -> anyhow::Result<Conn> {
    let (client, connection) = tokio_postgres::connect(&plan.url, NoTls).await?;
    actix_web::rt::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("floor: connection ended: {e}");
        }
    });
    let mut statements = Vec::new();
    for workload in &plan.workloads {
        let mut prepared = Vec::new();
        for s in workload {
            let statement = client
                .prepare(&s.sql)
                .await
                .with_context(|| s.sql.clone())?;
            let params = s
                .params
                .iter()
                .zip(statement.params())
                .map(|(value, ty)| match value {
                    Value::Fixed(text) => typed(text, ty).map(Param::Fixed),
                    Value::Customer(base) => Ok(Param::Customer(*base)),
                })
                .collect::<anyhow::Result<_>>()?;
            prepared.push((statement, params));
        }
        statements.push(prepared);
    }
    Ok(Conn { client, statements })
}

/// A `.vars` literal as a value of the type PostgreSQL inferred for its parameter.
fn typed(text: &str, ty: &Type) -> anyhow::Result<Box<dyn ToSql + Sync + Send>> {
    fn items<T: std::str::FromStr>(text: &str) -> anyhow::Result<Vec<T>> {
        script::array_items(text)?
            .into_iter()
            .map(|x| x.parse().map_err(|_| anyhow::anyhow!("bad array item {x}")))
            .collect()
    }
    let bad = || format!("{text} is not a {ty}");
    Ok(match *ty {
        Type::BOOL => Box::new(match text {
            "t" | "true" => true,
            "f" | "false" => false,
            _ => bail!(bad()),
        }),
        Type::INT2 => Box::new(text.parse::<i16>().with_context(bad)?),
        Type::INT4 => Box::new(text.parse::<i32>().with_context(bad)?),
        Type::INT8 => Box::new(text.parse::<i64>().with_context(bad)?),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Box::new(text.to_owned()),
        Type::UUID => Box::new(uuid::Uuid::parse_str(text).with_context(bad)?),
        Type::INT4_ARRAY => Box::new(items::<i32>(text)?),
        Type::INT8_ARRAY => Box::new(items::<i64>(text)?),
        Type::TEXT_ARRAY => Box::new(items::<String>(text)?),
        Type::UUID_ARRAY => Box::new(items::<uuid::Uuid>(text)?),
        _ => bail!("the floor has no conversion to {ty} (for {text})"),
    })
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
}

/// The request's customer: `k` of `ubase + k`, from the bearer token (checked as the API
/// checks it: signature and expiry) for the cart; 0 for the public catalog.
fn customer(plan: &Plan, req: &HttpRequest, authenticated: bool) -> Option<i64> {
    if !authenticated {
        return Some(0);
    }
    let header = req.headers().get("authorization")?.to_str().ok()?;
    let token = header.strip_prefix("Bearer ")?;
    let claims = jsonwebtoken::decode::<Claims>(token, &plan.key, &plan.validation).ok()?;
    Some(claims.claims.sub.parse::<i64>().ok()? - plan.ubase)
}

/// The request's customer's user, cart and payment-token ids.
struct Ids {
    user: i64,
    cart: i64,
    token: i64,
}

/// A statement's values: its fixed ones, and the request's customer's ids.
fn binds<'a>(params: &'a [Param], ids: &'a Ids) -> Vec<&'a (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Param::Fixed(v) => v.as_ref() as &(dyn ToSql + Sync),
            Param::Customer(Base::User) => &ids.user,
            Param::Customer(Base::Cart) => &ids.cart,
            Param::Customer(Base::Token) => &ids.token,
        })
        .collect()
}

async fn run(plan: &Plan, w: usize, k: i64) -> anyhow::Result<()> {
    let local = local(plan);
    let _permit = local.permits.acquire().await?;
    let taken = local.free.borrow_mut().pop();
    let conn = match taken {
        Some(c) => c,
        None => connect(plan).await?,
    };
    let ids = Ids {
        user: plan.ubase + k,
        cart: plan.cbase + k,
        token: plan.tbase + k,
    };
    let statements = &conn.statements[w];
    let result: Result<(), tokio_postgres::Error> = async {
        if plan.pipeline {
            // tokio-postgres writes every query polled together before it reads an answer.
            let binds: Vec<_> = statements.iter().map(|(_, p)| binds(p, &ids)).collect();
            let queries = statements
                .iter()
                .zip(&binds)
                .map(|((s, _), v)| conn.client.query(s, v));
            futures_util::future::try_join_all(queries).await?;
        } else {
            for (statement, params) in statements {
                conn.client.query(statement, &binds(params, &ids)).await?;
            }
        }
        Ok(())
    }
    .await;
    // A connection that failed is dropped; the next request opens a new one.
    if result.is_ok() {
        local.free.borrow_mut().push(conn);
    }
    Ok(result?)
}

async fn answer(plan: web::Data<Plan>, req: HttpRequest, w: usize) -> HttpResponse {
    let Some(k) = customer(&plan, &req, w == CART) else {
        return HttpResponse::Unauthorized().finish();
    };
    match run(&plan, w, k).await {
        Ok(()) => HttpResponse::Ok()
            .content_type("application/json")
            .body(plan.bodies[w].clone()),
        Err(e) => {
            eprintln!("floor: {e:#}");
            HttpResponse::InternalServerError().finish()
        }
    }
}

async fn search(plan: web::Data<Plan>, req: HttpRequest) -> HttpResponse {
    let w = if req.query_string().split('&').any(|p| p.starts_with("q=")) {
        SEARCH
    } else {
        CATALOG
    };
    answer(plan, req, w).await
}

async fn cart(plan: web::Data<Plan>, req: HttpRequest) -> HttpResponse {
    answer(plan, req, CART).await
}

fn plan(args: &Args) -> anyhow::Result<Plan> {
    let sizes: HashMap<&str, usize> = args.bodies.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let mut workloads = Vec::new();
    let mut bodies = Vec::new();
    for w in WORKLOADS {
        let read = |ext: &str| {
            let path = args.scripts.join(format!("{w}.{ext}"));
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
        };
        workloads.push(script::parse(&read("pgbench")?, &read("vars")?)?);
        let size = *sizes
            .get(w)
            .with_context(|| format!("--body {w}=BYTES is missing"))?;
        // A JSON document of exactly `size` bytes (at least the 10 of the shortest).
        let pad = "x".repeat(size.saturating_sub(10));
        bodies.push(web::Bytes::from(format!("{{\"pad\":\"{pad}\"}}")));
    }
    Ok(Plan {
        url: args.database_url.clone(),
        connections: args.connections.max(1),
        pipeline: args.pipeline,
        ubase: args.ubase,
        cbase: args.cbase,
        tbase: args.tbase,
        workloads,
        bodies,
        key: DecodingKey::from_secret(args.jwt_secret.as_bytes()),
        validation: Validation::new(Algorithm::HS256),
    })
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let plan = web::Data::from(Arc::new(plan(&args)?));
    // Fail now, not on the first request, if a statement does not prepare.
    connect(&plan).await?;
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    HttpServer::new(move || {
        App::new()
            .app_data(plan.clone())
            .route("/api/v1/health", web::get().to(HttpResponse::Ok))
            .route("/api/v1/catalog/products/search", web::get().to(search))
            .route("/api/v1/cart", web::get().to(cart))
    })
    .workers(workers)
    .bind(&args.bind)?
    .run()
    .await?;
    Ok(())
}
