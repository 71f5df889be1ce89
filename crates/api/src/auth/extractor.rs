//! The authenticated principal (loaded from the database on every request) and role guards.
//!
//! Token problems are 401 (`AUTH_REQUIRED`, `TOKEN_INVALID`, `TOKEN_EXPIRED`,
//! `TOKEN_REVOKED`); a missing or inactive user is 401 `AUTH_REQUIRED`; a role that may not
//! use a route is 403 `AUTHORIZATION_ERROR`. The `role` claim is never trusted.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use futures_util::future::LocalBoxFuture;
use mami_domain::RequestContext;
use mami_domain::identity::{Principal, Role, TokenFacts, TokenKind};

use super::jwt::TokenError;
use crate::http::ApiError;
use crate::http::middleware::RequestId;
use crate::state::AppState;

/// The caller of a protected route and the token it presented.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub token: TokenFacts,
    pub request_id: Option<String>,
}

impl Authenticated {
    /// The request context for use cases: request id and the caller as actor.
    pub fn context(&self) -> RequestContext {
        RequestContext::anonymous(self.request_id.clone()).with_actor(self.principal.user_id)
    }
}

/// The bearer token of the request, or the 401 that its absence deserves.
pub fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::auth_required("Missing Authorization Header"))?;
    let value = header.to_str().map_err(|_| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "TOKEN_INVALID",
            "Malformed Authorization header",
        )
    })?;
    let mut parts = value.splitn(2, ' ');
    match (parts.next(), parts.next()) {
        (Some(scheme), Some(token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "TOKEN_INVALID",
            "Missing 'Bearer' type in 'Authorization' header. \
             Expected 'Authorization: Bearer <JWT>'",
        )),
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Invalid => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "TOKEN_INVALID",
                "Token is invalid",
            ),
            TokenError::Expired => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "TOKEN_EXPIRED",
                "Token has expired",
            ),
        }
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(&"application state missing"))
}

/// Verifies the request's token of `kind` and loads its user; caches the result on the request.
pub async fn authenticate(req: &HttpRequest, kind: TokenKind) -> Result<Authenticated, ApiError> {
    if kind == TokenKind::Access
        && let Some(done) = req.extensions().get::<Authenticated>()
    {
        return Ok(done.clone());
    }
    let state = state(req)?;
    let facts = state.tokens.verify(bearer_token(req)?)?;
    let user = state.identity.authenticate(&facts, kind).await?;
    let auth = Authenticated {
        principal: Principal::from(&user),
        token: facts,
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
    };
    if kind == TokenKind::Access {
        req.extensions_mut().insert(auth.clone());
    }
    Ok(auth)
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req, TokenKind::Access).await })
    }
}

/// The request id of a request, for anonymous use cases.
pub fn request_context(req: &HttpRequest) -> RequestContext {
    RequestContext::anonymous(req.extensions().get::<RequestId>().map(|r| r.0.clone()))
}

/// What a guard middleware returns.
pub type GuardFuture<B> = LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, Error>>;

/// A middleware for a route scope: only an active user with one of `roles` gets through.
pub fn require_roles<B: MessageBody + 'static>(
    roles: &'static [Role],
) -> impl Fn(ServiceRequest, Next<B>) -> GuardFuture<B> + Clone {
    move |req: ServiceRequest, next: Next<B>| {
        Box::pin(async move {
            let outcome = match authenticate(req.request(), TokenKind::Access).await {
                Ok(auth) if roles.contains(&auth.principal.role) => Ok(()),
                Ok(_) => Err(ApiError::forbidden()),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => next
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_left_body),
                Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
            }
        })
    }
}
