//! Typed configuration from the environment (and an optional `.env`), validated at startup.
//!
//! A missing or invalid value stops startup with one line naming the variable and the problem.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Deployment environment (`APP_ENV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Production,
    Development,
    Testing,
}

impl AppEnv {
    pub fn is_production(self) -> bool {
        self == AppEnv::Production
    }
}

/// Log line format (`LOG_FORMAT`); JSON by default in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// One rate limit: `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub period: Duration,
}

/// A configuration problem: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

fn err(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

/// Everything the server needs to know about its environment.
#[derive(Clone)]
pub struct Config {
    pub app_env: AppEnv,
    pub database_url: String,
    pub database_pool_size: usize,
    pub database_timeout: Duration,
    pub bind_addr: SocketAddr,
    /// `METRICS_ADDR`: where the Prometheus metrics are served (`GET /metrics`); unset, no
    /// metrics are kept at all. Never the API's own address.
    pub metrics_addr: Option<SocketAddr>,
    pub jwt_secret: Vec<u8>,
    pub access_token_ttl: chrono::Duration,
    pub refresh_token_ttl: chrono::Duration,
    pub delivery_source_branch_id: i64,
    pub cors_allowed_origins: Vec<String>,
    pub delivery_min_total: String,
    pub delivery_fee_under_min: String,
    pub default_limit: i64,
    pub max_limit: i64,
    pub rate_limit_defaults: Vec<RateLimit>,
    pub rate_limit_enabled: bool,
    pub trusted_proxies: Vec<IpAddr>,
    pub log_format: LogFormat,
    pub shutdown_timeout: Duration,
    pub workers: Option<usize>,
    pub payment_provider_url: String,
    pub payment_provider_secret_key: String,
    pub payment_provider_timeout: Duration,
    /// `PAYMENT_TOKEN_FALLBACK`: a confirm naming a card that is not the caller's pays with the
    /// caller's own default card (the React client always sends card id 1).
    pub payment_token_fallback: bool,
    /// `PAYMENT_TEST_CARDS`: the provider is a test provider (the simulator, or Stripe in test
    /// mode); new customers get its test card as their default.
    pub payment_test_cards: bool,
    /// `PASSWORD_HASH_CONCURRENCY` (default: the cores but one, at least one) and
    /// `PASSWORD_HASH_QUEUE_TIMEOUT_MS`: at most that many argon2 hashes (19 MiB each) at once;
    /// the rest wait that long, then 503.
    pub password_hash_lanes: usize,
    pub password_hash_queue_timeout: Duration,
    /// How often the reconciler runs, how old a pending order must be, and when it gives up.
    pub reconcile_interval: Duration,
    pub reconcile_min_age: Duration,
    pub reconcile_give_up: Duration,
    /// Where the client runs: password reset links point at its `/reset-password` page.
    pub frontend_base_url: String,
    /// Whether the registration-code routes work (`ENABLE_REGISTRATION_OTP`, or not production).
    pub registration_codes: bool,
    /// Who delivers e-mail.
    pub mail: MailConfig,
    /// How often the mail worker looks for due messages when nothing woke it.
    pub mail_poll_interval: Duration,
}

/// Who delivers e-mail (`MAIL_PROVIDER`).
#[derive(Clone, PartialEq, Eq)]
pub enum MailConfig {
    /// The development mailer: one file per message in `dir` (`MAIL_DIR`), and a log line.
    Files { dir: std::path::PathBuf },
    /// Brevo's transactional API.
    Brevo(BrevoSettings),
}

/// `BREVO_*`: the account, the sender and the template of each message.
#[derive(Clone, PartialEq, Eq)]
pub struct BrevoSettings {
    pub api_url: String,
    pub api_key: String,
    pub sender_email: String,
    pub sender_name: String,
    pub reset_template_id: i64,
    pub registration_template_id: i64,
    pub timeout: Duration,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailConfig::Files { dir } => write!(f, "Files({})", dir.display()),
            MailConfig::Brevo(b) => write!(f, "Brevo({}, sender {})", b.api_url, b.sender_email),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("app_env", &self.app_env)
            .field("database_url", &"***")
            .field("bind_addr", &self.bind_addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("jwt_secret", &"***")
            .field("delivery_source_branch_id", &self.delivery_source_branch_id)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("payment_provider_url", &self.payment_provider_url)
            .field("payment_provider_secret_key", &"***")
            .field("mail", &self.mail)
            .finish_non_exhaustive()
    }
}

/// Source of variables: the process environment in production, a map in tests.
pub trait Env {
    fn get(&self, key: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn get(&self, key: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    }
}

impl Env for Vec<(String, String)> {
    fn get(&self, key: &str) -> Option<String> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }
}

fn parse_int<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    env: &dyn Env,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    match env.get(var) {
        None => Ok(default),
        Some(raw) => {
            let v: T = raw
                .trim()
                .parse()
                .map_err(|_| err(var, format!("'{raw}' is not a whole number")))?;
            if v < min || v > max {
                return Err(err(var, format!("{v} is outside {min}..={max}")));
            }
            Ok(v)
        }
    }
}

fn parse_bool(env: &dyn Env, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match env
        .get(var)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(err(var, format!("'{other}' is not true or false"))),
    }
}

fn parse_money(env: &dyn Env, var: &'static str, default: &str) -> Result<String, ConfigError> {
    let raw = env.get(var).unwrap_or_else(|| default.to_owned());
    let raw = raw.trim();
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 10
        && whole.chars().all(|c| c.is_ascii_digit())
        && frac.len() <= 2
        && frac.chars().all(|c| c.is_ascii_digit());
    if !ok {
        return Err(err(
            var,
            format!("'{raw}' is not a non-negative amount with at most two decimals"),
        ));
    }
    Ok(format!("{whole}.{frac:0<2}"))
}

/// Parses `"200 per day, 50 per hour"` (also `200/day`, `5 per minute`, `10 per 2 hours`).
pub fn parse_rate_limits(raw: &str) -> Result<Vec<RateLimit>, String> {
    let mut limits = Vec::new();
    for part in raw
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let normalized = part.replace('/', " per ");
        let words: Vec<&str> = normalized.split_whitespace().collect();
        let (count, rest) = match words.as_slice() {
            [count, "per", rest @ ..] => (count, rest),
            _ => return Err(format!("'{part}' is not of the form 'N per unit'")),
        };
        let count: u32 = count
            .parse()
            .ok()
            .filter(|c| *c > 0)
            .ok_or_else(|| format!("'{part}': the count must be a positive whole number"))?;
        let (multiplier, unit) = match rest {
            [unit] => (1u64, *unit),
            [n, unit] => (
                n.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("'{part}': bad period"))?,
                *unit,
            ),
            _ => return Err(format!("'{part}' is not of the form 'N per unit'")),
        };
        let seconds = match unit.trim_end_matches('s') {
            "second" | "sec" => 1,
            "minute" | "min" => 60,
            "hour" => 3600,
            "day" => 86_400,
            _ => return Err(format!("'{part}': unknown unit '{unit}'")),
        };
        limits.push(RateLimit {
            count,
            period: Duration::from_secs(seconds * multiplier),
        });
    }
    if limits.is_empty() {
        return Err("no limit given".into());
    }
    Ok(limits)
}

/// The reconciler's interval, minimum order age (both seconds) and give-up time (minutes).
fn reconcile_times(env: &dyn Env, payment_timeout_ms: u64) -> Result<(u64, u64, u64), ConfigError> {
    let interval: u64 = parse_int(env, "RECONCILE_INTERVAL_SECONDS", 30, 1, 3600)?;
    let min_age: u64 = parse_int(env, "RECONCILE_MIN_AGE_SECONDS", 30, 0, 3600)?;
    let give_up: u64 = parse_int(env, "RECONCILE_GIVE_UP_MINUTES", 60, 1, 10_080)?;
    // A younger order may still have its own request waiting for the provider's answer: the
    // reconciler would re-ask the provider about it in the middle of that request.
    if min_age.saturating_mul(1000) < payment_timeout_ms {
        return Err(err(
            "RECONCILE_MIN_AGE_SECONDS",
            format!(
                "{min_age} s is below PAYMENT_PROVIDER_TIMEOUT_MS ({payment_timeout_ms} ms): \
                 it must be at least the provider timeout"
            ),
        ));
    }
    Ok((interval, min_age, give_up))
}

/// Default for `RATE_LIMIT_DEFAULTS`, as in the reference.
pub const DEFAULT_RATE_LIMITS: &str = "200 per day, 50 per hour";

/// Demo-only secret used when `JWT_SECRET_KEY` is unset outside production.
const DEV_JWT_SECRET: &str = "mami-development-secret-do-not-use-in-production";

impl Config {
    /// Reads and validates every variable, in a fixed order (the first problem is reported).
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let app_env = app_env(env)?;
        let prod = app_env.is_production();
        let database_url = database_url(env)?;
        let jwt_secret = jwt_secret(env, prod)?;
        let access_minutes: i64 = parse_int(
            env,
            "JWT_ACCESS_TOKEN_EXPIRES_MINUTES",
            240,
            1,
            60 * 24 * 30,
        )?;
        let refresh_days: i64 = parse_int(env, "JWT_REFRESH_TOKEN_EXPIRES_DAYS", 30, 1, 365)?;
        let delivery_source_branch_id = delivery_source(env, prod)?;
        let cors_allowed_origins = cors_origins(env, prod)?;
        let delivery_min_total = parse_money(env, "DELIVERY_MIN_TOTAL", "150")?;
        let delivery_fee_under_min = parse_money(env, "DELIVERY_FEE_UNDER_MIN", "30")?;
        let (default_limit, max_limit) = page_limits(env)?;
        let (rate_limit_defaults, rate_limit_enabled) = rate_limits(env, prod)?;
        let trusted_proxies = trusted_proxies(env)?;
        let bind_addr = bind_addr(env)?;
        let metrics_addr = metrics_addr(env, bind_addr)?;
        let database_pool_size: usize = parse_int(env, "DATABASE_POOL_SIZE", 16, 1, 1000)?;
        let database_timeout_secs: u64 = parse_int(env, "DATABASE_TIMEOUT_SECONDS", 5, 1, 300)?;
        let shutdown_secs: u64 = parse_int(env, "SHUTDOWN_TIMEOUT_SECONDS", 30, 1, 3600)?;
        let workers = match env.get("WORKERS") {
            None => None,
            Some(_) => Some(parse_int(env, "WORKERS", 2usize, 1, 256)?),
        };
        let log_format = log_format(env, prod)?;
        let (payment_provider_url, payment_provider_secret_key) = payment_provider(env, prod)?;
        let (payment_token_fallback, payment_test_cards) =
            payment_cards(env, prod, &payment_provider_secret_key)?;
        let lanes = crate::auth::password::HashLimits::default_lanes();
        let password_hash_lanes: usize =
            parse_int(env, "PASSWORD_HASH_CONCURRENCY", lanes, 1, 256)?;
        let hash_queue_ms: u64 =
            parse_int(env, "PASSWORD_HASH_QUEUE_TIMEOUT_MS", 5_000, 10, 120_000)?;
        let payment_timeout_ms: u64 =
            parse_int(env, "PAYMENT_PROVIDER_TIMEOUT_MS", 10_000, 100, 120_000)?;
        let (reconcile_interval, reconcile_min_age, reconcile_give_up) =
            reconcile_times(env, payment_timeout_ms)?;
        let frontend_base_url = frontend_base_url(env, prod)?;
        let registration_codes = flag(env, "ENABLE_REGISTRATION_OTP")? || !prod;
        let mail = mail(env, prod)?;
        let mail_poll_seconds: u64 = parse_int(env, "MAIL_POLL_SECONDS", 5, 1, 3600)?;

        Ok(Self {
            frontend_base_url,
            registration_codes,
            mail,
            mail_poll_interval: Duration::from_secs(mail_poll_seconds),
            reconcile_interval: Duration::from_secs(reconcile_interval),
            reconcile_min_age: Duration::from_secs(reconcile_min_age),
            reconcile_give_up: Duration::from_secs(reconcile_give_up * 60),
            payment_provider_url,
            payment_provider_secret_key,
            payment_provider_timeout: Duration::from_millis(payment_timeout_ms),
            payment_token_fallback,
            payment_test_cards,
            password_hash_lanes,
            password_hash_queue_timeout: Duration::from_millis(hash_queue_ms),
            app_env,
            database_url,
            database_pool_size,
            database_timeout: Duration::from_secs(database_timeout_secs),
            bind_addr,
            metrics_addr,
            jwt_secret,
            access_token_ttl: chrono::Duration::minutes(access_minutes),
            refresh_token_ttl: chrono::Duration::days(refresh_days),
            delivery_source_branch_id,
            cors_allowed_origins,
            delivery_min_total,
            delivery_fee_under_min,
            default_limit,
            max_limit,
            rate_limit_defaults,
            rate_limit_enabled,
            trusted_proxies,
            log_format,
            shutdown_timeout: Duration::from_secs(shutdown_secs),
            workers,
        })
    }
}

fn app_env(env: &dyn Env) -> Result<AppEnv, ConfigError> {
    match env.get("APP_ENV").as_deref().map(str::trim) {
        None | Some("production") => Ok(AppEnv::Production),
        Some("development") => Ok(AppEnv::Development),
        Some("testing") => Ok(AppEnv::Testing),
        Some(other) => Err(err(
            "APP_ENV",
            format!("'{other}' is not one of production, development, testing"),
        )),
    }
}

fn database_url(env: &dyn Env) -> Result<String, ConfigError> {
    let url = env
        .get("DATABASE_URL")
        .ok_or_else(|| err("DATABASE_URL", "is required"))?;
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(err(
            "DATABASE_URL",
            "must start with postgres:// or postgresql://",
        ));
    }
    Ok(url)
}

fn jwt_secret(env: &dyn Env, prod: bool) -> Result<Vec<u8>, ConfigError> {
    let secret = match env.get("JWT_SECRET_KEY") {
        Some(s) => s.into_bytes(),
        None if prod => return Err(err("JWT_SECRET_KEY", "is required in production")),
        None => DEV_JWT_SECRET.as_bytes().to_vec(),
    };
    if prod && secret.len() < 32 {
        return Err(err(
            "JWT_SECRET_KEY",
            "must be at least 32 bytes in production",
        ));
    }
    if prod && secret == DEV_JWT_SECRET.as_bytes() {
        return Err(err("JWT_SECRET_KEY", "is the development default"));
    }
    Ok(secret)
}

fn delivery_source(env: &dyn Env, prod: bool) -> Result<i64, ConfigError> {
    match env.get("DELIVERY_SOURCE_BRANCH_ID") {
        None if prod => Err(err(
            "DELIVERY_SOURCE_BRANCH_ID",
            "is required in production",
        )),
        None => Ok(1),
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| {
                err(
                    "DELIVERY_SOURCE_BRANCH_ID",
                    format!("'{raw}' is not a positive branch id"),
                )
            }),
    }
}

fn cors_origins(env: &dyn Env, prod: bool) -> Result<Vec<String>, ConfigError> {
    let origins: Vec<String> = match env.get("CORS_ALLOWED_ORIGINS") {
        None if prod => {
            return Err(err(
                "CORS_ALLOWED_ORIGINS",
                "is required in production (a comma-separated list of origins)",
            ));
        }
        None => vec!["http://localhost:5173".to_owned()],
        Some(raw) => raw
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect(),
    };
    if origins.iter().any(|o| o == "*") {
        if prod {
            return Err(err(
                "CORS_ALLOWED_ORIGINS",
                "'*' is not allowed in production",
            ));
        }
    } else if let Some(bad) = origins
        .iter()
        .find(|o| !(o.starts_with("http://") || o.starts_with("https://")))
    {
        return Err(err(
            "CORS_ALLOWED_ORIGINS",
            format!("'{bad}' is not an http(s) origin"),
        ));
    }
    Ok(origins)
}

/// `(DEFAULT_LIMIT, MAX_LIMIT)`.
fn page_limits(env: &dyn Env) -> Result<(i64, i64), ConfigError> {
    let max_limit: i64 = parse_int(env, "MAX_LIMIT", 100, 1, 10_000)?;
    let default_limit: i64 = parse_int(env, "DEFAULT_LIMIT", 50, 1, 10_000)?;
    if default_limit > max_limit {
        return Err(err(
            "DEFAULT_LIMIT",
            format!("{default_limit} is above MAX_LIMIT ({max_limit})"),
        ));
    }
    Ok((default_limit, max_limit))
}

/// `(RATE_LIMIT_DEFAULTS, RATE_LIMIT_ENABLED)`.
fn rate_limits(env: &dyn Env, prod: bool) -> Result<(Vec<RateLimit>, bool), ConfigError> {
    let defaults = parse_rate_limits(
        &env.get("RATE_LIMIT_DEFAULTS")
            .unwrap_or_else(|| DEFAULT_RATE_LIMITS.to_owned()),
    )
    .map_err(|p| err("RATE_LIMIT_DEFAULTS", p))?;
    if defaults.len() > 3 {
        return Err(err("RATE_LIMIT_DEFAULTS", "at most 3 limits are supported"));
    }
    let enabled = match env.get("RATE_LIMIT_ENABLED").as_deref() {
        None | Some("true" | "1" | "yes") => true,
        Some("false" | "0" | "no") if !prod => false,
        Some("false" | "0" | "no") => {
            return Err(err(
                "RATE_LIMIT_ENABLED",
                "cannot be disabled in production",
            ));
        }
        Some(other) => {
            return Err(err(
                "RATE_LIMIT_ENABLED",
                format!("'{other}' is not true or false"),
            ));
        }
    };
    Ok((defaults, enabled))
}

fn trusted_proxies(env: &dyn Env) -> Result<Vec<IpAddr>, ConfigError> {
    match env.get("TRUSTED_PROXIES") {
        None => Ok(Vec::new()),
        Some(raw) => raw
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpAddr>()
                    .map_err(|_| err("TRUSTED_PROXIES", format!("'{p}' is not an IP address")))
            })
            .collect(),
    }
}

fn bind_addr(env: &dyn Env) -> Result<SocketAddr, ConfigError> {
    match env.get("BIND_ADDR") {
        Some(raw) => raw.trim().parse().map_err(|_| {
            err(
                "BIND_ADDR",
                format!("'{raw}' is not an address like 127.0.0.1:8080"),
            )
        }),
        None => {
            let port: u16 = parse_int(env, "PORT", 8080, 1, u16::MAX)?;
            Ok(SocketAddr::from(([127, 0, 0, 1], port)))
        }
    }
}

/// `METRICS_ADDR`: an address such as `127.0.0.1:9464`, on another port than the API's (the
/// metrics are not for the API's public).
fn metrics_addr(env: &dyn Env, bind: SocketAddr) -> Result<Option<SocketAddr>, ConfigError> {
    let Some(raw) = env.get("METRICS_ADDR") else {
        return Ok(None);
    };
    let addr: SocketAddr = raw.trim().parse().map_err(|_| {
        err(
            "METRICS_ADDR",
            format!("'{raw}' is not an address like 127.0.0.1:9464"),
        )
    })?;
    let overlaps =
        addr.ip() == bind.ip() || addr.ip().is_unspecified() || bind.ip().is_unspecified();
    if addr.port() == 0 || (addr.port() == bind.port() && overlaps) {
        return Err(err(
            "METRICS_ADDR",
            format!("{addr} must be a port of its own, not the API's ({bind}) nor 0"),
        ));
    }
    Ok(Some(addr))
}

fn log_format(env: &dyn Env, prod: bool) -> Result<LogFormat, ConfigError> {
    match env.get("LOG_FORMAT").as_deref() {
        None if prod => Ok(LogFormat::Json),
        None => Ok(LogFormat::Pretty),
        Some("json") => Ok(LogFormat::Json),
        Some("pretty" | "text") => Ok(LogFormat::Pretty),
        Some(other) => Err(err(
            "LOG_FORMAT",
            format!("'{other}' is not json or pretty"),
        )),
    }
}

/// `(PAYMENT_PROVIDER_URL, PAYMENT_PROVIDER_SECRET_KEY)`.
fn payment_provider(env: &dyn Env, prod: bool) -> Result<(String, String), ConfigError> {
    let url = match env.get("PAYMENT_PROVIDER_URL") {
        None if prod => return Err(err("PAYMENT_PROVIDER_URL", "is required in production")),
        None => "http://127.0.0.1:12111".to_owned(),
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
            u.trim_end_matches('/').to_owned()
        }
        Some(u) => {
            return Err(err(
                "PAYMENT_PROVIDER_URL",
                format!("'{u}' is not an http(s) URL"),
            ));
        }
    };
    let secret = match env.get("PAYMENT_PROVIDER_SECRET_KEY") {
        None if prod => {
            return Err(err(
                "PAYMENT_PROVIDER_SECRET_KEY",
                "is required in production",
            ));
        }
        None => "sk_test_paysim".to_owned(),
        Some(k) => k,
    };
    Ok((url, secret))
}

/// An http(s) URL without a trailing `/`.
fn http_url(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    let url = raw.trim().trim_end_matches('/');
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.to_owned())
    } else {
        Err(err(var, format!("'{raw}' is not an http(s) URL")))
    }
}

/// `FRONTEND_BASE_URL`: required in production, where a reset link to localhost would be a bug.
fn frontend_base_url(env: &dyn Env, prod: bool) -> Result<String, ConfigError> {
    const VAR: &str = "FRONTEND_BASE_URL";
    match env.get(VAR) {
        Some(raw) => http_url(VAR, &raw),
        None if prod => Err(err(VAR, "is required in production (the client's address)")),
        None => Ok("http://localhost:5173".to_owned()),
    }
}

/// A yes/no variable: `1/true/yes` or `0/false/no`, false when unset.
fn flag(env: &dyn Env, var: &'static str) -> Result<bool, ConfigError> {
    match env
        .get(var)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("0" | "false" | "no") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(other) => Err(err(var, format!("'{other}' is not true or false"))),
    }
}

/// `MAIL_PROVIDER` (`brevo` in production, else `files`) and its variables.
fn mail(env: &dyn Env, prod: bool) -> Result<MailConfig, ConfigError> {
    let default = if prod { "brevo" } else { "files" };
    let provider = env
        .get("MAIL_PROVIDER")
        .map_or_else(|| default.to_owned(), |p| p.trim().to_ascii_lowercase());
    match provider.as_str() {
        "files" if prod => Err(err(
            "MAIL_PROVIDER",
            "'files' (the development mailer) is not allowed in production",
        )),
        "files" => Ok(MailConfig::Files {
            dir: env
                .get("MAIL_DIR")
                .unwrap_or_else(|| ".local/mail".to_owned())
                .into(),
        }),
        "brevo" => brevo(env, prod).map(MailConfig::Brevo),
        other => Err(err(
            "MAIL_PROVIDER",
            format!("'{other}' is not brevo or files"),
        )),
    }
}

/// `BREVO_*`, every one of them required.
fn brevo(env: &dyn Env, prod: bool) -> Result<BrevoSettings, ConfigError> {
    let when = if prod {
        "is required in production"
    } else {
        "is required when MAIL_PROVIDER=brevo"
    };
    let required = |var: &'static str| env.get(var).ok_or_else(|| err(var, when));
    let template = |var: &'static str| -> Result<i64, ConfigError> {
        let raw = required(var)?;
        raw.trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| err(var, format!("'{raw}' is not a Brevo template id")))
    };
    let api_key = required("BREVO_API_KEY")?;
    let sender_email = required("BREVO_SENDER_EMAIL")?;
    if !sender_email.contains('@') {
        return Err(err(
            "BREVO_SENDER_EMAIL",
            format!("'{sender_email}' is not an e-mail address"),
        ));
    }
    let reset_template_id = template("BREVO_RESET_TOKEN_OTP_ID")?;
    let registration_template_id = template("BREVO_REGISTER_OTP_ID")?;
    let api_url = match env.get("BREVO_API_URL") {
        Some(raw) => http_url("BREVO_API_URL", &raw)?,
        None => "https://api.brevo.com".to_owned(),
    };
    let timeout_ms: u64 = parse_int(env, "BREVO_TIMEOUT_MS", 10_000, 100, 60_000)?;
    Ok(BrevoSettings {
        api_url,
        api_key,
        sender_email: sender_email.trim().to_owned(),
        sender_name: env
            .get("BREVO_SENDER_NAME")
            .unwrap_or_else(|| "Mami".into()),
        reset_template_id,
        registration_template_id,
        timeout: Duration::from_millis(timeout_ms),
    })
}

/// `(PAYMENT_TOKEN_FALLBACK, PAYMENT_TEST_CARDS)`. Test cards are on by default outside
/// production (where the provider is the simulator unless configured otherwise); in
/// production only a test-mode key (`sk_test_…`) may have them, since a live provider would
/// charge nobody's card for every new customer's orders.
fn payment_cards(env: &dyn Env, prod: bool, secret: &str) -> Result<(bool, bool), ConfigError> {
    let fallback = parse_bool(env, "PAYMENT_TOKEN_FALLBACK", true)?;
    let test_cards = parse_bool(env, "PAYMENT_TEST_CARDS", !prod)?;
    if prod && test_cards && !secret.starts_with("sk_test_") {
        return Err(err(
            "PAYMENT_TEST_CARDS",
            "needs a test-mode PAYMENT_PROVIDER_SECRET_KEY (sk_test_…) in production",
        ));
    }
    Ok((fallback, test_cards))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [(&str, &str); 2] = [
        ("APP_ENV", "development"),
        ("DATABASE_URL", "postgres://u@h/db"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(String, String)> {
        BASE.iter()
            .chain(extra.iter())
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn var_of(env: &[(&'static str, &'static str)]) -> Option<&'static str> {
        Config::from_env(&with(env)).err().map(|e| e.var)
    }

    #[test]
    fn development_defaults_are_usable() -> Result<(), ConfigError> {
        let c = Config::from_env(&BASE)?;
        assert_eq!(c.delivery_source_branch_id, 1);
        assert_eq!(c.rate_limit_defaults.len(), 2);
        assert_eq!(c.delivery_min_total, "150.00");
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:8080");
        Ok(())
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        assert_eq!(
            var_of(&[("JWT_ACCESS_TOKEN_EXPIRES_MINUTES", "soon")]),
            Some("JWT_ACCESS_TOKEN_EXPIRES_MINUTES")
        );
        assert_eq!(
            var_of(&[("DELIVERY_SOURCE_BRANCH_ID", "warehouse-id")]),
            Some("DELIVERY_SOURCE_BRANCH_ID")
        );
        assert_eq!(
            var_of(&[("DELIVERY_MIN_TOTAL", "-1")]),
            Some("DELIVERY_MIN_TOTAL")
        );
        assert_eq!(
            var_of(&[("DELIVERY_FEE_UNDER_MIN", "3.333")]),
            Some("DELIVERY_FEE_UNDER_MIN")
        );
        assert_eq!(var_of(&[("MAX_LIMIT", "0")]), Some("MAX_LIMIT"));
        assert_eq!(
            var_of(&[("PASSWORD_HASH_CONCURRENCY", "0")]),
            Some("PASSWORD_HASH_CONCURRENCY")
        );
        assert_eq!(
            var_of(&[("PASSWORD_HASH_QUEUE_TIMEOUT_MS", "soon")]),
            Some("PASSWORD_HASH_QUEUE_TIMEOUT_MS")
        );
        assert_eq!(var_of(&[("DEFAULT_LIMIT", "500")]), Some("DEFAULT_LIMIT"));
        assert_eq!(
            var_of(&[("RATE_LIMIT_DEFAULTS", "lots")]),
            Some("RATE_LIMIT_DEFAULTS")
        );
        assert_eq!(var_of(&[("BIND_ADDR", "localhost")]), Some("BIND_ADDR"));
        assert_eq!(
            var_of(&[("DATABASE_POOL_SIZE", "0")]),
            Some("DATABASE_POOL_SIZE")
        );
        assert_eq!(var_of(&[("LOG_FORMAT", "xml")]), Some("LOG_FORMAT"));
        assert_eq!(
            var_of(&[("TRUSTED_PROXIES", "proxy.local")]),
            Some("TRUSTED_PROXIES")
        );
        assert_eq!(
            var_of(&[("CORS_ALLOWED_ORIGINS", "localhost:5173")]),
            Some("CORS_ALLOWED_ORIGINS")
        );
        let missing_db = Config::from_env(&[("APP_ENV", "development")])
            .err()
            .map(|e| e.var);
        assert_eq!(missing_db, Some("DATABASE_URL"));
        let bad_env = Config::from_env(&[("APP_ENV", "staging"), ("DATABASE_URL", "postgres://x")])
            .err()
            .map(|e| e.var);
        assert_eq!(bad_env, Some("APP_ENV"));
    }

    #[test]
    fn card_fallback_and_test_cards() -> Result<(), ConfigError> {
        let c = Config::from_env(&BASE)?;
        assert!(
            c.payment_token_fallback && c.payment_test_cards,
            "development"
        );
        let c = Config::from_env(&with(&[
            ("PAYMENT_TOKEN_FALLBACK", "false"),
            ("PAYMENT_TEST_CARDS", "no"),
        ]))?;
        assert!(!c.payment_token_fallback && !c.payment_test_cards);
        assert_eq!(
            var_of(&[("PAYMENT_TOKEN_FALLBACK", "maybe")]),
            Some("PAYMENT_TOKEN_FALLBACK")
        );
        let prod = |key: &'static str, cards: Option<&'static str>| {
            let mut extra = vec![("PAYMENT_PROVIDER_SECRET_KEY", key)];
            extra.extend(PRODUCTION_MAIL);
            extra.extend(cards.map(|c| ("PAYMENT_TEST_CARDS", c)));
            let mut env = production_with(&extra);
            // The last value of a variable wins: drop the default key `production_with` set.
            env.retain(|(k, v)| k != "PAYMENT_PROVIDER_SECRET_KEY" || v == key);
            Config::from_env(&env).map(|c| (c.payment_token_fallback, c.payment_test_cards))
        };
        assert_eq!(
            prod("sk_live_x", None),
            Ok((true, false)),
            "off in production"
        );
        assert_eq!(
            prod("sk_live_x", Some("true")).map_err(|e| e.var),
            Err("PAYMENT_TEST_CARDS"),
            "never with a live key"
        );
        assert_eq!(prod("sk_test_x", Some("true")), Ok((true, true)));
        Ok(())
    }

    #[test]
    fn reconcile_min_age_below_the_provider_timeout_is_refused() {
        let e = Config::from_env(&with(&[
            ("PAYMENT_PROVIDER_TIMEOUT_MS", "10000"),
            ("RECONCILE_MIN_AGE_SECONDS", "5"),
        ]))
        .err();
        let Some(e) = e else {
            panic!("a 5 s minimum age with a 10 s provider timeout was accepted");
        };
        assert_eq!(e.var, "RECONCILE_MIN_AGE_SECONDS");
        let line = e.to_string();
        assert!(line.contains("PAYMENT_PROVIDER_TIMEOUT_MS"), "{line}");
        assert_eq!(line.lines().count(), 1, "{line}");
        // The default timeout (10 s) refuses 9 s and 0 s, accepts 10 s.
        assert_eq!(
            var_of(&[("RECONCILE_MIN_AGE_SECONDS", "9")]),
            Some("RECONCILE_MIN_AGE_SECONDS")
        );
        assert_eq!(
            var_of(&[("RECONCILE_MIN_AGE_SECONDS", "0")]),
            Some("RECONCILE_MIN_AGE_SECONDS")
        );
        assert_eq!(var_of(&[("RECONCILE_MIN_AGE_SECONDS", "10")]), None);
        // A sub-second excess still counts.
        assert_eq!(
            var_of(&[
                ("PAYMENT_PROVIDER_TIMEOUT_MS", "2001"),
                ("RECONCILE_MIN_AGE_SECONDS", "2")
            ]),
            Some("RECONCILE_MIN_AGE_SECONDS")
        );
        assert_eq!(
            var_of(&[
                ("PAYMENT_PROVIDER_TIMEOUT_MS", "2000"),
                ("RECONCILE_MIN_AGE_SECONDS", "2")
            ]),
            None
        );
    }

    #[test]
    fn production_refuses_weak_secret_and_wildcard_cors() {
        let prod = |secret: &'static str, cors: &'static str| {
            let env = [
                ("APP_ENV", "production"),
                ("DATABASE_URL", "postgres://u@h/db"),
                ("JWT_SECRET_KEY", secret),
                ("DELIVERY_SOURCE_BRANCH_ID", "1"),
                ("CORS_ALLOWED_ORIGINS", cors),
                ("PAYMENT_PROVIDER_URL", "https://api.stripe.com"),
                ("PAYMENT_PROVIDER_SECRET_KEY", "sk_live_x"),
                ("FRONTEND_BASE_URL", "https://shop.example"),
                ("BREVO_API_KEY", "xkeysib-x"),
                ("BREVO_SENDER_EMAIL", "shop@shop.example"),
                ("BREVO_RESET_TOKEN_OTP_ID", "11"),
                ("BREVO_REGISTER_OTP_ID", "12"),
            ];
            Config::from_env(&env).err().map(|e| e.var)
        };
        let strong = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            prod("short", "https://shop.example"),
            Some("JWT_SECRET_KEY")
        );
        assert_eq!(prod(strong, "*"), Some("CORS_ALLOWED_ORIGINS"));
        assert_eq!(prod(strong, "https://shop.example"), None);
        let no_branch = [
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://u@h/db"),
            ("JWT_SECRET_KEY", strong),
            ("CORS_ALLOWED_ORIGINS", "https://shop.example"),
            ("PAYMENT_PROVIDER_URL", "https://api.stripe.com"),
            ("PAYMENT_PROVIDER_SECRET_KEY", "sk_live_x"),
        ];
        assert_eq!(
            Config::from_env(&no_branch).err().map(|e| e.var),
            Some("DELIVERY_SOURCE_BRANCH_ID")
        );
    }

    /// A complete production mail configuration.
    const PRODUCTION_MAIL: [(&str, &str); 5] = [
        ("FRONTEND_BASE_URL", "https://shop.example"),
        ("BREVO_API_KEY", "xkeysib-x"),
        ("BREVO_SENDER_EMAIL", "shop@shop.example"),
        ("BREVO_RESET_TOKEN_OTP_ID", "11"),
        ("BREVO_REGISTER_OTP_ID", "12"),
    ];

    /// A production environment complete but for the mail variables, plus `mail`.
    fn production_with(mail: &[(&'static str, &'static str)]) -> Vec<(String, String)> {
        [
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://u@h/db"),
            ("JWT_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("DELIVERY_SOURCE_BRANCH_ID", "1"),
            ("CORS_ALLOWED_ORIGINS", "https://shop.example"),
            ("PAYMENT_PROVIDER_URL", "https://api.stripe.com"),
            ("PAYMENT_PROVIDER_SECRET_KEY", "sk_live_x"),
        ]
        .iter()
        .chain(mail)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    #[test]
    fn production_refuses_to_start_without_a_complete_mail_provider() {
        let complete = PRODUCTION_MAIL;
        // Each variable, missing alone, is named in a one-line error.
        for (i, (var, _)) in complete.iter().enumerate() {
            let missing = complete
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, kv)| *kv)
                .collect::<Vec<_>>();
            let e = Config::from_env(&production_with(&missing)).err();
            assert_eq!(e.as_ref().map(|e| e.var), Some(*var), "{e:?}");
            assert!(e.is_some_and(|e| e.to_string().lines().count() == 1));
        }
        let Ok(c) = Config::from_env(&production_with(&complete)) else {
            panic!("a complete production environment was refused");
        };
        assert!(matches!(&c.mail, MailConfig::Brevo(b)
            if b.api_url == "https://api.brevo.com" && b.reset_template_id == 11));
        assert!(!c.registration_codes);
        let mut files = complete.to_vec();
        files.push(("MAIL_PROVIDER", "files"));
        assert_eq!(
            Config::from_env(&production_with(&files))
                .err()
                .map(|e| e.var),
            Some("MAIL_PROVIDER")
        );
        let mut bad_id = complete.to_vec();
        bad_id.push(("BREVO_REGISTER_OTP_ID", "otp"));
        bad_id.swap_remove(4);
        assert_eq!(
            Config::from_env(&production_with(&bad_id))
                .err()
                .map(|e| e.var),
            Some("BREVO_REGISTER_OTP_ID")
        );
        let mut otp = complete.to_vec();
        otp.push(("ENABLE_REGISTRATION_OTP", "yes"));
        assert!(Config::from_env(&production_with(&otp)).is_ok_and(|c| c.registration_codes));
    }

    #[test]
    fn development_mails_to_files_unless_told_otherwise() -> Result<(), ConfigError> {
        let c = Config::from_env(&BASE)?;
        assert_eq!(
            c.mail,
            MailConfig::Files {
                dir: ".local/mail".into()
            }
        );
        assert!(c.registration_codes);
        assert_eq!(c.frontend_base_url, "http://localhost:5173");
        assert_eq!(var_of(&[("MAIL_PROVIDER", "brevo")]), Some("BREVO_API_KEY"));
        assert_eq!(
            var_of(&[("FRONTEND_BASE_URL", "shop.example")]),
            Some("FRONTEND_BASE_URL")
        );
        Ok(())
    }

    #[test]
    fn metrics_are_off_unless_given_a_port_of_their_own() -> Result<(), ConfigError> {
        assert_eq!(Config::from_env(&BASE)?.metrics_addr, None);
        let c = Config::from_env(&with(&[("METRICS_ADDR", "127.0.0.1:9464")]))?;
        assert_eq!(
            c.metrics_addr.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:9464")
        );
        for refused in [
            "9464",
            "localhost:9464",
            "127.0.0.1:8080",
            "0.0.0.0:8080",
            "127.0.0.1:0",
        ] {
            let env = with(&[("METRICS_ADDR", refused)]);
            let e = Config::from_env(&env).err();
            assert_eq!(e.map(|e| e.var), Some("METRICS_ADDR"), "{refused}");
        }
        // The same port on another interface than the API's is another socket.
        let c = Config::from_env(&with(&[
            ("BIND_ADDR", "127.0.0.1:8080"),
            ("METRICS_ADDR", "127.0.0.2:8080"),
        ]))?;
        assert!(c.metrics_addr.is_some());
        assert_eq!(
            var_of(&[
                ("BIND_ADDR", "0.0.0.0:8080"),
                ("METRICS_ADDR", "127.0.0.1:8080")
            ]),
            Some("METRICS_ADDR")
        );
        Ok(())
    }

    #[test]
    fn rate_limit_syntax() -> Result<(), String> {
        let l = parse_rate_limits("200 per day, 50 per hour")?;
        assert_eq!(
            l[0],
            RateLimit {
                count: 200,
                period: Duration::from_secs(86_400)
            }
        );
        assert_eq!(
            l[1],
            RateLimit {
                count: 50,
                period: Duration::from_secs(3_600)
            }
        );
        assert_eq!(
            parse_rate_limits("5/minute")?[0].period,
            Duration::from_secs(60)
        );
        assert_eq!(
            parse_rate_limits("10 per 2 hours")?[0].period,
            Duration::from_secs(7_200)
        );
        assert!(parse_rate_limits("").is_err());
        assert!(parse_rate_limits("0 per day").is_err());
        assert!(parse_rate_limits("5 per fortnight").is_err());
        Ok(())
    }
}
