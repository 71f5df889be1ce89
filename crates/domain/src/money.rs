//! Money in integer minor units (agorot); two-decimal strings on the wire.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::validation::FieldError;

/// An amount of shekels in agorot. Never negative where the business says so (the parsers
/// take bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(pub i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// Parses `"12.9"`, `"12.90"`, `12.9` or `12`: at most two decimals, within
    /// `min..=max` (in minor units).
    pub fn parse_json(
        field: &str,
        value: &Value,
        min: Money,
        max: Money,
    ) -> Result<Money, FieldError> {
        let text = match value {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(FieldError::new(
                    &[field],
                    "decimal_type",
                    "Input should be a valid decimal",
                ));
            }
        };
        let m = Self::parse_str(&text).ok_or_else(|| {
            FieldError::new(
                &[field],
                "decimal_parsing",
                "Input should be a valid decimal with at most 2 decimal places",
            )
        })?;
        if m < min {
            let kind = if min == Money::ZERO {
                "greater_than_equal"
            } else {
                "greater_than"
            };
            return Err(FieldError::new(
                &[field],
                kind,
                format!("Input should be at least {min}"),
            ));
        }
        if m > max {
            return Err(FieldError::new(
                &[field],
                "less_than_equal",
                format!("Input should be less than or equal to {max}"),
            ));
        }
        Ok(m)
    }

    /// Parses a non-negative decimal with at most two decimals.
    pub fn parse_str(text: &str) -> Option<Money> {
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() || whole.len() > 12 || !whole.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        // Accept trailing zeros beyond two places (`1.500`), nothing else.
        let frac = frac.trim_end_matches('0');
        if frac.len() > 2 || !frac.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac: i64 = format!("{frac:0<2}").parse().ok()?;
        whole.checked_mul(100)?.checked_add(frac).map(Money)
    }

    /// As a JSON number (for the fields the client computes with).
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The two-decimal string [`Serialize`] writes (stored outcomes are read back with it).
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Money::parse_str(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an amount: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(Money(0).to_string(), "0.00");
        assert_eq!(Money(3000).to_string(), "30.00");
        assert_eq!(Money(690).to_string(), "6.90");
        assert_eq!(Money(-5).to_string(), "-0.05");
    }

    #[test]
    fn parses_strings_and_numbers() {
        assert_eq!(Money::parse_str("12.9"), Some(Money(1290)));
        assert_eq!(Money::parse_str("12"), Some(Money(1200)));
        assert_eq!(Money::parse_str("1.500"), Some(Money(150)));
        for bad in ["", "-1", "1.234", "abc", "1e3", ".5", "1.2.3"] {
            assert_eq!(Money::parse_str(bad), None, "{bad}");
        }
        let max = Money(1_000_000);
        assert_eq!(
            Money::parse_json("price", &json!(6.9), Money(1), max).ok(),
            Some(Money(690))
        );
        assert_eq!(
            Money::parse_json("price", &json!("6.90"), Money(1), max).ok(),
            Some(Money(690))
        );
        assert!(Money::parse_json("price", &json!(0), Money(1), max).is_err());
        assert!(Money::parse_json("price", &json!(10000.01), Money(1), max).is_err());
        assert!(Money::parse_json("price", &json!(true), Money(1), max).is_err());
    }
}
