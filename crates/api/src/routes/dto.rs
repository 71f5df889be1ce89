//! Request and response shapes shared by several route modules.

use mami_domain::Money;
use mami_domain::branches::{Branch, DeliverySlot};
use mami_domain::catalog::{Category, ProductView};
use mami_domain::identity::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A role in a request body; its schema lists the four names, so a wrong one is reported with
/// the body's other problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RoleName {
    Customer,
    Employee,
    Manager,
    Admin,
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::Customer => Role::Customer,
            RoleName::Employee => Role::Employee,
            RoleName::Manager => Role::Manager,
            RoleName::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    pub id: i64,
    pub name: String,
    pub icon_slug: Option<String>,
    pub description: Option<String>,
    pub is_active: bool,
}

impl From<Category> for CategoryDto {
    fn from(c: Category) -> Self {
        Self {
            id: c.id,
            name: c.name,
            icon_slug: c.icon_slug,
            description: c.description,
            is_active: c.is_active,
        }
    }
}

/// A product with its availability (from inventory; reserved stock not counted).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDto {
    pub id: i64,
    pub name: String,
    pub sku: String,
    /// Two decimals, e.g. `"6.90"`.
    #[schema(value_type = String)]
    pub price: Money,
    #[schema(value_type = Option<String>)]
    pub old_price: Option<Money>,
    pub unit: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub nutritional_info: Option<serde_json::Value>,
    pub is_organic: bool,
    pub bin_location: Option<String>,
    pub image_url: Option<String>,
    pub description: Option<String>,
    pub category_id: i64,
    pub is_active: bool,
    /// Some branch has it.
    pub in_stock_anywhere: bool,
    /// `null` unless `branchId` was given.
    pub in_stock_for_branch: Option<bool>,
    /// Sum over all branches.
    pub available_quantity: i64,
    /// `null` unless `branchId` was given.
    pub branch_available_quantity: Option<i64>,
}

impl From<ProductView> for ProductDto {
    fn from(v: ProductView) -> Self {
        let p = v.product;
        let a = v.availability;
        Self {
            id: p.id,
            name: p.name,
            sku: p.sku,
            price: p.price,
            old_price: p.old_price,
            unit: p.unit,
            nutritional_info: p.nutritional_info,
            is_organic: p.is_organic,
            bin_location: p.bin_location,
            image_url: p.image_url,
            description: p.description,
            category_id: p.category_id,
            is_active: p.is_active,
            in_stock_anywhere: a.available_quantity > 0,
            in_stock_for_branch: a.branch_available_quantity.map(|q| q > 0),
            available_quantity: a.available_quantity,
            branch_available_quantity: a.branch_available_quantity,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BranchDto {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub is_active: bool,
}

impl From<Branch> for BranchDto {
    fn from(b: Branch) -> Self {
        Self {
            id: b.id,
            name: b.name,
            address: b.address,
            is_active: b.is_active,
        }
    }
}

/// A weekly delivery window; `day_of_week` 0 = Sunday; times `HH:MM:SS`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotDto {
    pub id: i64,
    pub branch_id: i64,
    pub day_of_week: i16,
    pub start_time: String,
    pub end_time: String,
    pub is_active: bool,
}

impl From<DeliverySlot> for SlotDto {
    fn from(s: DeliverySlot) -> Self {
        Self {
            id: s.id,
            branch_id: s.branch_id,
            day_of_week: s.day_of_week,
            start_time: s.start_time.format("%H:%M:%S").to_string(),
            end_time: s.end_time.format("%H:%M:%S").to_string(),
            is_active: s.is_active,
        }
    }
}

/// `{total, limit, offset}` plus `has_next` (search).
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchMeta {
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub has_next: bool,
}

/// `{"data": [...], "meta": {...}}`.
#[derive(Debug, Serialize)]
pub struct WithMeta<T, M> {
    pub data: T,
    pub meta: M,
}
