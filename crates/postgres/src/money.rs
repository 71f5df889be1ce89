//! NUMERIC(12,2) ↔ [`Money`].

use bigdecimal::num_bigint::BigInt;
use bigdecimal::{BigDecimal, ToPrimitive};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::Numeric;
use mami_domain::Money;

/// A NUMERIC(12,2) column read straight into [`Money`] from PostgreSQL's binary form (base-10000
/// digits), without the allocations of the `BigDecimal` that [`to_money`] starts from (or of
/// diesel's `PgNumeric`): the catalog and the cart read a price or two for every row they
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub(crate) struct DbMoney(pub(crate) Money);

impl FromSql<Numeric, Pg> for DbMoney {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(DbMoney(Money::from_minor(cents(value.as_bytes())?)))
    }
}

/// A NUMERIC's binary form (ndigits, weight, sign and dscale, 16 bits each, then the base-10000
/// digits) in hundredths.
fn cents(bytes: &[u8]) -> Result<i64, &'static str> {
    let word = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    let (Some(count), Some(weight), Some(sign)) = (word(0), word(2), word(4)) else {
        return Err("a NUMERIC shorter than its header");
    };
    let digits = bytes.get(8..).unwrap_or_default();
    if digits.len() != 2 * usize::from(count) {
        return Err("a NUMERIC whose digits do not match their count");
    }
    let digits = digits
        .chunks_exact(2)
        .map(|d| i16::from_be_bytes([d[0], d[1]]));
    minor_units(sign, weight.cast_signed(), digits)
        .ok_or("a NUMERIC that is not an amount of money in cents")
}

const POSITIVE: u16 = 0x0000;
const NEGATIVE: u16 = 0x4000;

/// A NUMERIC in hundredths: `None` for NaN or an infinity, a fraction of a cent or beyond `i64`.
fn minor_units(sign: u16, weight: i16, digits: impl Iterator<Item = i16>) -> Option<i64> {
    if sign != POSITIVE && sign != NEGATIVE {
        return None;
    }
    let mut minor: i64 = 0;
    for (i, digit) in digits.enumerate() {
        // Digit `i` is worth 10000^(weight - i); in hundredths, 100 times that.
        let power = i32::from(weight) - i32::try_from(i).ok()?;
        let digit = i64::from(digit);
        let term = match power {
            0.. => 10_000_i64
                .checked_pow(u32::try_from(power).ok()?)?
                .checked_mul(100)?
                .checked_mul(digit)?,
            -1 if digit % 100 == 0 => digit / 100,
            _ if digit == 0 => 0,
            _ => return None,
        };
        minor = minor.checked_add(term)?;
    }
    Some(if sign == NEGATIVE { -minor } else { minor })
}

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

    fn numeric(negative: bool, weight: i16, digits: &[i16]) -> Option<i64> {
        let sign = if negative { NEGATIVE } else { POSITIVE };
        minor_units(sign, weight, digits.iter().copied())
    }

    #[test]
    fn numerics_read_as_cents() {
        for (n, minor) in [
            (numeric(false, 0, &[]), Some(0)),
            (numeric(false, 0, &[12, 9000]), Some(1290)),
            (numeric(false, -1, &[500]), Some(5)),
            (numeric(false, 0, &[1234, 5600]), Some(123_456)),
            (numeric(false, 1, &[1]), Some(1_000_000)),
            (
                numeric(false, 2, &[12, 3456, 7890, 1200]),
                Some(123_456_789_012),
            ),
            (numeric(true, 0, &[6, 9000]), Some(-690)),
            // A fraction of a cent, NaN and beyond i64 are not amounts.
            (numeric(false, -1, &[5]), None),
            (numeric(false, -2, &[1]), None),
            (minor_units(0xC000, 0, std::iter::empty()), None),
            (numeric(false, 4, &[9999]), None),
        ] {
            assert_eq!(n, minor);
        }
    }

    /// The binary form as PostgreSQL sends it: header words, then the digits.
    fn binary(words: &[u16]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn the_binary_form_reads_as_cents() {
        // 12.90: two digits, weight 0, positive, dscale 2: 12 and 9000.
        assert_eq!(cents(&binary(&[2, 0, 0x0000, 2, 12, 9000])), Ok(1290));
        // -0.05: one digit of weight -1, negative.
        assert_eq!(cents(&binary(&[1, 0xFFFF, 0x4000, 2, 500])), Ok(-5));
        // 0: no digits.
        assert_eq!(cents(&binary(&[0, 0, 0x0000, 2])), Ok(0));
        // NaN, a short header, and digits that do not match their count are errors.
        assert!(cents(&binary(&[0, 0, 0xC000, 0])).is_err());
        assert!(cents(&binary(&[2, 0])).is_err());
        assert!(cents(&binary(&[2, 0, 0x0000, 2, 12])).is_err());
        assert!(cents(&binary(&[1, 0, 0x0000, 2, 12, 9000])).is_err());
    }

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
