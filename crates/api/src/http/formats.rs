//! String formats that the body check ([`super::shape`]) enforces: a DTO field marked
//! `#[schema(format = Email)]` or `#[schema(format = "new-password")]` is checked by the
//! domain's own parser of that value, so its rule is reported together with every other
//! problem of the body (the handler parses the value again for its typed form).

use mami_domain::FieldError;
use mami_domain::identity::{Email, FullName, LoginPassword, NewPassword, Phone};
use utoipa::openapi::schema::{KnownFormat, SchemaFormat};

/// Checks `value` of field `field`; the error's `loc` is replaced by the caller.
pub type Rule = fn(field: &str, value: &str) -> Result<(), FieldError>;

/// The rule a format names, if it names one.
pub fn rule(format: &SchemaFormat) -> Option<Rule> {
    let name = match format {
        SchemaFormat::KnownFormat(KnownFormat::Email) => "email",
        SchemaFormat::Custom(name) => name.as_str(),
        SchemaFormat::KnownFormat(_) => return None,
    };
    let rule: Rule = match name {
        "email" => |f, v| Email::parse(f, v).map(drop),
        "new-password" => |f, v| NewPassword::parse(f, v).map(drop),
        "login-password" => |f, v| LoginPassword::parse(f, v).map(drop),
        "full-name" => |f, v| FullName::parse(f, v).map(drop),
        "phone" => |f, v| Phone::parse(f, v).map(drop),
        _ => return None,
    };
    Some(rule)
}
