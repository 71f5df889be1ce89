//! Catalog entities and the parsed inputs that change them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::money::Money;
use crate::validation::FieldError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub icon_slug: Option<String>,
    pub is_active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub sku: String,
    pub category_id: i64,
    pub price: Money,
    pub old_price: Option<Money>,
    pub unit: Option<String>,
    pub nutritional_info: Option<Value>,
    pub is_organic: bool,
    pub description: Option<String>,
    pub bin_location: Option<String>,
    pub image_url: Option<String>,
    pub is_active: bool,
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

/// Stock figures shown with a product (from real inventory rows; reserved stock not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Availability {
    /// Sum over every branch.
    pub available_quantity: i64,
    /// The asked-for branch's quantity (0 without a row), when a branch was asked for.
    pub branch_available_quantity: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductView {
    pub product: Product,
    pub availability: Availability,
}

/// Order of search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchSort {
    /// Best match first when `q` is given, else by name.
    Relevance,
    PriceAsc,
    PriceDesc,
    NameAsc,
    NameDesc,
    /// Newest first.
    Date,
}

impl SearchSort {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Ok(match raw {
            "price" | "price_asc" => SearchSort::PriceAsc,
            "price_desc" => SearchSort::PriceDesc,
            "name" | "name_asc" => SearchSort::NameAsc,
            "name_desc" => SearchSort::NameDesc,
            "date" | "date_desc" | "newest" => SearchSort::Date,
            "relevance" => SearchSort::Relevance,
            _ => {
                return Err(FieldError::new(
                    &["query", field],
                    "enum",
                    "Input should be 'price', 'price_desc', 'name', 'name_desc', 'date' or \
                     'relevance'",
                ));
            }
        })
    }
}

/// A product search.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductSearch {
    /// Substring (and fuzzy) match on names and descriptions, any language.
    pub q: Option<String>,
    pub category_id: Option<i64>,
    /// The branch whose stock `in_stock` and `branch_available_quantity` refer to.
    pub branch_id: Option<i64>,
    pub in_stock: bool,
    pub organic_only: bool,
    pub min_price: Option<Money>,
    pub max_price: Option<Money>,
    pub sort: SearchSort,
    pub limit: i64,
    pub offset: i64,
}

impl ProductSearch {
    /// Every active product, by name: no text, no filter.
    pub fn all(limit: i64, offset: i64) -> Self {
        ProductSearch {
            q: None,
            category_id: None,
            branch_id: None,
            in_stock: false,
            organic_only: false,
            min_price: None,
            max_price: None,
            sort: SearchSort::NameAsc,
            limit,
            offset,
        }
    }
}

/// A display name: 2..`max` characters of letters (any script), digits, spaces and common
/// punctuation (`- ' & % . , ( ) / +`).
pub fn parse_name(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let v = raw.trim();
    let n = v.chars().count();
    if n < 2 {
        return Err(FieldError::new(
            &[field],
            "string_too_short",
            "String should have at least 2 characters",
        ));
    }
    if n > max {
        return Err(FieldError::new(
            &[field],
            "string_too_long",
            format!("String should have at most {max} characters"),
        ));
    }
    let ok = v.chars().all(|c| {
        c.is_alphanumeric()
            || c == ' '
            || "-'&%.,()/+\"".contains(c)
            || ('\u{0590}'..='\u{05FF}').contains(&c)
    });
    if !ok {
        return Err(FieldError::new(
            &[field],
            "string_pattern_mismatch",
            "Only letters, digits, spaces and - ' & % . , ( ) / + are allowed",
        ));
    }
    Ok(v.to_owned())
}

/// Optional free text of at most `max` characters (`None` stays `None`; blank becomes `None`).
pub fn parse_text(
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => Err(FieldError::new(
            &[field],
            "string_too_long",
            format!("String should have at most {max} characters"),
        )),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// A SKU: 2..32 of `A-Z a-z 0-9 -`, stored upper-case.
pub fn parse_sku(field: &str, raw: &str) -> Result<String, FieldError> {
    let v = raw.trim();
    if v.len() < 2 || v.len() > 32 {
        return Err(FieldError::new(
            &[field],
            "string_length",
            "SKU should have 2 to 32 characters",
        ));
    }
    if !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(FieldError::new(
            &[field],
            "string_pattern_mismatch",
            "SKU may contain only letters, digits and '-'",
        ));
    }
    Ok(v.to_ascii_uppercase())
}

/// Highest product price accepted.
pub const MAX_PRICE: Money = Money(1_000_000);

#[derive(Debug, Clone, PartialEq)]
pub struct NewCategory {
    pub name: String,
    pub description: Option<String>,
    pub icon_slug: Option<String>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CategoryPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub icon_slug: Option<Option<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    pub name: String,
    pub sku: String,
    pub category_id: i64,
    pub price: Money,
    pub old_price: Option<Money>,
    pub unit: Option<String>,
    pub nutritional_info: Option<Value>,
    pub is_organic: bool,
    pub description: Option<String>,
    pub bin_location: Option<String>,
    pub image_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub sku: Option<String>,
    pub category_id: Option<i64>,
    pub price: Option<Money>,
    pub old_price: Option<Option<Money>>,
    pub unit: Option<Option<String>>,
    pub nutritional_info: Option<Option<Value>>,
    pub is_organic: Option<bool>,
    pub description: Option<Option<String>>,
    pub bin_location: Option<Option<String>>,
    pub image_url: Option<Option<String>>,
}

impl ProductPatch {
    pub fn is_empty(&self) -> bool {
        *self == ProductPatch::default()
    }

    /// The old-price rule for `current` once this patch is applied.
    pub fn check_prices(&self, current: &Product) -> Result<(), FieldError> {
        check_old_price(
            self.price.unwrap_or(current.price),
            self.old_price.unwrap_or(current.old_price),
        )
    }
}

/// A struck-through "old price" must be above the price.
pub fn check_old_price(price: Money, old_price: Option<Money>) -> Result<(), FieldError> {
    match old_price {
        Some(old) if old <= price => Err(FieldError::new(
            &["old_price"],
            "value_error",
            "old_price must be greater than price",
        )),
        _ => Ok(()),
    }
}
