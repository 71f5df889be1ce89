//! `/me/payment-tokens`: the caller's saved cards (the profile and the address book have
//! their own modules).

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{Datelike, Utc};
use mami_domain::payment_tokens::{NewCard, PaymentToken};
use mami_domain::payments::{CardInput, CardToken};
use mami_domain::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::rfc3339;
use crate::auth::Authenticated;
use crate::http::{ApiError, ValidJson, created, ok};
use crate::openapi::{Data, ErrorEnvelope};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(add_payment_token)
        .service(list_payment_tokens)
        .service(delete_payment_token);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentTokenDto {
    /// Also `payment_token_id`, as the Flask backend answered.
    pub id: i64,
    pub payment_token_id: i64,
    pub provider: String,
    pub brand: Option<String>,
    pub last4: Option<String>,
    pub exp_month: Option<i32>,
    pub exp_year: Option<i32>,
    pub is_default: bool,
    pub created_at: String,
}

impl From<PaymentToken> for PaymentTokenDto {
    fn from(t: PaymentToken) -> Self {
        Self {
            id: t.id,
            payment_token_id: t.id,
            provider: t.provider,
            brand: t.brand,
            last4: t.last4,
            exp_month: t.exp_month,
            exp_year: t.exp_year,
            is_default: t.is_default,
            created_at: rfc3339(t.created_at),
        }
    }
}

/// Either `card_number` (forwarded once to the provider, never stored or logged) or
/// `provider_token` (a token obtained from the provider directly, with `last4`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentTokenBody {
    pub card_number: Option<String>,
    pub provider_token: Option<String>,
    pub exp_month: Option<i64>,
    pub exp_year: Option<i64>,
    pub cvc: Option<String>,
    pub brand: Option<String>,
    pub last4: Option<String>,
    #[serde(default)]
    pub is_default: bool,
    /// Accepted and ignored (the card form sends it).
    pub cardholder_name: Option<String>,
}

impl std::fmt::Debug for PaymentTokenBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaymentTokenBody(***)")
    }
}

fn parse_card(b: &PaymentTokenBody) -> Result<NewCard, ApiError> {
    let now = Utc::now();
    match (&b.card_number, &b.provider_token) {
        (Some(_), Some(_)) => Err(ApiError::validation(vec![FieldError::new(
            &["card_number"],
            "value_error",
            "Give card_number or provider_token, not both",
        )])),
        (None, None) => Err(ApiError::validation(vec![FieldError::new(
            &["card_number"],
            "missing",
            "card_number or provider_token is required",
        )])),
        (Some(number), None) => {
            let card = CardInput::parse(
                number,
                b.exp_month.unwrap_or(0),
                b.exp_year.unwrap_or(0),
                b.cvc.as_deref(),
                (now.year(), now.month()),
            )?;
            Ok(NewCard::Card(card))
        }
        (None, Some(token)) => {
            let mut e = ValidationErrors::default();
            let token = token.trim();
            if token.is_empty()
                || token.len() > 128
                || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                e.push(FieldError::new(
                    &["provider_token"],
                    "value_error",
                    "Not a provider token",
                ));
            }
            let last4 = b.last4.clone().unwrap_or_default();
            if last4.len() != 4 || !last4.chars().all(|c| c.is_ascii_digit()) {
                e.push(FieldError::new(
                    &["last4"],
                    "value_error",
                    "last4 should be four digits",
                ));
            }
            let month = b
                .exp_month
                .and_then(|m| i32::try_from(m).ok())
                .filter(|m| (1..=12).contains(m));
            let year = b
                .exp_year
                .and_then(|y| i32::try_from(y).ok())
                .filter(|y| (2000..=2200).contains(y));
            if month.is_none() {
                e.push(FieldError::new(
                    &["exp_month"],
                    "range",
                    "exp_month should be 1..12",
                ));
            }
            if year.is_none() {
                e.push(FieldError::new(
                    &["exp_year"],
                    "range",
                    "exp_year should be a four-digit year",
                ));
            }
            e.into_result()?;
            Ok(NewCard::ProviderToken(CardToken {
                provider_token: token.to_owned(),
                brand: b.brand.clone().map(|s| s.chars().take(32).collect()),
                last4,
                exp_month: month.unwrap_or(1),
                exp_year: year.unwrap_or(2000),
            }))
        }
    }
}

/// Saves a card for the caller (tokenized at the provider).
#[utoipa::path(tag = "me", security(("bearer" = [])), request_body = PaymentTokenBody,
    responses((status = 201, body = inline(Data<PaymentTokenDto>)), (status = 400,
    body = ErrorEnvelope), (status = 402, body = ErrorEnvelope, description = "PAYMENT_DECLINED"),
    (status = 503, body = ErrorEnvelope, description = "PAYMENT_UNAVAILABLE")))]
#[post("/payment-tokens")]
pub async fn add_payment_token(
    state: web::Data<AppState>,
    auth: Authenticated,
    req: HttpRequest,
    body: ValidJson<PaymentTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let card = parse_card(&body.0)?;
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 100)
        .map_or_else(
            || format!("tok-{}", uuid::Uuid::new_v4().simple()),
            |k| format!("tok-{}-{k}", auth.principal.user_id),
        );
    let token = state
        .payment_tokens
        .add(
            auth.principal.user_id,
            card,
            body.0.is_default,
            key,
            &auth.context(),
        )
        .await?;
    Ok(created(PaymentTokenDto::from(token)))
}

/// The caller's saved cards, default first.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<Vec<PaymentTokenDto>>))))]
#[get("/payment-tokens")]
pub async fn list_payment_tokens(
    state: web::Data<AppState>,
    auth: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let tokens = state.payment_tokens.list(auth.principal.user_id).await?;
    Ok(ok(tokens
        .into_iter()
        .map(PaymentTokenDto::from)
        .collect::<Vec<_>>()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedDto {
    pub deleted: bool,
}

/// Removes a saved card; someone else's is 404 `PAYMENT_TOKEN_NOT_FOUND`.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses((status = 200,
    body = inline(Data<DeletedDto>)), (status = 404, body = ErrorEnvelope)))]
#[delete("/payment-tokens/{id}")]
pub async fn delete_payment_token(
    state: web::Data<AppState>,
    auth: Authenticated,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    state
        .payment_tokens
        .remove(auth.principal.user_id, path.into_inner(), &auth.context())
        .await?;
    Ok(ok(DeletedDto { deleted: true }))
}
