//! A customer's address book: any number of addresses, at most one of them the default.
//!
//! "At most one default" is a database guarantee (a partial unique index); the adapter makes
//! the changes that move the default serialise per customer, so they never trip over it.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tracing::instrument;

use crate::audit::{AuditEntry, AuditTarget, RequestContext};
use crate::identity::UserId;
use crate::{DomainError, FieldError, ValidationErrors};

/// The editable fields of an address, each checked against its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressFields {
    pub address_line: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

/// An address as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub id: i64,
    pub user_id: UserId,
    pub fields: AddressFields,
    pub is_default: bool,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub created_at: DateTime<Utc>,
}

impl Address {
    /// What the audit trail records of an address.
    pub fn snapshot(&self) -> Value {
        json!({
            "address_line": self.fields.address_line,
            "city": self.fields.city,
            "postal_code": self.fields.postal_code,
            "country": self.fields.country,
            "is_default": self.is_default,
        })
    }
}

fn text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    let n = value.chars().count();
    if n < min {
        return Err(FieldError::new(
            &[field],
            "string_too_short",
            format!("String should have at least {min} characters"),
        ));
    }
    if n > max {
        return Err(FieldError::new(
            &[field],
            "string_too_long",
            format!("String should have at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// `address_line` 5..256 characters.
pub fn parse_address_line(raw: &str) -> Result<String, FieldError> {
    text("address_line", raw, 5, 256)
}

/// `city` 2..64 characters.
pub fn parse_city(raw: &str) -> Result<String, FieldError> {
    text("city", raw, 2, 64)
}

/// `country` 2..64 characters.
pub fn parse_country(raw: &str) -> Result<String, FieldError> {
    text("country", raw, 2, 64)
}

/// `postal_code`: 4..16 digits.
pub fn parse_postal_code(raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    let digits = value.chars().all(|c| c.is_ascii_digit());
    if !(4..=16).contains(&value.len()) || !digits {
        return Err(FieldError::new(
            &["postal_code"],
            "string_pattern_mismatch",
            "String should match pattern '^\\d{4,16}$'",
        ));
    }
    Ok(value.to_owned())
}

/// The raw fields of a change: `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressInput {
    pub address_line: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// A parsed change: every given field passed its rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPatch(AddressInput);

impl AddressPatch {
    /// Checks every given field, reporting all failures at once.
    pub fn parse(input: AddressInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut check = |v: Option<String>, parse: fn(&str) -> Result<String, FieldError>| {
            v.and_then(|raw| errors.check(parse(&raw)))
        };
        let parsed = AddressInput {
            address_line: check(input.address_line, parse_address_line),
            city: check(input.city, parse_city),
            postal_code: check(input.postal_code, parse_postal_code),
            country: check(input.country, parse_country),
        };
        errors.into_result().map(|()| Self(parsed))
    }

    /// The fields after the change.
    pub fn apply(&self, current: &AddressFields) -> AddressFields {
        let or = |new: &Option<String>, old: &String| new.clone().unwrap_or_else(|| old.clone());
        AddressFields {
            address_line: or(&self.0.address_line, &current.address_line),
            city: or(&self.0.city, &current.city),
            postal_code: or(&self.0.postal_code, &current.postal_code),
            country: or(&self.0.country, &current.country),
        }
    }

    /// The complete fields of a new address; every missing field is reported.
    pub fn complete(self) -> Result<AddressFields, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut need = |v: Option<String>, field: &str| {
            if v.is_none() {
                errors.push(FieldError::new(&[field], "missing", "Field required"));
            }
            v.unwrap_or_default()
        };
        let fields = AddressFields {
            address_line: need(self.0.address_line, "address_line"),
            city: need(self.0.city, "city"),
            postal_code: need(self.0.postal_code, "postal_code"),
            country: need(self.0.country, "country"),
        };
        errors.into_result().map(|()| fields)
    }
}

/// What making an address the default changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultMove {
    /// It already is the default: nothing to write.
    Unchanged,
    /// It becomes the default; `previous` (if any) stops being one.
    To { previous: Option<i64> },
}

/// Decides a set-default, from the target and the customer's current default (read under the
/// customer's lock).
pub fn decide_default(target: i64, current_default: Option<i64>) -> DefaultMove {
    match current_default {
        Some(d) if d == target => DefaultMove::Unchanged,
        previous => DefaultMove::To { previous },
    }
}

/// The answer for an address that is missing or someone else's.
pub fn not_found() -> DomainError {
    DomainError::not_found("ADDRESS_NOT_FOUND", "Address not found")
}

/// The address book's storage. Another customer's address is `NotFound(ADDRESS_NOT_FOUND)`,
/// never a hint that it exists.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AddressStore: Send + Sync {
    /// Default first, then newest first.
    async fn list(&self, user: UserId) -> Result<Vec<Address>, DomainError>;
    /// Inserts the address; as the default, the previous default (if any) stops being one in
    /// the same transaction. Audited with `audit` (target `Created`).
    async fn create(
        &self,
        user: UserId,
        fields: AddressFields,
        is_default: bool,
        audit: AuditEntry,
    ) -> Result<Address, DomainError>;
    /// Applies `patch` to the caller's address under its row lock; audits the changed fields
    /// (nothing is written when nothing changes).
    async fn update(
        &self,
        user: UserId,
        id: i64,
        patch: AddressPatch,
        audit: AuditEntry,
    ) -> Result<Address, DomainError>;
    /// Deletes the caller's address (a default leaves the caller without one).
    async fn delete(&self, user: UserId, id: i64, audit: AuditEntry) -> Result<(), DomainError>;
    /// Makes the caller's address the default ([`decide_default`]); idempotent.
    async fn set_default(
        &self,
        user: UserId,
        id: i64,
        audit: AuditEntry,
    ) -> Result<Address, DomainError>;
}

/// The address book's use cases.
pub struct AddressService {
    store: Arc<dyn AddressStore>,
}

impl AddressService {
    pub fn new(store: Arc<dyn AddressStore>) -> Self {
        Self { store }
    }

    pub async fn list(&self, user: UserId) -> Result<Vec<Address>, DomainError> {
        self.store.list(user).await
    }

    #[instrument(skip_all)]
    pub async fn create(
        &self,
        user: UserId,
        fields: AddressFields,
        is_default: bool,
        ctx: &RequestContext,
    ) -> Result<Address, DomainError> {
        let audit = AuditEntry::new(ctx, "address", AuditTarget::Created, "CREATE");
        self.store.create(user, fields, is_default, audit).await
    }

    #[instrument(skip_all)]
    pub async fn update(
        &self,
        user: UserId,
        id: i64,
        patch: AddressPatch,
        ctx: &RequestContext,
    ) -> Result<Address, DomainError> {
        let audit = AuditEntry::new(ctx, "address", AuditTarget::Id(id), "UPDATE");
        self.store.update(user, id, patch, audit).await
    }

    #[instrument(skip_all)]
    pub async fn delete(
        &self,
        user: UserId,
        id: i64,
        ctx: &RequestContext,
    ) -> Result<(), DomainError> {
        let audit = AuditEntry::new(ctx, "address", AuditTarget::Id(id), "DELETE");
        self.store.delete(user, id, audit).await
    }

    #[instrument(skip_all)]
    pub async fn set_default(
        &self,
        user: UserId,
        id: i64,
        ctx: &RequestContext,
    ) -> Result<Address, DomainError> {
        let audit = AuditEntry::new(ctx, "address", AuditTarget::Id(id), "SET_DEFAULT");
        self.store.set_default(user, id, audit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(line: &str, city: &str, postal: &str, country: &str) -> AddressInput {
        AddressInput {
            address_line: Some(line.into()),
            city: Some(city.into()),
            postal_code: Some(postal.into()),
            country: Some(country.into()),
        }
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let e = AddressPatch::parse(input("1 A", "T", "12a4", "I")).err();
        let locs: Vec<String> = e
            .map(|e| e.0.into_iter().map(|f| f.loc.join(".")).collect())
            .unwrap_or_default();
        assert_eq!(locs, ["address_line", "city", "postal_code", "country"]);
        assert!(AddressPatch::parse(input("12 Herzl St", "Haifa", "3303", "Israel")).is_ok());
        assert!(parse_postal_code("12345678901234567").is_err());
    }

    #[test]
    fn a_new_address_needs_every_field() {
        let partial = AddressInput {
            city: Some("Haifa".into()),
            ..AddressInput::default()
        };
        let missing: Vec<String> = AddressPatch::parse(partial)
            .and_then(AddressPatch::complete)
            .err()
            .map(|e| e.0.into_iter().map(|f| f.loc.join(".")).collect())
            .unwrap_or_default();
        assert_eq!(missing, ["address_line", "postal_code", "country"]);
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_name() -> Result<(), ValidationErrors> {
        let current = AddressFields {
            address_line: "12 Herzl St".into(),
            city: "Haifa".into(),
            postal_code: "3303".into(),
            country: "Israel".into(),
        };
        let patch = AddressPatch::parse(AddressInput {
            city: Some(" Tel Aviv ".into()),
            ..AddressInput::default()
        })?;
        let after = patch.apply(&current);
        assert_eq!(after.city, "Tel Aviv");
        assert_eq!(after.address_line, current.address_line);
        assert_eq!(AddressPatch::default().apply(&current), current);
        Ok(())
    }

    #[test]
    fn set_default_moves_or_keeps() {
        assert_eq!(decide_default(3, Some(3)), DefaultMove::Unchanged);
        assert_eq!(
            decide_default(3, Some(2)),
            DefaultMove::To { previous: Some(2) }
        );
        assert_eq!(decide_default(3, None), DefaultMove::To { previous: None });
    }
}
