//! The OpenAPI document, generated from the handlers' annotations by utoipa and served at
//! `/api/v1/openapi.json`, with an interactive page at `/api/v1/docs` (`crate::docs`).

use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// `{"data": T}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Data<T: ToSchema> {
    pub data: T,
}

/// `{"data": T, "pagination": {total, limit, offset}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataWithPagination<T: ToSchema> {
    pub data: T,
    pub pagination: crate::http::envelope::Page,
}

/// `{"error": {code, message, status_code, details}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBodyDoc,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBodyDoc {
    /// Stable machine-readable code, e.g. `VALIDATION_ERROR`, `HTTP_404`.
    pub code: String,
    pub message: String,
    pub status_code: u16,
    /// `{}` unless stated; `VALIDATION_ERROR` carries `errors: [{loc, msg, type}]`.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A money amount in a request body: a JSON number or a numeric string (`6.9`, `"6.90"`);
/// its decimals and bounds are the domain's rule (`Money::parse_json`). Used with
/// `#[schema(schema_with = amount)]`, so that the body check admits both.
pub fn amount() -> Schema {
    amounts(false)
}

/// [`amount`] or `null`.
pub fn optional_amount() -> Schema {
    amounts(true)
}

fn amounts(nullable: bool) -> Schema {
    let mut one_of = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .examples(["6.90"]),
        );
    if nullable {
        one_of = one_of.item(ObjectBuilder::new().schema_type(Type::Null));
    }
    Schema::OneOf(one_of.build())
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(info(title = "Mami supermarket API",
    description = "Wire-compatible replacement of the Mami Flask backend. \
        Conventions: docs/api.md."),
    modifiers(&BearerAuth), components(schemas(ErrorEnvelope)))]
pub struct ApiDoc;

/// Every `(METHOD, path)` pair of a document, sorted.
pub fn operations(doc: &utoipa::openapi::OpenApi) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(value) = serde_json::to_value(doc) else {
        return out;
    };
    if let Some(paths) = value.get("paths").and_then(|p| p.as_object()) {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for method in ["get", "post", "put", "patch", "delete"] {
                    if item.contains_key(method) {
                        out.push((method.to_uppercase(), path.clone()));
                    }
                }
            }
        }
    }
    out.sort();
    out
}
