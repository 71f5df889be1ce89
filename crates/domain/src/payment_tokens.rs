//! Saved cards: the provider's token with brand, last four digits and expiry — never the card
//! number. With a test provider (the simulator, or a provider in test mode), a customer can be
//! given the provider's test card, so that a client that cannot save cards (the React client)
//! can still pay.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use serde_json::json;
use tracing::instrument;

use crate::DomainError;
use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::identity::UserId;
use crate::payments::{CardInput, CardToken, PaymentProvider, ProviderError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentToken {
    pub id: i64,
    pub user_id: UserId,
    pub provider: String,
    pub provider_token: String,
    pub brand: Option<String>,
    pub last4: Option<String>,
    pub exp_month: Option<i32>,
    pub exp_year: Option<i32>,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentTokenStore: Send + Sync {
    /// Active tokens, default first, then newest.
    async fn list(&self, user: UserId) -> Result<Vec<PaymentToken>, DomainError>;
    /// Saves a token; `make_default` (or being the first) makes it the default, clearing the
    /// others in the same transaction, with the audit entry.
    async fn create(
        &self,
        user: UserId,
        provider: String,
        card: CardToken,
        make_default: bool,
        audit: AuditEntry,
    ) -> Result<PaymentToken, DomainError>;
    /// Deactivates the caller's token. Errors: `NotFound(PAYMENT_TOKEN_NOT_FOUND)` for a token
    /// of someone else or an inactive one.
    async fn deactivate(&self, user: UserId, id: i64, audit: AuditEntry)
    -> Result<(), DomainError>;
}

/// How a provider failure reaches the client.
pub fn provider_error(e: ProviderError) -> DomainError {
    match e {
        ProviderError::Declined { code, message } => DomainError::PaymentDeclined {
            message: if message.is_empty() {
                "The card was declined".into()
            } else {
                message
            },
            decline_code: code,
        },
        ProviderError::InvalidRequest(m) => DomainError::BadRequest {
            code: "PAYMENT_INVALID",
            message: m,
        },
        ProviderError::Unauthorized => DomainError::Internal(crate::InfraError::new(
            "payment provider refused our credentials",
        )),
        ProviderError::RateLimited
        | ProviderError::Unavailable(_)
        | ProviderError::UnknownOutcome(_) => DomainError::Unavailable {
            code: "PAYMENT_UNAVAILABLE",
            message: "The payment provider is unavailable; please try again".into(),
        },
    }
}

/// The test card a test provider authorizes (Visa), given to customers when test cards are on.
pub const TEST_CARD_NUMBER: &str = "4242424242424242";
/// Its expiry: far enough ahead, and fixed, so that repeating its tokenization with the same
/// provider idempotency key sends the same parameters.
const TEST_CARD_EXPIRY: (i64, i64) = (12, 2049);

/// What a new saved card comes from.
#[derive(Debug, Clone)]
pub enum NewCard {
    /// Typed card details: forwarded once to the provider for tokenization.
    Card(CardInput),
    /// A token the client already obtained from the provider.
    ProviderToken(CardToken),
}

pub struct PaymentTokenService {
    store: Arc<dyn PaymentTokenStore>,
    provider: Arc<dyn PaymentProvider>,
    provider_name: String,
}

impl PaymentTokenService {
    pub fn new(
        store: Arc<dyn PaymentTokenStore>,
        provider: Arc<dyn PaymentProvider>,
        provider_name: impl Into<String>,
    ) -> Self {
        Self {
            store,
            provider,
            provider_name: provider_name.into(),
        }
    }

    pub async fn list(&self, user: UserId) -> Result<Vec<PaymentToken>, DomainError> {
        self.store.list(user).await
    }

    /// Saves a card. Tokenization happens before any transaction; the card number goes no
    /// further than the provider call.
    #[instrument(skip_all)]
    pub async fn add(
        &self,
        user: UserId,
        card: NewCard,
        make_default: bool,
        idempotency_key: String,
        ctx: &RequestContext,
    ) -> Result<PaymentToken, DomainError> {
        self.save(user, card, make_default, idempotency_key, None, ctx)
            .await
    }

    /// Gives `user` the provider's test card ([`TEST_CARD_NUMBER`], tokenized at the provider)
    /// as their default, unless they already have an active card (then `None`). Only for a
    /// test provider: the caller decides (configuration). Audited as `payment_token/CREATE`
    /// with `context.reason` `TEST_CARD`.
    #[instrument(skip_all)]
    pub async fn provision_test_card(
        &self,
        user: UserId,
        ctx: &RequestContext,
    ) -> Result<Option<PaymentToken>, DomainError> {
        if !self.store.list(user).await?.is_empty() {
            return Ok(None);
        }
        let now = Utc::now();
        let (month, year) = TEST_CARD_EXPIRY;
        let card = CardInput::parse(
            TEST_CARD_NUMBER,
            month,
            year,
            None,
            (now.year(), now.month()),
        )?;
        let key = format!("mami-test-card-{}", user.0);
        let reason = json!({"reason": "TEST_CARD"});
        let card = NewCard::Card(card);
        self.save(user, card, true, key, Some(reason), ctx)
            .await
            .map(Some)
    }

    async fn save(
        &self,
        user: UserId,
        card: NewCard,
        make_default: bool,
        idempotency_key: String,
        context: Option<serde_json::Value>,
        ctx: &RequestContext,
    ) -> Result<PaymentToken, DomainError> {
        let token = match card {
            NewCard::Card(input) => self
                .provider
                .tokenize(input, idempotency_key)
                .await
                .map_err(provider_error)?,
            NewCard::ProviderToken(t) => t,
        };
        let card = json!({
            "brand": token.brand,
            "last4": token.last4,
            "exp_month": token.exp_month,
            "exp_year": token.exp_year,
            "is_default": make_default,
        });
        let mut audit =
            AuditEntry::new(ctx, "payment_token", AuditTarget::Created, "CREATE").new_value(card);
        if let Some(context) = context {
            audit = audit.context(context);
        }
        self.store
            .create(user, self.provider_name.clone(), token, make_default, audit)
            .await
    }

    #[instrument(skip_all)]
    pub async fn remove(
        &self,
        user: UserId,
        id: i64,
        ctx: &RequestContext,
    ) -> Result<(), DomainError> {
        self.store
            .deactivate(
                user,
                id,
                AuditEntry::new(ctx, "payment_token", AuditTarget::Id(id), "DELETE"),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::MockPaymentProvider;

    #[tokio::test]
    async fn a_test_card_is_tokenized_only_for_a_customer_without_cards() {
        let mut provider = MockPaymentProvider::new();
        provider
            .expect_tokenize()
            .withf(|c, key| c.last4() == "4242" && key == "mami-test-card-7")
            .times(1)
            .returning(|c, _| {
                Ok(CardToken {
                    provider_token: "pm_test".into(),
                    brand: Some("visa".into()),
                    last4: c.last4().to_owned(),
                    exp_month: 12,
                    exp_year: 2049,
                })
            });
        let mut store = MockPaymentTokenStore::new();
        store.expect_list().returning(|u| {
            Ok(if u == UserId(7) {
                Vec::new()
            } else {
                vec![token(u)]
            })
        });
        store
            .expect_create()
            .withf(|_, _, _, default, audit| {
                *default && audit.context == Some(json!({"reason": "TEST_CARD"}))
            })
            .times(1)
            .returning(|u, _, _, _, _| Ok(token(u)));
        let svc = PaymentTokenService::new(Arc::new(store), Arc::new(provider), "paysim");
        let ctx = RequestContext::default();
        let given = svc.provision_test_card(UserId(7), &ctx).await;
        assert!(matches!(given, Ok(Some(_))), "{given:?}");
        let kept = svc.provision_test_card(UserId(8), &ctx).await;
        assert!(matches!(kept, Ok(None)), "a customer with a card keeps it");
    }

    fn token(user: UserId) -> PaymentToken {
        PaymentToken {
            id: 1,
            user_id: user,
            provider: "paysim".into(),
            provider_token: "pm_test".into(),
            brand: None,
            last4: Some("4242".into()),
            exp_month: Some(12),
            exp_year: Some(2049),
            is_default: true,
            created_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn a_declined_card_is_not_saved() {
        let mut provider = MockPaymentProvider::new();
        provider.expect_tokenize().returning(|_, _| {
            Err(ProviderError::Declined {
                code: "incorrect_number".into(),
                message: String::new(),
            })
        });
        let svc = PaymentTokenService::new(
            Arc::new(MockPaymentTokenStore::new()),
            Arc::new(provider),
            "paysim",
        );
        let card = CardInput::parse("4242424242424242", 12, 2030, None, (2026, 1))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let r = svc
            .add(
                UserId(1),
                NewCard::Card(card),
                false,
                "k".into(),
                &RequestContext::default(),
            )
            .await;
        assert!(matches!(r, Err(DomainError::PaymentDeclined { .. })));
    }

    #[tokio::test]
    async fn the_saved_token_never_carries_the_number() {
        let mut provider = MockPaymentProvider::new();
        provider.expect_tokenize().returning(|c, _| {
            Ok(CardToken {
                provider_token: "pm_1".into(),
                brand: Some("visa".into()),
                last4: c.last4().to_owned(),
                exp_month: 12,
                exp_year: 2030,
            })
        });
        let mut store = MockPaymentTokenStore::new();
        store
            .expect_create()
            .withf(|_, _, card, _, audit| {
                card.provider_token == "pm_1"
                    && !format!("{card:?}{audit:?}").contains("4242424242424242")
            })
            .times(1)
            .returning(|user, provider, card, _, _| {
                Ok(PaymentToken {
                    id: 1,
                    user_id: user,
                    provider,
                    provider_token: card.provider_token,
                    brand: card.brand,
                    last4: Some(card.last4),
                    exp_month: Some(card.exp_month),
                    exp_year: Some(card.exp_year),
                    is_default: true,
                    created_at: Utc::now(),
                })
            });
        let svc = PaymentTokenService::new(Arc::new(store), Arc::new(provider), "paysim");
        let card = CardInput::parse("4242424242424242", 12, 2030, None, (2026, 1))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let t = svc
            .add(
                UserId(1),
                NewCard::Card(card),
                true,
                "k".into(),
                &RequestContext::default(),
            )
            .await;
        assert_eq!(t.ok().and_then(|t| t.last4), Some("4242".into()));
    }
}
