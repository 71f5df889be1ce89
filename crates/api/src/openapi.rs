//! The OpenAPI document, generated from the handlers' annotations by utoipa and served at
//! `/api/v1/openapi.json`, with an interactive page at `/api/v1/docs` (`crate::docs`).

use serde::Serialize;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
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

/// The error statuses that whole kinds of operations can answer, each in the error envelope
/// with a description of its codes. [`ErrorResponses`] adds them where [`generic_statuses`]
/// says; a route lists only the statuses of its own.
pub const GENERIC_STATUSES: [(&str, &str); 9] = [
    (
        "400",
        "VALIDATION_ERROR (`details.errors`: every bad field at once), BAD_REQUEST or HTTP_400: \
         a bad query parameter or body",
    ),
    (
        "401",
        "AUTH_REQUIRED, TOKEN_INVALID, TOKEN_EXPIRED or TOKEN_REVOKED: no valid bearer token \
         of an active user",
    ),
    (
        "403",
        "AUTHORIZATION_ERROR: the caller's role may not use this route",
    ),
    (
        "404",
        "HTTP_404 (a path id that is not an integer) or the resource's own NOT_FOUND code",
    ),
    ("413", "HTTP_413: the body is too large"),
    ("415", "HTTP_415: the body is not `application/json`"),
    (
        "429",
        "HTTP_429: too many requests from this client (`Retry-After`)",
    ),
    (
        "500",
        "UNEXPECTED_ERROR: an infrastructure failure (logged with the request id)",
    ),
    (
        "503",
        "SERVICE_UNAVAILABLE: the database (or another dependency) is unavailable, or the \
         server is too busy; retry after `Retry-After`",
    ),
];

const PREFIX: &str = "/api/v1";

/// Which of [`GENERIC_STATUSES`] an operation answers, from its shape: 401 with bearer security;
/// 403 under a role-guarded scope ([`crate::routes::GUARDED_SCOPES`], the same constants that
/// wrap those scopes in their guard); 400 with query parameters or a body; 404 with path
/// parameters; 413 with a body and 415 with a JSON body; 429 except on health checks (never
/// rate limited); 500 and 503 except on liveness, which touches nothing.
pub fn generic_statuses(path: &str, op: &Operation) -> Vec<&'static str> {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |kind: ParameterIn| params.iter().any(|p| p.parameter_in == kind);
    let body = op.request_body.as_ref();
    let json = body.is_some_and(|b| b.content.contains_key("application/json"));
    let bearer = op.security.iter().flatten().any(|requirement| {
        serde_json::to_value(requirement).is_ok_and(|v| v.get("bearer").is_some())
    });
    let route = path.strip_prefix(PREFIX).unwrap_or(path);
    let guarded = crate::routes::GUARDED_SCOPES.iter().any(|(scope, _)| {
        route
            .strip_prefix(scope)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    });
    let health = route == "/health" || route.starts_with("/health/");
    let liveness = route == "/health";
    [
        ("400", has(ParameterIn::Query) || body.is_some()),
        ("401", bearer),
        ("403", bearer && guarded),
        ("404", has(ParameterIn::Path)),
        ("413", body.is_some()),
        ("415", json),
        ("429", !health),
        ("500", !liveness),
        ("503", !liveness),
    ]
    .into_iter()
    .filter_map(|(status, applies)| applies.then_some(status))
    .collect()
}

/// Adds [`GENERIC_STATUSES`] to every operation, as references to shared responses
/// (`#/components/responses/Error<status>`), without replacing a status the route documents.
pub struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (status, description) in GENERIC_STATUSES {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build();
            components
                .responses
                .insert(format!("Error{status}"), RefOr::T(response));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                for status in generic_statuses(path, op) {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            RefOr::Ref(Ref::new(format!("#/components/responses/Error{status}")))
                        });
                }
            }
        }
    }
}

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
