//! The payment provider port (a Stripe-compatible subset: card tokenization, manual-capture
//! authorizations, capture, cancel, refund, retrieval).
//!
//! A raw card number only passes through [`CardInput`] on its way to the provider: it is never
//! stored, logged or printed (its `Debug` shows the last four digits only).

use std::fmt;

use async_trait::async_trait;

pub mod ledger;

use crate::Money;
use crate::validation::{FieldError, ValidationErrors};

/// Card details typed by the customer, forwarded once for tokenization.
#[derive(Clone, PartialEq, Eq)]
pub struct CardInput {
    number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    cvc: Option<String>,
}

impl fmt::Debug for CardInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CardInput(****{}, {:02}/{})",
            self.last4(),
            self.exp_month,
            self.exp_year
        )
    }
}

/// Whether `digits` (ASCII digits only) pass the Luhn check every card number carries.
pub fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let mut d = c.to_digit(10).unwrap_or(0);
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

impl CardInput {
    /// Validates number (12..19 digits after removing spaces and dashes, Luhn), expiry (not in
    /// the past relative to `today` = (year, month)) and CVC (3..4 digits, optional).
    pub fn parse(
        number: &str,
        exp_month: i64,
        exp_year: i64,
        cvc: Option<&str>,
        today: (i32, u32),
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !(12..=19).contains(&digits.len())
            || !digits.chars().all(|c| c.is_ascii_digit())
            || !luhn_ok(&digits)
        {
            errors.push(FieldError::new(
                &["card_number"],
                "value_error",
                "Card number is not valid",
            ));
        }
        let month = u32::try_from(exp_month)
            .ok()
            .filter(|m| (1..=12).contains(m));
        if month.is_none() {
            errors.push(FieldError::new(
                &["exp_month"],
                "range",
                "exp_month should be 1..12",
            ));
        }
        let year = u32::try_from(if (0..100).contains(&exp_year) {
            exp_year + 2000
        } else {
            exp_year
        })
        .ok()
        .filter(|y| (2000..=2200).contains(y));
        if year.is_none() {
            errors.push(FieldError::new(
                &["exp_year"],
                "range",
                "exp_year should be a year",
            ));
        }
        if let (Some(m), Some(y)) = (month, year) {
            let (ty, tm) = today;
            if i64::from(y) * 12 + i64::from(m) < i64::from(ty) * 12 + i64::from(tm) {
                errors.push(FieldError::new(
                    &["exp_year"],
                    "value_error",
                    "The card has expired",
                ));
            }
        }
        let cvc = cvc.map(str::trim).filter(|c| !c.is_empty());
        if let Some(c) = cvc
            && (!(3..=4).contains(&c.len()) || !c.chars().all(|d| d.is_ascii_digit()))
        {
            errors.push(FieldError::new(
                &["cvc"],
                "value_error",
                "CVC should be 3 or 4 digits",
            ));
        }
        errors.clone().into_result()?;
        Ok(Self {
            number: digits,
            exp_month: month.unwrap_or(1),
            exp_year: year.unwrap_or(2000),
            cvc: cvc.map(str::to_owned),
        })
    }

    pub fn number(&self) -> &str {
        &self.number
    }

    pub fn cvc(&self) -> Option<&str> {
        self.cvc.as_deref()
    }

    pub fn last4(&self) -> &str {
        &self.number[self.number.len().saturating_sub(4)..]
    }
}

/// What the provider keeps instead of the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardToken {
    pub provider_token: String,
    pub brand: Option<String>,
    pub last4: String,
    pub exp_month: i32,
    pub exp_year: i32,
}

/// Where an authorization stands at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentStatus {
    /// Authorized, waiting for capture.
    RequiresCapture,
    /// Captured.
    Succeeded,
    Canceled,
    /// Declined (or never confirmed).
    RequiresPaymentMethod,
    Processing,
    Other(String),
}

impl IntentStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "requires_capture" => IntentStatus::RequiresCapture,
            "succeeded" => IntentStatus::Succeeded,
            "canceled" => IntentStatus::Canceled,
            "requires_payment_method" => IntentStatus::RequiresPaymentMethod,
            "processing" => IntentStatus::Processing,
            other => IntentStatus::Other(other.to_owned()),
        }
    }
}

/// A provider-side payment (Stripe's PaymentIntent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    pub id: String,
    pub status: IntentStatus,
    pub amount: Money,
    pub amount_capturable: Money,
    pub amount_received: Money,
}

/// Every way a provider call can fail, as the business needs to tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The card was refused; `code` is the provider's decline code (e.g. `insufficient_funds`).
    #[error("payment declined: {code}")]
    Declined { code: String, message: String },
    /// The request was wrong (a bug or a stale id); retrying will not help.
    #[error("invalid payment request: {0}")]
    InvalidRequest(String),
    /// The secret key was refused.
    #[error("payment provider refused the credentials")]
    Unauthorized,
    #[error("payment provider rate limit")]
    RateLimited,
    /// The request certainly did not take effect (connection refused, DNS…); safe to retry.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The request may or may not have taken effect (timeout after sending, 5xx); must be
    /// settled by repeating it with the same idempotency key.
    #[error("payment outcome unknown: {0}")]
    UnknownOutcome(String),
}

/// The payment provider. Every mutating call carries an idempotency key: repeating a call with
/// the same key and arguments returns the first result and has no further effect.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    async fn tokenize(
        &self,
        card: CardInput,
        idempotency_key: String,
    ) -> Result<CardToken, ProviderError>;
    /// Authorizes `amount` on the payment method with manual capture.
    async fn authorize(
        &self,
        payment_method: String,
        amount: Money,
        idempotency_key: String,
        reference: String,
    ) -> Result<PaymentIntent, ProviderError>;
    /// Captures up to the authorized amount; the rest is released.
    async fn capture(
        &self,
        intent_id: String,
        amount: Money,
        idempotency_key: String,
    ) -> Result<PaymentIntent, ProviderError>;
    /// Voids an uncaptured authorization.
    async fn cancel(
        &self,
        intent_id: String,
        idempotency_key: String,
    ) -> Result<PaymentIntent, ProviderError>;
    /// Refunds part or all of a captured amount; returns the refund id.
    async fn refund(
        &self,
        intent_id: String,
        amount: Money,
        idempotency_key: String,
    ) -> Result<String, ProviderError>;
    async fn retrieve(&self, intent_id: String) -> Result<PaymentIntent, ProviderError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_are_checked_and_never_printed() {
        let ok = CardInput::parse("4242 4242 4242 4242", 12, 2030, Some("123"), (2026, 11));
        let card = ok.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(card.last4(), "4242");
        assert!(!format!("{card:?}").contains("42424242"));
        assert!(
            CardInput::parse("4242 4242 4242 4241", 12, 2030, None, (2026, 11)).is_err(),
            "Luhn"
        );
        assert!(
            CardInput::parse("4242424242424242", 10, 2026, None, (2026, 11)).is_err(),
            "expired"
        );
        assert!(
            CardInput::parse("4242424242424242", 11, 26, None, (2026, 11)).is_ok(),
            "two-digit year, this month"
        );
        assert!(CardInput::parse("4242424242424242", 13, 2030, None, (2026, 11)).is_err());
        assert!(CardInput::parse("4242424242424242", 1, 2030, Some("12a"), (2026, 11)).is_err());
    }
}
