//! NUMERIC(12,2) ↔ [`Money`].

use bigdecimal::num_bigint::BigInt;
use bigdecimal::{BigDecimal, ToPrimitive};
use mami_domain::Money;

pub(crate) fn to_decimal(m: Money) -> BigDecimal {
    BigDecimal::new(BigInt::from(m.minor()), 2)
}

/// Values come from NUMERIC(12,2) columns, so they always fit.
pub(crate) fn to_money(d: &BigDecimal) -> Money {
    let minor = (d * BigDecimal::from(100))
        .with_scale(0)
        .to_i64()
        .unwrap_or(i64::MAX);
    Money::from_minor(minor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn round_trips() {
        for minor in [0, 1, 690, 123_456_789] {
            assert_eq!(to_money(&to_decimal(Money(minor))), Money(minor));
        }
        assert_eq!(
            BigDecimal::from_str("12.90").ok().map(|d| to_money(&d)),
            Some(Money(1290))
        );
    }
}
