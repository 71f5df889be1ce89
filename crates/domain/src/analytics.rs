//! Revenue analytics: delivered orders' totals per day or month.

use async_trait::async_trait;
use chrono::{DateTime, Months, Utc};

use crate::validation::FieldError;
use crate::{DomainError, Money};

/// Bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Day,
    Month,
    Year,
}

/// A revenue question: since when, in which buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevenueQuery {
    pub since: DateTime<Utc>,
    pub granularity: Granularity,
}

impl RevenueQuery {
    /// `range` is `N` followed by `d`, `m` or `y` (default `30d`); `granularity` is `day`,
    /// `month` or `year` (default: day for day ranges, month otherwise).
    pub fn parse(
        range: Option<&str>,
        granularity: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, FieldError> {
        let range = range.unwrap_or("30d").trim();
        let bad_range = || {
            FieldError::new(
                &["query", "range"],
                "string_pattern_mismatch",
                "range should look like 30d, 12m or 2y",
            )
        };
        // The unit is the last character, which may be several bytes long.
        let (n, unit) = range
            .char_indices()
            .last()
            .map_or(("", ""), |(i, _)| range.split_at(i));
        let n: u32 = n
            .parse()
            .ok()
            .filter(|n| (1..=3650).contains(n))
            .ok_or_else(bad_range)?;
        let since = match unit {
            "d" => now - chrono::Duration::days(i64::from(n)),
            "m" => now
                .checked_sub_months(Months::new(n))
                .ok_or_else(bad_range)?,
            "y" => now
                .checked_sub_months(Months::new(n.saturating_mul(12)))
                .ok_or_else(bad_range)?,
            _ => return Err(bad_range()),
        };
        let granularity = match granularity.map(str::trim) {
            None | Some("") => {
                if unit == "d" {
                    Granularity::Day
                } else {
                    Granularity::Month
                }
            }
            Some("day") => Granularity::Day,
            Some("month") => Granularity::Month,
            Some("year") => Granularity::Year,
            Some(_) => {
                return Err(FieldError::new(
                    &["query", "granularity"],
                    "string_pattern_mismatch",
                    "granularity should be day, month or year",
                ));
            }
        };
        Ok(Self { since, granularity })
    }
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RevenueReport: Send + Sync {
    /// `(label, total)` per bucket that has delivered orders since `query.since`, by label.
    /// Labels are `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
    async fn revenue(&self, query: RevenueQuery) -> Result<Vec<(String, Money)>, DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let now = Utc::now();
        let q = RevenueQuery::parse(Some("12m"), None, now).ok();
        assert_eq!(q.map(|q| q.granularity), Some(Granularity::Month));
        let q = RevenueQuery::parse(Some("90d"), None, now).ok();
        assert_eq!(q.map(|q| (now - q.since).num_days()), Some(90));
        assert!(RevenueQuery::parse(Some("7w"), None, now).is_err());
        assert!(RevenueQuery::parse(Some("d"), None, now).is_err());
        for hostile in [
            "\u{80}",
            "30\u{80}",
            "é",
            "3😀",
            "\u{0}",
            "",
            "  ",
            "99999999999d",
        ] {
            assert!(
                RevenueQuery::parse(Some(hostile), None, now).is_err(),
                "{hostile:?}"
            );
        }
        assert!(RevenueQuery::parse(None, Some("week"), now).is_err());
        assert_eq!(
            RevenueQuery::parse(None, Some("year"), now)
                .ok()
                .map(|q| q.granularity),
            Some(Granularity::Year)
        );
    }
}
