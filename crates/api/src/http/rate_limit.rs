//! Rate limits with actix-governor, keyed by client address (see [`TrustedProxies`]).
//!
//! The default limits (`RATE_LIMIT_DEFAULTS`) count each route separately; login and the OTP
//! routes have their own limits instead of the default. Health checks and CORS preflight are
//! never counted. Counters live in process memory: with several processes, each counts alone.

use std::net::IpAddr;
use std::time::Duration;

use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{GovernorConfig, GovernorConfigBuilder, KeyExtractor};
use actix_web::dev::ServiceRequest;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};

use super::ApiError;
use super::middleware::TrustedProxies;
use crate::config::RateLimit;

/// Which requests one limiter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// Counts nothing (an unused slot).
    Disabled,
    /// Every route without a limit of its own, each route counted separately.
    Default,
    /// Exactly this method and path.
    Route(&'static str),
}

/// Routes with their own limit, replacing the default.
pub const ROUTE_LIMITS: [(&str, u32, u64); 3] = [
    ("/api/v1/auth/login", 5, 60),
    ("/api/v1/auth/register/send-otp", 3, 60),
    ("/api/v1/auth/register/verify-otp", 10, 60),
];

/// The key of a counted request: client address, method and path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    Exempt,
    Client(Option<IpAddr>, Method, String),
}

#[derive(Debug, Clone)]
pub struct RateKeyExtractor {
    scope: LimitScope,
    proxies: TrustedProxies,
}

fn exempt(req: &ServiceRequest) -> bool {
    req.method() == Method::OPTIONS || req.path().starts_with("/api/v1/health")
}

impl KeyExtractor for RateKeyExtractor {
    type Key = RateKey;
    type KeyExtractionError = ApiError;

    fn extract(&self, req: &ServiceRequest) -> Result<RateKey, ApiError> {
        if exempt(req) {
            return Ok(RateKey::Exempt);
        }
        let path = req.path();
        let counted = match self.scope {
            LimitScope::Disabled => false,
            LimitScope::Route(route) => req.method() == Method::POST && path == route,
            LimitScope::Default => {
                !(req.method() == Method::POST && ROUTE_LIMITS.iter().any(|(r, _, _)| *r == path))
            }
        };
        if !counted {
            return Ok(RateKey::Exempt);
        }
        Ok(RateKey::Client(
            self.proxies.client_ip(req),
            req.method().clone(),
            path.to_owned(),
        ))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        _: HttpResponseBuilder,
    ) -> HttpResponse {
        let wait = negative.wait_time_from(DefaultClock::default().now());
        let mut err = ApiError::http(StatusCode::TOO_MANY_REQUESTS);
        err.retry_after = Some(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        err.error_response()
    }

    fn whitelisted_keys(&self) -> Vec<RateKey> {
        vec![RateKey::Exempt]
    }
}

pub type Limiter = GovernorConfig<RateKeyExtractor, NoOpMiddleware<QuantaInstant>>;

fn limiter(scope: LimitScope, proxies: &TrustedProxies, limit: RateLimit) -> Option<Limiter> {
    let count = limit.count.max(1);
    let per_request = limit.period / count;
    GovernorConfigBuilder::default()
        .period(per_request.max(Duration::from_nanos(1)))
        .burst_size(count)
        .key_extractor(RateKeyExtractor {
            scope,
            proxies: proxies.clone(),
        })
        .finish()
}

/// How many default limits `RATE_LIMIT_DEFAULTS` may list (each is one middleware).
pub const MAX_DEFAULT_LIMITS: usize = 3;

/// Every limiter of the app: the default slots and one per limited route.
#[derive(Clone)]
pub struct Limiters {
    pub defaults: [Limiter; MAX_DEFAULT_LIMITS],
    pub routes: [Limiter; 3],
    /// Which of `defaults` count anything; the app leaves the others out of the middleware
    /// stack (as it leaves `routes` when limits are off): each layer costs every request a key
    /// and a list of whitelisted keys even when it counts nothing.
    pub defaults_used: [bool; MAX_DEFAULT_LIMITS],
    /// Whether `routes` count anything (limits are on).
    pub routes_used: bool,
}

impl Limiters {
    /// Builds the limiters; `enabled = false` (tests, development) counts nothing.
    pub fn new(
        defaults: &[RateLimit],
        proxies: &TrustedProxies,
        enabled: bool,
    ) -> Result<Self, String> {
        if defaults.len() > MAX_DEFAULT_LIMITS {
            return Err(format!(
                "at most {MAX_DEFAULT_LIMITS} default limits are supported"
            ));
        }
        let unused = RateLimit {
            count: 1,
            period: Duration::from_secs(1),
        };
        let make = |scope: LimitScope, limit: RateLimit| {
            let scope = if enabled { scope } else { LimitScope::Disabled };
            limiter(scope, proxies, limit).ok_or_else(|| "invalid rate limit".to_owned())
        };
        let slot = |i: usize| match defaults.get(i) {
            Some(l) => make(LimitScope::Default, *l),
            None => make(LimitScope::Disabled, unused),
        };
        let route = |i: usize| {
            let (path, count, secs) = ROUTE_LIMITS[i];
            make(
                LimitScope::Route(path),
                RateLimit {
                    count,
                    period: Duration::from_secs(secs),
                },
            )
        };
        Ok(Self {
            defaults: [slot(0)?, slot(1)?, slot(2)?],
            routes: [route(0)?, route(1)?, route(2)?],
            defaults_used: std::array::from_fn(|i| enabled && i < defaults.len()),
            routes_used: enabled,
        })
    }
}
