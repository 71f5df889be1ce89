//! Identity value types (parsed, never re-validated) and the user entity.

use std::fmt;

use chrono::{DateTime, Utc};
use icu_casemap::CaseMapperBorrowed;
use icu_normalizer::ComposingNormalizerBorrowed;
use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// A user's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The four roles of the reference, in increasing privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    Customer,
    Employee,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Customer, Role::Employee, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "CUSTOMER",
            Role::Employee => "EMPLOYEE",
            Role::Manager => "MANAGER",
            Role::Admin => "ADMIN",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Staff pick orders and report stock; customers do not.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Customer)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// A `string_too_short`/`string_too_long` error when `value` has fewer than `min` or more than
/// `max` characters.
pub(crate) fn length_error(field: &str, value: &str, min: usize, max: usize) -> Option<FieldError> {
    let n = char_len(value);
    if n < min {
        Some(FieldError::new(
            &[field],
            "string_too_short",
            format!("String should have at least {min} characters"),
        ))
    } else if n > max {
        Some(FieldError::new(
            &[field],
            "string_too_long",
            format!("String should have at most {max} characters"),
        ))
    } else {
        None
    }
}

/// An e-mail address: 6..100 characters, `local@domain.tld`, no whitespace, in its normal form
/// ([`normalize_email`]).
///
/// Two addresses that differ only in case or in Unicode compatibility forms (a full-width
/// `ｄａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ`, a ligature, a composed accent) are one identity: the
/// address is normalised before it is checked, compared and stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// The identity form of an address: Unicode NFKC (compatibility characters become their plain
/// forms), then full Unicode case folding (not lower-casing: `ß` folds to `ss`, `ς` to `σ`),
/// then NFKC again, as folding can leave a string that is no longer normalised; surrounding
/// whitespace removed. This is Unicode's `NFKC_Casefold` up to the removal of default
/// ignorable characters, which an address never needs.
pub fn normalize_email(raw: &str) -> String {
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let compatible = nfkc.normalize(raw);
    let folded = CaseMapperBorrowed::new()
        .fold_string(&compatible)
        .into_owned();
    nfkc.normalize(&folded).trim().to_owned()
}

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let value = normalize_email(raw);
        if let Some(e) = length_error(field, &value, 6, 100) {
            return Err(e);
        }
        let invalid = || {
            FieldError::new(
                &[field],
                "value_error",
                "value is not a valid email address",
            )
        };
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        if local.is_empty() || domain.contains('@') {
            return Err(invalid());
        }
        let dot_inside = domain
            .char_indices()
            .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len());
        if !dot_inside {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    /// The normal form, as stored and compared.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normal form (the address is normalised when parsed): lookups and uniqueness.
    pub fn normalized(&self) -> String {
        self.0.clone()
    }
}

/// A person's name: 2..50 Latin or Hebrew letters, spaces, `-` and `'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::parse_up_to(field, raw, 50)
    }

    /// The same rule with another maximum length (the profile allows 128, as the reference).
    pub fn parse_up_to(field: &str, raw: &str, max: usize) -> Result<Self, FieldError> {
        let value = raw.trim();
        if let Some(e) = length_error(field, value, 2, max) {
            return Err(e);
        }
        let allowed = |c: char| {
            c.is_ascii_alphabetic()
                || ('\u{05D0}'..='\u{05EA}').contains(&c)
                || c.is_whitespace()
                || c == '-'
                || c == '\''
        };
        if !value.chars().all(allowed) {
            return Err(FieldError::new(
                &[field],
                "string_pattern_mismatch",
                "Full name may contain only English or Hebrew letters, spaces, '-' and \"'\"",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as the reference accepts it: 9..13 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        if let Some(e) = length_error(field, value, 9, 13) {
            return Err(e);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const PASSWORD_SYMBOLS: &str = "!@#$%^&*()_+=-";

/// A password being set: 8..64 characters of `A-Z a-z 0-9 !@#$%^&*()_+=-`, with at least one
/// letter and one digit.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if let Some(e) = length_error(field, raw, 8, 64) {
            return Err(e);
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || PASSWORD_SYMBOLS.contains(c))
        {
            return Err(FieldError::new(
                &[field],
                "string_pattern_mismatch",
                format!("Password may contain only letters, digits and {PASSWORD_SYMBOLS}"),
            ));
        }
        if !raw.chars().any(|c| c.is_ascii_alphabetic()) {
            return Err(FieldError::new(
                &[field],
                "value_error",
                "Password must contain a letter",
            ));
        }
        if !raw.chars().any(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(
                &[field],
                "value_error",
                "Password must contain a digit",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// A password being checked (login, current password): 8..64 characters, any.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginPassword(String);

impl LoginPassword {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        if let Some(e) = length_error(field, raw, 8, 64) {
            return Err(e);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LoginPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginPassword(***)")
    }
}

/// A password hash in PHC string format (argon2id for every hash this program writes).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub password_hash: PasswordHash,
    /// Tokens issued under an older version are revoked.
    pub token_version: i32,
    pub default_branch_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The authenticated caller of a request, loaded from the database (never from token claims).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    pub email: String,
    pub full_name: String,
}

impl From<&User> for Principal {
    fn from(u: &User) -> Self {
        Self {
            user_id: u.id,
            role: u.role,
            email: u.email.clone(),
            full_name: u.full_name.clone(),
        }
    }
}

/// Access or refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        assert!(Email::parse("email", "a@b.co").is_ok());
        assert!(Email::parse("email", "Dana.Levi@Example.com").is_ok());
        for bad in [
            "a@b.c",
            "no-at-sign.com",
            "a@@b.com",
            "a b@c.com",
            "a@bcom",
            "a@.com",
            "a@com.",
            "@b.com",
        ] {
            assert!(
                Email::parse("email", bad).is_err(),
                "{bad} must be rejected"
            );
        }
        let e = Email::parse("email", "Dana@Example.COM").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(e.normalized(), "dana@example.com");
        assert_eq!(e.as_str(), "dana@example.com", "stored in its normal form");
    }

    #[test]
    fn look_alike_addresses_are_one_identity() {
        let normal = |s: &str| Email::parse("email", s).map(|e| e.as_str().to_owned()).ok();
        let plain = Some("customer@mami.local".to_owned());
        // Full-width letters, at sign and full stop (NFKC), in any case.
        assert_eq!(normal("ｃｕｓｔｏｍｅｒ＠ｍａｍｉ．ｌｏｃａｌ"), plain);
        assert_eq!(normal("ＣＵＳＴＯＭＥＲ＠ＭＡＭＩ．ＬＯＣＡＬ"), plain);
        assert_eq!(normal("  Customer@Mami.Local "), plain);
        // Full case folding, not lower-casing.
        assert_eq!(normal("STRASSE@x.de"), normal("straße@x.de"));
        assert_eq!(normal("ΌΣΟΣ@x.gr"), normal("όσος@x.gr"));
        // Composed and decomposed accents; a ligature.
        assert_eq!(normal("re\u{301}my@x.fr"), normal("rémy@x.fr"));
        assert_eq!(normal("ﬁona@x.com"), Some("fiona@x.com".to_owned()));
        // Normalising twice changes nothing.
        for s in [
            "ｃｕｓｔｏｍｅｒ＠ｍａｍｉ．ｌｏｃａｌ",
            "STRASSE@x.de",
            "ΌΣΟΣ@x.gr",
        ] {
            let once = normalize_email(s);
            assert_eq!(normalize_email(&once), once);
        }
        // A full-width space is whitespace after NFKC.
        assert!(Email::parse("email", "a\u{3000}b@c.com").is_err());
        assert!(Email::parse("email", "a\u{0}b@c.com").is_err());
    }

    #[test]
    fn password_rules() {
        assert!(NewPassword::parse("password", "Secret123").is_ok());
        assert!(NewPassword::parse("password", "abc!1234").is_ok());
        let kind = |p: &str| NewPassword::parse("password", p).err().map(|e| e.kind);
        assert_eq!(kind("abcdefgh").as_deref(), Some("value_error"));
        assert_eq!(kind("12345678").as_deref(), Some("value_error"));
        assert_eq!(kind("short1").as_deref(), Some("string_too_short"));
        assert_eq!(
            kind("with space 1").as_deref(),
            Some("string_pattern_mismatch")
        );
        assert_eq!(kind(&"a1".repeat(33)).as_deref(), Some("string_too_long"));
    }

    #[test]
    fn full_name_accepts_hebrew_and_rejects_digits() {
        assert!(FullName::parse("full_name", "דנה לוי").is_ok());
        assert!(FullName::parse("full_name", "Dana O'Neil-Levi").is_ok());
        assert!(FullName::parse("full_name", "R2D2").is_err());
        assert!(FullName::parse("full_name", "D").is_err());
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
